"""exec --server: the container-credentials endpoint on 127.0.0.1, read by real SDKs (boto3 and the AWS CLI) in the
command, renewed before expiry (a stub issues sessions that expire within seconds), stopped with the command; and
under load: one renewal per session, shared by the requests that come meanwhile."""

from __future__ import annotations

import contextlib
import json
import select
import signal
import socket
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cross_account.cli.credentials import Credentials
from cross_account.cli.server import CredentialServer
from tests.cli_support import (
    ACCESS_DENIED,
    CREDENTIAL_LOAD,
    ROLE_ARN,
    SOURCE_ACCESS_KEY,
    SOURCE_SECRET,
    StubSts,
    assert_clean_stderr,
    assert_one_line_error,
    run_cli,
)
from tests.test_cli_run import start_exec

SERVER = ("exec", "--role-arn", ROLE_ARN, "--session-name", "deployer", "--region", "us-east-1", "--server", "--")
AWS = str(Path(sys.executable).parent / "aws")

#: Short sessions (see the fixture) are due for renewal after half their length: a command waits this long.
RENEWAL_DUE = 2.5

#: A boto3 command: two STS calls, RENEWAL_DUE apart, the access key it held before each, and how it got its
#: credentials.
BOTO3_CHILD = textwrap.dedent(
    f"""
    import json, os, time, boto3
    session = boto3.Session()
    sts = session.client("sts")
    keys = []
    for _ in range(2):
        keys.append(session.get_credentials().get_frozen_credentials().access_key)
        sts.get_caller_identity()
        time.sleep({RENEWAL_DUE})
    print(json.dumps({{"keys": keys, "method": session.get_credentials().method}}))
    """
)

#: What the endpoint answers: without the token, with another, on another path, to POST; and where it listens.
PROBE_CHILD = textwrap.dedent(
    """
    import json, os, socket, urllib.error, urllib.request
    uri, token = os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"], os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    def status(url, headers, data=None):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=10) as reply:
                return reply.status, json.load(reply)
        except urllib.error.HTTPError as error:
            return error.code, None
    codes = {
        "none": status(uri, {})[0],
        "wrong": status(uri, {"Authorization": "not-" + token})[0],
        "path": status(uri.rsplit("/", 1)[0] + "/other", {"Authorization": token})[0],
        "post": status(uri, {"Authorization": token}, b"x")[0],
    }
    code, document = status(uri, {"Authorization": token})
    port = int(uri.split(":")[2].split("/")[0])
    other = socket.socket()
    codes["other_loopback_address"] = other.connect_ex(("127.0.0.2", port))
    argv = [open(f"/proc/{pid}/cmdline", "rb").read() for pid in ("self", str(os.getppid()))]
    print(json.dumps({
        "uri": uri, "token": token, "codes": codes, "ok": code, "keys": sorted(document),
        "token_in_argv": any(token.encode() in a for a in argv),
        "credentials_file": os.environ.get("AWS_SHARED_CREDENTIALS_FILE"),
        "static_keys": [k for k in ("AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN") if k in os.environ],
    }))
    """
)


@pytest.fixture
def short_sessions(stub_sts: StubSts) -> StubSts:
    """Role sessions that expire within 4 seconds: inside the SDKs' refresh window, so every SDK asks the endpoint
    again before each call; the server assumes the role again when half the session is left (RENEWAL_DUE)."""
    stub_sts.lifetime = timedelta(seconds=4)
    return stub_sts


def signers(stub: StubSts, action: str) -> list[str]:
    return [request["_KeyId"] for request in stub.requests if request["Action"] == action]


def test_boto3_in_the_command_fetches_from_the_endpoint_and_gets_renewed_credentials(
    short_sessions: StubSts, stub_env: dict[str, str]
) -> None:
    result = run_cli(*SERVER, sys.executable, "-c", BOTO3_CHILD, env=stub_env, subprocess=True)
    assert result.code == 0, result.err
    seen = json.loads(result.out)
    assert seen["method"] == "container-role"
    issued = [credentials["AccessKeyId"] for credentials in short_sessions.issued]
    first, second = seen["keys"]
    assert first in issued and second in issued[1:] and first != second, "the second fetch got a renewed session"
    # botocore asks again before each call too (the credentials are inside its refresh window).
    signed = signers(short_sessions, "GetCallerIdentity")[-2:]
    assert signed[0] != signed[1] and signed[1] in issued[1:], "the command signed with a renewed session"
    assert_clean_stderr(result, *(c["SecretAccessKey"] for c in short_sessions.issued))
    assert result.err == ""


def test_the_aws_cli_in_the_command_fetches_from_the_endpoint_and_gets_renewed_credentials(
    short_sessions: StubSts, stub_env: dict[str, str]
) -> None:
    call = f"{AWS} sts get-caller-identity --output json"
    script = f"{call} && sleep {RENEWAL_DUE} && {call}"
    result = run_cli(*SERVER, "/bin/sh", "-c", script, env=stub_env, subprocess=True)
    assert result.code == 0, result.err
    assert result.out.count('"Arn"') == 2
    issued = [credentials["AccessKeyId"] for credentials in short_sessions.issued]
    first, second = signers(short_sessions, "GetCallerIdentity")[-2:]
    assert first != second and second in issued[1:], "the second CLI run got renewed credentials"


def test_the_endpoint_wants_its_token_listens_on_127_0_0_1_only_and_the_token_is_in_no_argv(
    stub_sts: StubSts, stub_env: dict[str, str]
) -> None:
    runs = [run_cli(*SERVER, sys.executable, "-c", PROBE_CHILD, env=stub_env, subprocess=True) for _ in range(2)]
    assert all(run.code == 0 for run in runs), [run.err for run in runs]
    first, second = (json.loads(run.out) for run in runs)
    assert first["uri"].startswith("http://127.0.0.1:")
    assert first["codes"]["none"] == 401 and first["codes"]["wrong"] == 403
    assert (first["codes"]["path"], first["codes"]["post"]) == (404, 405)
    assert first["codes"]["other_loopback_address"] != 0, "bound to 127.0.0.1, not to every address"
    assert first["ok"] == 200
    assert first["keys"] == ["AccessKeyId", "Expiration", "RoleArn", "SecretAccessKey", "Token"]
    assert first["token_in_argv"] is False
    assert len(first["token"]) >= 40 and first["token"] != second["token"], "a fresh random token per run"
    assert first["static_keys"] == [], "no credentials in the environment: they would win over the endpoint"
    assert first["credentials_file"] == "/dev/null"


def test_the_endpoint_stops_with_the_command(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    child = "import os; print(os.environ['AWS_CONTAINER_CREDENTIALS_FULL_URI'])"
    result = run_cli(*SERVER, sys.executable, "-c", child, env=stub_env, subprocess=True)
    assert result.code == 0, result.err
    port = int(result.out.strip().split(":")[2].split("/")[0])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_the_credentials_files_default_profile_does_not_win(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    """The source account's keys as [default] in ~/.aws/credentials come before a container endpoint in every SDK."""
    credentials = Path(stub_env["HOME"]) / ".aws" / "credentials"
    credentials.write_text(
        f"[default]\naws_access_key_id = {SOURCE_ACCESS_KEY}\naws_secret_access_key = {SOURCE_SECRET}\n"
    )
    result = run_cli(*SERVER, sys.executable, "-c", BOTO3_CHILD, env=stub_env, subprocess=True)
    assert result.code == 0, result.err
    assert json.loads(result.out)["method"] == "container-role"


def test_a_default_profile_with_credentials_in_the_config_file_is_refused(
    stub_sts: StubSts, stub_env: dict[str, str]
) -> None:
    Path(stub_env["AWS_CONFIG_FILE"]).write_text("[default]\nregion = eu-west-1\ncredential_process = /bin/true\n")
    result = run_cli(*SERVER, "true", env=stub_env)
    assert_one_line_error(result, "exec --server", "default profile", "credential_process", "plain exec", code=2)
    assert stub_sts.requests == []


@pytest.mark.parametrize("code", [0, 7])
def test_the_exit_code_is_the_commands(stub_sts: StubSts, stub_env: dict[str, str], code: int) -> None:
    result = run_cli(*SERVER, "sh", "-c", f"exit {code}", env=stub_env, subprocess=True)
    assert (result.code, result.err) == (code, "")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signals_are_passed_on_as_by_plain_exec(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path, signum: signal.Signals
) -> None:
    process, report = start_exec(stub_env, tmp_path, "handle", "--server")
    process.send_signal(signum)
    _, err = process.communicate(timeout=30)
    assert report.read_text() == f"{int(signum)}\n"
    assert process.returncode == 40 + signum
    assert err == ""


def test_a_command_killed_by_a_signal_gives_128_plus_n(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path
) -> None:
    process, _ = start_exec(stub_env, tmp_path, "default", "--server")
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM


def test_a_failed_renewal_is_one_line_and_the_sdk_gets_an_error(
    short_sessions: StubSts, stub_env: dict[str, str]
) -> None:
    # The initial session, then refusals (botocore asks the endpoint a few times).
    short_sessions.script["AssumeRole"] = [None, *[ACCESS_DENIED] * 10]
    child = textwrap.dedent(
        f"""
        import time, boto3
        time.sleep({RENEWAL_DUE})
        try:
            boto3.Session().client("sts").get_caller_identity()
        except Exception as error:
            print(type(error).__name__)
        """
    )
    result = run_cli(*SERVER, sys.executable, "-c", child, env=stub_env, subprocess=True)
    assert result.code == 0, result.err
    assert result.out.strip() == "CredentialRetrievalError"
    [line] = result.err.splitlines()  # said once, though the SDK asked several times
    assert line.startswith("cross-account: warning: exec --server could not renew the role's credentials: AccessDenied")
    assert_clean_stderr(result)
    assert short_sessions.actions().count("AssumeRole") == 2, "the SDK's retries got the held failure, not new calls"


def test_a_failed_first_assume_starts_no_command(stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path) -> None:
    stub_sts.script["AssumeRole"] = [ACCESS_DENIED]
    marker = tmp_path / "ran"
    result = run_cli(*SERVER, "touch", str(marker), env=stub_env, subprocess=True)
    assert_one_line_error(result, "AccessDenied", code=1)
    assert not marker.exists()


# --- under load (issue 17, item 12) ------------------------------------------------------------------------

#: No --session-name: the client looks up the caller's (GetCallerIdentity), as a user's plain `exec --server` does.
SERVER_DEFAULT_NAME = ("exec", "--role-arn", ROLE_ARN, "--region", "us-east-1", "--server")


def test_15_minute_sessions_under_load_make_one_assume_role_and_one_get_caller_identity(
    stub_sts: StubSts, stub_env: dict[str, str]
) -> None:
    """15 minutes, the least AWS allows, is all inside the 15-minute renewal margin: each request renewed, before."""
    result = run_cli(
        *SERVER_DEFAULT_NAME, "--duration", "900", "--", sys.executable, "-c", CREDENTIAL_LOAD, "300", "16",
        env=stub_env, subprocess=True, timeout=120,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert json.loads(result.out)["failures"] == 0, "every request got credentials"
    assert stub_sts.actions().count("AssumeRole") == 1
    assert stub_sts.actions().count("GetCallerIdentity") == 1


def test_a_renewal_asks_sts_only_for_the_role_not_who_the_caller_is_again(
    short_sessions: StubSts, stub_env: dict[str, str]
) -> None:
    child = textwrap.dedent(
        f"""
        import json, os, time, urllib.request
        uri, token = os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"], os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        keys = []
        for _ in range(2):
            with urllib.request.urlopen(urllib.request.Request(uri, headers={{"Authorization": token}})) as reply:
                keys.append(json.load(reply)["AccessKeyId"])
            time.sleep({RENEWAL_DUE})
        print(json.dumps(keys))
        """
    )
    result = run_cli(*SERVER_DEFAULT_NAME, "--", sys.executable, "-c", child, env=stub_env, subprocess=True)
    assert result.code == 0, result.err
    first, second = json.loads(result.out)
    assert first != second, "the second request got a renewed session"
    assert short_sessions.actions().count("GetCallerIdentity") == 1, "the caller's name was looked up once"
    assert short_sessions.actions().count("AssumeRole") >= 2  # 3 when the command starts late (a loaded machine)


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _issuer(clock: _Clock, lifetime: timedelta, *, delay: float = 0.0) -> tuple[Callable[[], Credentials], list[int]]:
    """A `provide` that issues sessions of `lifetime` by `clock` (after `delay` seconds) and counts them."""
    calls: list[int] = []

    def provide() -> Credentials:
        time.sleep(delay)
        calls.append(1)
        return Credentials(
            access_key_id=f"ASIAUNIT{len(calls):012d}", secret_access_key="secret", session_token="token",
            expiration=clock() + lifetime, role_arn=ROLE_ARN, session_name="unit",
        )  # fmt: skip

    return provide, calls


@contextlib.contextmanager
def _credential_server(provide: Callable[[], Credentials], clock: _Clock) -> Iterator[CredentialServer]:
    server = CredentialServer(provide, provide(), clock=clock, warn=lambda _line: None)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("lifetime", [timedelta(minutes=15), timedelta(minutes=5), timedelta(hours=1)])
def test_each_session_is_renewed_once_and_handed_out_with_half_its_length_left(lifetime: timedelta) -> None:
    """Whatever length STS gives (5 minutes: less than the 15-minute margin), one renewal per session."""
    clock = _Clock()
    provide, calls = _issuer(clock, lifetime)
    with _credential_server(provide, clock) as server:
        start, served = clock.now, 0
        while clock.now - start < timedelta(hours=2):
            left = server.current().expiration - clock.now
            assert left >= min(lifetime / 2, timedelta(minutes=15)) - timedelta(seconds=10)
            clock.now += timedelta(seconds=10)
            served += 1
    renewals = len(calls) - 1
    per_session = lifetime - min(lifetime / 2, timedelta(minutes=15))
    assert renewals <= timedelta(hours=2) / per_session + 1, f"{renewals} renewals for {served} requests"


def test_requests_during_a_renewal_wait_for_it_and_share_it() -> None:
    clock = _Clock()
    provide, calls = _issuer(clock, timedelta(minutes=15), delay=0.3)
    with _credential_server(provide, clock) as server:
        clock.now += timedelta(minutes=8)  # due: less than half of the 15 minutes left
        with ThreadPoolExecutor(max_workers=32) as pool:
            keys = set(pool.map(lambda _: server.current().access_key_id, range(32)))
    assert len(calls) == 2, "the first session, and one renewal for all 32 requests"
    assert keys == {"ASIAUNIT000000000002"}


def test_the_listen_backlog_holds_a_parallel_builds_connections() -> None:
    """Connections beyond the backlog wait for a SYN retry (a second or more): 64 at once must not."""
    clock = _Clock()
    provide, _ = _issuer(clock, timedelta(hours=1))
    server = CredentialServer(provide, provide(), clock=clock, warn=lambda _line: None)  # not started: none accepted
    sockets = [socket.socket() for _ in range(64)]
    try:
        for client in sockets:
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", server.port))
        deadline = time.monotonic() + 0.5
        pending = list(sockets)
        while pending and time.monotonic() < deadline:
            _, writable, _ = select.select([], pending, [], 0.05)
            pending = [client for client in pending if client not in writable]
        assert not pending, f"{len(pending)} of 64 connections not established within 0.5 s"
    finally:
        for client in sockets:
            client.close()
        server.start()
        server.stop()
