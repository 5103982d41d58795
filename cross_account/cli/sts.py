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
from datetime import datetime
from typing import Any, Final, TypeVar

from cross_account import __version__
from cross_account.cli.credentials import Credentials, credential_problem, iso8601
from cross_account.cli.errors import CallContext, CliError, UsageError, explain_aws_error, timeout_hint

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
    low, high = DEADLINE_RANGE
    # Checked as text first: int() of a 5000-digit string raises its own error.
    if not re.fullmatch(r"\d{1,4}", text, re.ASCII) or not low <= int(text) <= high:
        shown = text if len(text) <= 20 else text[:17] + "..."
        raise UsageError(f"invalid {key}={shown}: must be a whole number of seconds from {low} to {high}")
    return int(text)


def within(seconds: float, what: str, work: Callable[[], T], context: CallContext) -> T:
    """Run `work` (botocore calls) for at most `seconds`; any failure becomes a one-line CliError.

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
        raise CliError(f"STS did not finish {what} within {seconds:g} s; {timeout_hint(context)}")
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, CliError):
            raise error
        raise explain_aws_error(error, context) from None
    value: T = outcome["value"]
    return value


class Sts:
    """The boto3 session of the source credentials and its STS client, made when first needed."""

    def __init__(self, *, profile: str | None, region: str | None, deadline: float) -> None:
        self.profile = profile
        self.deadline = deadline
        self._region = region
        self._session: Any = None
        self._client: Any = None

    @property
    def region(self) -> str | None:
        """The region given, else the source profile's (known only once the session exists)."""
        if self._region is None and self._session is not None:
            self._region = self._session.region_name
        return self._region

    def source_key_fingerprint(self, context: CallContext) -> str:
        """A hash of the access key ID the credential chain resolves to (never of the secret)."""

        def resolve() -> str:
            credentials = self._boto3_session().get_credentials()
            if credentials is None:
                from botocore.exceptions import NoCredentialsError

                raise NoCredentialsError
            return str(credentials.get_frozen_credentials().access_key)

        return fingerprint(within(self.deadline, "resolving the source credentials", resolve, context))

    def caller_arn(self, context: CallContext) -> str:
        context = _for(context, "GetCallerIdentity")
        reply = within(self.deadline, "GetCallerIdentity", lambda: self._sts().get_caller_identity(), context)
        arn = reply.get("Arn") if isinstance(reply, dict) else None
        if not isinstance(arn, str) or not _CALLER_ARN.match(arn):
            raise CliError("GetCallerIdentity: the reply holds no caller ARN (a proxy, or a wrong AWS_ENDPOINT_URL?)")
        return arn

    def assume_role(self, params: Mapping[str, Any], context: CallContext) -> dict[str, Any]:
        context = _for(context, "AssumeRole")
        reply: dict[str, Any] = within(self.deadline, "AssumeRole", lambda: self._sts().assume_role(**params), context)
        return reply

    def _boto3_session(self) -> Any:
        if self._session is None:
            import boto3

            self._session = boto3.Session(profile_name=self.profile)
        return self._session

    def _sts(self) -> Any:
        if self._client is None:
            from botocore.config import Config

            each = max(self.deadline / 3, 1)
            self._client = self._boto3_session().client(
                "sts",
                # STS needs some region for its regional endpoint; a guess is not exported to anyone.
                region_name=self.region or "us-east-1",
                config=Config(
                    retries={"mode": "standard"},
                    connect_timeout=each,
                    read_timeout=each,
                    user_agent_extra=f"cross-account/{__version__}",
                ),
            )
        return self._client


def fingerprint(access_key_id: str) -> str:
    return hashlib.sha256(access_key_id.encode()).hexdigest()[:16]


def _for(context: CallContext, operation: str) -> CallContext:
    from dataclasses import replace

    return replace(context, operation=operation)


def credentials_from_reply(
    reply: Mapping[str, Any], *, role_arn: str, session_name: str, region: str | None, now: datetime
) -> Credentials:
    """The credentials of an AssumeRole reply, once every field is credential-shaped and not yet expired."""
    issued = reply.get("Credentials")
    if not isinstance(issued, dict):
        raise CliError("AssumeRole: the reply holds no credentials (a proxy, or a wrong AWS_ENDPOINT_URL?)")
    expiration = issued.get("Expiration")
    problem = credential_problem(issued) or (
        None if isinstance(expiration, datetime) and expiration.tzinfo else "Expiration is not a date with a time zone"
    )
    if problem is not None:
        raise CliError(f"AssumeRole: the reply is not usable: {problem}; it is not shown, as it may hold credentials")
    assert isinstance(expiration, datetime)
    if expiration <= now:
        raise CliError(
            f"AssumeRole: STS issued credentials that expired at {iso8601(expiration)}, before now "
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
