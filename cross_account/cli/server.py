"""exec --server: hand the role's credentials to the command through the container-credentials protocol, and
assume the role again before they expire.

The SDKs (botocore, so boto3 and the AWS CLI; the JS SDK, so the CDK CLI) read
``AWS_CONTAINER_CREDENTIALS_FULL_URI`` and send ``AWS_CONTAINER_AUTHORIZATION_TOKEN`` as the Authorization header;
they ask again from 15 minutes before the credentials they hold expire. The server binds 127.0.0.1 on a free port,
takes a fresh random token each run (handed over in the environment only, never in an argument), answers 401
without it and 403 with another, and stops when the command ends.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

from cross_account.cli.cache import CREDENTIAL_PROCESS_MARGIN
from cross_account.cli.credentials import Credentials, iso8601
from cross_account.cli.errors import CliError, UsageError
from cross_account.cli.formats import CONFLICTING_VARIABLES

URI_VARIABLE: Final = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
TOKEN_VARIABLE: Final = "AWS_CONTAINER_AUTHORIZATION_TOKEN"  # noqa: S105 - a variable's name
PATH: Final = "/role-credentials"
#: Profile keys that give the default profile credentials of its own, which the SDKs use before a container
#: endpoint (botocore's chain: environment, profile role, web identity, SSO, files, process, ..., container).
_PROFILE_CREDENTIAL_KEYS: Final = (
    "aws_access_key_id",
    "role_arn",
    "credential_process",
    "sso_session",
    "sso_start_url",
    "web_identity_token_file",
)
#: A stuck client holds its connection this long at most.
_CLIENT_TIMEOUT: Final = 30.0
#: After a failed renewal, the same failure is answered this long without asking STS again (the SDKs retry at once).
_FAILURE_HOLD: Final = 5.0
#: A session is renewed when this part of its length (from when it was received) is left, or the server's margin,
#: whichever is less: at most once per session, whatever length STS gave it (15 minutes, the least AWS allows, is
#: all inside the SDKs' 15-minute refresh window).
_RENEW_WITH_LEFT: Final = 0.5
#: Connections waiting to be accepted: a parallel build's SDKs all ask at once (the default, 5, made the rest wait
#: for a SYN retry, a second or more).
BACKLOG: Final = 1024


class _HttpServer(ThreadingHTTPServer):
    request_queue_size = BACKLOG
    daemon_threads = True


class CredentialServer:
    """Serve the credentials `provide` returns, asking it again once they are within `margin` of expiry, or half
    their length, whichever is less (so once per session). Requests that come meanwhile wait for that one renewal.

    `clock` and `warn` are injectable; `provide` raises CliError on failure: its line is said once on stderr and
    sent as the error message (it holds no secret), and answers for a few seconds without another try.
    """

    def __init__(
        self,
        provide: Callable[[], Credentials],
        first: Credentials,
        *,
        clock: Callable[[], datetime],
        warn: Callable[[str], None],
        margin: timedelta = CREDENTIAL_PROCESS_MARGIN,
    ) -> None:
        self.token = secrets.token_urlsafe(32)
        self._provide = provide
        self._current = first
        self._clock = clock
        self._warn = warn
        self._margin = margin
        self._renew_at = self._renewal_time(first)
        self._lock = threading.Lock()
        self._failure: tuple[float, CliError] | None = None
        self._server = _HttpServer(("127.0.0.1", 0), self._handler())
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}{PATH}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="cross-account credentials server", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop at once: a connection of our own wakes the accept loop (serve_forever would poll)."""
        self._stopping.set()
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
            pass
        self._thread.join(timeout=5)
        self._server.server_close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            self._server.handle_request()

    def current(self) -> Credentials:
        """The credentials to hand out: the ones held, or new ones once those are due for renewal. The lock makes
        the requests that come during a renewal wait for it and share its result."""
        with self._lock:
            if self._clock() < self._renew_at:
                return self._current
            if self._failure is not None and time.monotonic() - self._failure[0] < _FAILURE_HOLD:
                raise self._failure[1]
            try:
                self._current = self._provide()
            except CliError as error:
                if self._failure is None or str(self._failure[1]) != str(error):
                    self._warn(f"exec --server could not renew the role's credentials: {error}")
                self._failure = (time.monotonic(), error)
                raise
            self._failure = None
            self._renew_at = self._renewal_time(self._current)
            return self._current

    def _renewal_time(self, credentials: Credentials) -> datetime:
        """When to renew `credentials`, received now: `margin` before they expire, or when half of what is left
        now remains, whichever comes later."""
        left = credentials.expiration - self._clock()
        return credentials.expiration - min(self._margin, left * _RENEW_WITH_LEFT)

    def _authorized(self, header: str | None) -> int:
        """200 with the right token, 401 without one, 403 with another."""
        if not header:
            return 401
        return 200 if hmac.compare_digest(header.encode(), self.token.encode()) else 403

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = _CLIENT_TIMEOUT
            server_version = "cross-account"
            sys_version = ""

            def do_GET(self) -> None:
                status = server._authorized(self.headers.get("Authorization"))
                if status != 200:
                    self._reply(status, {"code": "Unauthorized", "message": "missing or wrong authorization token"})
                    return
                if self.path != PATH:
                    self._reply(404, {"code": "NotFound", "message": f"credentials are at {PATH}"})
                    return
                try:
                    credentials = server.current()
                except CliError as error:
                    self._reply(500, {"code": "CredentialsUnavailable", "message": str(error)})
                    return
                self._reply(200, container_credentials(credentials))

            def do_POST(self) -> None:
                self._reply(405, {"code": "MethodNotAllowed", "message": "GET only"})

            do_PUT = do_DELETE = do_PATCH = do_POST

            def _reply(self, status: int, document: Mapping[str, str]) -> None:
                payload = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # no access log: nothing about the requests is worth a line on the command's terminal

        return Handler


def container_credentials(credentials: Credentials) -> dict[str, str]:
    """The container-credentials document the SDKs read."""
    return {
        "AccessKeyId": credentials.access_key_id,
        "SecretAccessKey": credentials.secret_access_key,
        "Token": credentials.session_token,
        "Expiration": iso8601(credentials.expiration),
        "RoleArn": credentials.role_arn,
    }


def server_environment(environ: Mapping[str, str], *, url: str, token: str, credentials: Credentials) -> dict[str, str]:
    """The caller's environment for the command, minus every credential that would outrank the endpoint, plus the
    endpoint, its token and the region.

    The shared credentials file is pointed at /dev/null: its default profile (often the trusted account's keys)
    comes before a container endpoint in every SDK's chain.
    """
    env = {
        name: value
        for name, value in environ.items()
        if name not in CONFLICTING_VARIABLES
        and name not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION")
    }
    env[URI_VARIABLE] = url
    env[TOKEN_VARIABLE] = token
    env["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
    if credentials.region:
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = credentials.region
    env["CROSS_ACCOUNT_ROLE_ARN"] = credentials.role_arn
    return env


def check_default_profile(config: Path) -> None:
    """Refuse when the AWS config file's default profile has credentials of its own: the command's SDKs would use
    them (the wrong account) and never ask the endpoint."""
    from botocore.exceptions import BotoCoreError

    from cross_account.cli.sdk_config import profiles_of

    try:
        default = profiles_of(config).get("default", {})
    except (BotoCoreError, OSError):
        return  # no file, or one the SDKs cannot read either
    found = next((key for key in _PROFILE_CREDENTIAL_KEYS if key in default), None)
    if found is not None:
        raise UsageError(
            f"exec --server: the default profile in {config} sets {found}, which the SDKs would use before the "
            "credentials server (the wrong account); move it to a named profile, or use plain exec"
        )
