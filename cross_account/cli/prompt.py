"""Asking the user for a line: on the terminal (a secret without echo), else one line of standard input.

Nothing asked for here ever goes on a command line (``ps`` shows every process's argv to every local user): MFA
codes, access keys. Standard input serves scripts: ``echo 123456 | cross-account assume ...``.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Final

from cross_account.cli.errors import UsageError

_TERMINAL: Final = "/dev/tty"
#: No answer is longer (a secret access key has 40 characters); a longer line is refused, not read on.
_MAX_LINE: Final = 4096


def has_terminal() -> bool:
    """Whether this process has a controlling terminal to ask on."""
    try:
        os.close(os.open(_TERMINAL, os.O_RDWR | os.O_NOCTTY))
    except OSError:
        return False
    return True


def ask(question: str, *, secret: bool, what: str, instead: str, about: str = "") -> str:
    """The answer, stripped: from the terminal when there is one (`secret`: without echo), else one line of
    standard input. `what` names the answer (`about`: for what), and `instead` says what else to do, in the error
    when neither gives one."""
    if has_terminal():
        try:
            answer = getpass.getpass(question) if secret else _read_terminal(question)
        except EOFError:
            raise UsageError(f"no {what} entered") from None
        return answer.strip()
    line = _read_stdin()
    if not line.strip():
        raise UsageError(
            f"{what} is needed{about} and there is no terminal to ask on, and standard input gave none: {instead}"
        )
    return line.strip()


def _read_terminal(question: str) -> str:
    with Path(_TERMINAL).open("r+", encoding="utf-8", errors="replace") as terminal:
        terminal.write(question)
        terminal.flush()
        line = terminal.readline(_MAX_LINE + 1)
    if not line:
        raise EOFError
    return line


def _read_stdin() -> str:
    stream = sys.stdin
    if stream is None or stream.closed:
        return ""
    try:
        line = stream.readline(_MAX_LINE + 1)
    except (OSError, ValueError, UnicodeDecodeError):
        return ""
    if len(line) > _MAX_LINE:
        raise UsageError(f"the line on standard input is longer than {_MAX_LINE} characters: not an answer")
    return line
