"""AWS's rules for each value: patterns, validators, and rules across values.

The error a user sees for a bad value is written once, here, and used by the app's
settings, the constructs and the ``cross-account`` client alike. How a rule is declared and
said is :mod:`cross_account.declaration`; IAM's quotas are :mod:`cross_account.quotas`. No CDK
import: the client uses this module without paying for jsii.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from cross_account.declaration import SettingsError, Validator, check, never
from cross_account.iam_data import IDENTITY_ESCALATION, IDENTITY_SERVICES
from cross_account.quotas import DEFAULT_TRUST_POLICY_QUOTA, GUARD_TAG, MAX_TAGS, MAX_TRUST_POLICY_QUOTA

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
OU_OR_ROOT_ID_RE: Final = re.compile(r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})\Z", _A)
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
    r"(?P<kind>user|role)(?P<path>/(?:[\x21-\x7E]+/)?)(?P<name>[\w+=,.@*?-]{1,64})\Z",
    _A,
)
POLICY_ARN_RE: Final = re.compile(
    rf"^arn:(?:{PARTITION_RE}):iam::(?:aws|\d{{12}}):policy/(?:[\x21-\x7E]+/)?[\w+=,.@-]{{1,128}}\Z",
    _A,
)
RESOURCE_ARN_RE: Final = re.compile(
    rf"^arn:(?:{PARTITION_RE}|\*):[a-z0-9*?-]+:[a-z0-9*?-]*:(?:\d{{12}}|aws|[*?]+|):[\x21-\x7E]+\Z", _A
)
STACK_NAME_PATTERN_RE: Final = re.compile(r"^[A-Za-z*?][A-Za-z0-9*?-]{0,127}\Z", _A)
PROFILE_NAME_RE: Final = re.compile(r"^[\w+=,.@:/-]{1,128}\Z", _A)
DESCRIPTION_RE: Final = re.compile(r"^[\t\n\r\x20-\x7E\xA1-\xFF]*\Z")
ACTION_RE: Final = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*?]+\Z", _A)

MIN_SESSION_SECONDS: Final = 900
MAX_SESSION_SECONDS: Final = 43200
ROLE_CHAINING_MAX_SECONDS: Final = 3600
CONSOLE_SWITCH_ROLE_MAX: Final = 64  # path (without leading slash) + name


# --- single-value validators, shared by the app settings, the constructs and the client --------


def _str(key: str, value: Any) -> str:
    check(key, value, isinstance(value, str), "must be a string")
    return str(value)


def _matching(
    pattern: re.Pattern[str], rule: str, length: tuple[int, int] = (0, sys.maxsize)
) -> Callable[[str, Any], str]:
    """A validator for a string of ``length`` characters matching ``pattern``; ``rule`` says so in words."""
    low, high = length

    def validate(key: str, value: Any) -> str:
        text = _str(key, value)
        check(key, text, low <= len(text) <= high and bool(pattern.match(text)), rule)
        return text

    return validate


def validate_account_id(key: str, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise SettingsError(key, value, "must be a string of exactly 12 digits (quote it: leading zeros matter)")
    text = _str(key, value)
    check(key, text, bool(ACCOUNT_ID_RE.match(text)), "must be exactly 12 digits")
    return text


validate_role_name = _matching(IAM_NAME_RE, "must be 1-64 characters of letters, digits and +=,.@_-", (1, 64))
validate_group_name = _matching(IAM_NAME_RE, "must be 1-128 characters of letters, digits and +=,.@_-", (1, 128))
validate_policy_name = validate_group_name
validate_path = _matching(
    IAM_PATH_RE, "must be '/' or start and end with '/', 1-512 printable ASCII characters", (1, 512)
)
_external_id_characters = _matching(
    EXTERNAL_ID_RE, "must be 2-1224 characters of letters, digits and +=,.@:/_-", (2, 1224)
)


def validate_external_id(key: str, value: Any) -> str:
    text = _external_id_characters(key, value)
    check(key, text, not text.startswith("-"), "must not start with '-' (command-line parsers read it as an option)")
    return text


#: Role session names and source identities share one rule.
validate_session_name = _matching(SESSION_NAME_RE, "must be 2-64 characters of letters, digits and +=,.@_-", (2, 64))
validate_mfa_serial = _matching(
    MFA_SERIAL_RE, "must be 9-256 characters of letters, digits and +=/:,.@_- (an MFA device ARN)", (9, 256)
)
validate_mfa_token = _matching(MFA_TOKEN_RE, "must be exactly 6 digits")
#: An AWS config profile name, kept to characters the config file and shells take as they are.
validate_profile_name = _matching(PROFILE_NAME_RE, "must be 1-128 characters of letters, digits and +=,.@:/_-")
validate_org_id = _matching(ORG_ID_RE, "must match o-[a-z0-9]{10,32}")
validate_ou_id = _matching(
    OU_OR_ROOT_ID_RE, "must be an OU ID ou-[0-9a-z]{4,32}-[a-z0-9]{8,32} or a root ID r-[0-9a-z]{4,32}"
)
validate_stackset_name = _matching(STACKSET_NAME_RE, "must start with a letter and be 1-128 letters, digits or -")
validate_stack_name_pattern = _matching(
    STACK_NAME_PATTERN_RE, "must be a CloudFormation stack name (letters, digits, -), wildcards * and ? allowed"
)


def validate_lane_stack_pattern(key: str, value: Any) -> str:
    """A stack-name pattern that narrows the lane: one of wildcards only would reach every stack."""
    text = validate_stack_name_pattern(key, value)
    check(key, text, bool(text.strip("*?")), "needs a literal part (my-service-*): wildcards alone name every stack")
    return text


BUCKET_NAME_PATTERN_RE: Final = re.compile(r"^[a-z0-9*?][a-z0-9.*?-]{0,62}\Z", _A)


def validate_bucket_name_pattern(key: str, value: Any) -> str:
    """An S3 bucket name, wildcards * and ? allowed, with a literal part."""
    text = _str(key, value)
    check(
        key,
        text,
        bool(BUCKET_NAME_PATTERN_RE.match(text)),
        "must be an S3 bucket name (a-z, 0-9, '.', '-'), wildcards * and ? allowed",
    )
    check(
        key,
        text,
        bool(text.strip("*?")),
        "needs a literal part (my-terraform-state-*): wildcards alone name every bucket",
    )
    return text


SERVICE_PRINCIPAL_RE: Final = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}\.amazonaws\.com(\.cn)?\Z", _A)
#: Services a lane role must never go to: CloudFormation would run stacks with it (a stored service
#: role); IAM, STS and Organizations act on identities.
REFUSED_SERVICE_PRINCIPALS: Final = (
    "cloudformation.amazonaws.com",
    "iam.amazonaws.com",
    "sts.amazonaws.com",
    "organizations.amazonaws.com",
)


def validate_service_principal(key: str, value: Any) -> str:
    text = _str(key, value)
    check(key, text, bool(SERVICE_PRINCIPAL_RE.match(text)), "must be a service principal such as lambda.amazonaws.com")
    check(
        key,
        text,
        text not in REFUSED_SERVICE_PRINCIPALS,
        "would let a created role run stacks or change identities; name the service that runs your code",
    )
    return text


def check_service_role_path(key: str, path: str, *, role_path: str) -> None:
    """The service roles' path holds only them: never ``/``, never the role's own path or one above it."""
    check(key, path, path != "/", "must not be '/': every role of the account lives under it")
    check(
        key,
        path,
        not role_path.startswith(path),
        f"collides with role_path {role_path!r}: the role itself would be one of the roles the session may change",
    )


validate_region = _matching(REGION_RE, "must be an AWS region name such as us-east-1")
validate_policy_arn = _matching(
    POLICY_ARN_RE, "must be a managed policy ARN arn:<partition>:iam::<aws|account>:policy/[path/]name"
)


def validate_int(key: str, value: Any) -> int:
    if isinstance(value, str) and re.fullmatch(r"\d+", value, _A):
        # int() refuses over 4,300 digits with a traceback; no setting needs more than a few.
        check(key, value, len(value.lstrip("0")) <= 15, "is too large a number")
        return int(value)
    check(key, value, isinstance(value, int) and not isinstance(value, bool), "must be an integer")
    return int(value)


def validate_bool(key: str, value: Any) -> bool:
    """``-c`` delivers booleans as the strings true and false."""
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    check(key, value, isinstance(value, bool), "must be true or false")
    return bool(value)


def _in_range(low: int, high: int, rule: str) -> Callable[[str, Any], int]:
    """A validator for an integer from ``low`` to ``high``; ``rule`` says so in words."""

    def validate(key: str, value: Any) -> int:
        number = validate_int(key, value)
        check(key, value, low <= number <= high, rule)
        return number

    return validate


validate_trust_policy_quota = _in_range(
    DEFAULT_TRUST_POLICY_QUOTA,
    MAX_TRUST_POLICY_QUOTA,
    f"must be between {DEFAULT_TRUST_POLICY_QUOTA} (IAM's default) and {MAX_TRUST_POLICY_QUOTA} (IAM's most)",
)
validate_max_session_duration = _in_range(3600, MAX_SESSION_SECONDS, "must be between 3600 and 43200 seconds")
validate_mfa_max_age = _in_range(1, 129600, "must be between 1 and 129600 seconds (36 hours)")


def validate_duration(key: str, value: Any, *, role_max: int | None = None, role_chaining: bool = False) -> int:
    """AssumeRole DurationSeconds: 900-43200, within the role's maximum, 1 h when chaining."""
    seconds = validate_int(key, value)
    check(key, value, MIN_SESSION_SECONDS <= seconds <= MAX_SESSION_SECONDS, "must be between 900 and 43200 seconds")
    if role_max is not None:
        check(key, value, seconds <= role_max, f"must not exceed the role's MaxSessionDuration of {role_max} seconds")
    if role_chaining:
        check(
            key,
            value,
            seconds <= ROLE_CHAINING_MAX_SECONDS,
            "must not exceed 3600 seconds: the caller is an assumed role, and role chaining caps sessions at 1 hour",
        )
    return seconds


def validate_role_arn(key: str, value: Any) -> re.Match[str]:
    text = _str(key, value)
    match = ROLE_ARN_RE.match(text)
    if match is None:
        raise SettingsError(key, text, "must be a role ARN arn:<partition>:iam::<12 digits>:role/[path/]name")
    check(key, text, len(match["path"]) <= 512, "role path must be at most 512 characters")
    return match


def validate_principal_arn(key: str, value: Any, *, trusted_account_id: str | None = None) -> str:
    """A user or role ARN; in ``trusted_account_id`` when that is known."""
    text = _str(key, value)
    check(key, text, text != "*", "a wildcard principal '*' would let any AWS account assume the role; name principals")
    match = PRINCIPAL_ARN_RE.match(text)
    check(
        key,
        text,
        match is not None,
        "must be an IAM user or role ARN arn:<partition>:iam::<account>:user|role/[path/]name",
    )
    assert match is not None
    check(
        key,
        text,
        match["name"][0] not in "*?",
        "a wildcard needs a literal name prefix before it (ArnEquals honours * and ?, so role/* means anyone in "
        "the account); e.g. role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Deploy_????????????????",
    )
    check(
        key,
        text,
        all(segment == "*" or not any(c in segment for c in "*?") for segment in match["path"].split("/")),
        "a wildcard in the path must be a whole segment (/*/): a * inside a segment also matches '/', "
        "and so deeper paths",
    )
    if trusted_account_id is not None:
        check(
            key,
            text,
            match["account"] == trusted_account_id,
            f"must be a principal in the trusted account {trusted_account_id}",
        )
    return text


def validate_action(key: str, value: Any) -> str:
    """An action the role's own policy may allow: never one with which the session raises its own privileges."""
    text = _str(key, value)
    check(
        key,
        text,
        text != "*",
        "a bare '*' grants administrator access; attach it deliberately through managed_policy_arns",
    )
    check(key, text, bool(ACTION_RE.match(text)), "must be an IAM action service:Action (wildcards * and ? allowed)")
    service = text.split(":", 1)[0]
    check(
        key,
        text,
        service not in IDENTITY_SERVICES or not any(char in text for char in "*?"),
        f"a wildcard in {service}: reaches actions with which the session grants itself anything; name the actions "
        "needed, or attach such a policy deliberately through managed_policy_arns (the tamper guard still applies)",
    )
    check(
        key,
        text,
        text.lower() not in IDENTITY_ESCALATION,
        "lets the session raise its own privileges (it changes identities, policies, sessions or the organization); "
        "attach such a policy deliberately through managed_policy_arns (the tamper guard still applies)",
    )
    return text


def validate_resource(key: str, value: Any) -> str:
    text = _str(key, value)
    check(
        key,
        text,
        text == "*" or bool(RESOURCE_ARN_RE.match(text)),
        "must be '*' or an ARN arn:<partition>:<service>:<region>:<account>:<resource> (wildcards allowed)",
    )
    return text


def validate_description(key: str, value: Any) -> str:
    text = _str(key, value)
    check(key, text, len(text) <= 1000, "must be at most 1000 characters")
    check(
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


_TAG_CHARACTERS: Final = "tags may hold letters, digits, spaces and _.:/=+-@ only"


def validate_tag_key(key: str, value: Any) -> str:
    """A tag key, on a role or a session (IAM's rules are the same)."""
    check(key, value, isinstance(value, str) and 1 <= len(value) <= 128, "tag keys must be 1-128 characters")
    check(key, value, not value.lower().startswith("aws:"), "the aws: tag prefix is reserved by AWS")
    check(key, value, _is_tag_text(value), _TAG_CHARACTERS)
    return str(value)


def validate_tag(key: str, tag_key: Any, tag_value: Any, *, unresolved: Callable[[Any], bool]) -> None:
    """One tag; a value only known at deploy time (a CDK token) is left to IAM."""
    entry = f"{key}.{tag_key}"
    validate_tag_key(entry, tag_key)
    check(entry, tag_value, isinstance(tag_value, str), "tag values must be strings")
    if unresolved(tag_value):
        return
    check(entry, tag_value, len(tag_value) <= 256, "tag values must be at most 256 characters")
    check(entry, tag_value, _is_tag_text(tag_value), _TAG_CHARACTERS)


# --- rules across several values, shared by the settings and the constructs ----------------


def check_mfa_max_age(key: str, mfa_max_age_seconds: Any, *, require_mfa: bool) -> None:
    """The age limit is only given together with require_mfa."""
    check(
        key,
        mfa_max_age_seconds,
        mfa_max_age_seconds is None or require_mfa,
        'only applies with require_mfa=true; set both or neither ("" unsets an inherited value)',
    )


def check_grants(prefix: str, *, actions: Sequence[str], managed_policy_arns: Sequence[str]) -> None:
    """The app's role must grant something."""
    check(
        f"{prefix}allowed_actions",
        list(actions),
        bool(actions or managed_policy_arns),
        "the role would grant nothing: give allowed_actions or managed_policy_arns",
    )


def check_resources_for_actions(key: str, resources: Sequence[str], *, actions: Sequence[str]) -> None:
    check(key, list(resources), bool(resources or not actions), "must name at least one resource for allowed_actions")


def check_not_trusted_account(key: str, account_id: str, *, trusted_account_id: str) -> None:
    check(
        key,
        account_id,
        account_id != trusted_account_id,
        "must differ from trusted_account_id: a role that trusts its own account is not cross-account",
    )


#: Region prefixes outside the standard partition, and the region STS is called in when only the partition is known.
PARTITIONS: Final = (
    ("cn-", "aws-cn", "cn-north-1"),
    ("us-gov-", "aws-us-gov", "us-gov-west-1"),
    ("us-iso-", "aws-iso", "us-iso-east-1"),
    ("us-isob-", "aws-iso-b", "us-isob-east-1"),
    ("eu-isoe-", "aws-iso-e", "eu-isoe-west-1"),
    ("us-isof-", "aws-iso-f", "us-isof-south-1"),
)


def partition_of(region: str) -> str:
    """The AWS partition a region belongs to (aws, aws-cn, aws-us-gov, aws-iso*)."""
    return next((partition for prefix, partition, _ in PARTITIONS if region.startswith(prefix)), "aws")


def role_arn(*, partition: str, account_id: str, role_path: str, role_name: str) -> str:
    """The ARN of a role, computed, so the trusted side needs no cross-account reference."""
    return f"arn:{partition}:iam::{account_id}:role{role_path}{role_name}"


# --- combinators: lists and optional values ---------------------------------------------


#: How CDK writes a token into a string.
_STRING_TOKEN: Final = re.compile(r"\$\{Token\[[^\]]*\]\}")


def literal_parts(text: str) -> list[str]:
    """The text around the tokens of a string: what of it is known at synth."""
    return [part for part in _STRING_TOKEN.split(text) if part]


def percentage(low: int) -> Validator:
    return _in_range(low, 100, f"must be a percentage between {low} and 100")


def one_of(choices: Sequence[str]) -> Validator:
    def parse(key: str, value: Any) -> str:
        text = _str(key, value)
        check(key, text, text in choices, f"must be one of {', '.join(choices)}")
        return text

    return parse


def mapping_of_tags(key: str, value: Any, *, unresolved: Callable[[Any], bool] = never) -> dict[str, str]:
    check(key, value, isinstance(value, Mapping), "must be an object of tag keys to string values")
    check(key, f"{len(value)} tags", len(value) <= MAX_TAGS, f"IAM allows at most {MAX_TAGS} tags")
    for tag_key, tag_value in value.items():
        validate_tag(key, tag_key, tag_value, unresolved=unresolved)
    return dict(value)


def role_tags(key: str, value: Any, *, unresolved: Callable[[Any], bool] = never) -> dict[str, str]:
    """Tags for a role: one of IAM's 50 is the tamper guard's."""
    tags = mapping_of_tags(key, value, unresolved=unresolved)
    check(
        key,
        f"{len(tags)} tags",
        len(tags) < MAX_TAGS,
        f"IAM allows at most {MAX_TAGS} tags on a role, and the tamper guard's tag is one of them",
    )
    for tag_key, tag_value in tags.items():
        check(
            f"{key}.{tag_key}",
            tag_value,
            tag_key.lower() != GUARD_TAG[0],
            f"is the tamper guard's own tag ({GUARD_TAG[0]}; IAM compares tag keys ignoring case)",
        )
    return tags
