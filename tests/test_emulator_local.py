"""`make emulator` (issue 18): a local B that stays up after the command returns, where alice deploys her own
service with `cross-account exec`, and `make emulator-stop` stops it by its PID."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from harness.emulator.lane_flow import LANE_TAG_KEY, SERVICE_APP
from harness.emulator.server import EMULATOR_PYTHON, LOCAL_STATE_ROOT, ROOT_SECRET, alive
from harness.node import NODE, NODE_BIN_DIR, NPM_BIN_DIR, PROJECT_ROOT

pytestmark = pytest.mark.skipif(
    not EMULATOR_PYTHON.exists(), reason="no emulator venv: run `make test` (it creates .venv-emulator)"
)
CLIENT = Path(sys.executable).parent / "cross-account"


def local(action: str, root: Path) -> subprocess.CompletedProcess[str]:
    """`make emulator` / `make emulator-stop` (the same module), in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "harness.emulator.local", action, "--root", str(root)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


@pytest.fixture
def root() -> Iterator[Path]:
    folder = LOCAL_STATE_ROOT / "tests" / f"local-{uuid.uuid4().hex[:8]}"
    try:
        yield folder
    finally:
        local("stop", folder)  # whatever the test did: stopped by its PID file
        shutil.rmtree(folder, ignore_errors=True)


def exported(lines: str) -> dict[str, str]:
    """The `export K=V` lines, read as a shell would."""
    return dict(
        shlex.split(line.removeprefix("export "))[0].split("=", 1)
        for line in lines.splitlines()
        if line.startswith("export ")
    )


@pytest.mark.e2e
def test_make_emulator_stays_up_alice_deploys_her_service_and_stop_ends_it(root: Path, tmp_path: Path) -> None:
    started = local("start", root)
    assert started.returncode == 0, started.stderr[-2000:]
    aws = exported(started.stdout)
    assert set(aws) == {
        "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION",
        "AWS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS",
    }  # fmt: skip
    assert aws["AWS_ENDPOINT_URL"].startswith("https://127.0.0.1:")
    assert aws["AWS_SECRET_ACCESS_KEY"] not in started.stderr
    assert (root / "env").read_text() == started.stdout
    assert oct((root / "env").stat().st_mode & 0o777) == "0o600"
    pid = int((root / "emulator.pid").read_text())
    assert alive(pid), "MiniStack outlives the command that started it"
    again = local("start", root)
    assert again.returncode == 0 and f"already runs (PID {pid})" in again.stderr and again.stdout == started.stdout

    # A shell with those lines: alice deploys her service (a Lambda function, its role, a queue, ...) through the
    # role's deploy lane, from the service's folder, with the client.
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_", "JSII_", "CROSS_ACCOUNT_"))}
    env.update(aws)
    env.update({
        "PATH": os.pathsep.join([str(NPM_BIN_DIR), str(NODE_BIN_DIR), str(CLIENT.parent), os.environ["PATH"]]),
        "JSII_NODE": str(NODE), "HOME": str(home), "CROSS_ACCOUNT_CACHE_DIR": str(home / "cache"),
        "CDK_DISABLE_CLI_TELEMETRY": "true", "CDK_VALIDATION": "false", "NPM_CONFIG_UPDATE_NOTIFIER": "false",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    })  # fmt: skip
    role = "arn:aws:iam::222222222222:role/CrossAccountAccessRole"
    deploy = subprocess.run(
        [str(CLIENT), "exec", "--role-arn", role, "--external-id", "12345678TESTID", "--",
         "npx", "cdk", "deploy", "MyService", "--require-approval", "never", "--no-notices",
         "--output", str(tmp_path / "cdk.out")],
        cwd=SERVICE_APP, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert deploy.returncode == 0, (deploy.stdout + deploy.stderr)[-3000:]
    b_root = boto3.client(
        "cloudformation", endpoint_url=aws["AWS_ENDPOINT_URL"], verify=aws["AWS_CA_BUNDLE"], region_name="us-east-1",
        aws_access_key_id="222222222222", aws_secret_access_key=ROOT_SECRET,
    )  # fmt: skip
    [stack] = b_root.describe_stacks(StackName="MyService")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert {t["Key"]: t["Value"] for t in stack.get("Tags", [])}[LANE_TAG_KEY] == "CrossAccountAccessRole"

    stopped = local("stop", root)
    assert stopped.returncode == 0 and f"stopped MiniStack (PID {pid})" in stopped.stderr
    assert not alive(pid), "stopped by its PID"
    assert not (root / "emulator.pid").exists() and not (root / "env").exists()
    harmless = local("stop", root)
    assert harmless.returncode == 0 and "no local emulator runs" in harmless.stderr
