"""The emulator flow's one error type, apart so that the flow's step modules can raise it without importing
the flow."""

from __future__ import annotations


class FlowError(RuntimeError):
    """A step could not be carried out (not a refused call: those are results)."""
