"""Run MiniStack as a subprocess: IAM enforced (AUTH=true), on a free port of 127.0.0.1, stopped by PID.

The emulator runs from its own virtual environment (``.venv-emulator``: MiniStack pins its own
botocore) through ``launcher.py``, which registers our ``AWS::IAM::Group`` provisioner first.
Its log, PID file and any data stay in the state directory the caller gives (inside the project).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from harness.node import PROJECT_ROOT

EMULATOR_VENV: Final = PROJECT_ROOT / ".venv-emulator"
EMULATOR_PYTHON: Final = EMULATOR_VENV / "bin" / "python"
#: Where local runs keep their state and logs: ignored by git, inside the project.
LOCAL_STATE_ROOT: Final = PROJECT_ROOT / ".local"
HOST: Final = "127.0.0.1"
#: MiniStack's root caller: an access key ID of 12 digits selects that account (secret "test").
ROOT_SECRET: Final = "test"  # noqa: S105 (MiniStack's fixed local root secret, not a credential)
READY_TIMEOUT_SECONDS: Final = 30.0
STOP_TIMEOUT_SECONDS: Final = 5.0


class EmulatorError(RuntimeError):
    """The emulator could not start or is not installed."""


@dataclass(frozen=True)
class Emulator:
    """A running MiniStack: where to reach it, and how to find its process and log."""

    endpoint: str
    port: int
    pid: int
    state_dir: Path
    #: With TLS: the emulator's self-signed certificate, which every client must trust (else None).
    ca_bundle: str | None = None

    @property
    def log_path(self) -> Path:
        return self.state_dir / "ministack.log"

    def root_env(self, account_id: str) -> dict[str, str]:
        """AWS SDK/CLI environment for an account's root caller against this emulator."""
        return self.env(access_key_id=account_id, secret_access_key=ROOT_SECRET)

    def env(self, *, access_key_id: str, secret_access_key: str, session_token: str | None = None) -> dict[str, str]:
        """AWS SDK/CLI environment for these credentials against this emulator (its certificate trusted)."""
        return client_env(
            self.endpoint,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            session_token=session_token,
            ca_bundle=self.ca_bundle,
        )


def client_env(
    endpoint: str,
    *,
    access_key_id: str,
    secret_access_key: str,
    session_token: str | None = None,
    ca_bundle: str | None = None,
) -> dict[str, str]:
    """The variables that point an AWS SDK or CLI at the emulator with the given credentials.

    Profiles and config files of the person running this are ignored, so nothing of theirs is read
    or sent, and a real AWS account can never be reached by mistake. With `ca_bundle`, the AWS SDKs
    and CLIs (Python and Node) trust the emulator's certificate.
    """
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": access_key_id,
        "AWS_SECRET_ACCESS_KEY": secret_access_key,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if session_token:
        env["AWS_SESSION_TOKEN"] = session_token
    if ca_bundle:
        env["AWS_CA_BUNDLE"] = ca_bundle
        env["NODE_EXTRA_CA_CERTS"] = ca_bundle
    return env


def free_port() -> int:
    """A port nobody listens on now (the OS picks it; a tiny race with other programs is accepted)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _ready(endpoint: str, ca_bundle: Path | None) -> bool:
    try:
        context = None
        if ca_bundle is not None:
            if not ca_bundle.exists():
                return False  # MiniStack writes its certificate before it serves
            context = ssl.create_default_context(cafile=str(ca_bundle))
        url = f"{endpoint}/_ministack/health"
        with urllib.request.urlopen(url, timeout=1, context=context) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, ssl.SSLError):
        return False


def _certificate(state_dir: Path) -> Path:
    """Where MiniStack (``USE_SSL=1``) writes its self-signed certificate: ``$TMPDIR/ministack-tls``."""
    return state_dir / "ministack-tls" / "server.crt"


def _emulator_environment(port: int, state_dir: Path, *, tls: bool = False) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MINISTACK_"))}
    env.update(
        {
            "AUTH": "true",
            "BIND_HOST": HOST,
            "GATEWAY_PORT": str(port),
            # MiniStack writes its PID file to the temp dir and could keep S3/state data: all inside state_dir.
            "TMPDIR": str(state_dir),
            "STATE_DIR": str(state_dir / "state"),
            "S3_DATA_DIR": str(state_dir / "s3"),
            "PERSIST_STATE": "0",
            "S3_PERSIST": "0",
            "LOG_LEVEL": os.environ.get("EMULATOR_LOG_LEVEL", "WARNING"),
            "PYTHONPATH": str(PROJECT_ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if tls:
        # HTTPS with a self-signed certificate for localhost and 127.0.0.1 (generated with openssl), so
        # aws:SecureTransport is true as on AWS: a bucket policy that denies plain HTTP lets the deploys in.
        env["USE_SSL"] = "1"
    return env


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the emulator by its PID's process group: SIGTERM, then SIGKILL after a grace period."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    # Anything left in the group (the leader, or a child it started) goes now.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def start_emulator(state_dir: Path, *, tls: bool = False) -> tuple[subprocess.Popen[bytes], Emulator]:
    """Start MiniStack with IAM enforced, in a process group of its own; return it once it answers. The caller
    stops it (:func:`stop`, or :func:`stop_pid` from another process); a failed start stops it here."""
    if not EMULATOR_PYTHON.exists():
        raise EmulatorError(f"{EMULATOR_PYTHON} is missing: run `make .venv-emulator/.installed` (or `make demo`)")
    state_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    endpoint = f"{'https' if tls else 'http'}://{HOST}:{port}"
    certificate = _certificate(state_dir) if tls else None
    log = (state_dir / "ministack.log").open("wb")
    try:
        process = subprocess.Popen(
            [str(EMULATOR_PYTHON), "-m", "harness.emulator.launcher"],
            cwd=PROJECT_ROOT,
            env=_emulator_environment(port, state_dir, tls=tls),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() reaches anything it spawns
        )
    finally:
        log.close()  # the child keeps its own descriptor
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not _ready(endpoint, certificate):
            if process.poll() is not None:
                raise EmulatorError(f"MiniStack exited with {process.returncode}; see {state_dir / 'ministack.log'}")
            if time.monotonic() > deadline:
                raise EmulatorError(f"MiniStack did not answer within {READY_TIMEOUT_SECONDS:.0f} s")
            time.sleep(0.05)
    except BaseException:
        stop(process)
        raise
    ca_bundle = str(certificate) if certificate else None
    return process, Emulator(endpoint=endpoint, port=port, pid=process.pid, state_dir=state_dir, ca_bundle=ca_bundle)


def stop_pid(pid: int) -> bool:
    """Stop an emulator another process started, by its PID (its process group): SIGTERM, then SIGKILL after the
    grace period. Returns whether it was running."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.05)
    # Anything left in the group (the leader, or a child it started) goes now.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return True


def alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie waiting for its reaper does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@contextlib.contextmanager
def run_emulator(state_dir: Path, *, tls: bool = False) -> Iterator[Emulator]:
    """Start MiniStack with IAM enforced, yield it once it answers, and always stop it by PID.

    ``tls``: serve HTTPS (the flow's deploy lane needs it: the staging bucket denies plain HTTP).
    """
    process, emulator = start_emulator(state_dir, tls=tls)
    try:
        yield emulator
    finally:
        stop(process)
