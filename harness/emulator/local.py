"""``make emulator`` / ``make emulator-stop``: a local account B that stays up, to try your own service in.

``start`` runs MiniStack (HTTPS, IAM enforced, 127.0.0.1), deploys TargetStack into B (with the deploy lane's
Lambda settings, as the demo does) and TrustedStack into A, creates alice in A's group with an access key, writes
``.local/emulator/emulator.pid`` and ``.local/emulator/env`` (0600), prints the ``export`` lines that point a
shell at it as alice, and returns while MiniStack keeps running. ``stop`` stops it by that PID (harmless when
nothing runs). Everything stays in the project's ``.local/emulator/``; alice's keys are the emulator's own,
never AWS's.

Usage: ``python -m harness.emulator.local start|stop``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from harness.emulator.server import LOCAL_STATE_ROOT, alive, stop_pid

ROOT: Final = LOCAL_STATE_ROOT / "emulator"
PID_FILE: Final = ROOT / "emulator.pid"
ENV_FILE: Final = ROOT / "env"
#: What the environment lines set (with alice's keys): the endpoint, the region, and the emulator's certificate.
EXPORTED: Final = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
)


def running_pid(pid_file: Path = PID_FILE) -> int | None:
    """The PID in `pid_file` when that process still runs (a zombie does not), else None."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if alive(pid) else None


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def environment_lines(env: Mapping[str, str], *, role_arn: str, external_id: str) -> str:
    """The shell lines: export the variables, then say how to use the role."""
    lines = ["unset AWS_PROFILE AWS_SESSION_TOKEN"]  # a profile or a stale token of yours would come first
    lines += [f"export {name}={shlex.quote(env[name])}" for name in EXPORTED if env.get(name)]
    lines += [
        f"# alice (account A) may assume {role_arn} (external ID {external_id}); for example:",
        f"#   cross-account exec --role-arn {role_arn} --external-id {external_id} -- npx cdk deploy MyService",
    ]
    return "\n".join(lines) + "\n"


def start(root: Path = ROOT) -> int:
    # Imported here: stop needs none of boto3 or the flow.
    from harness.emulator.errors import FlowError
    from harness.emulator.flow import Flow, Workspace
    from harness.emulator.lane_flow import LANE_CONTEXT
    from harness.emulator.server import EmulatorError, start_emulator, stop

    pid = running_pid(root / PID_FILE.name)
    if pid is not None:
        print(f"# the local emulator already runs (PID {pid}); stop it with make emulator-stop", file=sys.stderr)
        sys.stdout.write((root / ENV_FILE.name).read_text())
        return 0
    shutil.rmtree(root, ignore_errors=True)
    workspace = Workspace(root)
    for sub in ("tmp", "home", "cdk-home", "cdk.out"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    process, emulator = start_emulator(root / "ministack", tls=True)
    try:
        flow = Flow(emulator, workspace, presynth=False, echo=lambda text: print(f"# {text}", file=sys.stderr))
        a, b = flow.account_a, flow.account_b
        flow.deploy("TargetStack", b, variant="local", context=LANE_CONTEXT)
        flow.deploy("TrustedStack", a, variant="local", context=LANE_CONTEXT)
        target, trusted = flow._outputs("TargetStack", b), flow._outputs("TrustedStack", a)
        alice = flow.create_user("alice", a, group=trusted["GroupName"])
    except (FlowError, EmulatorError, OSError, KeyError) as error:
        stop(process)
        print(f"make emulator: {error} (logs: {root})", file=sys.stderr)
        return 1
    env = emulator.env(access_key_id=alice.access_key_id, secret_access_key=alice.secret_access_key)
    text = environment_lines(env, role_arn=target["RoleArn"], external_id=target["ExternalId"].split(",")[0])
    _write_private(root / ENV_FILE.name, text)
    _write_private(root / PID_FILE.name, f"{process.pid}\n")
    print(f"# MiniStack runs on {emulator.endpoint} (PID {process.pid}); stop it: make emulator-stop", file=sys.stderr)
    print(f"# these lines are in {root / ENV_FILE.name}: source {root / ENV_FILE.name}", file=sys.stderr)
    sys.stdout.write(text)
    return 0


def stop_local(root: Path = ROOT) -> int:
    pid_file = root / PID_FILE.name
    pid = running_pid(pid_file)
    if pid is None:
        print("make emulator-stop: no local emulator runs", file=sys.stderr)
    else:
        stop_pid(pid)
        print(f"make emulator-stop: stopped MiniStack (PID {pid})", file=sys.stderr)
    pid_file.unlink(missing_ok=True)
    (root / ENV_FILE.name).unlink(missing_ok=True)
    return 0


def main(argv: Sequence[str] = sys.argv[1:]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("--root", type=Path, default=ROOT, help=f"its folder (default {ROOT})")
    args = parser.parse_args(argv)
    return start(args.root) if args.action == "start" else stop_local(args.root)


if __name__ == "__main__":
    sys.exit(main())
