"""Regional STS: where the region is known, every STS call goes to that region's endpoint, set explicitly.

Without AWS_ENDPOINT_URL the client would call the real STS: an HTTPS proxy on 127.0.0.1 records which host each
call asks for (the CONNECT line) and refuses it, so nothing leaves the machine.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli_support import ROLE_ARN, Result, assert_one_line_error
from tests.test_cli_assume import write_cdk_json


class RefusingProxy:
    """An HTTP proxy that records each CONNECT target and answers 403."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(5)
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    request += chunk
                method, target, *_ = [*request.decode(errors="replace").split(" ", 2), "", ""]
                if method == "CONNECT":
                    self.targets.append(target)
                connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()


@pytest.fixture
def proxy() -> Iterator[RefusingProxy]:
    server = RefusingProxy()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def real_sts_env(stub_env: dict[str, str], proxy: RefusingProxy) -> dict[str, str]:
    """No endpoint override: botocore picks the endpoint, and the proxy sees it."""
    env = {
        key: value
        for key, value in stub_env.items()
        if key not in ("AWS_ENDPOINT_URL", "NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy")
    }
    return {**env, "HTTPS_PROXY": proxy.url, "https_proxy": proxy.url}


@pytest.mark.parametrize(
    ("flags", "extra_env", "host"),
    [
        (("--role-arn", ROLE_ARN, "--region", "eu-west-1"), {}, "sts.eu-west-1.amazonaws.com:443"),
        # botocore's legacy setting would send us-east-1 to the global sts.amazonaws.com.
        (("--role-arn", ROLE_ARN), {"AWS_REGION": "us-east-1", "AWS_STS_REGIONAL_ENDPOINTS": "legacy"},
         "sts.us-east-1.amazonaws.com:443"),
        (("--role-arn", "arn:aws-cn:iam::222222222222:role/R"), {}, "sts.cn-north-1.amazonaws.com.cn:443"),
        (("--role-arn", "arn:aws-us-gov:iam::222222222222:role/R", "--region", "us-gov-east-1"), {},
         "sts.us-gov-east-1.amazonaws.com:443"),
        (("--role-arn", ROLE_ARN, "--mfa-serial", "arn:aws:iam::111111111111:mfa/alice", "--mfa-token", "123456",
          "--region", "ap-southeast-2"), {}, "sts.ap-southeast-2.amazonaws.com:443"),
    ],
)  # fmt: skip
def test_sts_is_called_at_the_regional_endpoint(
    flags: tuple[str, ...],
    extra_env: dict[str, str],
    host: str,
    proxy: RefusingProxy,
    real_sts_env: dict[str, str],
    cli_in_process: Callable[..., Result],
) -> None:
    result = cli_in_process("assume", "--session-name", "alice", *flags, env={**real_sts_env, **extra_env})
    assert_one_line_error(result, "ProxyConnectionError", code=1)
    assert proxy.targets and set(proxy.targets) == {host}, proxy.targets


def test_the_apps_region_picks_the_endpoint(
    proxy: RefusingProxy, real_sts_env: dict[str, str], tmp_path: Path, cli_in_process: Callable[..., Result]
) -> None:
    app = tmp_path / "app"
    write_cdk_json(app, trusted_account_id="111111111111", region="eu-central-1")
    result = cli_in_process("assume", "--session-name", "alice", env=real_sts_env, cwd=app)
    assert result.code == 1
    assert set(proxy.targets) == {"sts.eu-central-1.amazonaws.com:443"}
