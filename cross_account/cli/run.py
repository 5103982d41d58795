"""exec: run a command with the role's credentials in its environment, and hand signals on to it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Final

from cross_account.cli.credentials import Credentials
from cross_account.cli.errors import CliError, cut
from cross_account.cli.formats import CONFLICTING_VARIABLES
from cross_account.cli.job import Job, Terminal

#: Signals a wrapper should pass on: termination requests, job control from `kill`, user signals.
FORWARDED: Final = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")
    if hasattr(signal, name)
)


def child_environment(credentials: Credentials, environ: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment, minus anything that would outrank the role's credentials, plus them."""
    env = {
        name: value
        for name, value in environ.items()
        if name not in CONFLICTING_VARIABLES
        and name not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION")
    }
    env.update(credentials.environment())
    # Not secret: lets a nested `cross-account` (or a prompt) tell which role the shell is in.
    env["CROSS_ACCOUNT_ROLE_ARN"] = credentials.role_arn
    return env


def exit_status(returncode: int) -> int:
    """The child's exit code; death by signal N becomes 128 + N, as shells report it."""
    return returncode if returncode >= 0 else 128 - returncode


def run_command(
    command: Sequence[str],
    env: Mapping[str, str],
    *,
    keep_background: bool = False,
    warn: Callable[[str], None] = lambda _message: None,
) -> int:
    """Run `command` as a job of its own (see :mod:`cross_account.cli.job`) and wait for it; return its exit status.

    The signals the wrapper gets go to the command's whole process group; the terminal's own (Ctrl-C, Ctrl-Z) reach
    that group directly, as it holds the terminal while it runs. When the command exits, what it left running in
    its group is ended (`warn` says so), unless `keep_background`.
    """
    job: Job | None = None
    pending: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        if job is None:
            pending.append(signum)
        else:
            job.signal(signum)

    def continued(_signum: int, _frame: FrameType | None) -> None:
        if job is not None:
            job.resume()

    terminal = Terminal()
    try:
        with _forwarding_to(forward), _handling(signal.SIGCONT, continued):
            job = Job(_start(command, env), terminal)
            try:
                for signum in pending:
                    job.signal(signum)
                return exit_status(job.wait())
            finally:
                if not keep_background:
                    job.end_the_rest(warn)
    finally:
        terminal.close()


@contextlib.contextmanager
def _forwarding_to(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """Route the FORWARDED signals to `handler` while the block runs; the caller's handlers come back after."""
    previous = {}
    for signum in FORWARDED:
        # A signal the caller chose to ignore (nohup) stays ignored, for us and for the child.
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, earlier in previous.items():
            signal.signal(signum, earlier)


@contextlib.contextmanager
def _handling(signum: int, handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """`handler` for `signum` while the block runs."""
    previous = signal.signal(signum, handler)
    try:
        yield
    finally:
        signal.signal(signum, previous)


def _start(command: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start the child; a command that cannot run gets the shell's exit codes (127 not found, 126 not runnable)."""
    try:
        # The leader of a new process group: exec's job (cross_account.cli.job).
        return subprocess.Popen(list(command), env=dict(env), process_group=0, preexec_fn=_die_with_parent())
    except FileNotFoundError:
        interpreter = _missing_interpreter(command[0], env)
        if interpreter is not None:
            raise CliError(f"{command[0]}: {interpreter}: bad interpreter: No such file or directory", 126) from None
        raise CliError(f"command not found: {command[0]}", exit_code=127) from None
    except PermissionError:
        raise CliError(f"permission denied: {command[0]}", exit_code=126) from None
    except OSError as error:
        raise CliError(f"cannot run {command[0]}: {error.strerror}", exit_code=126) from None


def _missing_interpreter(program: str, env: Mapping[str, str]) -> str | None:
    """The ``#!`` interpreter of `program`, when `program` itself exists (so ENOENT was about the interpreter)."""
    found = shutil.which(program, path=env.get("PATH")) if os.sep not in program else program
    try:
        with Path(found or program).open("rb") as script:
            first = script.readline(256)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].split()
    return cut(words[0].decode(errors="replace"), 120) if words else "(none)"


def _die_with_parent() -> Callable[[], None] | None:
    """A pre-exec step that makes the kernel SIGKILL the child when this process dies, even by SIGKILL: the
    child holds the role's keys and must not outlive the wrapper. Linux only (prctl PR_SET_PDEATHSIG); None
    elsewhere.

    libc is looked up here, before the fork: the child only calls the function. If this process died between
    the fork and the prctl, the child has a new parent already and the signal would never come: it checks
    and kills itself. The signal follows the thread that started the child, which is the main thread here.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    # prctl takes unsigned longs: made now, so the child converts nothing.
    arguments = [ctypes.c_ulong(value) for value in (_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)]

    def die_with_parent() -> None:
        prctl(*arguments)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)

    return die_with_parent


_PR_SET_PDEATHSIG: Final = 1
