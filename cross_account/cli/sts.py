"""STS for one run of the client: one boto3 session, each call within a deadline, each reply checked.

botocore bounds every connect and every read (a third of the deadline each, so its three attempts fit)
and its standard retry mode retries throttling and 5xx replies. A reply that trickles in a byte at a time
passes every read timeout, so each call (its retries included) also runs against the whole deadline.

Nothing of a reply is shown when it cannot be used: it may hold credentials.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeVar

from cross_account import __version__
from cross_account.cli.credentials import Credentials, credential_problem, iso8601
from cross_account.cli.errors import CallContext, CliError, explain_aws_error, timeout_hint, whole_seconds

T = TypeVar("T")

DEADLINE_VARIABLE: Final = "CROSS_ACCOUNT_STS_TIMEOUT"
DEFAULT_DEADLINE: Final = 30
DEADLINE_RANGE: Final = (1, 3600)
_CALLER_ARN: Final = re.compile(r"^arn:[a-z-]+:(iam|sts)::\d{12}:\S+\Z", re.ASCII)


def parse_deadline(flag: str | None, environ: Mapping[str, str]) -> int:
    """--sts-timeout, else $CROSS_ACCOUNT_STS_TIMEOUT, else 30 seconds."""
    key, text = ("--sts-timeout", flag) if flag is not None else (DEADLINE_VARIABLE, environ.get(DEADLINE_VARIABLE))
    if not text:
        return DEFAULT_DEADLINE
    return whole_seconds(f"{key}=", text, *DEADLINE_RANGE, digits=4)


def within(seconds: float, what: str, work: Callable[[], T], context: CallContext, *, service: str = "STS") -> T:
    """Run `work` (botocore calls, or another HTTP call to `service`) for at most `seconds`; any failure becomes a
    one-line CliError.

    The work runs in a daemon thread: on time-out it is abandoned (its socket closes when the process ends).
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # handed to the caller's thread below
            outcome["error"] = error

    thread = threading.Thread(target=run, name=f"cross-account {what}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise CliError(f"{service} did not finish {what} within {seconds:g} s; {timeout_hint(context)}")
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, CliError):
            raise error
        raise explain_aws_error(error, context) from None
    value: T = outcome["value"]
    return value


@dataclass(frozen=True)
class Source:
    """Which source credentials ask: a hash of their access key ID (never of the secret), and whether they are
    temporary (they carry a session token: a role session, SSO, or an MFA session of their own)."""

    fingerprint: str
    temporary: bool


class Sts:
    """The boto3 session of the source credentials (or of given `credentials`, such as an MFA session) and its
    STS client, made when first needed.

    STS is called at its regional endpoint, set explicitly whatever botocore's default or the environment's
    AWS_STS_REGIONAL_ENDPOINTS says: the region given, else the profile's, else us-east-1. An AWS_ENDPOINT_URL_STS
    or AWS_ENDPOINT_URL still wins (tests, emulators, VPC endpoints).
    """

    def __init__(
        self,
        *,
        profile: str | None,
        region: str | None,
        deadline: float,
        credentials: Credentials | None = None,
        keys: tuple[str, str] | None = None,
    ) -> None:
        """`credentials`: a session to call as; `keys`: the profile's long-term keys from the keychain (its
        settings, such as its region, still come from the AWS config file when it has the profile)."""
        self.profile = profile
        self.deadline = deadline
        self._region = region
        self._credentials = credentials
        self._keys = keys
        self._session: Any = None
        self._client: Any = None
        self._caller_arn: str | None = None

    @property
    def region(self) -> str | None:
        """The region given, else the source profile's (known only once the session exists)."""
        if self._region is None and self._session is not None:
            self._region = self._session.region_name
        return self._region

    def source(self, context: CallContext) -> Source:
        """The source credentials the credential chain resolves to: their key's hash, and whether they are temporary."""

        def resolve() -> Source:
            credentials = self._boto3_session().get_credentials()
            if credentials is None:
                from botocore.exceptions import NoCredentialsError

                raise NoCredentialsError
            frozen = credentials.get_frozen_credentials()
            return Source(fingerprint(str(frozen.access_key)), temporary=bool(frozen.token))

        return within(self.deadline, "resolving the source credentials", resolve, context)

    def caller_arn(self, context: CallContext) -> str:
        """Who the source credentials are (GetCallerIdentity), asked once: it does not change while the client
        runs, and `exec --server` assumes the role again without asking each time."""
        if self._caller_arn is None:
            context = _for(context, "GetCallerIdentity")
            reply = within(self.deadline, "GetCallerIdentity", lambda: self._sts().get_caller_identity(), context)
            arn = reply.get("Arn") if isinstance(reply, dict) else None
            if not isinstance(arn, str) or not _CALLER_ARN.match(arn):
                raise CliError(
                    "GetCallerIdentity: the reply holds no caller ARN (a proxy, or a wrong AWS_ENDPOINT_URL?)"
                )
            self._caller_arn = arn
        return self._caller_arn

    def assume_role(self, params: Mapping[str, Any], context: CallContext) -> dict[str, Any]:
        context = _for(context, "AssumeRole")
        reply: dict[str, Any] = within(self.deadline, "AssumeRole", lambda: self._sts().assume_role(**params), context)
        return reply

    def get_session_token(self, params: Mapping[str, Any], context: CallContext) -> dict[str, Any]:
        context = _for(context, "GetSessionToken")
        reply: dict[str, Any] = within(
            self.deadline, "GetSessionToken", lambda: self._sts().get_session_token(**params), context
        )
        return reply

    def _boto3_session(self) -> Any:
        if self._session is None:
            import boto3
            import botocore.session

            core = botocore.session.get_session()
            core.set_config_variable("sts_regional_endpoints", "regional")
            if self._keys is not None:
                known = self.profile in core.available_profiles
                self._session = boto3.Session(
                    aws_access_key_id=self._keys[0],
                    aws_secret_access_key=self._keys[1],
                    profile_name=self.profile if known else None,
                    botocore_session=core,
                )
            elif self._credentials is None:
                self._session = boto3.Session(profile_name=self.profile, botocore_session=core)
            else:
                self._session = boto3.Session(
                    aws_access_key_id=self._credentials.access_key_id,
                    aws_secret_access_key=self._credentials.secret_access_key,
                    aws_session_token=self._credentials.session_token,
                    botocore_session=core,
                )
        return self._session

    def _sts(self) -> Any:
        if self._client is None:
            self._client = self._boto3_session().client(
                "sts",
                # STS needs some region for its regional endpoint; a guess is not exported to anyone.
                region_name=self.region or "us-east-1",
                config=client_config(self.deadline),
            )
        return self._client


def client_config(deadline: float) -> Any:
    """botocore's settings for every client of the client: standard retries, and connect and read timeouts
    that leave room for them within `deadline` (which :func:`within` enforces)."""
    from botocore.config import Config

    each = max(deadline / 3, 1)
    return Config(
        retries={"mode": "standard"},
        connect_timeout=each,
        read_timeout=each,
        user_agent_extra=f"cross-account/{__version__}",
    )


def fingerprint(access_key_id: str) -> str:
    return hashlib.sha256(access_key_id.encode()).hexdigest()[:16]


def _for(context: CallContext, operation: str) -> CallContext:
    from dataclasses import replace

    return replace(context, operation=operation)


def credentials_from_reply(
    reply: Mapping[str, Any],
    *,
    role_arn: str,
    session_name: str,
    region: str | None,
    now: datetime,
    operation: str = "AssumeRole",
) -> Credentials:
    """The credentials of an AssumeRole (or GetSessionToken) reply, once every field is credential-shaped and not yet
    expired."""
    issued = reply.get("Credentials")
    if not isinstance(issued, dict):
        raise CliError(f"{operation}: the reply holds no credentials (a proxy, or a wrong AWS_ENDPOINT_URL?)")
    expiration = issued.get("Expiration")
    problem = credential_problem(issued) or (
        None if isinstance(expiration, datetime) and expiration.tzinfo else "Expiration is not a date with a time zone"
    )
    if problem is not None:
        raise CliError(f"{operation}: the reply is not usable: {problem}; it is not shown, as it may hold credentials")
    assert isinstance(expiration, datetime)
    if expiration <= now:
        raise CliError(
            f"{operation}: STS issued credentials that expired at {iso8601(expiration)}, before now "
            f"({iso8601(now)}) by this machine's clock; not handing them out: check the system clock "
            "(or the endpoint sends stale replies)"
        )
    assumed = reply.get("AssumedRoleUser")
    return Credentials(
        access_key_id=issued["AccessKeyId"],
        secret_access_key=issued["SecretAccessKey"],
        session_token=issued["SessionToken"],
        expiration=expiration,
        role_arn=role_arn,
        session_name=session_name,
        assumed_role_arn=str(assumed.get("Arn", "")) if isinstance(assumed, dict) else "",
        region=region,
    )
