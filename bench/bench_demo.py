"""Wall time of the local demo after set-up: emulator start, deploys, every check, destroys, emulator stop.

Usage: ``PYTHONPATH=. .venv/bin/python bench/bench_demo.py [RUNS] [--sequential]`` (default 3 runs)
after ``make demo`` has run once (set-up done, jsii package cache warm). Prints each run and the
median; exits 1 if a run had a row that differs. ``--sequential`` turns off the background synth of
the require_mfa variant, for comparison.
"""

from __future__ import annotations

import os
import statistics
import sys

from harness.emulator.flow import run_flow


def main(argv: list[str]) -> int:
    presynth = "--sequential" not in argv
    numbers = [a for a in argv if not a.startswith("--")]
    runs = int(numbers[0]) if numbers else 3
    seconds: list[float] = []
    for i in range(1, runs + 1):
        result = run_flow(presynth=presynth)
        seconds.append(result.seconds)
        load = os.getloadavg()[0]
        verdict = "all rows as expected" if result.ok else "ROWS DIFFER: see " + str(result.workspace.root)
        print(f"run {i}: {result.seconds:.1f} s ({len(result.rows)} rows, {verdict}; load {load:.1f})", flush=True)
        if not result.ok:
            return 1
    median, low, high = statistics.median(seconds), min(seconds), max(seconds)
    print(f"median {median:.1f} s, min {low:.1f} s, max {high:.1f} s over {runs} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
