"""Synth cost of the project against baselines, its scaling, Node versions, and the test suite.

Every synth figure is a real `cdk synth` through the pinned CDK CLI, from the project root (so
the same cdk.json flags and settings), each run in a fresh process tree. The cases of a section
run round-robin, so that a load change hits all of them alike. Reports the median and min-max of
several runs, and the peak RSS of the largest process (jsii's Node or Python).

    .venv/bin/python bench/bench_synth.py                   # every section (about 15 minutes on 2 cores)
    .venv/bin/python bench/bench_synth.py --only overhead --runs 9
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.node import NODE, NPM_BIN_DIR, PROJECT_ROOT, use_pinned_node

PYTHON = sys.executable
CDK_CLI_JS = PROJECT_ROOT / "node_modules" / "aws-cdk" / "bin" / "cdk"
APPS = {
    "project (default settings)": "app.py",
    "empty CDK app": "bench/apps/empty_app.py",
    "how-to's two resources": "bench/apps/howto_app.py",
}
SCALES = (1, 10, 100, 500)
ORG = ["-c", "organization_id=o-abcdefghij", "-c", 'target_organizational_unit_ids=["ou-ab12-abcdefgh"]']
#: The test modules that synthesize apps (and share them through harness.synth's cache).
SYNTH_TEST_MODULES = (
    "tests/test_role.py",
    "tests/test_assumers.py",
    "tests/test_stacks.py",
    "tests/test_target_stackset.py",
    "tests/test_simulate_trust.py",
    "tests/test_simulate_scale.py",
    "tests/test_policy_lint.py",
)

# Runs the command, then reports its wall time and the peak RSS of its largest descendant.
_MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "seconds": seconds,
    "cpu_seconds": usage.ru_utime + usage.ru_stime,
    "peak_kib": usage.ru_maxrss,
    "rc": done.returncode,
    "output": done.stdout[-3000:],
}))
"""


@dataclass
class Case:
    command: list[str]
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    peak_mib: list[float] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(self.seconds)

    def cpu(self) -> float:
        """CPU time (user + system) of the whole process tree: steadier than wall time on a shared machine."""
        return statistics.median(self.cpu_seconds)

    def row(self, label: str) -> str:
        low, high = min(self.seconds), max(self.seconds)
        peak = statistics.median(self.peak_mib)
        return f"| {label} | {self.median():.2f} s | {low:.2f}-{high:.2f} s | {self.cpu():.2f} s | {peak:.0f} MiB |"


def run_round_robin(cases: Mapping[str, Case], runs: int) -> None:
    labels = list(cases)
    for run in range(runs):
        # Rotate the order too, so no case always runs first (cold caches) or last.
        for label in labels[run % len(labels) :] + labels[: run % len(labels)]:
            case = cases[label]
            out = subprocess.run(
                [PYTHON, "-c", _MEASURE, *case.command],
                cwd=PROJECT_ROOT,
                env=dict(case.env),
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(out.stdout)
            if result["rc"] != 0:
                raise SystemExit(f"{label}: {' '.join(case.command)[:300]} failed:\n{result['output']}")
            case.seconds.append(result["seconds"])
            case.cpu_seconds.append(result["cpu_seconds"])
            case.peak_mib.append(result["peak_kib"] / 1024)


def table(cases: Mapping[str, Case], header: str = "case") -> None:
    print(f"| {header} | median wall | min-max wall | median CPU | peak RSS |\n|---|---|---|---|---|")
    for label, case in cases.items():
        print(case.row(label))
    print(flush=True)


def cdk_synth(app: str, *args: str, validation: bool = True, cli: Sequence[str] | None = None) -> list[str]:
    outdir = tempfile.mkdtemp(prefix="bench-synth-", dir=PROJECT_ROOT / ".local")
    command = [*(cli or [str(NPM_BIN_DIR / "cdk")]), "synth", "--quiet", "--output", outdir]
    command += ["--app", f"{PYTHON} {app}", *args]
    return command if validation else [*command, "--no-validation"]


def accounts(n: int) -> str:
    return json.dumps([f"{300000000000 + i:012d}" for i in range(n)])


def overhead(runs: int) -> None:
    print("## Synth overhead: same CLI, Node 24 and cdk.json flags\n")
    for validation in (True, False):
        print(f"Built-in CloudFormation validation {'on (the default)' if validation else 'off (--no-validation)'}:\n")
        cases = {label: Case(cdk_synth(app, validation=validation)) for label, app in APPS.items()}
        run_round_robin(cases, runs)
        table(cases, "app")
        project, empty, howto = cases.values()
        print(
            f"project / empty app = **{project.median() / empty.median():.2f}x** wall, "
            f"{project.cpu() / empty.cpu():.2f}x CPU; project / how-to app = "
            f"{project.median() / howto.median():.2f}x wall, {project.cpu() / howto.cpu():.2f}x CPU\n"
        )


def scaling(runs: int) -> None:
    print("## Scaling with the number of target accounts (validation on)\n")
    cases: dict[str, Case] = {}
    for n in SCALES:
        per_account = ["-c", f"target_account_ids={accounts(n)}", "-c", "target_account_id=300000000000"]
        cases[f"{n} | per-account stacks"] = Case(cdk_synth("app.py", *per_account))
        cases[f"{n} | one StackSet"] = Case(cdk_synth("app.py", *ORG, "-c", f"stackset_account_ids={accounts(n)}"))
    run_round_robin(cases, runs)
    table(cases, "accounts | mode")
    for mode in ("per-account stacks", "one StackSet"):
        ratio = cases[f"500 | {mode}"].median() / cases[f"1 | {mode}"].median()
        print(f"{mode}: 500 accounts / 1 account = **{ratio:.2f}x**")
    print()


def node_versions(runs: int) -> None:
    print("## Which Node runs jsii and the CLI (default app, validation on)\n")
    system_node = shutil.which("node", path="/usr/local/bin:/usr/bin:/bin")
    if system_node is None:
        print("No system Node on PATH: only the pinned Node 24 is available.\n")
        return
    version = subprocess.run([system_node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    major = version.lstrip("v").split(".")[0]
    system_env = {k: v for k, v in os.environ.items() if k != "JSII_NODE"}
    system_env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    system_env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = major
    cases = {
        "pinned Node 24 (node_modules)": Case(cdk_synth("app.py", cli=[str(NODE), str(CDK_CLI_JS)])),
        f"system Node {version}": Case(cdk_synth("app.py", cli=[system_node, str(CDK_CLI_JS)]), env=system_env),
    }
    run_round_robin(cases, runs)
    table(cases, "Node")
    pinned, system = (c.median() for c in cases.values())
    print(f"Node 24 / system Node = **{pinned / system:.2f}x**\n")


def pytest_command(*args: str) -> list[str]:
    return [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]


def sharing(runs: int) -> None:
    print("## Sharing synthesized apps between tests (the modules that synthesize)\n")
    off = dict(os.environ, HARNESS_SYNTH_CACHE="0")
    cases = {
        "shared (harness.synth cache, the default)": Case(pytest_command(*SYNTH_TEST_MODULES)),
        "one synth per call (HARNESS_SYNTH_CACHE=0)": Case(pytest_command(*SYNTH_TEST_MODULES), env=off),
    }
    run_round_robin(cases, runs)
    table(cases, "synthesized apps")
    shared, unshared = (c.median() for c in cases.values())
    print(f"shared / unshared = **{shared / unshared:.2f}x**\n")


def suite(runs: int) -> None:
    print("## Test suite without the emulator end-to-end test, against one `cdk synth`\n")
    cases = {
        "cdk synth (default app)": Case(cdk_synth("app.py")),
        "pytest -m 'not e2e'": Case(pytest_command("-m", "not e2e")),
    }
    run_round_robin(cases, runs)
    table(cases, "what")
    synth, tests = (c.median() for c in cases.values())
    print(f"suite / synth = **{tests / synth:.2f}x** (wall; the suite runs on both cores, see pyproject addopts)\n")


SECTIONS = {
    "overhead": overhead,
    "scaling": scaling,
    "node": node_versions,
    "sharing": sharing,
    "suite": suite,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per case (default 5)")
    parser.add_argument("--only", choices=list(SECTIONS), action="append", help="run only this section (repeatable)")
    args = parser.parse_args()
    use_pinned_node()
    os.environ.pop("CDK_VALIDATION", None)
    (PROJECT_ROOT / ".local").mkdir(exist_ok=True)
    print(f"# bench_synth: {args.runs} runs per case, {os.cpu_count()} CPUs\n")
    for name, section in SECTIONS.items():
        if not args.only or name in args.only:
            section(args.runs)
    for leftover in (PROJECT_ROOT / ".local").glob("bench-synth-*"):
        shutil.rmtree(leftover, ignore_errors=True)


if __name__ == "__main__":
    main()
