"""What the deploy lane adds to `cdk synth` of the default app: this checkout against a revision before it.

The base revision's app (app.py, cross_account/, stacks/) is exported into .local/ and synthesized
with the same CLI, Node, venv and cdk.json (its own package comes first on sys.path, as the
script's folder). Both run round-robin; reports the medians and their ratio (the target: at most 1.05).

    .venv/bin/python bench/bench_lane_synth.py                 # base 2cb77a6 (the last commit before the lane)
    .venv/bin/python bench/bench_lane_synth.py --base REV --runs 9
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_synth import Case, cdk_synth, run_round_robin, table  # this folder, first on sys.path

from harness.node import PROJECT_ROOT, use_pinned_node

#: The last commit before the deploy lane.
BASE = "2cb77a6"


def export(revision: str) -> Path:
    """The app's code at ``revision``, in .local/bench-lane-<revision>/."""
    target = PROJECT_ROOT / ".local" / f"bench-lane-{revision}"
    if not (target / "app.py").exists():
        archive = subprocess.run(
            ["git", "archive", revision, "app.py", "cross_account", "stacks"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            check=True,
        ).stdout
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=BASE, help=f"the revision to compare with (default {BASE})")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    use_pinned_node()
    base = export(args.base)
    cases = {
        f"before the lane ({args.base})": Case(cdk_synth(str(base / "app.py"))),
        "with the lane (this checkout)": Case(cdk_synth("app.py")),
    }
    run_round_robin(cases, args.runs)
    print(f"## `cdk synth` of the default app, {args.runs} runs each, round-robin\n")
    table(cases, "app")
    before, after = cases.values()
    print(f"with / before = **{after.median() / before.median():.3f}x** wall, {after.cpu() / before.cpu():.3f}x CPU")


if __name__ == "__main__":
    main()
