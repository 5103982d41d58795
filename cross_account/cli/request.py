"""Working out the request: the role flags, cdk.json, stack outputs, the region and its partition, made one
validated :class:`RoleRequest` before any network call. The STS calls that take it are in
:mod:`cross_account.cli.assume`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from cross_account.cli.errors import CallContext, UsageError, checked_flag, cut
from cross_account.cli.roles import (
    AppRole,
    app_role,
    home_region,
    load_settings,
    matching_app_role,
    role_from_outputs,
)
from cross_account.quotas import MAX_TAGS
from cross_account.rules import (
    ROLE_ARN_RE,
    mapping_of_tags,
    partition_of,
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

_REGION_VARIABLES: Final = ("AWS_REGION", "AWS_DEFAULT_REGION")


@dataclass(frozen=True)
class RoleOptions:
    """The role flags as given on the command line (strings; unvalidated until :func:`_validate_flags`)."""

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


def _validate_flags(options: RoleOptions) -> RoleOptions:
    """The role flags, each validated by its rule (a role ARN as its rule matched it)."""
    role_arn_match = checked_flag("--role-arn", options.role_arn, validate_role_arn)
    flags = replace(
        options,
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
    if not spec.caller.session_tags:
        raise UsageError(
            f"the role {app.role_arn} does not accept session tags (allow_session_tags is false in {cdk_json}): its "
            "trust has no sts:TagSession, so AssumeRole with tags would be denied; drop --tag, or set "
            "allow_session_tags=true and redeploy"
        )
    allowed = set(spec.caller.session_tag_keys)
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


def _shell_region(flags: RoleOptions, environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The region given (flag, then the shell's variables), and where it came from."""
    for key, value in (("--region", flags.region), *((name, environ.get(name)) for name in _REGION_VARIABLES)):
        if value:
            return value, key
    return None, ""


def _find_role(flags: RoleOptions, cdk_json: Path, environ: Mapping[str, str]) -> _Found:
    """The role: --role-arn, else the outputs file, else ./cdk.json (whose partition follows the region)."""
    explicit = flags.cdk_json is not None
    region, _ = _shell_region(flags, environ)
    if flags.role_arn is not None:
        app = matching_app_role(cdk_json, explicit=explicit, role_arn=flags.role_arn)
        return _Found(flags.role_arn, "--role-arn", app, region)
    if flags.from_stack_outputs is not None:
        arn, external_id = role_from_outputs(Path(flags.from_stack_outputs), account=flags.account, tier=flags.tier)
        app = matching_app_role(cdk_json, explicit=explicit, role_arn=arn)
        return _Found(arn, f"--from-stack-outputs {flags.from_stack_outputs}", app, region, external_id)
    if cdk_json.is_file() or explicit:
        settings = load_settings(cdk_json)
        region = region or settings.region
        app = app_role(settings, account=flags.account, tier=flags.tier, partition=partition_of(region))
        return _Found(app.role_arn, _settings_origin(flags, cdk_json, explicit=explicit), app, region)
    raise UsageError(
        "no role to assume: name one (cross-account exec NAME -- CMD, NAME written by configure-profile NAME), "
        "pass --role-arn ARN, or --from-stack-outputs FILE (cdk deploy --outputs-file), or run in the app's folder "
        "(cdk.json; CROSS_ACCOUNT_CDK_JSON selects it from anywhere)"
    )


def _settings_origin(flags: RoleOptions, cdk_json: Path, *, explicit: bool) -> str:
    """Where an app role came from: the cdk.json (the folder's own, or --cdk-json) and the setting that picked the
    account."""
    where = f"--cdk-json {cdk_json}" if explicit else f"./cdk.json in {cdk_json.parent}"
    account = "--account" if flags.account else "target_account_id"
    return f"{where}, {account}{', --tier' if flags.tier else ''}"


def _region_for(found: _Found, flags: RoleOptions, environ: Mapping[str, str]) -> str | None:
    """The region to call STS in and export: given, else the app's, else the role's partition's; in its partition."""
    partition = ROLE_ARN_RE.match(found.arn)["partition"]  # type: ignore[index]
    region, source = _shell_region(flags, environ)
    if region is None and found.app is not None and partition_of(found.app.settings.region) == partition:
        region = found.app.settings.region
    if region is None:
        return home_region(partition)
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
    found = _find_role(flags, cdk_json, environ)
    app = found.app
    role_max = app.spec.max_session_duration_seconds if app else None
    duration = checked_flag("--duration", options.duration, lambda k, v: validate_duration(k, v, role_max=role_max))
    region = _region_for(found, flags, environ)
    external_id = flags.external_id or found.external_id
    if app is not None:
        external_id = external_id or next(iter(app.spec.caller.external_ids), None)
        _check_app_rules(app, flags, tags, cdk_json, region)
    required = bool(app and app.spec.caller.source_identity and flags.source_identity is None)
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
        mfa_max_age=app.spec.caller.mfa_max_age_seconds if app else None,
    )
    return request, flags.mfa_token


def _check_app_rules(
    app: AppRole, flags: RoleOptions, tags: tuple[tuple[str, str], ...], cdk_json: Path, region: str | None
) -> None:
    """What the app's trust requires of a request, checked before any call: MFA, and the session tags it takes."""
    if app.spec.caller.mfa and flags.mfa_serial is None:
        partition = partition_of(region or app.settings.region)
        raise UsageError(
            f"the role requires MFA (require_mfa in {cdk_json}): pass --mfa-serial "
            f"arn:{partition}:iam::{app.settings.trusted_account_id}:mfa/<your device>"
        )
    _check_tags_allowed(app, tags, cdk_json)
