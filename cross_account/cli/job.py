"""exec's command as a job of its own, as a shell runs one: its own process group, which gets the terminal while it
runs (so its prompts work, and Ctrl-C and Ctrl-Z reach the whole group), the signals the wrapper gets passed to the
group, and, once the command exits, SIGTERM and then SIGKILL for whatever it left running in that group: a
background process of the command holds the role's keys too.

A process that leaves the group (``setsid``, a daemon that detaches) is out of reach, and so is the group when the
wrapper itself is killed with SIGKILL (only the command dies then, see :func:`cross_account.cli.run._start`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

#: What the command left running gets SIGTERM, then SIGKILL this many seconds later.
GRACE: Final = 2.0
_POLL: Final = 0.02
#: Stops that mean "a background group touched the terminal", not "the user pressed Ctrl-Z".
_TERMINAL_STOPS: Final = frozenset(getattr(signal, name) for name in ("SIGTTIN", "SIGTTOU") if hasattr(signal, name))


class Terminal:
    """The controlling terminal (``/dev/tty``), or none: then every method does nothing."""

    def __init__(self) -> None:
        try:
            self._fd: int | None = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError:
            self._fd = None

    def foreground(self) -> int | None:
        """The process group the terminal sends its keys (Ctrl-C, Ctrl-Z) and input to."""
        if self._fd is None:
            return None
        try:
            return os.tcgetpgrp(self._fd)
        except OSError:
            return None

    def hand_to(self, group: int) -> None:
        """Make `group` the terminal's foreground group. SIGTTOU is blocked meanwhile: a process outside the
        foreground group would otherwise be stopped for trying (the shell does the same)."""
        if self._fd is None:
            return
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
        try:
            with contextlib.suppress(OSError):
                os.tcsetpgrp(self._fd, group)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Job:
    """The command (already started as the leader of a new process group) and what it starts in that group."""

    def __init__(self, child: subprocess.Popen[bytes], terminal: Terminal) -> None:
        self.child = child
        self.group = child.pid
        self._terminal = terminal
        if terminal.foreground() == os.getpgrp():
            terminal.hand_to(self.group)

    def signal(self, signum: int) -> None:
        """Send `signum` to the whole group (a group that is gone already gets nothing)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.group, signum)

    def resume(self) -> None:
        """This process was continued (``fg`` or ``bg``): continue the command's group, with the terminal when the
        shell gave it to us."""
        if self._terminal.foreground() == os.getpgrp():
            self._terminal.hand_to(self.group)
        self.signal(signal.SIGCONT)

    def wait(self) -> int:
        """Wait for the command to exit and return its wait status (as Popen.returncode); when it stops (Ctrl-Z),
        stop this process too, so the shell sees the job stopped."""
        while True:
            _, status = os.waitpid(self.child.pid, os.WUNTRACED)
            if os.WIFSTOPPED(status):
                self._stopped(os.WSTOPSIG(status))
                continue
            self.child.returncode = os.waitstatus_to_exitcode(status)
            self._take_back_terminal()
            return self.child.returncode

    def end_the_rest(self, warn: Callable[[str], None]) -> None:
        """SIGTERM (and SIGCONT, for a stopped one) to what is left of the group, SIGKILL after GRACE seconds."""
        if not group_alive(self.group):
            return
        warn(
            f"exec: ending what the command left running in its process group (SIGTERM, SIGKILL after {GRACE:g} s); "
            "pass --keep-background to keep it"
        )
        self.signal(signal.SIGTERM)
        self.signal(signal.SIGCONT)
        deadline = time.monotonic() + GRACE
        while group_alive(self.group):
            if time.monotonic() >= deadline:
                self.signal(signal.SIGKILL)
                return
            time.sleep(_POLL)

    def _stopped(self, signum: int) -> None:
        if signum in _TERMINAL_STOPS and self._terminal.foreground() == os.getpgrp():
            # It touched the terminal before the terminal was handed to it.
            self.resume()
            return
        self._take_back_terminal()
        # Stopped like the command; the shell's fg or bg continues us, and resume() (our SIGCONT handler) it.
        os.kill(os.getpid(), signal.SIGTSTP)

    def _take_back_terminal(self) -> None:
        if self._terminal.foreground() == self.group:
            self._terminal.hand_to(os.getpgrp())


def group_alive(group: int) -> bool:
    """Whether a process of `group` still runs. A zombie does not count: where PID 1 reaps no orphans (a container
    without an init), a finished process stays one for good; Linux tells them apart in /proc."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not sys.platform.startswith("linux"):
        return True
    return any(_running_in(entry, group) for entry in os.scandir("/proc") if entry.name.isdigit())


def _running_in(entry: os.DirEntry[str], group: int) -> bool:
    try:
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after its last ")".
        state, _ppid, pgrp = (Path(entry.path) / "stat").read_text().rsplit(")", 1)[1].split()[:3]
    except (OSError, ValueError):
        return False
    return int(pgrp) == group and state not in ("Z", "X")
