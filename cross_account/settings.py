"""The settings contract: keys, defaults, parsing and validation, in one place.

Every input of the app (``cdk.json`` context and ``cdk synth -c key=value``) and
of the ``cross-account`` client passes through the validators below before
anything is created or written. The error a user sees for a bad value is
written once, here.

This module has no CDK import, so the client can use it without paying for jsii.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any, Final

# AWS patterns mean ASCII; Python's \w would also accept non-ASCII letters. Patterns end in \Z, not $,
# which would also match before a trailing newline.
_A = re.ASCII

ACCOUNT_ID_RE: Final = re.compile(r"^\d{12}\Z", _A)
IAM_NAME_RE: Final = re.compile(r"^[\w+=,.@-]+\Z", _A)  # role, group, policy names
IAM_PATH_RE: Final = re.compile(r"^(/|/[\x21-\x7E]+/)\Z", _A)
EXTERNAL_ID_RE: Final = re.compile(r"^[\w+=,.@:/-]+\Z", _A)
SESSION_NAME_RE: Final = re.compile(r"^[\w+=,.@-]+\Z", _A)  # also source identity
MFA_SERIAL_RE: Final = re.compile(r"^[\w+=/:,.@-]+\Z", _A)
MFA_TOKEN_RE: Final = re.compile(r"^\d{6}\Z", _A)
ORG_ID_RE: Final = re.compile(r"^o-[a-z0-9]{10,32}\Z", _A)
OU_ID_RE: Final = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}\Z", _A)
ROOT_ID_RE: Final = re.compile(r"^r-[0-9a-z]{4,32}\Z", _A)
STACKSET_NAME_RE: Final = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{0,127}\Z", _A)
REGION_RE: Final = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}\Z", _A)
PARTITION_RE: Final = r"aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[a-z]"
ROLE_ARN_RE: Final = re.compile(
    rf"^arn:(?P<partition>{PARTITION_RE}):iam::(?P<account>\d{{12}}):role"
    r"(?P<path>/(?:[\x21-\x7E]+/)?)(?P<name>[\w+=,.@-]{1,64})\Z",
    _A,
)
PRINCIPAL_ARN_RE: Final = re.compile(
    rf"^arn:(?P<partition>{PARTITION_RE}):iam::(?P<account>\d{{12}}):"
    r"(?P<kind>user|role)(?P<path>/(?:[\x21-\x7E]+/)?)(?P<name>[\w+=,.@*-]{1,64})\Z",
    _A,
)
POLICY_ARN_RE: Final = re.compile(
    rf"^arn:(?:{PARTITION_RE}):iam::(?:aws|\d{{12}}):policy/(?:[\x21-\x7E]+/)?[\w+=,.@-]{{1,128}}\Z",
    _A,
)
PROFILE_NAME_RE: Final = re.compile(r"^[\w+=,.@:/-]{1,128}\Z", _A)
DESCRIPTION_RE: Final = re.compile(r"^[\t\n\r\x20-\x7E\xA1-\xFF]*\Z")
ACTION_RE: Final = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*?]+\Z", _A)

MIN_SESSION_SECONDS: Final = 900
MAX_SESSION_SECONDS: Final = 43200
ROLE_CHAINING_MAX_SECONDS: Final = 3600
CONSOLE_SWITCH_ROLE_MAX: Final = 64  # path (without leading slash) + name

#: Service-wide wildcards with which a session can grant itself anything.
ADMIN_EQUIVALENT_ACTIONS: Final = frozenset({"iam:*", "sts:*", "organizations:*"})

#: The original how-to's permission set, kept as the default.
HOWTO_ACTIONS: Final = ("s3:*", "cloudwatch:*", "cloudformation:*", "sqs:*", "events:*")


class SettingsError(ValueError):
    """A setting (or client option) broke a rule. The message names key, value and rule."""

    def __init__(self, key: str, value: Any, rule: str) -> None:
        self.key, self.value, self.rule = key, value, rule
        super().__init__(f"invalid setting {key}={_show(value)}: {rule}")


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


# --- single-value validators, shared by the app settings and the client -------------


def _check(key: str, value: Any, ok: bool, rule: str) -> None:
    if not ok:
        raise SettingsError(key, value, rule)


def _str(key: str, value: Any) -> str:
    _check(key, value, isinstance(value, str), "must be a string")
    return str(value)


def validate_account_id(key: str, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise SettingsError(key, value, "must be a string of exactly 12 digits (quote it: leading zeros matter)")
    text = _str(key, value)
    _check(key, text, bool(ACCOUNT_ID_RE.match(text)), "must be exactly 12 digits")
    return text


def _name(key: str, value: Any, max_len: int) -> str:
    text = _str(key, value)
    _check(
        key,
        text,
        1 <= len(text) <= max_len and bool(IAM_NAME_RE.match(text)),
        f"must be 1-{max_len} characters of letters, digits and +=,.@_-",
    )
    return text


def validate_role_name(key: str, value: Any) -> str:
    return _name(key, value, 64)


def validate_group_name(key: str, value: Any) -> str:
    return _name(key, value, 128)


def validate_policy_name(key: str, value: Any) -> str:
    return _name(key, value, 128)


def validate_path(key: str, value: Any) -> str:
    text = _str(key, value)
    _check(
        key,
        text,
        len(text) <= 512 and bool(IAM_PATH_RE.match(text)),
        "must be '/' or start and end with '/', 1-512 printable ASCII characters",
    )
    return text


def validate_external_id(key: str, value: Any) -> str:
    text = _str(key, value)
    _check(
        key,
        text,
        2 <= len(text) <= 1224 and bool(EXTERNAL_ID_RE.match(text)),
        "must be 2-1224 characters of letters, digits and +=,.@:/_-",
    )
    return text


def validate_session_name(key: str, value: Any) -> str:
    """Role session names and source identities share one rule."""
    text = _str(key, value)
    _check(
        key,
        text,
        2 <= len(text) <= 64 and bool(SESSION_NAME_RE.match(text)),
        "must be 2-64 characters of letters, digits and +=,.@_-",
    )
    return text


def validate_mfa_serial(key: str, value: Any) -> str:
    text = _str(key, value)
    _check(
        key,
        text,
        9 <= len(text) <= 256 and bool(MFA_SERIAL_RE.match(text)),
        "must be 9-256 characters of letters, digits and +=/:,.@_- (an MFA device ARN)",
    )
    return text


def validate_mfa_token(key: str, value: Any) -> str:
    text = _str(key, value)
    _check(key, text, bool(MFA_TOKEN_RE.match(text)), "must be exactly 6 digits")
    return text


def validate_profile_name(key: str, value: Any) -> str:
    """An AWS config profile name, kept to characters the config file and shells take as they are."""
    text = _str(key, value)
    _check(key, text, bool(PROFILE_NAME_RE.match(text)), "must be 1-128 characters of letters, digits and +=,.@:/_-")
    return text


def _int(key: str, value: Any) -> int:
    if isinstance(value, str) and re.fullmatch(r"\d+", value, _A):
        return int(value)
    _check(key, value, isinstance(value, int) and not isinstance(value, bool), "must be an integer")
    return int(value)


def validate_max_session_duration(key: str, value: Any) -> int:
    seconds = _int(key, value)
    _check(key, value, 3600 <= seconds <= MAX_SESSION_SECONDS, "must be between 3600 and 43200 seconds")
    return seconds


def validate_duration(key: str, value: Any, *, role_max: int | None = None, role_chaining: bool = False) -> int:
    """AssumeRole DurationSeconds: 900-43200, within the role's maximum, 1 h when chaining."""
    seconds = _int(key, value)
    _check(key, value, MIN_SESSION_SECONDS <= seconds <= MAX_SESSION_SECONDS, "must be between 900 and 43200 seconds")
    if role_max is not None:
        _check(key, value, seconds <= role_max, f"must not exceed the role's MaxSessionDuration of {role_max} seconds")
    if role_chaining:
        _check(
            key,
            value,
            seconds <= ROLE_CHAINING_MAX_SECONDS,
            "must not exceed 3600 seconds: the caller is an assumed role, and role chaining caps sessions at 1 hour",
        )
    return seconds


def validate_mfa_max_age(key: str, value: Any) -> int:
    seconds = _int(key, value)
    _check(key, value, 1 <= seconds <= 129600, "must be between 1 and 129600 seconds (36 hours)")
    return seconds


def validate_org_id(key: str, value: Any) -> str:
    text = _str(key, value)
    _check(key, text, bool(ORG_ID_RE.match(text)), "must match o-[a-z0-9]{10,32}")
    return text


def validate_ou_id(key: str, value: Any) -> str:
    text = _str(key, value)
    _check(
        key,
        text,
        bool(OU_ID_RE.match(text) or ROOT_ID_RE.match(text)),
        "must be an OU ID ou-[0-9a-z]{4,32}-[a-z0-9]{8,32} or a root ID r-[0-9a-z]{4,32}",
    )
    return text


def validate_stackset_name(key: str, value: Any) -> str:
    text = _str(key, value)
    _check(key, text, bool(STACKSET_NAME_RE.match(text)), "must start with a letter and be 1-128 letters, digits or -")
    return text


def validate_region(key: str, value: Any) -> str:
    text = _str(key, value)
    _check(key, text, bool(REGION_RE.match(text)), "must be an AWS region name such as us-east-1")
    return text


def validate_role_arn(key: str, value: Any) -> re.Match[str]:
    text = _str(key, value)
    match = ROLE_ARN_RE.match(text)
    if match is None:
        raise SettingsError(key, text, "must be a role ARN arn:<partition>:iam::<12 digits>:role/[path/]name")
    _check(key, text, len(match["path"]) <= 512, "role path must be at most 512 characters")
    return match


def validate_principal_arn(key: str, value: Any, *, trusted_account_id: str) -> str:
    text = _str(key, value)
    _check(
        key, text, text != "*", "a wildcard principal '*' would let any AWS account assume the role; name principals"
    )
    match = PRINCIPAL_ARN_RE.match(text)
    _check(
        key,
        text,
        match is not None,
        "must be an IAM user or role ARN arn:<partition>:iam::<account>:user|role/[path/]name",
    )
    assert match is not None
    _check(
        key,
        text,
        match["account"] == trusted_account_id,
        f"must be a principal in the trusted account {trusted_account_id}",
    )
    return text


def validate_policy_arn(key: str, value: Any) -> str:
    text = _str(key, value)
    _check(
        key,
        text,
        bool(POLICY_ARN_RE.match(text)),
        "must be a managed policy ARN arn:<partition>:iam::<aws|account>:policy/[path/]name",
    )
    return text


def validate_action(key: str, value: Any) -> str:
    text = _str(key, value)
    _check(
        key,
        text,
        text != "*",
        "a bare '*' grants administrator access; attach it deliberately through managed_policy_arns",
    )
    _check(key, text, bool(ACTION_RE.match(text)), "must be an IAM action service:Action (wildcards * and ? allowed)")
    _check(
        key,
        text,
        text.lower() not in ADMIN_EQUIVALENT_ACTIONS,
        "lets the session grant itself anything (administrator-equivalent); name the iam/sts actions needed, "
        "or attach such a policy deliberately through managed_policy_arns",
    )
    return text


def validate_resource(key: str, value: Any) -> str:
    text = _str(key, value)
    _check(key, text, text == "*" or text.startswith("arn:"), "must be '*' or an ARN starting with arn:")
    return text


def validate_description(key: str, value: Any) -> str:
    text = _str(key, value)
    _check(key, text, len(text) <= 1000, "must be at most 1000 characters")
    _check(
        key,
        text,
        bool(DESCRIPTION_RE.match(text)),
        "may hold tabs, line breaks, printable ASCII and Latin-1 letters only (IAM's rule)",
    )
    return text


def _is_tag_text(text: str) -> bool:
    r"""IAM tags: Unicode letters, digits and spaces, and _.:/=+-@ (the pattern [\p{L}\p{Z}\p{N}_.:/=+\-@]*)."""
    return all(
        unicodedata.category(char)[0] in "LN" or unicodedata.category(char) == "Zs" or char in "_.:/=+-@"
        for char in text
    )


def validate_tags(key: str, value: Any) -> dict[str, str]:
    _check(key, value, isinstance(value, Mapping), "must be an object of tag keys to string values")
    tags: dict[str, str] = {}
    for tag_key, tag_value in value.items():
        entry = f"{key}.{tag_key}"
        _check(entry, tag_key, 1 <= len(tag_key) <= 128, "tag keys must be 1-128 characters")
        _check(entry, tag_key, not tag_key.lower().startswith("aws:"), "the aws: tag prefix is reserved by AWS")
        _check(entry, tag_value, isinstance(tag_value, str), "tag values must be strings")
        _check(entry, tag_value, len(tag_value) <= 256, "tag values must be at most 256 characters")
        for text in (tag_key, tag_value):
            _check(entry, text, _is_tag_text(text), "tags may hold letters, digits, spaces and _.:/=+-@ only")
        tags[tag_key] = tag_value
    return tags


# --- rules across several values, shared by the settings and the constructs ----------------


def check_mfa_max_age(key: str, mfa_max_age_seconds: int | None, *, require_mfa: bool) -> None:
    """The age limit is in range, and only given together with require_mfa."""
    if mfa_max_age_seconds is not None:
        validate_mfa_max_age(key, mfa_max_age_seconds)
    _check(
        key,
        mfa_max_age_seconds,
        mfa_max_age_seconds is None or require_mfa,
        'only applies with require_mfa=true; set both or neither ("" unsets an inherited value)',
    )


def check_grants(
    prefix: str, *, actions: Sequence[str], resources: Sequence[str], managed_policy_arns: Sequence[str]
) -> None:
    """The role must grant something, and actions need resources."""
    _check(
        f"{prefix}allowed_actions",
        list(actions),
        bool(actions or managed_policy_arns),
        "the role would grant nothing: give allowed_actions or managed_policy_arns",
    )
    _check(
        f"{prefix}allowed_resources",
        list(resources),
        bool(resources or not actions),
        "must name at least one resource for allowed_actions",
    )


#: A managed policy holds 6,144 characters; keep room for the statement around the ARNs.
POLICY_RESOURCE_BUDGET: Final = 5000
#: A group takes 10 managed policies by default; beyond that, use the organization-wide grant.
MAX_POLICIES_PER_GROUP: Final = 10
#: Sizes are reckoned with the longest partition name, wherever the stack deploys.
LONGEST_PARTITION: Final = "aws-us-gov"


def policy_chunks(arns: Sequence[str], *, length: Callable[[str], int] = len) -> list[list[str]]:
    """Split role ARNs so that each managed policy stays under its size quota."""
    chunks: list[list[str]] = []
    size = POLICY_RESOURCE_BUDGET
    for arn in arns:
        needed = length(arn) + 3  # quotes and comma
        if size + needed > POLICY_RESOURCE_BUDGET:
            chunks.append([])
            size = 0
        chunks[-1].append(arn)
        size += needed
    return chunks


def check_policy_count(key: str, arn_count: int, policy_count: int) -> None:
    _check(
        key,
        f"{arn_count} role ARNs",
        policy_count <= MAX_POLICIES_PER_GROUP,
        f"the grant needs {policy_count} managed policies, over the per-group quota of {MAX_POLICIES_PER_GROUP}; "
        "grant organization-wide instead (the organization_id setting; organization_roles on the construct)",
    )


def check_not_trusted_account(key: str, account_id: str, *, trusted_account_id: str) -> None:
    _check(
        key,
        account_id,
        account_id != trusted_account_id,
        "must differ from trusted_account_id: a role that trusts its own account is not cross-account",
    )


def role_arn(*, partition: str, account_id: str, role_path: str, role_name: str) -> str:
    """The ARN of a role, computed, so the trusted side needs no cross-account reference."""
    return f"arn:{partition}:iam::{account_id}:role{role_path}{role_name}"


# --- the cdk.json contract ----------------------------------------------------------

#: CDK's own context keys (feature flags, aws:cdk:*, lookup caches) are not ours to check.
_CDK_OWNED_KEYS: Final = frozenset({"acknowledged-issue-numbers", "cli-telemetry"})

TIER_NAME_RE: Final = re.compile(r"^[A-Z][A-Za-z0-9]{0,31}\Z", _A)
STACKSET_CALL_AS: Final = ("SELF", "DELEGATED_ADMIN")


def is_cdk_owned_key(key: str) -> bool:
    """Feature flags (@aws-cdk/…), aws:cdk:… keys and lookup caches (provider:account=…); not a typo of ours."""
    return key.startswith(("@", "aws:cdk:")) or ":account=" in key or key in _CDK_OWNED_KEYS


def _parse_json_string(key: str, value: Any, kind: type) -> Any:
    """``-c key=value`` delivers lists and objects as JSON strings."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise SettingsError(key, value, f"must be a JSON {kind.__name__}: {exc.msg}") from None
    return value


def _bool(key: str, value: Any) -> bool:
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    _check(key, value, isinstance(value, bool), "must be true or false")
    return bool(value)


def _list(key: str, value: Any, item: Callable[[str, Any], Any]) -> tuple[Any, ...]:
    value = _parse_json_string(key, value, list)
    _check(key, value, isinstance(value, list), "must be a JSON list")
    items = tuple(item(f"{key}[{i}]", v) for i, v in enumerate(value))
    seen: set[Any] = set()
    for i, v in enumerate(items):
        _check(f"{key}[{i}]", v, v not in seen, "duplicates an earlier entry")
        seen.add(v)
    return items


def _optional(validator: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    return lambda key, value: None if value is None or value == "" else validator(key, value)


def _percentage(low: int) -> Callable[[str, Any], int]:
    def parse(key: str, value: Any) -> int:
        number = _int(key, value)
        _check(key, value, low <= number <= 100, f"must be a percentage between {low} and 100")
        return number

    return parse


def _one_of(choices: Sequence[str]) -> Callable[[str, Any], str]:
    def parse(key: str, value: Any) -> str:
        text = _str(key, value)
        _check(key, text, text in choices, f"must be one of {', '.join(choices)}")
        return text

    return parse


@dataclass(frozen=True, kw_only=True)
class RoleSpec:
    """One role to create in every target account, and its group in the trusted account.

    Without ``roles`` there is one spec, made of the top-level settings; each tier of
    ``roles`` is a spec whose unset keys inherit the top-level settings.
    """

    tier: str | None
    role_name: str
    role_path: str
    role_description: str | None
    external_ids: tuple[str, ...]
    require_mfa: bool
    mfa_max_age_seconds: int | None
    max_session_duration_seconds: int
    trusted_principal_arns: tuple[str, ...]
    principal_org_id: str | None
    require_source_identity: bool
    allowed_actions: tuple[str, ...]
    allowed_resources: tuple[str, ...]
    managed_policy_arns: tuple[str, ...]
    permissions_boundary_arn: str | None
    assumers_group_name: str
    tags: Mapping[str, str]

    @classmethod
    def setting_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.name != "tier")

    def check(self, *, trusted_account_id: str, prefix: str = "") -> None:
        """Rules that involve several keys of one role."""
        for i, arn in enumerate(self.trusted_principal_arns):
            validate_principal_arn(f"{prefix}trusted_principal_arns[{i}]", arn, trusted_account_id=trusted_account_id)
        check_mfa_max_age(f"{prefix}mfa_max_age_seconds", self.mfa_max_age_seconds, require_mfa=self.require_mfa)
        check_grants(
            prefix,
            actions=self.allowed_actions,
            resources=self.allowed_resources,
            managed_policy_arns=self.managed_policy_arns,
        )


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The validated settings of the app. Build it with :meth:`from_context`."""

    trusted_account_id: str = "111111111111"
    target_account_id: str = "222222222222"
    target_account_ids: tuple[str, ...] = ()
    region: str = "us-east-1"
    role_name: str = "CrossAccountAccessRole"
    role_path: str = "/"
    role_description: str | None = None
    external_ids: tuple[str, ...] = ("12345678TESTID",)
    require_mfa: bool = False
    mfa_max_age_seconds: int | None = None
    max_session_duration_seconds: int = 3600
    trusted_principal_arns: tuple[str, ...] = ()
    principal_org_id: str | None = None
    require_source_identity: bool = False
    allowed_actions: tuple[str, ...] = HOWTO_ACTIONS
    allowed_resources: tuple[str, ...] = ("*",)
    managed_policy_arns: tuple[str, ...] = ()
    permissions_boundary_arn: str | None = None
    assumers_group_name: str = "CrossAccountAssumers"
    tags: Mapping[str, str] = field(default_factory=dict)
    roles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    organization_id: str | None = None
    target_organizational_unit_ids: tuple[str, ...] = ()
    stackset_account_ids: tuple[str, ...] = ()
    stackset_name: str = "CrossAccountAccessRole"
    stackset_call_as: str = "SELF"
    stackset_failure_tolerance_percentage: int = 10
    stackset_max_concurrent_percentage: int = 25
    local: bool = False

    @classmethod
    def setting_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Settings:
        """Parse and validate CDK context; raise :class:`SettingsError` on the first bad key."""
        known = cls.setting_names()
        for key in sorted(context):
            if key not in known and not is_cdk_owned_key(key):
                raise _unknown(key, context[key], known)

        values: dict[str, Any] = {}
        for key, parse in _PARSERS.items():
            if key in context:
                values[key] = parse(key, context[key])
        settings = cls(**values)
        settings._check_together()
        return settings

    @property
    def target_accounts(self) -> tuple[str, ...]:
        """The accounts that get a TargetStack: ``target_account_ids``, or else ``target_account_id``."""
        return self.target_account_ids or (self.target_account_id,)

    @property
    def organization_wide(self) -> bool:
        return self.organization_id is not None

    @cached_property
    def role_specs(self) -> tuple[RoleSpec, ...]:
        """The roles to create: the top-level role, or one per tier of ``roles``."""
        base = {key: getattr(self, key) for key in RoleSpec.setting_names()}
        if not self.roles:
            return (RoleSpec(tier=None, **base),)
        return tuple(
            RoleSpec(
                tier=tier,
                **{
                    **base,
                    "role_name": f"{self.role_name}-{tier}",
                    "assumers_group_name": f"{self.assumers_group_name}-{tier}",
                    **overrides,
                },
            )
            for tier, overrides in self.roles.items()
        )

    def _check_together(self) -> None:
        for i, account in enumerate(self.target_accounts):
            key = f"target_account_ids[{i}]" if self.target_account_ids else "target_account_id"
            check_not_trusted_account(key, account, trusted_account_id=self.trusted_account_id)
        if self.target_account_ids:
            _check(
                "target_account_id",
                self.target_account_id,
                self.target_account_id in self.target_account_ids,
                "must be one of target_account_ids (it is the client's default account); "
                "list every target in target_account_ids",
            )
        for spec in self.role_specs:
            prefix = f"roles.{spec.tier}." if spec.tier else ""
            if spec.tier:
                # Tier names are built from the top-level ones; check what is built.
                validate_role_name(f"{prefix}role_name", spec.role_name)
                validate_group_name(f"{prefix}assumers_group_name", spec.assumers_group_name)
            spec.check(trusted_account_id=self.trusted_account_id, prefix=prefix)
            arns = [
                role_arn(
                    partition=LONGEST_PARTITION, account_id=account, role_path=spec.role_path, role_name=spec.role_name
                )
                for account in self.target_accounts
            ]
            check_policy_count("target_account_ids", len(arns), len(policy_chunks(arns)) + self.organization_wide)
        for attribute, rule in (("role_name", "role names"), ("assumers_group_name", "group names")):
            seen: dict[str, str] = {}
            for spec in self.role_specs:
                name = getattr(spec, attribute)
                _check(
                    f"roles.{spec.tier}.{attribute}",
                    name,
                    name.lower() not in seen,
                    f"{rule} must be unique, ignoring case (tier {seen.get(name.lower())} has it)",
                )
                seen[name.lower()] = str(spec.tier)
        if self.stackset_account_ids and not self.organization_id:
            raise SettingsError(
                "stackset_account_ids", list(self.stackset_account_ids), "only applies with organization_id"
            )
        for i, account in enumerate(self.stackset_account_ids):
            check_not_trusted_account(f"stackset_account_ids[{i}]", account, trusted_account_id=self.trusted_account_id)
        if bool(self.organization_id) != bool(self.target_organizational_unit_ids):
            missing = "target_organizational_unit_ids" if self.organization_id else "organization_id"
            present = "organization_id" if self.organization_id else "target_organizational_unit_ids"
            raise SettingsError(
                missing, getattr(self, missing) or None, f"is required with {present}: the StackSet needs both"
            )

    @property
    def role_arn(self) -> str:
        """The first role's ARN in ``target_account_id``, standard ``aws`` partition (the client's default)."""
        spec = self.role_specs[0]
        return role_arn(
            partition="aws", account_id=self.target_account_id, role_path=spec.role_path, role_name=spec.role_name
        )


def _unknown(key: str, value: Any, known: Sequence[str]) -> SettingsError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return SettingsError(key, value, f"unknown setting{hint}; known settings: {', '.join(known)}")


def _tiers(key: str, value: Any) -> dict[str, dict[str, Any]]:
    """``roles``: tier name -> the role keys it overrides, each validated like its top-level twin."""
    value = _parse_json_string(key, value, dict)
    _check(key, value, isinstance(value, Mapping), "must be an object of tier names to role settings")
    tiers: dict[str, dict[str, Any]] = {}
    for tier, overrides in value.items():
        tier_key = f"{key}.{tier}"
        _check(
            tier_key,
            tier,
            bool(TIER_NAME_RE.match(tier)),
            "tier names must be 1-32 letters or digits, starting upper-case",
        )
        _check(tier_key, overrides, isinstance(overrides, Mapping), "must be an object of role settings")
        for name in overrides:
            if name not in RoleSpec.setting_names():
                raise _unknown(f"{tier_key}.{name}", overrides[name], RoleSpec.setting_names())
        tiers[tier] = {name: _PARSERS[name](f"{tier_key}.{name}", raw) for name, raw in overrides.items()}
    return tiers


_PARSERS: Final[dict[str, Callable[[str, Any], Any]]] = {
    "trusted_account_id": validate_account_id,
    "target_account_id": validate_account_id,
    "target_account_ids": lambda k, v: _list(k, v, validate_account_id),
    "region": validate_region,
    "role_name": validate_role_name,
    "role_path": validate_path,
    "role_description": _optional(validate_description),
    "external_ids": lambda k, v: _list(k, v, validate_external_id),
    "require_mfa": _bool,
    "mfa_max_age_seconds": _optional(validate_mfa_max_age),
    "max_session_duration_seconds": validate_max_session_duration,
    "trusted_principal_arns": lambda k, v: _list(k, v, _str),
    "principal_org_id": _optional(validate_org_id),
    "require_source_identity": _bool,
    "allowed_actions": lambda k, v: _list(k, v, validate_action),
    "allowed_resources": lambda k, v: _list(k, v, validate_resource),
    "managed_policy_arns": lambda k, v: _list(k, v, validate_policy_arn),
    "permissions_boundary_arn": _optional(validate_policy_arn),
    "assumers_group_name": validate_group_name,
    "tags": lambda k, v: validate_tags(k, _parse_json_string(k, v, dict)),
    "roles": _tiers,
    "organization_id": _optional(validate_org_id),
    "target_organizational_unit_ids": lambda k, v: _list(k, v, validate_ou_id),
    "stackset_account_ids": lambda k, v: _list(k, v, validate_account_id),
    "stackset_name": validate_stackset_name,
    "stackset_call_as": _one_of(STACKSET_CALL_AS),
    "stackset_failure_tolerance_percentage": _percentage(0),
    "stackset_max_concurrent_percentage": _percentage(1),
    "local": _bool,
}
assert set(_PARSERS) == set(Settings.setting_names()), "every setting needs a parser"
assert set(RoleSpec.setting_names()) <= set(_PARSERS), "every role key is also a top-level setting"


def sequence_of(key: str, values: Sequence[Any], validator: Callable[[str, Any], Any]) -> tuple[Any, ...]:
    """Validate a sequence given directly to a construct (not through context)."""
    _check(key, values, not isinstance(values, str | bytes), "must be a list, not a single string")
    return tuple(validator(f"{key}[{i}]", v) for i, v in enumerate(values))
