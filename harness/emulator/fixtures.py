"""pytest support: an emulator that is stopped by PID in a finalizer, whatever the test did."""

from __future__ import annotations

import shutil
import uuid
from contextlib import ExitStack
from typing import Protocol

from harness.emulator.server import LOCAL_STATE_ROOT, Emulator, run_emulator


class _Request(Protocol):
    """The part of pytest's ``FixtureRequest`` used here (pytest stays out of this module's imports)."""

    def addfinalizer(self, finalizer: object) -> None: ...


def start_emulator(request: _Request, label: str, *, tls: bool = False) -> Emulator:
    """Start MiniStack for a test or module; a finalizer stops it and removes its state folder.

    The state folder is inside the project (``.local/tests/...``), so a run leaves nothing outside it.
    """
    state_dir = LOCAL_STATE_ROOT / "tests" / f"{label}-{uuid.uuid4().hex[:8]}"
    stack = ExitStack()
    # Registered first, so it runs last: the folder goes once the process is gone.
    request.addfinalizer(lambda: shutil.rmtree(state_dir, ignore_errors=True))
    request.addfinalizer(stack.close)
    return stack.enter_context(run_emulator(state_dir, tls=tls))
