"""The app's roles, read locally: from cdk.json (the app's settings, by the app's own parser) or from a
``cdk deploy --outputs-file`` JSON file; and the partition a region belongs to.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cross_account.cli.errors import CliError, UsageError, checked_flag, cut, from_settings_error
from cross_account.declaration import SettingsError
from cross_account.rules import PARTITIONS, ROLE_ARN_RE, validate_external_id, validate_role_arn
from cross_account.rules import role_arn as build_role_arn
from cross_account.settings import RoleSpec, Settings, check_numbers_reach_the_app

#: Settings that mark a cdk.json as this app's. Generic names another CDK app may use as well (region, tags,
#: roles, role_name, ...) do not count on their own.
_GENERIC_KEYS: Final = frozenset({"region", "local", "tags", "roles", "role_name", "role_path"})
APP_KEYS: Final = tuple(key for key in Settings.setting_names() if key not in _GENERIC_KEYS)


def home_region(partition: str) -> str | None:
    """The region STS is called in when only the partition is known."""
    return next((region for _, name, region in PARTITIONS if name == partition), None)


@dataclass(frozen=True)
class AppRole:
    """One role of the app (an account, a tier), with the rules its trust enforces."""

    settings: Settings
    spec: RoleSpec
    role_arn: str


def _read_json(path: Path, *, app_settings: bool = False) -> Any:
    """The JSON document in `path`; with `app_settings` (a cdk.json), a setting whose number the CDK CLI would drop
    (beyond a double's range: a 5,000-digit one, which Python's JSON reader refuses too) is refused by name first,
    as the app refuses it."""
    try:
        content = path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    if app_settings:
        try:
            check_numbers_reach_the_app(content)
        except SettingsError as error:
            raise from_settings_error(error, source=str(path)) from None
    try:
        return json.loads(content.decode("utf-8"))
    except RecursionError:
        raise UsageError(f"{path} is not valid JSON: nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as error:  # ValueError: JSONDecodeError, and numbers over 4300 digits
        raise UsageError(f"{path} is not valid JSON: {cut(str(error), 120)}") from None


def _context_of(path: Path) -> dict[str, Any]:
    document = _read_json(path, app_settings=True)
    context = document.get("context", {}) if isinstance(document, dict) else None
    if not isinstance(context, dict):
        raise UsageError(f"{path}: 'context' must be a JSON object")
    return context


def holds_app_settings(context: Mapping[str, Any]) -> bool:
    """Whether a cdk.json context is this app's: it sets at least one of the app's own keys."""
    return any(key in context for key in APP_KEYS)


def _not_this_app(path: Path, instead: str) -> UsageError:
    return UsageError(
        f"{path} holds none of this app's settings ({', '.join(APP_KEYS[:2])}, external_ids, ...): it looks like "
        f"another CDK app's; {instead}"
    )


def load_settings(
    path: Path,
    *,
    instead: str = (
        "name the role instead: a NAME written by cross-account configure-profile NAME (cross-account exec NAME -- "
        "CMD), or pass --role-arn ARN (or --from-stack-outputs FILE), or select this app's cdk.json with --cdk-json "
        "or CROSS_ACCOUNT_CDK_JSON"
    ),
) -> Settings:
    """The app's settings from cdk.json's context, by the app's own parser; refused when it is another app's (the
    message ends with `instead`: what to do)."""
    context = _context_of(path)
    if not holds_app_settings(context):
        raise _not_this_app(path, instead)
    try:
        return Settings.from_context(context)
    except SettingsError as error:
        raise from_settings_error(error, source=str(path)) from None
    except RecursionError:
        raise UsageError(f"{path}: a setting is nested too deeply") from None


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
    checked_flag(f"{path}: RoleArn", role.role_arn, validate_role_arn)
    checked_flag(f"{path}: ExternalId", role.external_id, validate_external_id)
    return role.role_arn, role.external_id


def app_role(settings: Settings, *, account: str | None, tier: str | None, partition: str = "aws") -> AppRole:
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
    arn = build_role_arn(partition=partition, account_id=account, role_path=spec.role_path, role_name=spec.role_name)
    return AppRole(settings, spec, arn)


def app_role_named(settings: Settings, arn: str) -> AppRole | None:
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


def matching_app_role(path: Path, *, explicit: bool, role_arn: str) -> AppRole | None:
    """The app's rules for `role_arn`; a foreign or broken cdk.json in the folder is not an error."""
    if not explicit and not path.is_file():
        return None
    try:
        settings = load_settings(path)
    except CliError:
        if explicit:
            raise
        return None
    return app_role_named(settings, role_arn)
