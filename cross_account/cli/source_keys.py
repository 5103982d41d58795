"""An IAM user's long-term access keys in the OS keychain (``cross-account add``), used as the source credentials
of ``--profile NAME`` before anything in ``~/.aws``, and rotated there (``cross-account rotate``): a new key is made,
checked, stored, and the old one deleted, as aws-vault does.
"""

from __future__ import annotations

import configparser
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cross_account.cli.errors import CallContext, CliError, UsageError
from cross_account.cli.keychain import SERVICE, Keychain
from cross_account.cli.sts import client_config, within

_ITEM_PREFIX: Final = "source:"
#: An IAM user's access key ID (AKIA...; ASIA... are temporary keys, which need a session token and expire).
_KEY_ID: Final = re.compile(r"^AKIA[A-Z0-9]{12,124}\Z", re.ASCII)
_SECRET: Final = re.compile(r"^[\x21-\x7e]{16,128}\Z", re.ASCII)
_USER_ARN: Final = re.compile(r"^arn:[a-z-]+:iam::(?P<account>\d{12}):user/(?:[\x21-\x7e]*/)?(?P<name>[\w+=,.@-]+)\Z")
#: How long a new key gets to start working (IAM is eventually consistent: usually a few seconds).
CHECK_SECONDS: Final = 30.0
_CHECK_INTERVAL: Final = 2.0


@dataclass(frozen=True, repr=False)
class SourceKeys:
    """Long-term access keys; ``repr`` hides the secret."""

    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:
        return f"SourceKeys(access_key_id={self.access_key_id!r}, secret=<hidden>)"


def item_of(profile: str) -> str:
    return _ITEM_PREFIX + profile


def checked_keys(access_key_id: str, secret_access_key: str) -> SourceKeys:
    """The keys when they look like an IAM user's long-term keys; a usage line naming the rule otherwise (never the
    secret)."""
    if access_key_id.startswith("ASIA"):
        raise UsageError(
            "the access key ID starts with ASIA: a temporary key (it needs a session token and expires); "
            "store an IAM user's long-term key (AKIA...)"
        )
    if not _KEY_ID.match(access_key_id):
        raise UsageError("invalid access key ID: must be AKIA followed by 12-124 capital letters or digits")
    if not _SECRET.match(secret_access_key):
        raise UsageError("invalid secret access key: must be 16-128 printable characters without spaces")
    return SourceKeys(access_key_id, secret_access_key)


def load(keychain: Keychain, profile: str) -> SourceKeys | None:
    """The keys stored for `profile`, or None. A damaged item is one line (it would be used as credentials)."""
    item = keychain.get_json(item_of(profile))
    if item is None:
        if keychain.get(item_of(profile)) is not None:
            raise CliError(
                f"the keychain item {SERVICE}/{item_of(profile)} is damaged: run cross-account add --replace"
            )
        return None
    try:
        return checked_keys(str(item.get("AccessKeyId", "")), str(item.get("SecretAccessKey", "")))
    except UsageError:
        raise CliError(
            f"the keychain item {SERVICE}/{item_of(profile)} is damaged: run cross-account add --replace"
        ) from None


def store(keychain: Keychain, profile: str, keys: SourceKeys) -> None:
    keychain.set(
        item_of(profile),
        json_of(keys),
    )


def json_of(keys: SourceKeys) -> str:
    import json

    return json.dumps({"Version": 1, "AccessKeyId": keys.access_key_id, "SecretAccessKey": keys.secret_access_key})


def keys_in_credentials_file(environ: Mapping[str, str], profile: str) -> Path | None:
    """The shared credentials file, when it still holds a secret key for `profile` (so the keychain is not the
    only place that has it)."""
    from cross_account.cli.files import home_directory

    if environ.get("AWS_SHARED_CREDENTIALS_FILE"):
        path = Path(environ["AWS_SHARED_CREDENTIALS_FILE"])
    else:
        try:
            path = home_directory(environ) / ".aws" / "credentials"
        except CliError:
            return None
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read_string(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, configparser.Error):
        return None
    found = parser.has_section(profile) and parser.has_option(profile, "aws_secret_access_key")
    return path if found else None


class Iam:
    """IAM and STS as one set of access keys (boto3 with explicit keys, nothing from ~/.aws)."""

    def __init__(self, keys: SourceKeys, *, region: str | None, deadline: float) -> None:
        import boto3
        import botocore.session

        core = botocore.session.get_session()
        core.set_config_variable("sts_regional_endpoints", "regional")
        session = boto3.Session(
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
            region_name=region or "us-east-1",
            botocore_session=core,
        )
        config = client_config(deadline)
        self.keys = keys
        self.deadline = deadline
        self._iam = session.client("iam", config=config)
        self._sts = session.client("sts", config=config)

    def caller_arn(self) -> str:
        reply = self._call("GetCallerIdentity", lambda: self._sts.get_caller_identity(), service="STS")
        return str(reply.get("Arn", ""))

    def create_access_key(self, user: str) -> SourceKeys:
        reply = self._call("CreateAccessKey", lambda: self._iam.create_access_key(UserName=user))
        key = reply.get("AccessKey", {})
        return checked_keys(str(key.get("AccessKeyId", "")), str(key.get("SecretAccessKey", "")))

    def delete_access_key(self, user: str, access_key_id: str) -> None:
        self._call("DeleteAccessKey", lambda: self._iam.delete_access_key(UserName=user, AccessKeyId=access_key_id))

    def _call(self, operation: str, work: Callable[[], Any], *, service: str = "IAM") -> Any:
        context = CallContext(role_arn="", external_id=None, mfa_serial=None, operation=operation)
        return within(self.deadline, operation, work, context, service=service)


def user_of(arn: str) -> str:
    """The IAM user name of a caller ARN; a one-line error for anything but an IAM user."""
    match = _USER_ARN.match(arn)
    if match is None:
        raise CliError(
            f"the stored keys belong to {arn}, not to an IAM user: only an IAM user's access keys can be rotated"
        )
    return match["name"]


@dataclass(frozen=True)
class Rotation:
    user: str
    old: str
    new: str


def rotate(
    keychain: Keychain,
    profile: str,
    *,
    region: str | None,
    deadline: float,
    log: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> Rotation:
    """Make a new key, check it works as the same user, store it, then delete the old one. On a failure, one line
    says exactly what state remains (which key is active, which is in the keychain)."""
    old = load(keychain, profile)
    if old is None:
        raise UsageError(
            f"the keychain has no access key for profile {profile}: add one with cross-account add {profile}"
        )
    as_old = Iam(old, region=region, deadline=deadline)
    arn = as_old.caller_arn()
    user = user_of(arn)
    try:
        new = as_old.create_access_key(user)
    except CliError as error:
        raise CliError(
            f"rotation stopped before any change: {error} (IAM allows two access keys per user: delete the unused "
            f"one first); the old key {old.access_key_id} is unchanged"
        ) from None
    log(f"created access key {new.access_key_id} for {user}")
    kept = f"the old key {old.access_key_id} is unchanged, in the keychain and active"
    try:
        _check(Iam(new, region=region, deadline=deadline), arn, sleep=sleep)
        store(keychain, profile, new)
    except CliError as error:
        raise CliError(f"rotation stopped: {error}; {_undo(as_old, user, new)}; {kept}") from None
    log(f"stored access key {new.access_key_id} for profile {profile} in the keychain")
    try:
        Iam(new, region=region, deadline=deadline).delete_access_key(user, old.access_key_id)
    except CliError as error:
        raise CliError(
            f"the new key {new.access_key_id} is in the keychain and works, but the old key {old.access_key_id} "
            f"could not be deleted ({error}): it is still active; delete it with aws iam delete-access-key "
            f"--user-name {user} --access-key-id {old.access_key_id}"
        ) from None
    return Rotation(user, old.access_key_id, new.access_key_id)


def _check(as_new: Iam, arn: str, *, sleep: Callable[[float], None]) -> None:
    """The new key answers as the same user; IAM may take a few seconds to accept it."""
    waited = 0.0
    while True:
        try:
            found = as_new.caller_arn()
        except CliError as error:
            if waited >= CHECK_SECONDS:
                raise CliError(
                    f"the new key {as_new.keys.access_key_id} did not work within {CHECK_SECONDS:g} s ({error})"
                ) from None
            sleep(_CHECK_INTERVAL)
            waited += _CHECK_INTERVAL
            continue
        if found != arn:
            raise CliError(f"the new key {as_new.keys.access_key_id} answers as {found}, not {arn}")
        return


def _undo(as_old: Iam, user: str, new: SourceKeys) -> str:
    try:
        as_old.delete_access_key(user, new.access_key_id)
    except CliError as error:
        return (
            f"the new key {new.access_key_id} could not be deleted ({error}): delete it with aws iam "
            f"delete-access-key --user-name {user} --access-key-id {new.access_key_id}"
        )
    return f"the new key {new.access_key_id} was deleted"
