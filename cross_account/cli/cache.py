"""The credential cache: one 0600 JSON file per role session, in a 0700 user folder.

Keyed by a hash of what identifies a session (role, session name, external ID, source
identity, requested duration, and which source credentials asked), so a file name reveals
nothing; a request with MFA never gets a session made without. An entry is reused until
five minutes before it expires (fifteen for credential_process, which botocore calls
again from then on).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from cross_account.cli.credentials import Credentials
from cross_account.cli.errors import CliError
from cross_account.cli.files import write_atomically

CACHE_DIR_VARIABLE: Final = "CROSS_ACCOUNT_CACHE_DIR"
REUSE_MARGIN: Final = timedelta(minutes=5)
#: botocore refreshes credential_process credentials from 15 minutes before they expire.
CREDENTIAL_PROCESS_MARGIN: Final = timedelta(minutes=15)
_ENTRY_VERSION: Final = 1
_ENTRY_NAME: Final = re.compile(r"^[0-9a-f]{64}\.json$", re.ASCII)
#: How clear() tells a stray temporary file (from a write that was killed) from an entry.
_TEMPORARY_PREFIX: Final = ".tmp-"


def utc_now() -> datetime:
    return datetime.now(UTC)


def default_directory(environ: Mapping[str, str] = os.environ) -> Path:
    """``$CROSS_ACCOUNT_CACHE_DIR``, else ``$XDG_CACHE_HOME/cross-account``, else ``~/.cache/cross-account``."""
    if environ.get(CACHE_DIR_VARIABLE):
        return Path(environ[CACHE_DIR_VARIABLE])
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cross-account"


def cache_key(fields: Mapping[str, Any]) -> str:
    """A stable hash of the fields; ``None`` and absent differ from any string."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class CredentialCache:
    """Read and write cached role sessions. ``clock`` is injectable so tests can move time."""

    def __init__(self, directory: Path, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.directory = directory
        self.clock = clock

    def get(self, key: str, *, margin: timedelta = REUSE_MARGIN, need_mfa: bool = False) -> Credentials | None:
        """The cached session, or ``None`` when absent, unreadable, not ours, or within ``margin`` of expiry.

        With ``need_mfa``, a session made without MFA does not count: actions that require MFA would fail
        in it. (A session made with MFA serves a request without.)
        """
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            # A file someone else owns, or that others can read, is not trusted (and not reused).
            if info.st_uid != os.getuid() or info.st_mode & 0o077:
                return None
            try:
                entry = json.loads(handle.read())
                if entry.get("Version") != _ENTRY_VERSION or (need_mfa and entry.get("Mfa") is not True):
                    return None
                credentials = Credentials.from_dict(entry["Credentials"])
            except (ValueError, KeyError, TypeError, AttributeError):
                return None
        if credentials.expiration - self.clock() <= margin:
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        return credentials

    def put(self, key: str, credentials: Credentials, *, fields: Mapping[str, Any], mfa: bool = False) -> Path:
        """Write atomically: a reader sees the old entry or the new one, never half of one."""
        self._ensure_directory()
        entry = {"Version": _ENTRY_VERSION, "Key": dict(fields), "Mfa": mfa, "Credentials": credentials.to_dict()}
        path = self._path(key)
        write_atomically(path, json.dumps(entry).encode(), mode=0o600, prefix=_TEMPORARY_PREFIX, suffix=".json")
        return path

    def clear(self) -> int:
        """Delete every cached session (and stray temporary files); return how many sessions went."""
        if not self.directory.is_dir():
            return 0
        removed = 0
        for path in self.directory.iterdir():
            if _ENTRY_NAME.match(path.name):
                path.unlink()
                removed += 1
            elif path.name.startswith(_TEMPORARY_PREFIX):
                path.unlink()
        return removed

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def _ensure_directory(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.lstat(self.directory)
        except OSError as error:
            raise CliError(f"cannot create the credential cache {self.directory}: {error.strerror}") from None
        if not stat.S_ISDIR(info.st_mode):
            raise CliError(f"the credential cache {self.directory} is not a folder; remove it or use --no-cache")
        if info.st_uid != os.getuid():
            raise CliError(f"the credential cache {self.directory} belongs to another user; use --no-cache")
        if info.st_mode & 0o077:
            # mkdir's mode is filtered by the umask only one way; an existing folder may be wider.
            self.directory.chmod(0o700)
