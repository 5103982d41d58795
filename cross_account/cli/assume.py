"""Which role to assume, with what, and the STS calls that do it.

Everything here before :func:`call_assume_role` is local: flags, cdk.json and stack
outputs are read and validated by the app's own rules before any network call.
"""

from __future__ import annotations

import getpass
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from cross_account.cli.credentials import Credentials
from cross_account.cli.errors import CallContext, CliError, UsageError, checked_flag, cut, from_settings_error
from cross_account.cli.sts import Source, Sts, credentials_from_reply, fingerprint
from cross_account.rules import (
    MAX_TAGS,
    ROLE_ARN_RE,
    ROLE_CHAINING_MAX_SECONDS,
    SettingsError,
    mapping_of_tags,
    validate_account_id,
    validate_duration,
    validate_external_id,
    validate_mfa_serial,
    validate_mfa_token,
    validate_region,
    validate_role_arn,
    validate_session_name,
    validate_tag_key,
)
from cross_account.rules import role_arn as build_role_arn
from cross_account.settings import RoleSpec, Settings

_NOT_IN_SESSION_NAME: Final = re.compile(r"[^\w+=,.@-]", re.ASCII)

#: Region prefixes outside the standard partition, and the region STS is called in when only the partition is known.
_PARTITIONS: Final = (
    ("cn-", "aws-cn", "cn-north-1"),
    ("us-gov-", "aws-us-gov", "us-gov-west-1"),
    ("us-iso-", "aws-iso", "us-iso-east-1"),
    ("us-isob-", "aws-iso-b", "us-isob-east-1"),
    ("eu-isoe-", "aws-iso-e", "eu-isoe-west-1"),
    ("us-isof-", "aws-iso-f", "us-isof-south-1"),
)

#: Settings that mark a cdk.json as this app's. Generic names another CDK app may use as well (region, tags,
#: roles, role_name, ...) do not count on their own.
_GENERIC_KEYS: Final = frozenset({"region", "local", "tags", "roles", "role_name", "role_path"})
APP_KEYS: Final = tuple(key for key in Settings.setting_names() if key not in _GENERIC_KEYS)


_REGION_VARIABLES: Final = ("AWS_REGION", "AWS_DEFAULT_REGION")


def partition_of(region: str) -> str:
    """The AWS partition a region belongs to (aws, aws-cn, aws-us-gov, aws-iso*)."""
    return next((partition for prefix, partition, _ in _PARTITIONS if region.startswith(prefix)), "aws")


def _home_region(partition: str) -> str | None:
    return next((region for _, name, region in _PARTITIONS if name == partition), None)


def utc_now() -> datetime:
    return datetime.now(UTC)


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
    source_identity_from_caller: bool = False
    mfa_serial: str | None = None
    mfa_token: str | None = field(default=None, repr=False)  # a secret
    duration: str | None = None
    region: str | None = None
    profile: str | None = None
    #: --tag KEY=VALUE and --transitive-tag KEY, as given (repeatable).
    tag: tuple[str, ...] | list[str] | None = None
    transitive_tag: tuple[str, ...] | list[str] | None = None


@dataclass(frozen=True)
class RoleRequest:
    """A validated AssumeRole request. ``None`` session name means "the caller's name"."""

    role_arn: str
    origin: str
    external_id: str | None = None
    session_name: str | None = None
    source_identity: str | None = None
    #: Send the caller's own name as the source identity (the app requires one, or --source-identity-from-caller):
    #: an IAM user's user name, a role session's session name.
    source_identity_from_caller: bool = False
    mfa_serial: str | None = None
    duration: int | None = None
    region: str | None = None
    profile: str | None = None
    assumers_group: str | None = None
    #: Session tags (key, value) in the order given, and the keys among them that pass on to chained sessions.
    tags: tuple[tuple[str, str], ...] = ()
    transitive_tag_keys: tuple[str, ...] = ()
    #: The role's MFA age limit (mfa_max_age_seconds), when the app's settings give one.
    mfa_max_age: int | None = None

    def call_context(self) -> CallContext:
        return CallContext(
            role_arn=self.role_arn,
            external_id=self.external_id,
            mfa_serial=self.mfa_serial,
            source_identity=self.source_identity or ("(your own name)" if self.source_identity_from_caller else None),
            duration=self.duration,
            assumers_group=self.assumers_group,
            profile=self.profile,
            tags=tuple(key for key, _ in self.tags),
        )

    def cache_fields(self, source: str | None) -> dict[str, Any]:
        """What identifies a session, including which source credentials asked for it (`source`: a hash of their
        access key ID, see :func:`source_of`)."""
        return {
            "role_arn": self.role_arn,
            "session_name": self.session_name,
            "external_id": self.external_id,
            "source_identity": self.source_identity,
            "source_identity_from_caller": self.source_identity_from_caller,
            "duration": self.duration,
            "source_profile": self.profile,
            "source_access_key": source,
            "tags": [list(tag) for tag in self.tags],
            "transitive_tag_keys": list(self.transitive_tag_keys),
        }


@dataclass(frozen=True)
class AppRole:
    """One role of the app (an account, a tier), with the rules its trust enforces."""

    settings: Settings
    spec: RoleSpec
    role_arn: str


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except RecursionError:
        raise UsageError(f"{path} is not valid JSON: nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as error:  # ValueError: JSONDecodeError, and numbers over 4300 digits
        raise UsageError(f"{path} is not valid JSON: {cut(str(error), 120)}") from None


def _context_of(path: Path) -> dict[str, Any]:
    document = _read_json(path)
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
    instead: str = "pass --role-arn ARN or --from-stack-outputs FILE (or --cdk-json with this app's file)",
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


def _matching_app_role(path: Path, *, explicit: bool, role_arn: str) -> AppRole | None:
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


@dataclass(frozen=True)
class _Flags:
    """The role flags, each validated by its rule."""

    role_arn: str | None
    account: str | None
    external_id: str | None
    session_name: str | None
    source_identity: str | None
    mfa_serial: str | None
    mfa_token: str | None = field(repr=False)
    region: str | None


def _validate_flags(options: RoleOptions) -> _Flags:
    role_arn_match = checked_flag("--role-arn", options.role_arn, validate_role_arn)
    flags = _Flags(
        role_arn=role_arn_match.group(0) if role_arn_match is not None else None,
        account=checked_flag("--account", options.account, validate_account_id),
        external_id=checked_flag("--external-id", options.external_id, validate_external_id),
        session_name=checked_flag("--session-name", options.session_name, validate_session_name),
        source_identity=checked_flag("--source-identity", options.source_identity, validate_session_name),
        mfa_serial=checked_flag("--mfa-serial", options.mfa_serial, validate_mfa_serial),
        mfa_token=checked_flag("--mfa-token", options.mfa_token, validate_mfa_token),
        region=checked_flag("--region", options.region, validate_region),
    )
    for key, value in (("--profile", options.profile), ("--tier", options.tier)):
        checked_flag(key, value, lambda _key, text: text)
    if flags.mfa_token is not None and flags.mfa_serial is None:
        raise UsageError("--mfa-token needs --mfa-serial (the ARN of the MFA device)")
    if flags.role_arn is not None and (flags.account or options.tier):
        raise UsageError("--account and --tier pick a role of the app; --role-arn names one already")
    if flags.source_identity is not None and options.source_identity_from_caller:
        raise UsageError("--source-identity and --source-identity-from-caller exclude each other")
    return flags


def session_tags(tags: Sequence[str], transitive: Sequence[str]) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """--tag KEY=VALUE (the first = splits) and --transitive-tag KEY, by IAM's rules for session tags: keys of
    1-128 characters, values of at most 256, letters, digits, spaces and _.:/=+-@; no aws: prefix; at most 50;
    keys unique ignoring case (STS treats Team and team as one); transitive keys among the tags."""
    pairs: dict[str, str] = {}
    seen: dict[str, str] = {}
    for item in tags:
        key, equals, value = checked_flag("--tag", item, lambda _k, text: text).partition("=")
        if not equals:
            raise UsageError(f"invalid --tag {cut(item, 60)!r}: must be KEY=VALUE")
        if key.lower() in seen:
            raise UsageError(f"--tag {key}: given twice (session tag keys are one ignoring case: {seen[key.lower()]})")
        seen[key.lower()] = key
        pairs[key] = value
    if len(pairs) > MAX_TAGS:
        raise UsageError(f"{len(pairs)} --tag flags: a session takes at most {MAX_TAGS} tags")
    checked_flag("--tag", pairs, lambda k, v: mapping_of_tags(k, v))
    keys = []
    for key in transitive:
        checked_flag("--transitive-tag", key, validate_tag_key)
        if key.lower() not in seen:
            raise UsageError(f"--transitive-tag {key}: not among the --tag keys (a transitive tag must be set too)")
        keys.append(seen[key.lower()])
    return tuple(pairs.items()), tuple(dict.fromkeys(keys))


def _check_tags_allowed(app: AppRole, tags: tuple[tuple[str, str], ...], cdk_json: Path) -> None:
    """The app's role accepts session tags only with allow_session_tags, and only allowed_session_tag_keys."""
    if not tags:
        return
    spec = app.spec
    if not spec.allow_session_tags:
        raise UsageError(
            f"the role {app.role_arn} does not accept session tags (allow_session_tags is false in {cdk_json}): its "
            "trust has no sts:TagSession, so AssumeRole with tags would be denied; drop --tag, or set "
            "allow_session_tags=true and redeploy"
        )
    allowed = set(spec.allowed_session_tag_keys)
    refused = [key for key, _ in tags if allowed and key not in allowed]
    if refused:
        raise UsageError(
            f"--tag {refused[0]}: the role accepts only the session tag keys {', '.join(sorted(allowed))} "
            f"(allowed_session_tag_keys in {cdk_json}; keys are case-sensitive)"
        )


@dataclass(frozen=True)
class _Found:
    """The role, where it came from, the app's rules for it (if any), and the region to use."""

    arn: str
    origin: str
    app: AppRole | None
    region: str | None
    external_id: str | None = None


def _shell_region(flags: _Flags, environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The region given (flag, then the shell's variables), and where it came from."""
    for key, value in (("--region", flags.region), *((name, environ.get(name)) for name in _REGION_VARIABLES)):
        if value:
            return value, key
    return None, ""


def _find_role(options: RoleOptions, flags: _Flags, cdk_json: Path, environ: Mapping[str, str]) -> _Found:
    """The role: --role-arn, else the outputs file, else ./cdk.json (whose partition follows the region)."""
    explicit = options.cdk_json is not None
    region, _ = _shell_region(flags, environ)
    if flags.role_arn is not None:
        app = _matching_app_role(cdk_json, explicit=explicit, role_arn=flags.role_arn)
        return _Found(flags.role_arn, "--role-arn", app, region)
    if options.from_stack_outputs is not None:
        arn, external_id = role_from_outputs(Path(options.from_stack_outputs), account=flags.account, tier=options.tier)
        app = _matching_app_role(cdk_json, explicit=explicit, role_arn=arn)
        return _Found(arn, options.from_stack_outputs, app, region, external_id)
    if cdk_json.is_file() or explicit:
        settings = load_settings(cdk_json)
        region = region or settings.region
        app = app_role(settings, account=flags.account, tier=options.tier, partition=partition_of(region))
        return _Found(app.role_arn, str(cdk_json), app, region)
    raise UsageError(
        "no role to assume: pass --role-arn ARN, or --from-stack-outputs FILE (cdk deploy --outputs-file), "
        "or run in the app's folder (cdk.json)"
    )


def _region_for(found: _Found, flags: _Flags, environ: Mapping[str, str]) -> str | None:
    """The region to call STS in and export: given, else the app's, else the role's partition's; in its partition."""
    partition = ROLE_ARN_RE.match(found.arn)["partition"]  # type: ignore[index]
    region, source = _shell_region(flags, environ)
    if region is None and found.app is not None and partition_of(found.app.settings.region) == partition:
        region = found.app.settings.region
    if region is None:
        return _home_region(partition)
    if partition_of(region) != partition:
        raise UsageError(
            f"{source or 'the region'} {region} is in partition {partition_of(region)}, but the role "
            f"{found.arn} is in {partition}: pass --region with a region of {partition}"
        )
    return region


def resolve_request(options: RoleOptions, *, cwd: Path, environ: Mapping[str, str]) -> tuple[RoleRequest, str | None]:
    """Validate every flag and find the role: ``--role-arn``, else the outputs file, else ./cdk.json.

    Returns the request and the MFA token, kept apart because it is a secret.
    """
    flags = _validate_flags(options)
    tags, transitive = session_tags(options.tag or (), options.transitive_tag or ())
    cdk_json = Path(options.cdk_json) if options.cdk_json else cwd / "cdk.json"
    found = _find_role(options, flags, cdk_json, environ)
    app = found.app
    role_max = app.spec.max_session_duration_seconds if app else None
    duration = checked_flag("--duration", options.duration, lambda k, v: validate_duration(k, v, role_max=role_max))
    region = _region_for(found, flags, environ)
    external_id = flags.external_id or found.external_id
    if app is not None:
        external_id = external_id or (app.spec.external_ids[0] if app.spec.external_ids else None)
        _check_app_rules(app, flags, tags, cdk_json, region)
    required = bool(app and app.spec.require_source_identity and flags.source_identity is None)
    request = RoleRequest(
        role_arn=found.arn,
        origin=found.origin,
        external_id=external_id,
        session_name=flags.session_name,
        source_identity=flags.source_identity,
        source_identity_from_caller=options.source_identity_from_caller or required,
        mfa_serial=flags.mfa_serial,
        duration=duration,
        region=region,
        profile=options.profile,
        assumers_group=app.spec.assumers_group_name if app else None,
        tags=tags,
        transitive_tag_keys=transitive,
        mfa_max_age=app.spec.mfa_max_age_seconds if app else None,
    )
    return request, flags.mfa_token


def _check_app_rules(
    app: AppRole, flags: _Flags, tags: tuple[tuple[str, str], ...], cdk_json: Path, region: str | None
) -> None:
    """What the app's trust requires of a request, checked before any call: MFA, and the session tags it takes."""
    if app.spec.require_mfa and flags.mfa_serial is None:
        partition = partition_of(region or app.settings.region)
        raise UsageError(
            f"the role requires MFA (require_mfa in {cdk_json}): pass --mfa-serial "
            f"arn:{partition}:iam::{app.settings.trusted_account_id}:mfa/<your device>"
        )
    _check_tags_allowed(app, tags, cdk_json)


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
    result: str = checked_flag("--mfa-token", token.strip(), validate_mfa_token)
    return result


def source_of(request: RoleRequest, environ: Mapping[str, str], sts: Sts) -> Source:
    """Which source credentials ask: a hash of their access key ID (never of the secret), and whether they are
    temporary (a session token comes with them).

    AWS_* keys in the environment are read without loading boto3 (botocore prefers them to AWS_PROFILE, not to
    --profile); anything else (a profile, SSO, an instance role) is resolved by botocore's credential chain.
    """
    if request.profile is None and environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
        return Source(fingerprint(environ["AWS_ACCESS_KEY_ID"]), temporary=bool(environ.get("AWS_SESSION_TOKEN")))
    return sts.source(request.call_context())


def _needs_caller(request: RoleRequest) -> bool:
    """GetCallerIdentity is called for a default session name or source identity, or the role-chaining check."""
    long_session = (request.duration or 0) > ROLE_CHAINING_MAX_SECONDS
    return request.session_name is None or request.source_identity_from_caller or long_session


def _names(request: RoleRequest, caller: str | None) -> tuple[str, str | None, str | None]:
    """(session name, source identity, where the source identity came from) to send."""
    own_name = session_name_from_arn(caller) if caller is not None else None
    session_name = request.session_name or own_name
    assert session_name is not None
    if request.source_identity is not None:
        return session_name, request.source_identity, "--source-identity"
    if request.source_identity_from_caller and caller is not None:
        origin = "your role session name" if is_role_session(caller) else "your IAM user name"
        return session_name, own_name, origin
    return session_name, None, None


def check_role_chaining(caller: str, duration: int | None) -> None:
    """Role chaining caps a session at 1 hour: refuse a longer --duration before calling AssumeRole."""
    if duration is not None and is_role_session(caller):
        checked_flag("--duration", str(duration), lambda k, v: validate_duration(k, v, role_chaining=True))


def _assume_params(request: RoleRequest, session_name: str, source_identity: str | None) -> dict[str, Any]:
    """AssumeRole's parameters, but the MFA code."""
    params: dict[str, Any] = {"RoleArn": request.role_arn, "RoleSessionName": session_name}
    optional = {
        "ExternalId": request.external_id,
        "DurationSeconds": request.duration,
        "SourceIdentity": source_identity,
        "Tags": [{"Key": key, "Value": value} for key, value in request.tags] or None,
        "TransitiveTagKeys": list(request.transitive_tag_keys) or None,
    }
    params.update((name, value) for name, value in optional.items() if value is not None)
    return params


def call_assume_role(
    request: RoleRequest,
    *,
    mfa_token: str | None,
    sts: Sts,
    via: Sts | None = None,
    prompt: Callable[[str], str] = prompt_mfa_token,
    log: Callable[[str], None] = lambda _message: None,
    now: Callable[[], datetime] = utc_now,
) -> Credentials:
    """GetCallerIdentity when needed (default names, chaining check), then AssumeRole; the reply is checked.

    `via`: AssumeRole is called with these credentials (an MFA session, which carries the MFA already) instead of
    the source credentials of `sts`, which still answer GetCallerIdentity.
    """
    context = replace(request.call_context(), deadline=sts.deadline, mfa_session=via is not None)
    caller = None
    if _needs_caller(request):
        caller = sts.caller_arn(context)
        log(f"caller is {caller}")
        check_role_chaining(caller, request.duration)
    session_name, source_identity, origin = _names(request, caller)
    context = replace(context, source_identity=source_identity, source_identity_origin=origin, caller_arn=caller)
    params = _assume_params(request, session_name, source_identity)
    if request.mfa_serial is not None and via is None:
        params["SerialNumber"] = request.mfa_serial
        params["TokenCode"] = mfa_token or prompt(request.mfa_serial)
    log(f"assuming {request.role_arn} as session {session_name} (role from {request.origin})")
    reply = (via or sts).assume_role(params, context)
    return credentials_from_reply(
        reply, role_arn=request.role_arn, session_name=session_name, region=sts.region, now=now()
    )
