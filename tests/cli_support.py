"""Test support for the `cross-account` client: a moto STS server, a scripted STS stub, and runners.

Both servers bind 127.0.0.1 only and are stopped by the PID (or server object) that started them.
boto3 reaches them through AWS_ENDPOINT_URL, over real HTTP: nothing in boto3 is mocked.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

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
    status: int
    body: str


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
    script: dict[str, list[Reply]] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)
    issued: list[dict[str, str]] = field(default_factory=list)
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def reset(self) -> None:
        self.caller_arn = "arn:aws:iam::111111111111:user/alice"
        self.lifetime = timedelta(hours=1)
        self.script.clear()
        self.requests.clear()
        self.issued.clear()

    def actions(self) -> list[str]:
        return [request["Action"] for request in self.requests]

    def answer(self, body: bytes) -> Reply:
        params = {key: values[0] for key, values in parse_qs(body.decode()).items()}
        self.requests.append(params)
        action = params.get("Action", "")
        if self.script.get(action):
            return self.script[action].pop(0)
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


class StubStsServer:
    """Serve a :class:`StubSts` from a thread; ``stop`` shuts the server down."""

    def __init__(self) -> None:
        self.stub = StubSts()
        stub = self.stub

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                reply = stub.answer(self.rfile.read(length))
                payload = reply.body.encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


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
            # No instance-metadata probe (1 s timeouts) when a test has no credentials on purpose.
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    return env


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def run_cli(
    *args: str, env: Mapping[str, str], cwd: Path | None = None, timeout: float = 60.0, check_leaks: bool = True
) -> Result:
    """Run the installed console script as a subprocess (in `cwd`, else in the test's HOME: no stray cdk.json)."""
    completed = subprocess.run(
        [str(CLI), *args],
        env=dict(env),
        cwd=cwd or env["HOME"],
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,  # no controlling terminal: the MFA prompt must not find one
    )
    result = Result(completed.returncode, completed.stdout, completed.stderr)
    if check_leaks:
        assert_clean_stderr(result)
    return result


def assert_clean_stderr(result: Result, *secrets_: str) -> None:
    """No traceback, and no source or role secret, on stderr; stdout never shows the source secret."""
    assert "Traceback" not in result.err, result.err
    assert SOURCE_SECRET not in result.err and SOURCE_SECRET not in result.out
    for secret in secrets_:
        assert secret not in result.err, "a secret reached stderr"


def assert_one_line_error(result: Result, *fragments: str, code: int | None = None) -> None:
    assert result.code != 0, result
    if code is not None:
        assert result.code == code, result
    lines = result.err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {result.err!r}"
    assert lines[0].startswith("cross-account: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    assert_clean_stderr(result)
