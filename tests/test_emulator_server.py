"""The emulator harness: 127.0.0.1 only, IAM enforced, accounts by access key, stopped by PID on failure."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from harness.emulator.fixtures import start_emulator
from harness.emulator.server import EMULATOR_PYTHON, LOCAL_STATE_ROOT, ROOT_SECRET, Emulator, alive, run_emulator

pytestmark = pytest.mark.skipif(
    not EMULATOR_PYTHON.exists(), reason="no emulator venv: run `make test` (it creates .venv-emulator)"
)


@pytest.fixture(scope="module")
def emulator(request: pytest.FixtureRequest) -> Emulator:
    return start_emulator(request, "server")


def client(emulator: Emulator, service: str, key: str, secret: str = ROOT_SECRET) -> Any:
    return boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name="us-east-1").client(
        service, endpoint_url=emulator.endpoint
    )


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening socket on `port`, from the kernel's tables (hex, as /proc shows them)."""
    found = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_listens_on_loopback_only(emulator: Emulator) -> None:
    assert emulator.endpoint == f"http://127.0.0.1:{emulator.port}"
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp on this system")
    # 0100007F is 127.0.0.1 in the kernel's little-endian hex; 00000000 would be 0.0.0.0 (every interface).
    assert listening_addresses(emulator.port) == {"0100007F"}


def test_access_key_selects_the_account(emulator: Emulator) -> None:
    for account in ("111111111111", "222222222222"):
        sts = client(emulator, "sts", account)
        assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{account}:root"


def test_iam_is_enforced(emulator: Emulator) -> None:
    """AUTH=true: a user without permissions is refused, which a permissive emulator would allow."""
    iam = client(emulator, "iam", "111111111111")
    iam.create_user(UserName="nobody")
    key = iam.create_access_key(UserName="nobody")["AccessKey"]
    s3 = client(emulator, "s3", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as refused:
        s3.list_buckets()
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_stopped_by_pid_when_the_body_fails() -> None:
    state_dir = LOCAL_STATE_ROOT / "tests" / "stop-on-failure"
    pid = 0
    with pytest.raises(RuntimeError, match="boom"), run_emulator(state_dir) as running:
        pid = running.pid
        assert alive(pid)
        raise RuntimeError("boom")
    assert pid and not alive(pid)
    # Its files stayed in the state folder (inside the project): the log and nothing outside.
    assert (state_dir / "ministack.log").exists()
    assert not any(Path("/tmp").glob(f"ministack-{running.port}.*"))
    shutil.rmtree(state_dir)
