"""Benchmark: the package installed into a fresh venv, client only and with the ``cdk`` extra.

Builds the wheel once (``make package``), then, for each installer, creates a new venv and installs the wheel
alone (the client: ``cross-account`` and boto3) or ``wheel[cdk]`` (the constructs too: aws-cdk-lib, constructs).
Reports the wall time from nothing to a working command (venv creation + install; median and range of
``--runs``) and the venv's size in MiB, minus an empty venv of the same installer: on disk (allocated blocks, as
``du``) and apparent (the files' lengths), each inode counted once (uv hard-links files from its cache).
requirements.txt is the constraints file, so the versions are the pinned ones.

    .venv/bin/python bench/bench_install.py [--runs 3] [--installers uv,uv-bytecode,uv-cold,pip]

Installers:
- uv: ``uv venv`` + ``uv pip install`` from uv's cache as it is (warm on a machine that ran ``make setup``), no
  bytecode (uv's default, and pipx's with uv);
- uv-bytecode: the same with ``--compile-bytecode`` (what ``make setup`` does; this machine sets
  PYTHONDONTWRITEBYTECODE, so Python never writes the .pyc files itself);
- uv-cold: like uv, with a new empty cache for each install (everything downloaded from PyPI);
- pip: ``python -m venv`` + its own pip with default options (bytecode compiled), ``--no-cache-dir``: everything
  downloaded from PyPI, as for a new user without a cache.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
UV = PROJECT_ROOT / ".venv" / "bin" / "uv"
PYTHON = PROJECT_ROOT / ".venv" / "bin" / "python"
NAME = "cross_account_assumerole"
INSTALLERS = ("uv", "uv-bytecode", "uv-cold", "pip")
VARIANTS = {"client": "", "cdk": "[cdk]"}
MIB = 1024 * 1024


@dataclass(frozen=True)
class Size:
    """Bytes on disk (allocated blocks, as ``du``) and apparent (the files' lengths)."""

    disk: int
    apparent: int

    def __sub__(self, other: Size) -> Size:
        return Size(self.disk - other.disk, self.apparent - other.apparent)


@dataclass(frozen=True)
class Sample:
    seconds: float
    size: Size


def sh(args: list[str | Path], env: dict[str, str] | None = None) -> None:
    subprocess.run([str(a) for a in args], check=True, capture_output=True, timeout=900, env=env, cwd=PROJECT_ROOT)


def build_wheel(out: Path) -> Path:
    sh(["make", "--no-print-directory", "-s", "package", f"DIST={out}"])
    (wheel,) = out.glob(f"{NAME}-*.whl")
    return wheel


def base_python() -> str:
    """The interpreter the dev venv was made from (a venv of a venv would link to the dev venv)."""
    return str(Path(os.path.realpath(PYTHON)))


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "VIRTUAL_ENV", "UV_"))}


def make_venv(installer: str, venv: Path, env: dict[str, str]) -> None:
    if installer == "pip":
        sh([base_python(), "-m", "venv", venv], env)
    else:
        sh([UV, "venv", "--quiet", "--python", base_python(), venv], env)


def install(installer: str, venv: Path, requirement: str, env: dict[str, str]) -> None:
    constraints = PROJECT_ROOT / "requirements.txt"
    if installer == "pip":
        sh([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-cache-dir", "-c", constraints,
            requirement], env)  # fmt: skip
        return
    extra = ["--compile-bytecode"] if installer == "uv-bytecode" else []
    sh([UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python", *extra, "-c", constraints,
        requirement], env)  # fmt: skip


def size_of(folder: Path) -> Size:
    """The files under ``folder``, each inode once (uv hard-links from its cache)."""
    seen: set[int] = set()
    disk = apparent = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            info = Path(root, name).lstat()
            if info.st_ino not in seen:
                seen.add(info.st_ino)
                disk += info.st_blocks * 512
                apparent += info.st_size
    return Size(disk, apparent)


def check(venv: Path, variant: str, env: dict[str, str]) -> None:
    """The command works; the CDK part is there exactly when asked for."""
    sh([venv / "bin" / "cross-account", "--version"], env)
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('aws_cdk') is None)"
    found = subprocess.run([venv / "bin" / "python", "-c", probe], env=env, check=False, timeout=60).returncode == 0
    if found != (variant == "cdk"):
        raise SystemExit(f"{variant} install: aws_cdk {'found' if found else 'missing'}")


def one_install(installer: str, variant: str, wheel: Path, scratch: Path) -> Sample:
    """One install into a new venv (and, for uv-cold, a new cache), removed once measured."""
    env = clean_env()
    work = Path(tempfile.mkdtemp(prefix=f"{installer}-{variant}-", dir=scratch))
    if installer == "uv-cold":
        env["UV_CACHE_DIR"] = str(work / "uv-cache")
    venv = work / "venv"
    try:
        start = time.perf_counter()
        make_venv(installer, venv, env)
        install(installer, venv, f"{wheel}{VARIANTS[variant]}", env)
        seconds = time.perf_counter() - start
        check(venv, variant, env)
        return Sample(seconds, size_of(venv))
    finally:
        shutil.rmtree(work)


def empty_venv_size(installer: str, scratch: Path) -> Size:
    venv = Path(tempfile.mkdtemp(prefix=f"{installer}-empty-", dir=scratch)) / "venv"
    make_venv(installer, venv, clean_env())
    return size_of(venv)


def report(samples: dict[tuple[str, str], list[Sample]], empty: dict[str, Size]) -> None:
    print("| installer | install | venv + install (median, range) | on disk | apparent | empty venv (not counted) |")
    print("|---|---|---|---|---|---|")
    for (installer, variant), runs in samples.items():
        times = [s.seconds for s in runs]
        size = runs[-1].size - empty[installer]
        print(
            f"| {installer} | {variant} | {statistics.median(times):.1f} s ({min(times):.1f}–{max(times):.1f}) "
            f"| {size.disk / MIB:.0f} MiB | {size.apparent / MIB:.0f} MiB | {empty[installer].disk / MIB:.0f} MiB |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--installers", default=",".join(INSTALLERS))
    args = parser.parse_args()
    installers = [name for name in args.installers.split(",") if name]
    unknown = set(installers) - set(INSTALLERS)
    if unknown:
        parser.error(f"unknown installers: {sorted(unknown)}")
    with tempfile.TemporaryDirectory(prefix="bench-install-") as tmp:
        scratch = Path(tmp)
        wheel = build_wheel(scratch / "dist")
        empty = {installer: empty_venv_size(installer, scratch) for installer in installers}
        samples: dict[tuple[str, str], list[Sample]] = {(i, v): [] for i in installers for v in VARIANTS}
        # Round-robin: a change in machine load (or in PyPI's speed) hits every case alike.
        for run in range(args.runs):
            for key in samples:
                samples[key].append(one_install(*key, wheel, scratch))
                print(f"run {run + 1}: {key[0]} {key[1]}: {samples[key][-1].seconds:.1f} s", file=sys.stderr)
        report(samples, empty)


if __name__ == "__main__":
    main()
