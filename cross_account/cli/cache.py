"""The credential cache: one 0600 JSON file per role session (or MFA session), in a 0700 user folder.

Keyed by a hash of what identifies a session (role, session name, external ID, source
identity, session tags, requested duration, and which source credentials asked: a hash of their access key
ID; for an MFA session, the MFA device and the source credentials), so a file name reveals nothing; a request
with MFA never gets a session made without. An
entry is reused until five minutes before it expires (fifteen for credential_process, which
botocore calls again from then on), and only when it passes the checks on read: a private file
in a folder of ours, made for this very request, credential-shaped, expiring within 12 hours.
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

from cross_account.cli.credentials import Credentials, iso8601, parse_iso8601
from cross_account.cli.errors import CliError
from cross_account.cli.files import home_directory, write_atomically

CACHE_DIR_VARIABLE: Final = "CROSS_ACCOUNT_CACHE_DIR"
REUSE_MARGIN: Final = timedelta(minutes=5)
#: botocore refreshes credential_process credentials from 15 minutes before they expire.
CREDENTIAL_PROCESS_MARGIN: Final = timedelta(minutes=15)
_ENTRY_VERSION: Final = 1
_ENTRY_NAME: Final = re.compile(r"^[0-9a-f]{64}\.json$", re.ASCII)
#: How clear() tells a stray temporary file (from a write that was killed) from an entry.
_TEMPORARY_PREFIX: Final = ".tmp-"
#: STS issues sessions of 12 hours at most; a few minutes more allow for its clock being ahead of ours.
MAX_LIFETIME: Final = timedelta(hours=12, minutes=5)
#: An entry is about 2 KB; anything far larger is not one.
_MAX_ENTRY_BYTES: Final = 65536


def utc_now() -> datetime:
    return datetime.now(UTC)


def default_directory(environ: Mapping[str, str] = os.environ) -> Path:
    """``$CROSS_ACCOUNT_CACHE_DIR``, else ``$XDG_CACHE_HOME/cross-account``, else ``~/.cache/cross-account``.

    A relative XDG_CACHE_HOME is ignored (the XDG rule); without a home folder, a CliError says so.
    """
    if environ.get(CACHE_DIR_VARIABLE):
        return Path(environ[CACHE_DIR_VARIABLE])
    xdg = environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else home_directory(environ) / ".cache"
    return base / "cross-account"


def sessions(count: int) -> str:
    return f"{count} cached session{'s' if count != 1 else ''}"


def cache_key(fields: Mapping[str, Any]) -> str:
    """A stable hash of the fields; ``None`` and absent differ from any string."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class CredentialCache:
    """Read and write cached role sessions. ``clock`` is injectable so tests can move time."""

    def __init__(self, directory: Path, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.directory = directory
        self.clock = clock

    def get(
        self,
        key: str,
        *,
        fields: Mapping[str, Any],
        margin: timedelta = REUSE_MARGIN,
        need_mfa: bool = False,
        max_age: timedelta | None = None,
        need_unchained: bool = False,
    ) -> Credentials | None:
        """The cached session for the request `fields`, or ``None``: absent, unreadable, not ours (file or folder),
        made for another request, not credential-shaped, expiring past what STS issues, or within ``margin``
        of expiry.

        With ``need_mfa``, a session made without MFA does not count: actions that require MFA would fail
        in it. (A session made with MFA serves a request without.) With ``max_age``, an entry issued that long
        ago or longer does not count either, and stays for requests that allow more. With ``need_unchained``, a
        role-chained session does not count (a console session of over an hour cannot be made from one).
        """
        if not self._folder_is_ours():
            return None
        path = self._path(key)
        entry = _read_entry(path)
        if entry is None:
            return None
        credentials = _credentials_for(entry, fields, need_mfa=need_mfa)
        if credentials is None or (max_age is not None and not self._younger(entry, max_age)):
            return None
        if need_unchained and entry.get("Chained") is not False:
            return None
        left = credentials.expiration - self.clock()
        if left > MAX_LIFETIME:
            return None  # no STS session lasts that long: a forged or damaged entry (it is replaced on success)
        if left <= margin:
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        return credentials

    def put(
        self,
        key: str,
        credentials: Credentials,
        *,
        fields: Mapping[str, Any],
        mfa: bool = False,
        issued: datetime | None = None,
        chained: bool = False,
    ) -> Path:
        """Write atomically: a reader sees the old entry or the new one, never half of one. `issued`: when the
        session was asked for (default: now), which :meth:`get` measures ``max_age`` from; `chained`: the session
        was assumed with temporary credentials."""
        self._ensure_directory()
        entry = {
            "Version": _ENTRY_VERSION,
            "Key": dict(fields),
            "Mfa": mfa,
            "Chained": chained,
            "Issued": iso8601(issued or self.clock()),
            "Credentials": credentials.to_dict(),
        }
        path = self._path(key)
        try:
            write_atomically(path, json.dumps(entry).encode(), mode=0o600, prefix=_TEMPORARY_PREFIX, suffix=".json")
        except IsADirectoryError:
            raise CliError(f"the cache entry {path} is a folder; remove it") from None
        except OSError as error:
            raise CliError(f"cannot write the cache entry {path}: {error.strerror or error}") from None
        return path

    def clear(self) -> int:
        """Delete every cached session (and stray temporary files); return how many sessions went.

        What is already gone (another clear-cache ran meanwhile) counts as deleted; what cannot be deleted is
        named, in one CliError, after everything else went.
        """
        try:
            paths = list(self.directory.iterdir())
        except FileNotFoundError:
            return 0
        except OSError as error:
            raise CliError(f"cannot read the credential cache {self.directory}: {error.strerror}") from None
        removed, failed = 0, []
        for path in paths:
            is_entry = bool(_ENTRY_NAME.match(path.name))
            if not (is_entry or path.name.startswith(_TEMPORARY_PREFIX)):
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as error:
                failed.append(f"{path.name} ({error.strerror})")
                continue
            removed += is_entry
        if failed:
            shown = ", ".join(failed[:3]) + (f" and {len(failed) - 3} more" if len(failed) > 3 else "")
            raise CliError(
                f"removed {sessions(removed)} from {self.directory}, but could not delete {shown}; remove them yourself"
            )
        return removed

    def _younger(self, entry: Mapping[str, Any], age: timedelta) -> bool:
        """The entry was issued less than `age` ago (and not in the future)."""
        try:
            issued = parse_iso8601(entry.get("Issued"))
        except (ValueError, TypeError, OverflowError):
            return False
        return timedelta(0) <= self.clock() - issued < age

    def _folder_is_ours(self) -> bool:
        """Entries are read only from a folder of ours that nobody else can write to (a cache can be planted)."""
        try:
            info = os.lstat(self.directory)
        except OSError:
            return False
        return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o022

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


def _read_entry(path: Path) -> dict[str, Any] | None:
    """The entry's JSON object, when the file is ours, private, small, and JSON; else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    info = os.fstat(fd)
    # A file someone else owns, or that others can read, is not trusted (and not reused); nor a folder (which
    # fdopen refuses), a FIFO or a device.
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(_MAX_ENTRY_BYTES + 1)
    if len(data) > _MAX_ENTRY_BYTES:
        return None
    try:
        entry = json.loads(data)
    except (ValueError, RecursionError):  # ValueError: not JSON, not UTF-8, or a number over 4300 digits
        return None
    return entry if isinstance(entry, dict) else None


def _credentials_for(entry: Mapping[str, Any], fields: Mapping[str, Any], *, need_mfa: bool) -> Credentials | None:
    """The entry's credentials, when it was made for exactly this request (and with MFA when that is needed)."""
    if entry.get("Version") != _ENTRY_VERSION or entry.get("Key") != dict(fields):
        return None
    if need_mfa and entry.get("Mfa") is not True:
        return None
    try:
        credentials = Credentials.from_dict(entry["Credentials"])
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError):
        return None
    return credentials if credentials.role_arn == fields.get("role_arn") else None
