"""One MFA prompt for many roles: an MFA session from sts:GetSessionToken, cached, from which roles are assumed.

The session is asked for once with the MFA code and kept in the cache (the OS keychain; or, where there is none
and the user opted in, a 0600 file, and then the session lasts no longer than the file cache keeps it), keyed by
the source credentials (a hash of their access key ID) and the MFA device. Every role, tier or account is then
assumed from it without a new code, while it lasts and while it is young enough for the role's
``aws:MultiFactorAuthAge`` rule.

STS counts AssumeRole called with GetSessionToken credentials as role chaining: the role session lasts one hour at
most (aws-vault's users found out: 99designs/aws-vault#351, #800). So the MFA session serves requests of up to
3600 seconds; a longer --duration assumes the role with the MFA code directly, one prompt per role.
GetSessionToken only takes an IAM user's long-term keys: with temporary source credentials (SSO, a role) the code
also goes to AssumeRole directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

from cross_account.cli.assume import utc_now
from cross_account.cli.cache import MFA_SESSION_KIND
from cross_account.cli.credentials import Issued
from cross_account.cli.errors import CallContext
from cross_account.cli.request import RoleRequest
from cross_account.cli.sources import StsSource
from cross_account.cli.sts import Source, Sts, credentials_from_reply
from cross_account.rules import MIN_SESSION_SECONDS, ROLE_CHAINING_MAX_SECONDS

#: How long an MFA session lasts when no role limits its age: GetSessionToken's own default for IAM users.
MFA_SESSION_SECONDS: Final = 43200
#: An MFA session is used for a role only while it is this much younger than the role's MFA age limit: the
#: AssumeRole call and clock skew must fit.
AGE_MARGIN: Final = timedelta(seconds=60)
#: The session name an MFA session's credentials carry (STS gives it none): the word its cache entries' kind is.
SESSION_NAME: Final = MFA_SESSION_KIND


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
        "kind": MFA_SESSION_KIND,
        "role_arn": request.mfa_serial,
        "source_profile": request.profile,
        "source_access_key": source.fingerprint,
    }


def lifetime(mfa_max_age: int | None, keep: timedelta | None = None) -> int:
    """GetSessionToken's DurationSeconds: no longer than the role's MFA age limit, nor than the cache keeps an entry
    (the file cache: what is on disk is never valid longer), but at least STS's 900."""
    longest = MFA_SESSION_SECONDS if keep is None else min(MFA_SESSION_SECONDS, int(keep.total_seconds()))
    if mfa_max_age is None:
        return max(MIN_SESSION_SECONDS, longest)
    return max(MIN_SESSION_SECONDS, min(mfa_max_age, longest))


@dataclasses.dataclass(frozen=True)
class MfaSessionSource(StsSource):
    """sts:GetSessionToken with the request's MFA device and code, for as long as :func:`lifetime` allows (`keep`:
    how long the cache keeps an entry, if it limits that)."""

    request: RoleRequest
    _: dataclasses.KW_ONLY
    sts: Sts
    mfa_code: Callable[[str], str]
    keep: timedelta | None
    notice: Callable[[str], None]
    clock: Callable[[], datetime] = utc_now

    def issue(self) -> Issued:
        serial = self.request.mfa_serial
        assert serial is not None, "an MFA session needs the request's MFA device"
        duration = lifetime(self.request.mfa_max_age, self.keep)
        params = {"SerialNumber": serial, "TokenCode": self.mfa_code(serial), "DurationSeconds": duration}
        context = CallContext(
            role_arn=self.request.role_arn, external_id=None, mfa_serial=serial, profile=self.request.profile
        )
        asked = self.clock()
        reply = self.sts.get_session_token(params, context)
        credentials = credentials_from_reply(
            reply,
            role_arn=serial,
            session_name=SESSION_NAME,
            region=self.sts.region,
            now=self.clock(),
            operation="GetSessionToken",
        )
        if self.request.mfa_max_age is not None:
            self.notice(
                f"the MFA session lasts {duration} s: the role accepts MFA sign-ins at most "
                f"{self.request.mfa_max_age} s old (mfa_max_age_seconds in the app's settings); roles ask for a new "
                "code after that"
            )
        return Issued(credentials, asked)


def max_age(request: RoleRequest) -> timedelta | None:
    """How young a cached MFA session must be to serve the request's role: its MFA age limit, less the margin."""
    return timedelta(seconds=request.mfa_max_age) - AGE_MARGIN if request.mfa_max_age is not None else None
