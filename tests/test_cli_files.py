"""The atomic write shared by the credential cache and the AWS config writer."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cross_account.cli.files import write_atomically


def test_replaces_the_file_with_the_given_mode_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_bytes(b"old")
    previous = os.umask(0o077)
    try:
        write_atomically(path, b"new", mode=0o640, prefix=".config.", suffix=".tmp")
    finally:
        os.umask(previous)
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["config"]


def test_a_refusal_before_the_rename_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_bytes(b"old")
    seen: list[list[str]] = []

    def refuse(temporary: Path) -> None:
        assert temporary.read_bytes() == b"new", "the check sees the new content"
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        raise RuntimeError("changed meanwhile")

    with pytest.raises(RuntimeError, match="changed meanwhile"):
        write_atomically(path, b"new", mode=0o600, prefix=".config.", suffix=".tmp", before_replace=refuse)
    [names] = seen
    [temporary] = [name for name in names if name != "config"]
    assert temporary.startswith(".config.") and temporary.endswith(".tmp"), "made next to the file, then removed"
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["config"]
