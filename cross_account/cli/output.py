"""What the client writes: stdout through :func:`emit`, and its one-line messages on stderr."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable

from cross_account.cli.errors import CliError

PROG = "cross-account"


def logger(verbose: bool) -> Callable[[str], None]:
    """What happens, on stderr with --verbose (never secrets)."""

    def log(message: str) -> None:
        if verbose:
            print(f"{PROG}: {message}", file=sys.stderr)

    return log


def warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def note(message: str) -> None:
    print(f"{PROG}: note: {message}", file=sys.stderr)


def emit(text: str) -> None:
    """Write to stdout now. A closed pipe stays a BrokenPipeError (silence); any other failure (a full disk) is
    one line, and stdout is pointed at /dev/null so the exit flush cannot print a traceback."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        discard_stdout()
        raise CliError(f"cannot write to standard output: {error.strerror or error}") from None


def discard_stdout() -> None:
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
