"""The deploy lane's cost: ``cdk deploy MyService`` as alice through the lane against B's administrator, in MiniStack.

Usage: ``PYTHONPATH=. .venv/bin/python bench/bench_lane_deploy.py [RUNS] [--with-synth]`` (default 3
runs each) after ``make demo`` has run once. In one emulator run it deploys TargetStack (with the
lane's settings) and TrustedStack, puts alice in the group, then alternates:

- lane: ``cross-account exec -- npx cdk deploy MyService`` as alice (AssumeRole, then the CLI with the
  session; every CloudFormation and S3 call is authorized against the role's policies);
- admin: ``npx cdk deploy MyService`` with account B's own key.

Both deploy the same cloud assembly of ``examples/service-app`` (``DeployLaneSynthesizer``: the same
template, tag and staging bucket), synthesized once beforehand, so the figure is the lane's own cost:
the client, AssumeRole and IAM evaluation. (B's administrator would normally deploy with CDK's
default synthesizer and a bootstrap stack; that cannot run here: MiniStack's CloudFormation has no
bootstrap stack, and the emulator-side differences would be the emulator's, not the lane's.) With
``--with-synth`` each deploy synthesizes the app itself (identical work on both sides, about 3 s).
Each deploy creates the stack; B's key deletes it afterwards, untimed. Prints every run, the medians
and lane/admin; exits 1 if a deploy fails or the median ratio is above 1.2 (the issue's target).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence

from harness.emulator.errors import FlowError
from harness.emulator.flow import Flow, Keys, Workspace
from harness.emulator.lane_flow import SERVICE_APP, SERVICE_STACK, LaneSteps
from harness.emulator.server import run_emulator

TARGET_RATIO = 1.2


def _deploy_args(lane: LaneSteps, with_synth: bool) -> list[str]:
    source = lane._where() if with_synth else ["--app", str(lane.first)]
    return ["npx", "cdk", "deploy", SERVICE_STACK, "--require-approval", "never", "--no-notices", *source]


def _timed_lane(lane: LaneSteps, with_synth: bool) -> float:
    started = time.monotonic()
    result = lane.exec_(_deploy_args(lane, with_synth))
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise FlowError(f"lane deploy failed: {result.stderr.strip()[-300:]}")
    return seconds


def _timed_admin(flow: Flow, lane: LaneSteps, with_synth: bool) -> float:
    env = flow.emulator.root_env(flow.account_b)
    started = time.monotonic()
    result = flow._run(_deploy_args(lane, with_synth), env, cwd=SERVICE_APP)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise FlowError(f"admin deploy failed: {result.stderr.strip()[-300:]}")
    return seconds


def _delete(flow: Flow) -> None:
    flow._client("cloudformation", flow._root(flow.account_b)).delete_stack(StackName=SERVICE_STACK)
    if flow.stack_gone(SERVICE_STACK, flow.account_b) != "deleted":
        raise FlowError(f"{SERVICE_STACK} was not deleted between runs")


def _set_up(flow: Flow) -> LaneSteps:
    """TargetStack (lane settings) and TrustedStack deployed, alice in the group, the service synthesized."""
    b, a = flow.account_b, flow.account_a
    flow.deploy("TargetStack", b, variant="default", context=flow.oidc_context)
    flow.register_oidc_provider()
    flow.deploy("TrustedStack", a, variant="default", context=flow.oidc_context)
    target, trusted = flow._outputs("TargetStack", b), flow._outputs("TrustedStack", a)
    alice: Keys = flow.create_user("alice", a, group=trusted["GroupName"])
    lane = flow.lane_steps()
    lane.begin(alice, target["RoleArn"], target["ExternalId"].split(",")[0])
    synth = ["npx", "cdk", "synth", *lane._where(), "--output", str(lane.first), "--quiet", "--no-notices"]
    result = flow._run(synth, flow.emulator.root_env(b), cwd=SERVICE_APP)
    if result.returncode != 0:
        raise FlowError(f"cdk synth of the service failed: {result.stderr.strip()[-300:]}")
    return lane


def measure(runs: int, with_synth: bool) -> tuple[list[float], list[float]]:
    workspace = Workspace.create()
    lane_seconds: list[float] = []
    admin_seconds: list[float] = []
    with run_emulator(workspace.emulator_dir, tls=True) as emulator:
        flow = Flow(emulator, workspace, presynth=False)
        lane = _set_up(flow)
        for i in range(1, runs + 1):
            # Alternate which goes first, so a slow moment of the machine does not favour one side.
            order = ("lane", "admin") if i % 2 else ("admin", "lane")
            for who in order:
                seconds = _timed_lane(lane, with_synth) if who == "lane" else _timed_admin(flow, lane, with_synth)
                (lane_seconds if who == "lane" else admin_seconds).append(seconds)
                print(f"run {i} {who:5}: {seconds:.2f} s", flush=True)
                _delete(flow)
    workspace.remove()
    return lane_seconds, admin_seconds


def main(argv: Sequence[str]) -> int:
    with_synth = "--with-synth" in argv
    numbers = [a for a in argv if not a.startswith("--")]
    runs = int(numbers[0]) if numbers else 3
    lane_seconds, admin_seconds = measure(runs, with_synth)
    lane, admin = statistics.median(lane_seconds), statistics.median(admin_seconds)
    ratio = lane / admin
    what = "with synth" if with_synth else "from one assembly"
    print(f"median over {runs} runs ({what}): lane {lane:.2f} s, admin {admin:.2f} s, lane/admin {ratio:.2f}")
    print(f"target lane/admin <= {TARGET_RATIO}: {'met' if ratio <= TARGET_RATIO else 'MISSED'}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
