"""Benchmark: `cross-account assume` against the how-to's `aws sts assume-role` + jq + export script.

Everything runs as subprocesses against one moto server on 127.0.0.1, the way a user runs it:
each case ends with the three variables exported in a POSIX shell.

    .venv/bin/python bench/bench_client.py [--runs 10]

Cases:
- howto: the how-to's script (awscli from requirements-dev.txt, jq from the system);
- assume, cache miss: same inputs (explicit session name and external ID), the cache emptied before each run;
- assume, cache miss, default session name: adds GetCallerIdentity;
- assume, cache hit: the session is already cached (no STS call, no boto3 import);
- assume, cache hit, keyring detecting: the same without PYTHON_KEYRING_BACKEND, so keyring looks for a
  keychain itself, as on a user's machine (it finds none here, and the file cache serves).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from cross_account.cli.keychain import BACKEND_VARIABLE  # noqa: E402
from tests.cli_support import CLI, ROLE_ARN, MotoServer, base_environment  # noqa: E402

VENV_BIN = Path(sys.executable).parent
EXTERNAL_ID = "12345678TESTID"

# The how-to's script, with its placeholders filled, and a check that it exported something.
HOWTO = (
    'OUT=$("$AWS" sts assume-role --role-arn "$ROLE" --role-session-name AWSCLI-Session --external-id "$EXT");'
    "export AWS_ACCESS_KEY_ID=$(echo $OUT | jq -r '.Credentials.AccessKeyId');"
    "export AWS_SECRET_ACCESS_KEY=$(echo $OUT | jq -r '.Credentials.SecretAccessKey');"
    "export AWS_SESSION_TOKEN=$(echo $OUT | jq -r '.Credentials.SessionToken');"
    'test -n "$AWS_SESSION_TOKEN" && test "$AWS_SESSION_TOKEN" != null'
)
ONE_LINE = 'eval "$("$CLI" assume --role-arn "$ROLE" --external-id "$EXT" {extra})"; test -n "$AWS_SESSION_TOKEN"'


def timed(script: str, env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(["/bin/sh", "-c", script], env=env, cwd=cwd, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - start


def measure(
    runs: int, cases: dict[str, tuple[Callable[[], None], str]], env: dict[str, str], cwd: str
) -> dict[str, list[float]]:
    """Round-robin over the cases, so a change in machine load hits every case alike."""
    for before, script in cases.values():  # warm-up: page cache, moto's first request
        before()
        timed(script, env, cwd)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, (before, script) in cases.items():
            before()
            samples[name].append(timed(script, env, cwd))
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("jq") is None:
        print("jq is not installed (Debian: apt-get install jq); the how-to's script needs it", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="bench-client-") as folder:
        home = Path(folder)
        server = MotoServer(home / "moto.log")
        server.start()
        try:
            env = base_environment(home / "home", server.url)
            env |= {
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS": str(VENV_BIN / "aws"),
                "CLI": str(CLI),
                "ROLE": ROLE_ARN,
                "EXT": EXTERNAL_ID,
            }
            cache = Path(env["CROSS_ACCOUNT_CACHE_DIR"])

            def empty_cache() -> None:
                shutil.rmtree(cache, ignore_errors=True)

            def keep_cache() -> None:
                pass

            def expect_cached() -> None:
                if not any(cache.glob("*.json")):
                    raise RuntimeError("the cache-hit case found no cached session")

            cwd = env["HOME"]
            explicit = ONE_LINE.format(extra="--session-name AWSCLI-Session")
            cases = measure(
                args.runs,
                {
                    "howto: aws sts assume-role + 3x jq": (keep_cache, HOWTO),
                    "assume, cache miss, default session name": (empty_cache, ONE_LINE.format(extra="")),
                    "assume, cache miss": (empty_cache, explicit),
                    # Primed by the miss just before it in each round (same inputs, same cache key).
                    "assume, cache hit": (expect_cached, explicit),
                    # As on a user's machine: keyring looks for a keychain itself (none here: the file cache).
                    "assume, cache hit, keyring detecting": (expect_cached, f"unset {BACKEND_VARIABLE}; {explicit}"),
                },
                env,
                cwd,
            )
        finally:
            server.stop()

    print(f"{args.runs} runs each, against moto_server on 127.0.0.1; times in ms (median, min-max)")
    print_table(cases, baseline="howto: aws sts assume-role + 3x jq", versus="vs how-to")
    return 0


def print_table(samples: dict[str, list[float]], *, baseline: str, versus: str) -> None:
    """Each case's median and spread in ms, and its ratio to the `baseline` case's median."""
    base = statistics.median(samples[baseline])
    width = max(len(name) for name in samples)
    print(f"{'case':{width}} {'median':>8} {'min-max':>15} {versus:>10}")
    for name, values in samples.items():
        median = statistics.median(values)
        spread = f"{min(values) * 1000:.0f}-{max(values) * 1000:.0f}"
        print(f"{name:{width}} {median * 1000:8.0f} {spread:>15} {median / base:9.2f}x")


if __name__ == "__main__":
    sys.exit(main())
