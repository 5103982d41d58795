"""The STS calls that assume the role of a resolved :class:`~cross_account.cli.request.RoleRequest`
(GetCallerIdentity when a name must be found, then AssumeRole), and the MFA prompt.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Final

from cross_account.cli.credentials import Issued
from cross_account.cli.errors import MFA_CODE, checked_flag
from cross_account.cli.prompt import ask
from cross_account.cli.request import RoleRequest
from cross_account.cli.sts import Source, Sts, credentials_from_reply, fingerprint
from cross_account.rules import ROLE_CHAINING_MAX_SECONDS, validate_duration, validate_mfa_token, validate_session_name

_NOT_IN_SESSION_NAME: Final = re.compile(r"[^\w+=,.@-]", re.ASCII)


def utc_now() -> datetime:
    return datetime.now(UTC)


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
    """Ask on the terminal, without echo; without a terminal, read one line of standard input."""
    token = ask(
        f"MFA code for {serial}: ",
        secret=True,
        what="an MFA code",
        about=f" for {serial}",
        instead="pipe it in (echo CODE | cross-account ...), or pass --mfa-token (visible to local users in ps)",
    )
    result: str = checked_flag(MFA_CODE, token, validate_mfa_token)
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
    sts: Sts,
    mfa_code: Callable[[str], str],
    via: Sts | None = None,
    log: Callable[[str], None] = lambda _message: None,
    now: Callable[[], datetime] = utc_now,
) -> Issued:
    """GetCallerIdentity when needed (default names, chaining check), then AssumeRole; the reply is checked.

    `mfa_code`: gives the code for the request's MFA device, asked for only once AssumeRole is about to be called.
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
        params["TokenCode"] = mfa_code(request.mfa_serial)
    log(f"assuming {request.role_arn} as session {session_name} (role from {request.origin})")
    asked = now()
    reply = (via or sts).assume_role(params, context)
    credentials = credentials_from_reply(
        reply, role_arn=request.role_arn, session_name=session_name, region=sts.region, now=now()
    )
    return Issued(credentials, asked)
