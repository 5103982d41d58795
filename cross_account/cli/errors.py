"""Turn every expected failure into one clear line and an exit code.

botocore is imported lazily: a cache hit never loads it, and its exceptions are only
inspected after a call failed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from cross_account.declaration import SettingsError

EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130

#: Inputs whose value is never echoed back, even when it is malformed.
MFA_CODE: Final = "MFA code"
_SECRET_KEYS: Final = frozenset({"--mfa-token", MFA_CODE})
#: How much of a message from AWS or botocore is shown: a sentence, never a page.
MESSAGE_LIMIT: Final = 300
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
#: No flag value is longer (an external ID has at most 1224 characters); a longer one is refused unread.
MAX_FLAG_LENGTH: Final = 2048


class CliError(Exception):
    """An expected failure: the message is one line, safe to print (it never holds a secret)."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        self.exit_code = exit_code
        super().__init__(one_line(message))


class AccessDeniedError(CliError):
    """AssumeRole of `role_arn` was refused: the role's trust or the caller's policy said no."""

    def __init__(self, message: str, *, role_arn: str) -> None:
        super().__init__(message)
        self.role_arn = role_arn


class UsageError(CliError):
    """Bad input (a flag, a setting, a file the user named): exit status 2, as for argparse's own errors."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=EXIT_USAGE)


def shown(text: str) -> str:
    """A value the user gave, as an error line shows it: at most 20 characters."""
    return text if len(text) <= 20 else text[:17] + "..."


def whole_seconds(named: str, text: str, low: int, high: int, *, digits: int) -> int:
    """`text` as a whole number of seconds from `low` to `high`, else one UsageError (``invalid <named><text>``;
    `named` ends with its separator). Checked as text first, at most `digits` long: int() of a 5,000-digit
    string raises its own error."""
    if not re.fullmatch(rf"\d{{1,{digits}}}", text, re.ASCII) or not low <= int(text) <= high:
        raise UsageError(f"invalid {named}{shown(text)}: must be a whole number of seconds from {low} to {high}")
    return int(text)


def one_line(text: str) -> str:
    return " ".join(text.split())


def cut(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` on one line, at most `limit` characters (marked when cut)."""
    text = one_line(text)
    return text if len(text) <= limit else text[: limit - 5].rstrip() + " [...]"


def from_settings_error(error: SettingsError, *, source: str | None = None) -> UsageError:
    """A rule broken by a flag (or by a setting in cdk.json, named by `source`)."""
    if error.key in _SECRET_KEYS:
        return UsageError(f"invalid {error.key}: {error.rule}")
    prefix = f"{source}: " if source else ""
    shown = str(error).removeprefix("invalid setting ")
    if error.key.startswith("--") or error.key.isupper():  # a flag, or a positional argument such as NAME
        return UsageError(f"{prefix}invalid {shown}")
    return UsageError(f"{prefix}invalid setting {shown}")


def checked_flag(key: str, value: Any, validator: Callable[[str, Any], Any]) -> Any:
    """``value`` of flag ``key`` through one of the shared rules; a broken rule is one usage line."""
    if value is None:
        return None
    # Control characters get their own message (the shared rules refuse them too, with a longer one).
    if isinstance(value, str) and _CONTROL.search(value):
        raise UsageError(f"invalid {key}: control characters are not allowed")
    if isinstance(value, str) and len(value) > MAX_FLAG_LENGTH:
        raise UsageError(f"invalid {key}: {len(value)} characters, longer than any valid value")
    try:
        return validator(key, value)
    except SettingsError as error:
        raise from_settings_error(error) from None


@dataclass(frozen=True)
class CallContext:
    """What was asked of STS, to explain a refusal. Holds no secret."""

    role_arn: str
    external_id: str | None
    mfa_serial: str | None
    source_identity: str | None = None
    duration: int | None = None
    assumers_group: str | None = None
    profile: str | None = None
    #: Who called (GetCallerIdentity's ARN), when it was looked up; and where the source identity came from.
    caller_arn: str | None = None
    source_identity_origin: str | None = None
    #: The STS call that failed, and the deadline it had.
    operation: str = "AssumeRole"
    deadline: float | None = None
    #: The session tag keys sent; whether AssumeRole was called from a cached MFA session (GetSessionToken).
    tags: tuple[str, ...] = ()
    mfa_session: bool = False


def explain_aws_error(error: BaseException, context: CallContext) -> CliError:
    """Map any failure of an STS call to one line that names the likely cause and the fix.

    Whatever botocore raised, the reply itself is never shown: a malformed or cut-off reply is in the message
    of botocore's ResponseParserError, credentials included. Unknown failures are named by their type only.
    """
    from botocore import exceptions as bx
    from botocore.parsers import ResponseParserError

    if isinstance(error, bx.ClientError):
        return _explain_client_error(error, context)
    if isinstance(error, ResponseParserError):
        return CliError(
            f"{context.operation}: the reply is not valid STS XML (cut off, or not from STS: a proxy, or a wrong "
            "AWS_ENDPOINT_URL?); it is not shown, as it may hold credentials"
        )
    if isinstance(error, bx.BotoCoreError):
        return _explain_botocore_error(error, context)
    return CliError(
        f"{context.operation}: the reply could not be read ({type(error).__name__}); it is not shown, as it may hold "
        "credentials (a proxy, or a wrong AWS_ENDPOINT_URL?)"
    )


def _explain_botocore_error(error: Exception, context: CallContext) -> CliError:
    from botocore import exceptions as bx

    if isinstance(error, bx.NoCredentialsError):
        return CliError(
            "no AWS credentials found for the trusted account: use --profile, set AWS_PROFILE, "
            "or configure ~/.aws/credentials (aws configure)"
        )
    if isinstance(error, bx.PartialCredentialsError):
        return CliError(f"incomplete AWS credentials: {error}")
    if isinstance(error, bx.ProfileNotFound):
        return CliError(f"AWS profile {error.kwargs.get('profile')!r} not found in the AWS config or credentials file")
    if isinstance(error, bx.SSOTokenLoadError | bx.UnauthorizedSSOTokenError):
        profile = f" --profile {context.profile}" if context.profile else ""
        return CliError(f"the SSO session of the source credentials has expired: run aws sso login{profile}")
    if isinstance(error, bx.ConnectTimeoutError | bx.ReadTimeoutError):
        return CliError(f"STS did not answer {context.operation} in time: {cut(str(error))}; {timeout_hint(context)}")
    if isinstance(error, bx.EndpointConnectionError):
        return CliError(f"cannot reach STS: {cut(str(error))}")
    return CliError(f"{type(error).__name__}: {cut(str(error))}")


def timeout_hint(context: CallContext) -> str:
    within = f"{context.deadline:g} s" if context.deadline is not None else "the deadline"
    return f"each STS call has {within}, retries included (--sts-timeout SECONDS or CROSS_ACCOUNT_STS_TIMEOUT)"


def _explain_client_error(error: Exception, context: CallContext) -> CliError:
    from botocore.exceptions import ClientError

    assert isinstance(error, ClientError)
    info = error.response.get("Error", {})
    code = str(info.get("Code", "Unknown"))
    message = cut(str(info.get("Message", "")))
    operation = error.operation_name
    lower = message.lower()
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if not info.get("Code") and not info.get("Message"):
        return CliError(
            f"{operation} failed: HTTP {status} with a reply that is not an AWS error (a proxy, or a wrong "
            "AWS_ENDPOINT_URL?)"
        )

    if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
        return CliError(
            f"{code}: the source credentials have expired; refresh them (new session token, "
            "aws sso login, or re-run the command that exported them) and try again"
        )
    if code in ("InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException"):
        return CliError(
            f"{code}: the source credentials are not valid (deleted or mistyped access key, or a secret "
            "that does not match); check the profile or AWS_* variables"
        )
    mfa_call = operation in ("AssumeRole", "GetSessionToken")
    if mfa_call and code == "AccessDenied" and "multifactorauthentication" in lower:
        return CliError(
            f"AccessDenied: the MFA code was rejected for {context.mfa_serial}; wait for the next code "
            "(a code works once) and check --mfa-serial names your device"
        )
    if operation == "AssumeRole" and code == "AccessDenied":
        return _access_denied(context, message)
    if code == "ValidationError" and "role chaining" in lower:
        return CliError(
            f"--duration {context.duration}: the source credentials are themselves a role session, and role "
            "chaining caps sessions at 3600 seconds; use --duration 3600 or less"
        )
    if code == "ValidationError" and "maxsessionduration" in lower:
        return CliError(
            f"--duration {context.duration} exceeds the role's MaxSessionDuration; ask for less, or raise "
            "max_session_duration_seconds in the app settings and redeploy TargetStack"
        )
    if code == "PackedPolicyTooLarge":
        return CliError(
            f"{code}: the session tags ({len(context.tags)}) and their values do not fit in the session's packed "
            "size; send fewer or shorter tags"
        )
    if code == "RegionDisabledException":
        return CliError(f"{code}: STS is not activated in this region for the target account; use --region. {message}")
    return CliError(f"{operation} failed: {code}: {message}")


def _access_denied(context: CallContext, message: str) -> CliError:
    group = f" {context.assumers_group}" if context.assumers_group else ""
    sent = f"you sent {context.external_id!r}" if context.external_id else "you sent none"
    causes = [
        f"(1) you are not in the assumers group{group} in the trusted account, or its policy does not "
        f"allow sts:AssumeRole on {context.role_arn}",
        f"(2) the external ID does not match the role's trust ({sent}; --external-id)",
        f"(3) {_mfa_cause(context)}",
        f"(4) {_source_identity_cause(context)}",
    ]
    if context.tags:
        causes.append(
            f"(5) the role's trust or your group's policy does not allow sts:TagSession, or not the tag keys "
            f"{', '.join(context.tags)} (allow_session_tags, allowed_session_tag_keys)"
        )
    return AccessDeniedError(
        f"AccessDenied: cannot assume {context.role_arn}. Likely causes: {'; '.join(causes)}. {message}",
        role_arn=context.role_arn,
    )


def _mfa_cause(context: CallContext) -> str:
    if context.mfa_serial is None:
        return "the role requires MFA (--mfa-serial)"
    if context.mfa_session:
        return (
            "the role requires a fresher MFA sign-in than your cached MFA session (aws:MultiFactorAuthAge): run "
            "cross-account clear-cache and try again"
        )
    return "the role requires a fresher MFA session (MFA age)"


def _source_identity_cause(context: CallContext) -> str:
    """The trust's source-identity rule: IAM users send their user name, role sessions any name (fixed once set)."""
    if context.source_identity is None:
        return "the role requires a source identity (--source-identity)"
    origin = f" ({context.source_identity_origin})" if context.source_identity_origin else ""
    sent = f"you sent source identity {context.source_identity!r}{origin}"
    if context.caller_arn is not None and ":assumed-role/" in context.caller_arn:
        return (
            f"{sent}; as a role session you may set any, but a session that already carries a source identity "
            "must send that same one (--source-identity)"
        )
    return f"{sent}; an IAM user must send exactly their user name (--source-identity)"
