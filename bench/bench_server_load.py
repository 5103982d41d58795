"""Benchmark: `cross-account exec --server` under load, with one-hour and with 15-minute role sessions.

A stub STS (tests/cli_support.py's StubSts, on 127.0.0.1, in this process) issues sessions of the length asked
(`--duration 900`: 15 minutes, the least AWS allows; else an hour) and counts the calls. The command is a Python
process whose threads ask the endpoint for credentials, each request on a new connection (as an SDK's first
fetch does), until all are answered; it reports each request's latency. No session name is given, so the client
looks up the caller's name (GetCallerIdentity) as a user's plain `exec --server` does.

    .venv/bin/python bench/bench_server_load.py [--requests 2000] [--threads 64] [--runs 1]

Per session length: the requests' p50 and p99 latency, the failed requests, and the STS calls (AssumeRole +
GetCallerIdentity, the first session included) per 1,000 requests. Each run has a fresh cache folder.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from tests.cli_support import CLI, CREDENTIAL_LOAD, ROLE_ARN, StubStsServer, base_environment  # noqa: E402

CASES = {"1-hour sessions": (), "15-minute sessions": ("--duration", "900")}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def one_run(server: StubStsServer, flags: tuple[str, ...], requests: int, threads: int) -> dict[str, float]:
    server.stub.reset()
    with tempfile.TemporaryDirectory(prefix="bench-server-load-") as folder:
        env = base_environment(Path(folder) / "home", server.url)
        command = [
            str(CLI), "exec", "--server", "--role-arn", ROLE_ARN, "--region", "us-east-1", *flags, "--",
            sys.executable, "-c", CREDENTIAL_LOAD, str(requests), str(threads),
        ]  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=env["HOME"], capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the run failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    latencies: list[float] = report["latencies"]
    calls = sum(action in ("AssumeRole", "GetCallerIdentity") for action in server.stub.actions())
    return {
        "p50": percentile(latencies, 0.50),
        "p99": percentile(latencies, 0.99),
        "failed": report["failures"],
        "sts_per_1000": calls * 1000 / requests,
        "assume_role": server.stub.actions().count("AssumeRole"),
        "get_caller_identity": server.stub.actions().count("GetCallerIdentity"),
        "wall": wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    server = StubStsServer()
    try:
        results = {
            name: [one_run(server, flags, args.requests, args.threads) for _ in range(args.runs)]
            for name, flags in CASES.items()
        }
    finally:
        server.stop()
    print(f"{args.requests} credential requests from {args.threads} threads, {args.runs} run(s) each, median of runs")
    columns: list[tuple[str, int]] = [("p50 ms", 8), ("p99 ms", 8), ("failed", 7), ("STS/1000", 9)]
    columns += [("AssumeRole", 11), ("GCI", 5), ("wall s", 7)]
    print(f"{'case':20} " + " ".join(f"{name:>{width}}" for name, width in columns))
    for name, runs in results.items():

        def median(key: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median(run[key] for run in runs)

        print(
            f"{name:20} {median('p50') * 1000:8.1f} {median('p99') * 1000:8.1f} {median('failed'):7.0f} "
            f"{median('sts_per_1000'):9.1f} {median('assume_role'):11.0f} {median('get_caller_identity'):5.0f} "
            f"{median('wall'):7.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
