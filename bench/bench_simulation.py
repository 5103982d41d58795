"""How much wall time do the IAM simulation tests add to the test suite?

Runs pytest in fresh processes, interleaved, several times:

- ``baseline``: a probe test that loads jsii and synthesizes the default app, which
  any CDK suite here pays once anyway;
- ``with``: the same probe, then the simulation tests (the decision matrix, the
  bridge's tests and the policy lint).

The figure is ``with - baseline`` per pair (median, min-max). ``alone`` (the
simulation tests by themselves, jsii start-up included) is an upper bound.
``--suite`` also measures against the whole suite (slow: minutes).

Usage: ``.venv/bin/python bench/bench_simulation.py [--runs 5] [--suite]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SIMULATION_TESTS = ("tests/test_harness_simulate.py", "tests/test_policy_lint.py", "tests/test_simulate_trust.py")
BUDGET_SECONDS = 10.0
PROBE = """\
from harness.node import use_pinned_node

use_pinned_node()
from harness.synth import synth  # noqa: E402


def test_probe_synthesizes_the_default_app() -> None:
    assert set(synth().templates) == {"TargetStack", "TrustedStack"}
"""


def run_pytest(args: Sequence[str], *, check: bool = True) -> float:
    """Wall time of one pytest process; exits if the tests fail (unless ``check`` is off)."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if check and result.returncode != 0:
        sys.exit(f"pytest {' '.join(args)} failed:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    return elapsed


def summary(values: Sequence[float]) -> str:
    return f"median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"


def main(argv: Sequence[str] | None = None) -> int:
    """Print the figures; exit 1 if the median added time exceeds the budget."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--suite", action="store_true", help="also measure against the whole suite (slow)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
        probe = Path(tmp) / "test_probe.py"
        probe.write_text(PROBE)
        # Warm-up: the first jsii run fills its package cache.
        run_pytest([str(probe)])
        added, alone, baseline = [], [], []
        for i in range(args.runs):
            base = run_pytest([str(probe)])
            full = run_pytest([str(probe), *SIMULATION_TESTS])
            baseline.append(base)
            added.append(full - base)
            alone.append(run_pytest(list(SIMULATION_TESTS)))
            print(f"run {i + 1}: baseline {base:.2f} s, with simulation {full:.2f} s, alone {alone[-1]:.2f} s")

    print(f"baseline (jsii + default synth): {summary(baseline)}")
    print(f"simulation tests alone:          {summary(alone)}")
    print(f"ADDED by the simulation tests:   {summary(added)}  [budget {BUDGET_SECONDS:.0f} s]")

    if args.suite:
        ignore = [f"--ignore={t}" for t in SIMULATION_TESTS]
        suite_added = []
        for _ in range(args.runs):
            # Other engineers' failing tests must not stop the timing.
            without = run_pytest(["-m", "not e2e", *ignore], check=False)
            with_sim = run_pytest(["-m", "not e2e"], check=False)
            suite_added.append(with_sim - without)
        print(f"ADDED to the whole suite (not e2e): {summary(suite_added)}")

    return 0 if statistics.median(added) < BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
