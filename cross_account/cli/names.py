"""Named roles: the profiles that ``configure-profile NAME`` writes, usable as ``exec NAME -- CMD``, ``assume NAME``
and ``console NAME`` from any folder, and the app's cdk.json chosen once with ``$CROSS_ACCOUNT_CDK_JSON``.

The registry is the AWS config file itself: a profile written by configure-profile carries the key
``cross_account_version`` (botocore and the other SDKs ignore keys they do not know). Its role, external ID, MFA
device, duration, session name, region and source profile are read back with botocore's own parser, or, for a
``credential_process`` profile, from the flags of its ``cross-account assume`` command. Offline: nothing is called.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cross_account.cli import profile as profiles
from cross_account.cli.errors import CliError, UsageError, cut
from cross_account.cli.request import RoleRequest

#: Selects the app's cdk.json from any folder (after --cdk-json, before ./cdk.json).
CDK_JSON_VARIABLE: Final = "CROSS_ACCOUNT_CDK_JSON"

#: What a role profile's keys give the request (RoleOptions field per profile key).
_ROLE_KEYS: Final = (
    ("role_arn", "role_arn"),
    ("external_id", "external_id"),
    ("mfa_serial", "mfa_serial"),
    ("duration_seconds", "duration"),
    ("role_session_name", "session_name"),
    ("region", "region"),
    ("source_profile", "profile"),
)
#: Flags that pick the role: a NAME has picked it already.
_PICKING_FLAGS: Final = (
    ("role_arn", "--role-arn"),
    ("from_stack_outputs", "--from-stack-outputs"),
    ("account", "--account"),
    ("tier", "--tier"),
)


@dataclass(frozen=True)
class NamedRole:
    """One profile written by configure-profile: its name and the role flags it stands for."""

    name: str
    options: Mapping[str, Any]
    kind: str  # "role" (the SDKs assume it) or "credential_process" (they run this client)

    @property
    def role_arn(self) -> str:
        return str(self.options.get("role_arn") or "")

    @property
    def source_profile(self) -> str | None:
        value = self.options.get("profile")
        return str(value) if value else None

    def described(self) -> list[str]:
        """What the profile sends besides the role, in words (for list)."""
        parts = [
            label
            for key, label in (("external_id", "external ID"), ("mfa_serial", "MFA"), ("session_name", "session name"))
            if self.options.get(key)
        ]
        if self.options.get("source_identity") or self.options.get("source_identity_from_caller"):
            parts.append("source identity")
        if self.options.get("tag"):
            parts.append("session tags")
        return parts


def cdk_json_path(flag: str | None, environ: Mapping[str, str]) -> str | None:
    """The app's cdk.json: --cdk-json, else $CROSS_ACCOUNT_CDK_JSON (which must name a file), else None (./cdk.json)."""
    if flag is not None:
        return flag
    chosen = environ.get(CDK_JSON_VARIABLE)
    if not chosen:
        return None
    if not Path(chosen).is_file():
        raise UsageError(f"{CDK_JSON_VARIABLE}={cut(chosen, 200)}: no such file; it must name the app's cdk.json")
    return chosen


def named_roles(config: Path) -> dict[str, NamedRole]:
    """Every profile of `config` written by configure-profile, by name; a file botocore cannot read is one line."""
    from botocore.exceptions import ConfigParseError

    from cross_account.cli.sdk_config import describe, profiles_of

    if not config.is_file():
        return {}
    try:
        found = profiles_of(config)
    except ConfigParseError as error:
        raise UsageError(f"{config} cannot be read by the AWS SDKs ({describe(error.kwargs.get('error'))})") from None
    except (OSError, ValueError) as error:
        raise UsageError(f"{config} cannot be read by the AWS SDKs ({type(error).__name__})") from None
    return {
        name: role
        for name, values in sorted(found.items())
        if isinstance(values, dict) and profiles.MARKER_KEY in values
        for role in [_named_role(name, values)]
        if role is not None
    }


def _named_role(name: str, values: Mapping[str, Any]) -> NamedRole | None:
    command = values.get("credential_process")
    if isinstance(command, str) and command.strip():
        options = _assume_flags(command)
        return NamedRole(name, options, "credential_process") if options.get("role_arn") else None
    options = {field: values[key].strip() for key, field in _ROLE_KEYS if isinstance(values.get(key), str)}
    return NamedRole(name, options, "role") if options.get("role_arn") else None


def _assume_flags(command: str) -> dict[str, Any]:
    """The role flags of a ``cross-account assume --format credential-process …`` line, as configure-profile wrote
    them."""
    try:
        words = shlex.split(command)
    except ValueError:
        return {}
    if "assume" not in words:
        return {}
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    for flag in ("role-arn", "external-id", "session-name", "source-identity", "mfa-serial", "duration", "region"):
        parser.add_argument(f"--{flag}")
    parser.add_argument("--profile")
    parser.add_argument("--source-identity-from-caller", action="store_true")
    parser.add_argument("--tag", action="append")
    parser.add_argument("--transitive-tag", action="append")
    try:
        parsed, _ = parser.parse_known_args(words[words.index("assume") + 1 :])
    except (argparse.ArgumentError, SystemExit):
        return {}
    return {key: value for key, value in vars(parsed).items() if value not in (None, False)}


def with_named_role(name: str | None, values: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """The role flags `values`, completed by the named role `name` (flags given on the command line win), and with
    the cdk.json that $CROSS_ACCOUNT_CDK_JSON selects."""
    values = {**values, "cdk_json": cdk_json_path(values.get("cdk_json"), environ)}
    if name is None:
        return values
    given = [flag for field, flag in _PICKING_FLAGS if values.get(field)]
    if given:
        raise UsageError(f"NAME {name} picks the role already; drop {given[0]} (or drop NAME)")
    config = profiles.config_path(environ)
    known = named_roles(config)
    if name not in known:
        raise UsageError(unknown_name(name, config, known))
    merged = dict(known[name].options)
    merged.update((key, value) for key, value in values.items() if value not in (None, False, [], ()))
    return merged


def unknown_name(name: str, config: Path, known: Mapping[str, NamedRole]) -> str:
    """One line: the NAME is not a named role, and which names are."""
    names = ", ".join(known) or "none yet"
    return (
        f"no role named {cut(name, 64)!r}: {config} has no profile {cut(name, 64)} written by cross-account "
        f"configure-profile (named roles: {names}; add one with cross-account configure-profile NAME "
        "--source-profile P)"
    )


def check_source_profile(name: str, environ: Mapping[str, str]) -> None:
    """Offline: the source profile exists in the AWS config or shared credentials file, as botocore finds them."""
    from botocore.configloader import raw_config_parse
    from botocore.exceptions import BotoCoreError

    from cross_account.cli.files import home_directory
    from cross_account.cli.sdk_config import check_readable, profiles_of

    config = profiles.config_path(environ)
    if config.exists() and not config.is_file():
        return  # a device or a FIFO: the writer refuses it, naming its kind, and reads nothing from it
    if config.is_file():
        check_readable(config, config)  # one line naming the line botocore cannot read
    given = environ.get("AWS_SHARED_CREDENTIALS_FILE")
    credentials = Path(given).expanduser() if given else home_directory(environ) / ".aws" / "credentials"
    try:
        found = set(profiles_of(config)) if config.is_file() else set()
        found |= set(raw_config_parse(str(credentials))) if credentials.is_file() else set()
    except (BotoCoreError, OSError, ValueError) as error:
        raise CliError(
            f"cannot read the AWS config files to find --source-profile {name} ({type(error).__name__})"
        ) from None
    if name not in found:
        raise UsageError(
            f"--source-profile {name}: no such profile in {config} or {credentials} (the trusted account's "
            f"credentials; known profiles: {', '.join(sorted(found)) or 'none'})"
        )


def caller_session_name(request: RoleRequest, environ: Mapping[str, str]) -> str:
    """The caller's name as exec names its sessions (an IAM user's name, a role session's name), looked up with the
    request's source profile (GetCallerIdentity needs no permission); one line naming --session-name when it fails."""
    from cross_account.cli.assume import session_name_from_arn
    from cross_account.cli.sts import Sts, parse_deadline

    sts = Sts(profile=request.profile, region=request.region, deadline=parse_deadline(None, environ))
    try:
        caller = sts.caller_arn(request.call_context())
    except CliError as error:
        raise CliError(
            f"cannot look up your name with --source-profile {request.profile} to name the role's sessions after "
            f"you ({error}); pass --session-name NAME (your IAM user name) to write the profile offline"
        ) from None
    return session_name_from_arn(caller)


def as_text(named: Mapping[str, NamedRole], config: Path) -> str:
    """The named roles as list shows them after the app's roles."""
    table = [("NAME", "ROLE", "SOURCE", "SENDS")]
    table += [
        (role.name, role.role_arn, role.source_profile or "-", ", ".join(role.described()) or "-")
        for role in named.values()
    ]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(table[0]))]
    lines = [f"named roles in {config} (cross-account exec NAME -- CMD, assume NAME, console NAME; any folder):"]
    lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(cells)).rstrip() for cells in table]
    return "\n".join(lines) + "\n"


def as_json(named: Mapping[str, NamedRole]) -> list[dict[str, Any]]:
    return [
        {
            "name": role.name,
            "role_arn": role.role_arn,
            "source_profile": role.source_profile,
            "kind": role.kind,
            "sends": role.described(),
        }
        for role in named.values()
    ]
