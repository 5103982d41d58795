"""Test support for the `cross-account` client: a moto STS server, a scripted STS stub, and runners.

Both servers bind 127.0.0.1 only and are stopped by the PID (or server object) that started them.
boto3 reaches them through AWS_ENDPOINT_URL, over real HTTP: nothing in boto3 is mocked.
"""

from __future__ import annotations

import contextlib
import errno
import io
import itertools
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.request
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import cross_account.cli.prompt as cli_prompt
import cross_account.cli.run as cli_run
from cross_account.cli import main as cli_main

if TYPE_CHECKING:
    from _typeshed import StrOrBytesPath

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CLI = VENV_BIN / "cross-account"
MOTO_SERVER = VENV_BIN / "moto_server"

#: The trusted account's (fake) source credentials. Any output that contains them is a leak.
SOURCE_ACCESS_KEY = "AKIASOURCEEXAMPLE0001"
SOURCE_SECRET = "SourceSecretKeyNeverPrinted/0123456789abcdef"
ROLE_ARN = "arn:aws:iam::222222222222:role/CrossAccountAccessRole"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MotoServer:
    """`moto_server` as a subprocess on a free 127.0.0.1 port."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        log = self._log_path.open("wb")
        self._process = subprocess.Popen(
            [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(self.port)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto_server exited early: {self._log_path.read_text()[-2000:]}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):  # noqa: S310
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto_server not ready on {self.url} after {timeout} s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, 15)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, 9)
            process.wait(timeout=10)


# --- a scripted STS: the real wire format (query API, XML), for answers moto never gives ----------

_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


def sts_error_xml(code: str, message: str, *, sender: bool = True) -> str:
    """An STS error body as AWS sends it."""
    return (
        f'<ErrorResponse xmlns="{_NS}"><Error><Type>{"Sender" if sender else "Receiver"}</Type>'
        f"<Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{secrets.token_hex(8)}</RequestId></ErrorResponse>"
    )


@dataclass
class Reply:
    """One scripted answer. ``hang``: accept the request and answer nothing; ``trickle``: send the body one byte
    every that many seconds. Either stops when the test ends (StubSts.reset/stop) or after ``bound`` seconds."""

    status: int
    body: str
    hang: bool = False
    trickle: float | None = None
    bound: float = 8.0


ACCESS_DENIED = Reply(
    403,
    sts_error_xml(
        "AccessDenied",
        "User: arn:aws:iam::111111111111:user/alice is not authorized to perform: sts:AssumeRole on resource: "
        + ROLE_ARN,
    ),
)
MFA_REJECTED = Reply(
    403, sts_error_xml("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code. ")
)
EXPIRED_TOKEN = Reply(403, sts_error_xml("ExpiredToken", "The security token included in the request is expired"))
INVALID_TOKEN = Reply(
    403, sts_error_xml("InvalidClientTokenId", "The security token included in the request is invalid.")
)
OVER_ROLE_MAX = Reply(
    400,
    sts_error_xml("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."),
)
OVER_CHAINING_MAX = Reply(
    400,
    sts_error_xml(
        "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    ),
)
UNAVAILABLE = Reply(503, sts_error_xml("ServiceUnavailable", "Service is unavailable", sender=False))


@dataclass
class StubSts:
    """STS on 127.0.0.1 that answers from a script, records every request, and issues fresh credentials."""

    caller_arn: str = "arn:aws:iam::111111111111:user/alice"
    lifetime: timedelta = timedelta(hours=1)
    #: MFA sessions last what was asked, at most this.
    lifetime_of_mfa: timedelta = timedelta(hours=36)
    #: Replies per action, in order; ``None`` in the list: answer that request as STS would.
    script: dict[str, list[Reply | None]] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)
    issued: list[dict[str, str]] = field(default_factory=list)
    signin_requests: list[dict[str, str]] = field(default_factory=list)
    signin_tokens: list[str] = field(default_factory=list)
    #: Set when the test ends: a hanging or trickling answer stops then.
    released: threading.Event = field(default_factory=threading.Event)
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def reset(self) -> None:
        self.caller_arn = "arn:aws:iam::111111111111:user/alice"
        self.lifetime = timedelta(hours=1)
        self.lifetime_of_mfa = timedelta(hours=36)
        self.script.clear()
        self.requests.clear()
        self.issued.clear()
        self.signin_requests.clear()
        self.signin_tokens.clear()
        self.released.set()
        self.released = threading.Event()

    def actions(self) -> list[str]:
        return [request["Action"] for request in self.requests]

    def answer(self, body: bytes, headers: Mapping[str, str] | None = None) -> Reply:
        """The scripted reply, else STS's own. Each recorded request also holds ``_KeyId``, the access key ID that
        signed it, and ``_Temporary``, "1" when it came with a session token."""
        params = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        headers = headers or {}
        signer = re.search(r"Credential=([A-Z0-9]+)/", headers.get("Authorization", ""))
        params["_KeyId"] = signer.group(1) if signer else ""
        params["_Temporary"] = "1" if headers.get("X-Amz-Security-Token") else "0"
        self.requests.append(params)
        action = params.get("Action", "")
        scripted = self.script[action].pop(0) if self.script.get(action) else None
        if scripted is not None:
            return scripted
        if action == "GetSessionToken":
            return self._session_token(params)
        if action == "AssumeRole" and params["_Temporary"] == "1" and int(params.get("DurationSeconds", "0")) > 3600:
            # STS's rule: a role assumed with temporary credentials (a role session, or GetSessionToken's) is
            # role-chained, capped at 1 hour (aws-vault#351).
            return OVER_CHAINING_MAX
        if action == "GetCallerIdentity":
            return Reply(
                200,
                f'<GetCallerIdentityResponse xmlns="{_NS}"><GetCallerIdentityResult>'
                f"<Arn>{self.caller_arn}</Arn><UserId>AIDAEXAMPLE</UserId><Account>111111111111</Account>"
                "</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>"
                "</GetCallerIdentityResponse>",
            )
        if action == "AssumeRole":
            number = next(self._counter)
            duration = timedelta(seconds=int(params.get("DurationSeconds", "0"))) or self.lifetime
            credentials = {
                "AccessKeyId": f"ASIASTUB{number:012d}",
                "SecretAccessKey": f"StubSecret{number}/{secrets.token_urlsafe(24)}",
                "SessionToken": f"StubToken{number}+{secrets.token_urlsafe(48)}==",
                "Expiration": (datetime.now(UTC) + duration).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            self.issued.append(credentials)
            role_name = params["RoleArn"].rsplit("/", 1)[-1]
            return Reply(
                200,
                f'<AssumeRoleResponse xmlns="{_NS}"><AssumeRoleResult><AssumedRoleUser>'
                f"<Arn>arn:aws:sts::222222222222:assumed-role/{role_name}/{params['RoleSessionName']}</Arn>"
                f"<AssumedRoleId>AROAEXAMPLE:{params['RoleSessionName']}</AssumedRoleId></AssumedRoleUser>"
                "<Credentials>" + "".join(f"<{k}>{v}</{k}>" for k, v in credentials.items()) + "</Credentials>"
                "<PackedPolicySize>6</PackedPolicySize></AssumeRoleResult>"
                "<ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></AssumeRoleResponse>",
            )
        return Reply(400, sts_error_xml("InvalidAction", f"Could not find operation {action}"))

    def federation(self, query: str) -> Reply:
        """getSigninToken: a fresh sign-in token for the Session JSON given (recorded, parsed, in
        ``signin_requests``), or the next scripted "getSigninToken" reply."""
        params = {key: values[0] for key, values in parse_qs(query, keep_blank_values=True).items()}
        self.signin_requests.append(params)
        scripted = self.script["getSigninToken"].pop(0) if self.script.get("getSigninToken") else None
        if scripted is not None:
            return scripted
        token = f"StubSigninToken-{secrets.token_urlsafe(96)}"
        self.signin_tokens.append(token)
        return Reply(200, json.dumps({"SigninToken": token}))

    def _session_token(self, params: Mapping[str, str]) -> Reply:
        number = next(self._counter)
        duration = timedelta(seconds=int(params.get("DurationSeconds", "43200")))
        credentials = {
            "AccessKeyId": f"ASIAMFASTUB{number:09d}",
            "SecretAccessKey": f"MfaSecret{number}/{secrets.token_urlsafe(24)}",
            "SessionToken": f"MfaToken{number}+{secrets.token_urlsafe(48)}==",
            "Expiration": (datetime.now(UTC) + min(duration, self.lifetime_of_mfa)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        self.issued.append(credentials)
        return Reply(
            200,
            f'<GetSessionTokenResponse xmlns="{_NS}"><GetSessionTokenResult><Credentials>'
            + "".join(f"<{k}>{v}</{k}>" for k, v in credentials.items())
            + "</Credentials></GetSessionTokenResult><ResponseMetadata><RequestId>3</RequestId></ResponseMetadata>"
            "</GetSessionTokenResponse>",
        )


class _StubHandler(BaseHTTPRequestHandler):
    """STS (POST, query API) and the console federation endpoint (GET /federation) of the server's stub."""

    server: _StubHttpServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self._send(self.server.stub.answer(self.rfile.read(length), dict(self.headers.items())), "text/xml")

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path != "/federation":
            self._send(Reply(404, "not here"), "text/plain")
            return
        self._send(self.server.stub.federation(query), "application/json")

    def _send(self, reply: Reply, content_type: str) -> None:
        released = self.server.stub.released
        if reply.hang:
            released.wait(reply.bound)
            self.close_connection = True
            return
        payload = reply.body.encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if reply.trickle is None:
            self.wfile.write(payload)
            return
        deadline = time.monotonic() + reply.bound
        for byte in payload:
            if released.wait(reply.trickle) or time.monotonic() > deadline:
                self.close_connection = True
                return
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:  # the client gave up: what the test wants
                self.close_connection = True
                return

    def log_message(self, format: str, *args: object) -> None:
        pass


class _StubHttpServer(ThreadingHTTPServer):
    def __init__(self, stub: StubSts) -> None:
        self.stub = stub
        super().__init__(("127.0.0.1", 0), _StubHandler)


class StubStsServer:
    """Serve a :class:`StubSts` from a thread; ``stop`` shuts the server down."""

    def __init__(self) -> None:
        self.stub = StubSts()
        self._server = _StubHttpServer(self.stub)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A short poll: shutdown() waits for it (0.5 s by default).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stub.released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


#: A command for `exec --server`: `threads` threads share `requests` credential requests (argv), each on a new
#: connection, as an SDK's first fetch; prints {"latencies": [seconds, ...], "failures": N}.
CREDENTIAL_LOAD = """
import json, os, sys, threading, time, urllib.request
requests, threads = int(sys.argv[1]), int(sys.argv[2])
uri, token = os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"], os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
lock, latencies, failures, left = threading.Lock(), [], [0], [requests]
def worker():
    while True:
        with lock:
            if not left[0]:
                return
            left[0] -= 1
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(urllib.request.Request(uri, headers={"Authorization": token}), timeout=60) as r:
                ok = "AccessKeyId" in json.load(r)
        except OSError:
            ok = False
        took = time.perf_counter() - start
        with lock:
            latencies.append(took)
            failures[0] += not ok
pool = [threading.Thread(target=worker) for _ in range(threads)]
for thread in pool:
    thread.start()
for thread in pool:
    thread.join()
print(json.dumps({"latencies": latencies, "failures": failures[0]}))
"""

# --- running the client -------------------------------------------------------------------------


def base_environment(home: Path, endpoint: str) -> dict[str, str]:
    """A clean environment: fake source keys, files in `home`, the emulator as every AWS endpoint."""
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "CROSS_ACCOUNT_")) and key not in ("XDG_CACHE_HOME", "HOME")
    }
    env.update(
        {
            "HOME": str(home),
            "AWS_ACCESS_KEY_ID": SOURCE_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SOURCE_SECRET,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
            "CROSS_ACCOUNT_CACHE_DIR": str(home / "cache"),
            # Never the machine's own keychain: keyring's "no keychain" backend (as on a headless CI machine), and the
            # opt-in file cache, kept 12 hours: the tests of the cache's checks and of MFA reuse. Tests of the defaults
            # (tests/test_cli_secrets.py) set their own.
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "CROSS_ACCOUNT_FILE_CACHE": "1",
            "CROSS_ACCOUNT_FILE_CACHE_SECONDS": "43200",
            # No instance-metadata probe (1 s timeouts) when a test has no credentials on purpose.
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    return env


def add_source_profile(home: Path, name: str = "account-a") -> None:
    """A source profile `name` in `home`'s shared credentials file (the fake source keys): configure-profile
    refuses a --source-profile that does not exist."""
    credentials = home / ".aws" / "credentials"
    credentials.parent.mkdir(parents=True, exist_ok=True)
    old = credentials.read_text() if credentials.is_file() else ""
    credentials.write_text(
        f"{old}[{name}]\naws_access_key_id = {SOURCE_ACCESS_KEY}\naws_secret_access_key = {SOURCE_SECRET}\n"
    )


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def run_cli(
    *args: str,
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout: float = 60.0,
    check_leaks: bool = True,
    subprocess: bool = False,
    stdin: str | None = None,
) -> Result:
    """Run the client with exactly `env`, in `cwd` (else in the test's HOME: no stray cdk.json).

    In this process by default (``main()`` with the environment, folder and standard streams swapped in, all
    restored afterwards); ``subprocess=True`` runs the installed console script instead, for tests whose subject
    is the process itself. `timeout` applies to the subprocess only.
    """
    if subprocess:
        result = _run_console_script(args, env=env, cwd=cwd, timeout=timeout, stdin=stdin)
    else:
        result = _run_in_process(args, env=env, cwd=cwd, stdin=stdin)
    if check_leaks:
        assert_clean_stderr(result)
    return result


def _run_console_script(
    args: Sequence[str], *, env: Mapping[str, str], cwd: Path | None, timeout: float, stdin: str | None = None
) -> Result:
    completed = subprocess.run(
        [str(CLI), *args],
        input=stdin if stdin is not None else "",  # standard input: what the test gives, else nothing
        env=dict(env),
        cwd=cwd or env["HOME"],
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,  # no controlling terminal: the MFA prompt must not find one
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


class InProcessUnsupported(AssertionError):
    """The test asked the in-process runner for something only a real process can do."""


class _NoTerminalOs:
    """`os` as the client's MFA prompt sees it in a process without a controlling terminal.

    The console script runs with start_new_session=True, so opening /dev/tty fails (ENXIO) and the prompt
    refuses; in-process, pytest's own terminal must be just as unreachable (else getpass would wait on it).
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    @staticmethod
    def open(path: StrOrBytesPath, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if os.fsdecode(path) == "/dev/tty":
            raise OSError(errno.ENXIO, os.strerror(errno.ENXIO), os.fsdecode(path))
        return os.open(path, flags, mode, dir_fd=dir_fd)


class _NoGetpass:
    # Never reached while /dev/tty cannot be opened; if the prompt ever asks another way, fail instead of waiting.
    @staticmethod
    def getpass(prompt: str = "Password: ", stream: object = None) -> str:
        raise InProcessUnsupported(f"the client prompted {prompt!r} in-process: use run_cli(..., subprocess=True)")


def _no_child_process(command: Sequence[str], env: Mapping[str, str], **_options: Any) -> int:
    # The child would inherit pytest's file descriptors (its output would bypass the captured stdout), and the
    # signal forwarding would be installed in pytest itself.
    raise InProcessUnsupported(f"exec would start {command[0]!r}: use run_cli(..., subprocess=True)")


@contextlib.contextmanager
def _patched(target: object, name: str, value: object) -> Iterator[None]:
    previous = getattr(target, name)
    setattr(target, name, value)
    try:
        yield
    finally:
        setattr(target, name, previous)


@contextlib.contextmanager
def _process_state(
    env: Mapping[str, str], cwd: Path, out: io.StringIO, err: io.StringIO, stdin: str | None = None
) -> Iterator[None]:
    """What a fresh process would have: this environment (replacing ours), this folder, these streams."""
    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    saved_stdout = sys.__stdout__
    os.environ.clear()
    os.environ.update(env)
    try:
        os.chdir(cwd)
        # No input (as with stdin at /dev/null), or what the test gives.
        sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin or ""), out, err
        # argparse sizes --help by sys.__stdout__: no terminal, 80 columns, as into a pipe.
        sys.__stdout__ = out  # type: ignore[misc,assignment]
        with warnings.catch_warnings(record=True) as caught:
            # Python's start-up filters (pytest's would turn a DeprecationWarning a process never prints into noise).
            warnings.resetwarnings()
            warnings.simplefilter("default")
            for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                warnings.filterwarnings("ignore", category=category)
            try:
                yield
            finally:
                # A process prints its warnings on stderr, where the leak checks look.
                for warning in caught:
                    err.write(
                        warnings.formatwarning(
                            warning.message, warning.category, warning.filename, warning.lineno, warning.line
                        )
                    )
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        sys.__stdout__ = saved_stdout  # type: ignore[misc]
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


_LOADERS: dict[str | None, Any] = {}


def _shared_loader(search_path_string: str | None = None) -> Any:
    """botocore's data loader, one per AWS_DATA_PATH for the whole test session.

    Every run makes a new boto3 Session, which would parse botocore's data files (endpoints, partitions, the STS
    model) again: most of an in-process run's time. They are the same installed files each time.
    """
    from botocore.loaders import create_loader

    if search_path_string not in _LOADERS:
        _LOADERS[search_path_string] = create_loader(search_path_string)
    return _LOADERS[search_path_string]


def _run_in_process(
    args: Sequence[str], *, env: Mapping[str, str], cwd: Path | None, stdin: str | None = None
) -> Result:
    import botocore.session  # the client imports it too, on its first STS call

    out, err = io.StringIO(), io.StringIO()
    with (
        _process_state(env, cwd or Path(env["HOME"]), out, err, stdin),
        _patched(cli_prompt, "os", _NoTerminalOs()),
        _patched(cli_prompt, "getpass", _NoGetpass()),
        _patched(cli_run, "run_command", _no_child_process),
        _patched(botocore.session, "create_loader", _shared_loader),
    ):
        try:
            code = cli_main(list(args))
        except InProcessUnsupported:
            raise
        except SystemExit as done:  # what the console script's sys.exit(main()) would make of it
            if done.code is None or isinstance(done.code, int):
                code = done.code or 0
            else:
                print(done.code, file=err)
                code = 1
        except Exception:
            # A process would print the traceback and exit 1: so does this run, and assert_clean_stderr fails on it.
            err.write(traceback.format_exc())
            code = 1
    return Result(code, out.getvalue(), err.getvalue())


def assert_clean_stderr(result: Result, *secrets_: str) -> None:
    """No traceback, and no source or role secret, on stderr; stdout never shows the source secret."""
    assert "Traceback" not in result.err, result.err
    assert SOURCE_SECRET not in result.err and SOURCE_SECRET not in result.out
    for secret in secrets_:
        assert secret not in result.err, "a secret reached stderr"


#: The lines the client always prints on stderr, failure or not: which role it assumes and where the role came
#: from (before any call), and each session written in plaintext to the opt-in file cache.
#: The warning of a session (alice's, of ROLE_ARN) that cannot be cached: its credentials still come.
NOT_CACHED = f"cross-account: warning: the session alice for {ROLE_ARN} is not cached: "
ROLE_LINE = re.compile(r"^cross-account: assuming arn:[\w-]+:iam::\d{12}:role/\S+ \(from [^()]+\)$")
PLAINTEXT_LINE = re.compile(
    r"^cross-account: note: wrote the (MFA session|session \S+) for \S+ in plaintext to \S+ \(0600; "
)


def said_lines(err: str) -> list[str]:
    """stderr without the role line and the file cache's notes (each checked for its shape)."""
    return [line for line in err.splitlines() if not (ROLE_LINE.match(line) or PLAINTEXT_LINE.match(line))]


def role_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if ROLE_LINE.match(line)]


def assert_one_line_error(result: Result, *fragments: str, code: int | None = None) -> None:
    """One error line on stderr; besides it, at most the role line before it (and notes of what the file cache
    wrote before the failure)."""
    assert result.code != 0, result
    if code is not None:
        assert result.code == code, result
    assert len(role_lines(result.err)) <= 1, result.err
    lines = said_lines(result.err)
    assert len(lines) == 1, f"expected one line on stderr, got: {result.err!r}"
    assert lines[0].startswith("cross-account: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    assert_clean_stderr(result)
