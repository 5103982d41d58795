"""Atomic file replacement, shared by the credential cache and the AWS config writer."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomically(
    path: Path,
    data: bytes,
    *,
    mode: int,
    prefix: str,
    suffix: str,
    before_replace: Callable[[], None] | None = None,
) -> None:
    """Replace `path` with `data`: a reader sees the old file or the new one, never half of one.

    The temporary file is made in the same folder (a rename is atomic only within one file system),
    private from its first byte (mkstemp), given `mode`, and flushed to disk before the rename.
    `before_replace` runs just before the rename and may raise to abandon the write; the temporary
    file never outlives a failure.
    """
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
        if before_replace is not None:
            before_replace()
        Path(temporary).replace(path)
    except BaseException:
        # The original error is the one worth reporting, not a failed clean-up.
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise
