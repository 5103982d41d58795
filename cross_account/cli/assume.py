"""Which role to assume, with what, and the STS calls that do it.

Everything here before :func:`call_assume_role` is local: flags, cdk.json and stack
outputs are read and validated by the app's own rules before any network call.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cross_account import __version__
from cross_account.cli.credentials import Credentials
from cross_account.cli.errors import CallContext, CliError, UsageError, explain_aws_error, from_settings_error
from cross_account.rules import (
    ROLE_ARN_RE,
    ROLE_CHAINING_MAX_SECONDS,
    SettingsError,
    validate_account_id,
    validate_duration,
    validate_external_id,
    validate_mfa_serial,
    validate_mfa_token,
    validate_region,
    validate_role_arn,
    validate_session_name,
)
from cross_account.rules import role_arn as build_role_arn
from cross_account.settings import RoleSpec, Settings

_NOT_IN_SESSION_NAME: Final = re.compile(r"[^\w+=,.@-]", re.ASCII)
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class RoleOptions:
    """The role flags as given on the command line (strings, unvalidated)."""

    role_arn: str | None = None
    from_stack_outputs: str | None = None
    cdk_json: str | None = None
    account: str | None = None
    tier: str | None = None
    external_id: str | None = None
    session_name: str | None = None
    source_identity: str | None = None
    mfa_serial: str | None = None
    mfa_token: str | None = field(default=None, repr=False)  # a secret
    duration: str | None = None
    region: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class RoleRequest:
    """A validated AssumeRole request. ``None`` session name means "the caller's user name"."""

    role_arn: str
    origin: str
    external_id: str | None = None
    session_name: str | None = None
    source_identity: str | None = None
    #: The trust requires ``sts:SourceIdentity = ${aws:username}``: send the caller's name.
    source_identity_from_caller: bool = False
    mfa_serial: str | None = None
    duration: int | None = None
    region: str | None = None
    profile: str | None = None
    assumers_group: str | None = None

    def call_context(self) -> CallContext:
        return CallContext(
            role_arn=self.role_arn,
            external_id=self.external_id,
            mfa_serial=self.mfa_serial,
            source_identity=self.source_identity or ("(your user name)" if self.source_identity_from_caller else None),
            duration=self.duration,
            assumers_group=self.assumers_group,
            profile=self.profile,
        )

    def cache_fields(self, environ: Mapping[str, str]) -> dict[str, Any]:
        """What identifies a session, including which source credentials asked for it."""
        profile = self.profile or environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE") or None
        # An explicit profile makes botocore skip the AWS_* variables, so they do not identify the caller then.
        access_key = None if self.profile else environ.get("AWS_ACCESS_KEY_ID") or None
        return {
            "role_arn": self.role_arn,
            "session_name": self.session_name,
            "external_id": self.external_id,
            "source_identity": self.source_identity,
            "source_identity_from_caller": self.source_identity_from_caller,
            "duration": self.duration,
            "source_profile": profile,
            "source_access_key": hashlib.sha256(access_key.encode()).hexdigest()[:16] if access_key else None,
        }


@dataclass(frozen=True)
class AppRole:
    """One role of the app (an account, a tier), with the rules its trust enforces."""

    settings: Settings
    spec: RoleSpec
    role_arn: str


def _validated(key: str, value: str | None, validator: Callable[[str, Any], Any]) -> Any:
    if value is None:
        return None
    # Control characters get their own message (the shared rules refuse them too, with a longer one).
    if _CONTROL.search(value):
        raise UsageError(f"invalid {key}: control characters are not allowed")
    try:
        return validator(key, value)
    except SettingsError as error:
        raise from_settings_error(error) from None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"{path} is not valid JSON: {error}") from None


def load_settings(path: Path) -> Settings:
    """The app's settings from cdk.json's context, by the app's own parser."""
    document = _read_json(path)
    context = document.get("context", {}) if isinstance(document, dict) else None
    if not isinstance(context, dict):
        raise UsageError(f"{path}: 'context' must be a JSON object")
    try:
        return Settings.from_context(context)
    except SettingsError as error:
        raise from_settings_error(error, source=str(path)) from None


@dataclass(frozen=True)
class _OutputRole:
    role_arn: str
    tier: str
    external_id: str | None


def _outputs_roles(path: Path) -> list[_OutputRole]:
    document = _read_json(path)
    found: dict[str, _OutputRole] = {}
    for stack, outputs in document.items() if isinstance(document, dict) else []:
        if not isinstance(outputs, dict):
            continue
        # TargetStack(-<account>) writes <Tier>RoleArn and <Tier>ExternalId; TrustedStack writes <Tier>TargetRoleArn.
        suffix = "TargetRoleArn" if str(stack).startswith("TrustedStack") else "RoleArn"
        for key, arn in outputs.items():
            if not (isinstance(arn, str) and key.endswith(suffix)):
                continue
            tier = key.removesuffix(suffix)
            external = outputs.get(f"{tier}ExternalId")
            first = external.split(",")[0] if isinstance(external, str) and external not in ("", "none") else None
            known = found.get(arn)
            found[arn] = _OutputRole(arn, tier, (known.external_id if known else None) or first)
    return list(found.values())


def role_from_outputs(path: Path, *, account: str | None = None, tier: str | None = None) -> tuple[str, str | None]:
    """(role ARN, first external ID) from a ``cdk deploy --outputs-file`` JSON file, picked by account and tier."""
    roles = _outputs_roles(path)
    if not roles:
        raise UsageError(f"{path}: no RoleArn output (write it with cdk deploy TargetStack --outputs-file)")
    if account is not None:
        roles = [r for r in roles if f":iam::{account}:" in r.role_arn]
    if tier is not None:
        roles = [r for r in roles if r.tier == tier]
    if not roles:
        raise UsageError(f"{path}: no role for --account/--tier {account or '*'}/{tier or '*'}")
    if len(roles) > 1:
        listed = ", ".join(sorted(r.role_arn for r in roles))
        raise UsageError(f"{path}: several roles ({listed}); pick one with --account, --tier or --role-arn")
    [role] = roles
    _validated(f"{path}: RoleArn", role.role_arn, validate_role_arn)
    _validated(f"{path}: ExternalId", role.external_id, validate_external_id)
    return role.role_arn, role.external_id


def app_role(settings: Settings, *, account: str | None, tier: str | None) -> AppRole:
    """The app's role in `account` (default: target_account_id), tier `tier` (default: the first)."""
    specs = {spec.tier: spec for spec in settings.role_specs}
    if tier is not None and tier not in specs:
        tiers = ", ".join(str(t) for t in specs if t) or "none: the app has no tiers"
        raise UsageError(f"no tier {tier!r} in the app's settings (tiers: {tiers})")
    spec = specs[tier] if tier is not None else settings.role_specs[0]
    account = account or settings.target_account_id
    if account not in settings.target_accounts and not settings.organization_wide:
        raise UsageError(
            f"account {account} is not a target of the app (target accounts: {', '.join(settings.target_accounts)})"
        )
    arn = build_role_arn(partition="aws", account_id=account, role_path=spec.role_path, role_name=spec.role_name)
    return AppRole(settings, spec, arn)


def _app_role_named(settings: Settings, arn: str) -> AppRole | None:
    """The app's role with this ARN, if it is one (any partition; any account for an organization-wide app)."""
    match = ROLE_ARN_RE.match(arn)
    if match is None:
        return None
    if match["account"] not in settings.target_accounts and not settings.organization_wide:
        return None
    for spec in settings.role_specs:
        if (spec.role_path, spec.role_name) == (match["path"], match["name"]):
            return AppRole(settings, spec, arn)
    return None


def _matching_app_role(path: Path, *, explicit: bool, role_arn: str) -> AppRole | None:
    """The app's rules for `role_arn`; a foreign cdk.json in the folder is not an error."""
    if not explicit and not path.is_file():
        return None
    try:
        settings = load_settings(path)
    except CliError:
        if explicit:
            raise
        return None
    return _app_role_named(settings, role_arn)


def resolve_request(options: RoleOptions, *, cwd: Path, environ: Mapping[str, str]) -> tuple[RoleRequest, str | None]:
    """Validate every flag and find the role: ``--role-arn``, else the outputs file, else ./cdk.json.

    Returns the request and the MFA token, kept apart because it is a secret.
    """
    role_arn_match = _validated("--role-arn", options.role_arn, validate_role_arn)
    account = _validated("--account", options.account, validate_account_id)
    external_id = _validated("--external-id", options.external_id, validate_external_id)
    session_name = _validated("--session-name", options.session_name, validate_session_name)
    source_identity = _validated("--source-identity", options.source_identity, validate_session_name)
    mfa_serial = _validated("--mfa-serial", options.mfa_serial, validate_mfa_serial)
    mfa_token = _validated("--mfa-token", options.mfa_token, validate_mfa_token)
    region = _validated("--region", options.region, validate_region)
    for key, value in (("--profile", options.profile), ("--tier", options.tier)):
        _validated(key, value, lambda _key, text: text)
    if mfa_token is not None and mfa_serial is None:
        raise UsageError("--mfa-token needs --mfa-serial (the ARN of the MFA device)")
    if role_arn_match is not None and (account or options.tier):
        raise UsageError("--account and --tier pick a role of the app; --role-arn names one already")

    cdk_json = Path(options.cdk_json) if options.cdk_json else cwd / "cdk.json"
    explicit = options.cdk_json is not None
    app: AppRole | None
    outputs_external_id: str | None = None
    if role_arn_match is not None:
        arn, origin = role_arn_match.group(0), "--role-arn"
        app = _matching_app_role(cdk_json, explicit=explicit, role_arn=arn)
    elif options.from_stack_outputs is not None:
        arn, outputs_external_id = role_from_outputs(
            Path(options.from_stack_outputs), account=account, tier=options.tier
        )
        origin = options.from_stack_outputs
        app = _matching_app_role(cdk_json, explicit=explicit, role_arn=arn)
    elif cdk_json.is_file() or explicit:
        app = app_role(load_settings(cdk_json), account=account, tier=options.tier)
        arn, origin = app.role_arn, str(cdk_json)
    else:
        raise UsageError(
            "no role to assume: pass --role-arn ARN, or --from-stack-outputs FILE (cdk deploy --outputs-file), "
            "or run in the app's folder (cdk.json)"
        )

    role_max = app.spec.max_session_duration_seconds if app else None
    duration = _validated("--duration", options.duration, lambda k, v: validate_duration(k, v, role_max=role_max))
    external_id = external_id or outputs_external_id
    region = region or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None
    if app is not None:
        external_id = external_id or (app.spec.external_ids[0] if app.spec.external_ids else None)
        region = region or app.settings.region
        if app.spec.require_mfa and mfa_serial is None:
            raise UsageError(
                f"the role requires MFA (require_mfa in {cdk_json}): pass --mfa-serial "
                f"arn:aws:iam::{app.settings.trusted_account_id}:mfa/<your device>"
            )
    request = RoleRequest(
        role_arn=arn,
        origin=origin,
        external_id=external_id,
        session_name=session_name,
        source_identity=source_identity,
        source_identity_from_caller=bool(app and app.spec.require_source_identity and source_identity is None),
        mfa_serial=mfa_serial,
        duration=duration,
        region=region,
        profile=options.profile,
        assumers_group=app.spec.assumers_group_name if app else None,
    )
    return request, mfa_token


def session_name_from_arn(caller_arn: str) -> str:
    """The caller's name (an IAM user's name, or the session name of an assumed role), made a valid session name."""
    tail = caller_arn.rsplit("/", 1)[-1] if "/" in caller_arn else caller_arn.rsplit(":", 1)[-1]
    name = _NOT_IN_SESSION_NAME.sub("-", tail)[:64] or "cross-account"
    if len(name) < 2:
        name = f"{name}-cross-account"
    result: str = validate_session_name("session name", name)
    return result


def is_role_session(caller_arn: str) -> bool:
    """The caller is itself an assumed role, so a new AssumeRole is role chaining (1 hour at most)."""
    return ":assumed-role/" in caller_arn


def prompt_mfa_token(serial: str) -> str:
    """Ask on the terminal, without echo. Without a terminal there is nobody to ask."""
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        raise UsageError(
            f"an MFA code is needed for {serial} and there is no terminal to ask on: pass --mfa-token"
        ) from None
    try:
        token = getpass.getpass(f"MFA code for {serial}: ")
    except EOFError:
        raise UsageError("no MFA code entered") from None
    result: str = _validated("--mfa-token", token.strip(), validate_mfa_token)
    return result


def sts_client(*, profile: str | None, region: str | None) -> tuple[Any, str | None]:
    """An STS client with the standard retry mode, and the region known for the caller (if any).

    The endpoint follows AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL, as boto3 does natively.
    """
    import boto3
    from botocore.config import Config

    session = boto3.Session(profile_name=profile)
    known_region = region or session.region_name
    client = session.client(
        "sts",
        # STS needs some region for its regional endpoint; a guess is not exported to anyone.
        region_name=known_region or "us-east-1",
        config=Config(retries={"mode": "standard"}, user_agent_extra=f"cross-account/{__version__}"),
    )
    return client, known_region


def names_from_caller(
    request: RoleRequest,
    *,
    client: Any = None,
    fill_session_name: bool = True,
    lookup_hint: str | None = None,
    log: Callable[[str], None] = lambda _message: None,
) -> tuple[str | None, str | None]:
    """(session name, source identity) to send: the request's own, else the caller's name where it is needed.

    GetCallerIdentity is called only then, or when --duration needs the role-chaining check (1 hour at most).
    ``client`` is an STS client to reuse; without one, one is made (and boto3 loaded) only if the call is needed.
    ``lookup_hint`` is added to the message when the lookup itself fails.
    """
    session_name, source_identity = request.session_name, request.source_identity
    name_wanted = fill_session_name and session_name is None
    long_session = (request.duration or 0) > ROLE_CHAINING_MAX_SECONDS
    if not (name_wanted or request.source_identity_from_caller or long_session):
        return session_name, source_identity
    caller = _caller_arn(request, client, lookup_hint)
    log(f"caller is {caller}")
    check_role_chaining(caller, request.duration)
    user_name = session_name_from_arn(caller)
    if name_wanted:
        session_name = user_name
    if request.source_identity_from_caller:
        source_identity = user_name
    return session_name, source_identity


def _caller_arn(request: RoleRequest, client: Any, lookup_hint: str | None) -> str:
    """GetCallerIdentity's ARN for the request's source credentials."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if client is None:
            client, _ = sts_client(profile=request.profile, region=request.region)
        return str(client.get_caller_identity()["Arn"])
    except (BotoCoreError, ClientError) as error:
        explained = explain_aws_error(error, request.call_context())
        raise (CliError(f"{explained} ({lookup_hint})") if lookup_hint else explained) from None


def check_role_chaining(caller: str, duration: int | None) -> None:
    """Role chaining caps a session at 1 hour: refuse a longer --duration before calling AssumeRole."""
    if duration is not None and is_role_session(caller):
        _validated("--duration", str(duration), lambda k, v: validate_duration(k, v, role_chaining=True))


def call_assume_role(
    request: RoleRequest,
    *,
    mfa_token: str | None,
    prompt: Callable[[str], str] = prompt_mfa_token,
    log: Callable[[str], None] = lambda _message: None,
) -> Credentials:
    """GetCallerIdentity when needed (default session name, chaining check), then AssumeRole."""
    from botocore.exceptions import BotoCoreError, ClientError

    context = request.call_context()
    try:
        client, known_region = sts_client(profile=request.profile, region=request.region)
        session_name, source_identity = names_from_caller(request, client=client, log=log)
        assert session_name is not None
        params: dict[str, Any] = {"RoleArn": request.role_arn, "RoleSessionName": session_name}
        if request.external_id is not None:
            params["ExternalId"] = request.external_id
        if request.duration is not None:
            params["DurationSeconds"] = request.duration
        if source_identity is not None:
            params["SourceIdentity"] = source_identity
        if request.mfa_serial is not None:
            params["SerialNumber"] = request.mfa_serial
            params["TokenCode"] = mfa_token or prompt(request.mfa_serial)
        log(f"assuming {request.role_arn} as session {session_name} (role from {request.origin})")
        response = client.assume_role(**params)
    except (BotoCoreError, ClientError) as error:
        raise explain_aws_error(error, context) from None
    issued = response["Credentials"]
    return Credentials(
        access_key_id=issued["AccessKeyId"],
        secret_access_key=issued["SecretAccessKey"],
        session_token=issued["SessionToken"],
        expiration=issued["Expiration"],
        role_arn=request.role_arn,
        session_name=session_name,
        assumed_role_arn=str(response.get("AssumedRoleUser", {}).get("Arn", "")),
        region=known_region,
    )
