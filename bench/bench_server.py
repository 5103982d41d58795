"""Benchmark: `cross-account exec --server` against plain `exec`, for a command that makes 100 STS calls.

One moto server on 127.0.0.1 plays STS for both the client and the command; the role session is cached (primed
before the rounds), so each case measures what the user waits for: the client's start, the command (boto3, one
STS client, 100 GetCallerIdentity calls), and in the --server case the endpoint: its start, the SDK's fetch of the
credentials from it, and its stop.

    .venv/bin/python bench/bench_server.py [--runs 5] [--calls 100]

Cases, run round-robin so that a change in machine load hits both alike:
- exec: credentials in the command's environment;
- exec --server: credentials from the container-credentials endpoint.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from bench_client import print_table  # noqa: E402 - beside this script

from tests.cli_support import CLI, ROLE_ARN, MotoServer, base_environment  # noqa: E402

CHILD = """
import sys, boto3
session = boto3.Session()
sts = session.client("sts")
for _ in range(int(sys.argv[1])):
    sts.get_caller_identity()
method = session.get_credentials().method
assert method == sys.argv[2], method
"""
FLAGS = ("exec", "--role-arn", ROLE_ARN, "--session-name", "bench", "--region", "us-east-1")


def timed(command: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True, timeout=300)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    calls = str(args.calls)
    cases = {
        "exec": [str(CLI), *FLAGS, "--", sys.executable, "-c", CHILD, calls, "env"],
        "exec --server": [str(CLI), *FLAGS, "--server", "--", sys.executable, "-c", CHILD, calls, "container-role"],
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    with tempfile.TemporaryDirectory(prefix="bench-server-") as folder:
        server = MotoServer(Path(folder) / "moto.log")
        server.start()
        try:
            env = base_environment(Path(folder) / "home", server.url)
            cwd = env["HOME"]
            for command in cases.values():  # warm-up: the cached session, moto's first requests, the page cache
                timed(command, env, cwd)
            for _ in range(args.runs):
                for name, command in cases.items():
                    samples[name].append(timed(command, env, cwd))
        finally:
            server.stop()

    print(f"{args.runs} runs each, {args.calls} STS calls in the command, against moto_server on 127.0.0.1; ms")
    print_table(samples, baseline="exec", versus="vs exec")
    return 0


if __name__ == "__main__":
    sys.exit(main())
