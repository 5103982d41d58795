"""One MFA prompt for many roles: an MFA session from sts:GetSessionToken, cached, from which roles are assumed.

The session is asked for once with the MFA code and kept in the 0600 cache, keyed by the source credentials (a
hash of their access key ID) and the MFA device. Every role, tier or account is then assumed from it without a
new code, while it lasts and while it is young enough for the role's ``aws:MultiFactorAuthAge`` rule.

STS counts AssumeRole called with GetSessionToken credentials as role chaining: the role session lasts one hour at
most (aws-vault's users found out: 99designs/aws-vault#351, #800). So the MFA session serves requests of up to
3600 seconds; a longer --duration assumes the role with the MFA code directly, one prompt per role.
GetSessionToken only takes an IAM user's long-term keys: with temporary source credentials (SSO, a role) the code
also goes to AssumeRole directly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Final

from cross_account.cli.assume import prompt_mfa_token, utc_now
from cross_account.cli.cache import CredentialCache, cache_key
from cross_account.cli.credentials import Credentials, iso8601
from cross_account.cli.errors import CallContext, CliError
from cross_account.cli.request import RoleRequest
from cross_account.cli.sts import Source, Sts, credentials_from_reply
from cross_account.rules import MIN_SESSION_SECONDS, ROLE_CHAINING_MAX_SECONDS

#: How long an MFA session lasts when no role limits its age: GetSessionToken's own default for IAM users.
MFA_SESSION_SECONDS: Final = 43200
#: An MFA session is used for a role only while it is this much younger than the role's MFA age limit: the
#: AssumeRole call and clock skew must fit.
AGE_MARGIN: Final = timedelta(seconds=60)
#: The name the cache and the messages give an MFA session.
SESSION_NAME: Final = "mfa-session"


def serves(request: RoleRequest, source: Source) -> bool:
    """Whether `request` is assumed through the MFA session: it names an MFA device, the source credentials are an
    IAM user's long-term keys, and the role session asked for fits in role chaining's hour."""
    short = request.duration is None or request.duration <= ROLE_CHAINING_MAX_SECONDS
    return request.mfa_serial is not None and not source.temporary and short


def why_not(request: RoleRequest, source: Source) -> str | None:
    """Why a request with an MFA device is not served by the MFA session (so its code is asked for this role)."""
    if request.mfa_serial is None or serves(request, source):
        return None
    if source.temporary:
        return "the source credentials are temporary (GetSessionToken takes an IAM user's long-term keys only)"
    return (
        f"--duration {request.duration} is over 3600 s, and STS caps a role session assumed from an MFA session at "
        "1 hour (role chaining); the role is assumed with the MFA code itself"
    )


def session_fields(request: RoleRequest, source: Source) -> dict[str, Any]:
    """What identifies an MFA session: the device and which source credentials asked. ``role_arn`` is the subject
    the cache checks its credentials against: for an MFA session, the device."""
    return {
        "kind": SESSION_NAME,
        "role_arn": request.mfa_serial,
        "source_profile": request.profile,
        "source_access_key": source.fingerprint,
    }


def lifetime(mfa_max_age: int | None) -> int:
    """GetSessionToken's DurationSeconds: no longer than the role's MFA age limit (but at least STS's 900)."""
    if mfa_max_age is None:
        return MFA_SESSION_SECONDS
    return max(MIN_SESSION_SECONDS, min(mfa_max_age, MFA_SESSION_SECONDS))


def mfa_session(
    request: RoleRequest,
    *,
    source: Source,
    mfa_token: str | None,
    sts: Sts,
    cache: CredentialCache,
    log: Callable[[str], None],
    notice: Callable[[str], None],
    prompt: Callable[[str], str] = prompt_mfa_token,
) -> Credentials:
    """The cached MFA session for the request's device, young enough for its role; else a new one (asking the code
    once), cached."""
    assert request.mfa_serial is not None
    fields = session_fields(request, source)
    key = cache_key(fields)
    max_age = timedelta(seconds=request.mfa_max_age) - AGE_MARGIN if request.mfa_max_age is not None else None
    cached = cache.get(key, fields=fields, need_mfa=True, max_age=max_age)
    if cached is not None:
        log(f"cached MFA session for {request.mfa_serial} (expires {iso8601(cached.expiration)})")
        return cached
    duration = lifetime(request.mfa_max_age)
    issued = cache.clock()
    params = {
        "SerialNumber": request.mfa_serial,
        "TokenCode": mfa_token or prompt(request.mfa_serial),
        "DurationSeconds": duration,
    }
    context = CallContext(
        role_arn=request.role_arn, external_id=None, mfa_serial=request.mfa_serial, profile=request.profile
    )
    reply = sts.get_session_token(params, context)
    credentials = credentials_from_reply(
        reply,
        role_arn=request.mfa_serial,
        session_name=SESSION_NAME,
        region=sts.region,
        now=utc_now(),
        operation="GetSessionToken",
    )
    log(f"new MFA session for {request.mfa_serial}, expires {iso8601(credentials.expiration)}")
    if request.mfa_max_age is not None:
        notice(
            f"the MFA session lasts {duration} s: the role accepts MFA sign-ins at most {request.mfa_max_age} s old "
            "(mfa_max_age_seconds in the app's settings); roles ask for a new code after that"
        )
    try:
        cache.put(key, credentials, fields=fields, mfa=True, issued=issued)
    except (CliError, OSError) as error:
        # Good for this role; the next one asks for a code again.
        notice(f"the MFA session is not cached: {error}")
    return credentials
