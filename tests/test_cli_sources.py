"""The credential sources: one cache wrapper for role and MFA sessions, the age an entry is given, the MFA code
used once, and which chain a request gets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cross_account.cli import mfa
from cross_account.cli.cache import CredentialCache
from cross_account.cli.credentials import Credentials, Issued, iso8601
from cross_account.cli.errors import CliError
from cross_account.cli.request import RoleRequest
from cross_account.cli.session import RoleSession
from cross_account.cli.sources import AssumeRoleSource, CachedSource, MfaCode, StsSource
from tests.cli_support import ROLE_ARN, StubSts

NOW = datetime(2030, 6, 1, 12, 0, 0, tzinfo=UTC)
MFA_SERIAL = "arn:aws:iam::111111111111:mfa/alice"
FIELDS = {"role_arn": ROLE_ARN, "session_name": "alice", "external_id": "12345678TESTID"}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class CountingSource(StsSource):
    """Issues a new session (a new key each time), asked for at `asked`."""

    def __init__(self, asked: datetime, lifetime: timedelta = timedelta(hours=1)) -> None:
        self.asked = asked
        self.lifetime = lifetime
        self.calls = 0

    def issue(self) -> Issued:
        self.calls += 1
        credentials = Credentials(
            access_key_id=f"ASIAISSUED{self.calls:010d}",
            secret_access_key="issued-secret",
            session_token="issued-token",
            expiration=self.asked + self.lifetime,
            role_arn=ROLE_ARN,
            session_name="alice",
            region="us-east-1",
        )
        return Issued(credentials, self.asked)


class Said:
    def __init__(self) -> None:
        self.logs: list[str] = []
        self.warnings: list[str] = []


def cached(inner: StsSource, cache: CredentialCache, said: Said, **reuse: Any) -> CachedSource:
    return CachedSource(inner, cache, fields=FIELDS, log=said.logs.append, warn=said.warnings.append, **reuse)


def test_a_miss_asks_the_source_once_and_a_hit_reuses_with_the_region_asked_for(tmp_path: Path) -> None:
    clock, said = Clock(NOW), Said()
    inner = CountingSource(NOW)
    source = cached(inner, CredentialCache(tmp_path / "cache", clock=clock), said, region="eu-west-1")

    first = source.retrieve()
    clock.now = NOW + timedelta(minutes=10)
    second = source.retrieve()

    assert inner.calls == 1
    assert second.access_key_id == first.access_key_id == "ASIAISSUED0000000001"
    assert (first.region, second.region) == ("us-east-1", "eu-west-1")
    assert said.logs == [
        f"new session alice for {ROLE_ARN}, expires 2030-06-01T13:00:00Z",
        f"cached session alice for {ROLE_ARN} (expires 2030-06-01T13:00:00Z)",
    ]
    assert said.warnings == []


def test_an_entry_is_as_old_as_when_the_source_was_asked_not_when_it_was_written(tmp_path: Path) -> None:
    # STS was asked at NOW; the entry is written 40 s later. An MFA age of 60 s runs out at NOW + 60 s.
    clock, said = Clock(NOW + timedelta(seconds=40)), Said()
    inner = CountingSource(NOW)
    source = cached(
        inner, CredentialCache(tmp_path / "cache", clock=clock), said, mfa=True, max_age=timedelta(seconds=60)
    )
    source.retrieve()

    clock.now = NOW + timedelta(seconds=59)
    source.retrieve()
    assert inner.calls == 1, "young enough: reused"
    clock.now = NOW + timedelta(seconds=61)
    source.retrieve()
    assert inner.calls == 2, "61 s since STS was asked: too old, though written only 21 s ago"


class RefusingStore:
    """A keychain that refuses every read and write."""

    where = "the keychain (refusing)"
    plaintext = False

    def ready(self) -> bool:
        return True

    def read(self, key: str) -> dict[str, Any] | None:
        raise CliError("the keychain refused to read")

    def write(self, key: str, data: bytes, expiration: datetime) -> str:
        raise CliError("the keychain refused to write")

    def delete(self, key: str) -> None:
        raise CliError("the keychain refused to delete")

    def clear(self) -> int:
        return 0


def test_a_cache_that_refuses_costs_reuse_only(tmp_path: Path) -> None:
    said, inner = Said(), CountingSource(NOW)
    source = cached(inner, CredentialCache(RefusingStore(), clock=Clock(NOW)), said)

    assert source.retrieve().access_key_id == "ASIAISSUED0000000001"
    assert source.retrieve().access_key_id == "ASIAISSUED0000000002"
    read = f"the cache is not read for the session for {ROLE_ARN}: the keychain refused to read"
    written = f"the session alice for {ROLE_ARN} is not cached: the keychain refused to write"
    assert said.warnings == [read, written, read, written]


def test_the_mfa_code_given_is_used_once_then_asked_for() -> None:
    asked: list[str] = []
    code = MfaCode("123456", prompt=lambda serial: asked.append(serial) or "654321")
    assert (code(MFA_SERIAL), code(MFA_SERIAL), code(MFA_SERIAL)) == ("123456", "654321", "654321")
    assert asked == [MFA_SERIAL, MFA_SERIAL]


class GetSessionTokenStub:
    """Answers GetSessionToken with a session of the duration asked for."""

    region = "us-east-1"
    deadline = 30.0

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.params: dict[str, Any] = {}

    def get_session_token(self, params: dict[str, Any], context: Any) -> dict[str, Any]:
        self.params = params
        expiration = self.clock.now + timedelta(seconds=params["DurationSeconds"])
        return {
            "Credentials": {
                "AccessKeyId": "ASIAMFASESSION000001",
                "SecretAccessKey": "mfa-secret",
                "SessionToken": "mfa-token",
                "Expiration": expiration,
            }
        }


def test_an_mfa_session_is_asked_for_after_the_prompt_so_typing_does_not_age_it() -> None:
    clock = Clock(NOW)
    sts = GetSessionTokenStub(clock)

    def slow_typist(serial: str) -> str:
        clock.now += timedelta(minutes=2)
        return "123456"

    request = RoleRequest(role_arn=ROLE_ARN, origin="--role-arn", mfa_serial=MFA_SERIAL, mfa_max_age=900)
    notices: list[str] = []
    source = mfa.MfaSessionSource(
        request, sts=sts, mfa_code=MfaCode(None, slow_typist), keep=None, notice=notices.append, clock=clock
    )
    issued = source.issue()

    assert issued.asked == NOW + timedelta(minutes=2)
    assert issued.credentials.role_arn == MFA_SERIAL and issued.credentials.session_name == mfa.SESSION_NAME
    assert sts.params == {"SerialNumber": MFA_SERIAL, "TokenCode": "123456", "DurationSeconds": 900}
    assert notices and "the MFA session lasts 900 s" in notices[0]


LONG_TERM = {"AWS_ACCESS_KEY_ID": "AKIALONGTERM00000001", "AWS_SECRET_ACCESS_KEY": "source-secret"}


def role_session(tmp_path: Path, *, environ: dict[str, str] = LONG_TERM, cache: bool = True, **kwargs: Any) -> Any:
    request = RoleRequest(role_arn=ROLE_ARN, origin="--role-arn", mfa_serial=MFA_SERIAL, **kwargs.pop("request", {}))
    logs: list[str] = []
    session = RoleSession(
        request,
        MfaCode(None),
        environ=environ,
        deadline=30,
        cache=CredentialCache(tmp_path / "cache") if cache else None,
        log=logs.append,
        warn=logs.append,
        notice=logs.append,
        **kwargs,
    )
    return session, logs


def test_with_a_cache_and_long_term_keys_the_role_is_assumed_through_the_cached_mfa_session(tmp_path: Path) -> None:
    session, _ = role_session(tmp_path)
    chain = session.credential_source
    assert isinstance(chain, CachedSource) and isinstance(chain.inner, AssumeRoleSource)
    via = chain.inner.via
    assert isinstance(via, CachedSource) and isinstance(via.inner, mfa.MfaSessionSource)
    assert (via.mfa, via.fields["kind"]) == (True, "mfa-session")
    assert chain.chained and session.chained(), "assumed from the MFA session: role chaining"


@pytest.mark.parametrize(
    ("case", "kwargs", "reason"),
    [
        ("console over an hour", {"unchained": True}, "--console-duration is over 3600 s"),
        ("a session over an hour", {"request": {"duration": 7200}}, "--duration 7200 is over 3600 s"),
        (
            "temporary source credentials",
            {"environ": {**LONG_TERM, "AWS_SESSION_TOKEN": "source-token"}},
            "the source credentials are temporary",
        ),
    ],
)
def test_otherwise_the_mfa_code_goes_to_assume_role_and_says_why(
    tmp_path: Path, case: str, kwargs: dict[str, Any], reason: str
) -> None:
    session, _ = role_session(tmp_path, **kwargs)
    chain = session.credential_source
    assert isinstance(chain, CachedSource) and isinstance(chain.inner, AssumeRoleSource)
    assert chain.inner.via is None, case
    assert chain.unchained == (case == "console over an hour")
    assert chain.inner.why_not_via is not None and reason in chain.inner.why_not_via


def test_without_a_cache_the_role_is_assumed_directly(tmp_path: Path) -> None:
    session, _ = role_session(tmp_path, cache=False)
    assert isinstance(session.credential_source, AssumeRoleSource) and session.credential_source.via is None
    assert not session.chained()


def test_a_code_given_for_the_first_request_is_never_sent_with_a_later_one(
    stub_sts: StubSts, stub_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`exec --server --mfa-token` where the cached sessions serve the first request: the code goes unused, and
    a renewal that needs one asks for a fresh code, never sends the stale one (STS would refuse it)."""
    for key, value in stub_env.items():
        monkeypatch.setenv(key, value)  # the stub's endpoint, for the MFA session's own STS client
    stub_sts.lifetime = timedelta(minutes=5, seconds=30)  # a role session reusable for 30 s (5 minutes' margin)
    offset = timedelta(0)
    cache = CredentialCache(Path(stub_env["CROSS_ACCOUNT_CACHE_DIR"]), clock=lambda: datetime.now(UTC) + offset)
    request = RoleRequest(
        role_arn=ROLE_ARN, origin="--role-arn", session_name="alice", mfa_serial=MFA_SERIAL, mfa_max_age=900
    )

    def session(code: MfaCode) -> RoleSession:
        return RoleSession(
            request, code, environ=stub_env, deadline=30, cache=cache, log=print, warn=print, notice=print
        )

    session(MfaCode("111111")).credentials()  # an earlier run: MFA session and role session cached
    typed: list[str] = []
    server = session(MfaCode("222222", prompt=lambda serial: typed.append(serial) or "333333"))
    server.credentials()  # served from the cache: "222222" unused
    assert [r["TokenCode"] for r in stub_sts.requests if r["Action"] == "GetSessionToken"] == ["111111"]

    # The renewal: the role session nears expiry, and the MFA session is too old for the role's 900 s.
    offset = timedelta(seconds=40)
    for entry in Path(stub_env["CROSS_ACCOUNT_CACHE_DIR"]).glob("*.json"):
        document = json.loads(entry.read_text())
        if document["Key"].get("kind") == "mfa-session":
            document["Issued"] = iso8601(datetime.now(UTC) - timedelta(seconds=1000))
            entry.write_text(json.dumps(document))
    server.credentials()
    assert [r["TokenCode"] for r in stub_sts.requests if r["Action"] == "GetSessionToken"] == ["111111", "333333"]
    assert typed == [MFA_SERIAL]
