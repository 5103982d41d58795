"""The credential cache: one entry per role session (or MFA session), in the OS keychain (one item each, see
:mod:`cross_account.cli.keychain`), or, where there is none and the user opts in, in 0600 JSON files in a 0700 user
folder that keep an entry one hour by default (CROSS_ACCOUNT_FILE_CACHE, CROSS_ACCOUNT_FILE_CACHE_SECONDS).

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
from typing import Any, Final, Protocol

from cross_account.cli.credentials import Credentials, iso8601, parse_iso8601
from cross_account.cli.errors import CliError, UsageError, shown, whole_seconds
from cross_account.cli.files import home_directory, write_atomically
from cross_account.cli.keychain import Keychain

CACHE_DIR_VARIABLE: Final = "CROSS_ACCOUNT_CACHE_DIR"
#: Opting in to the plaintext file cache where there is no keychain, and how long it keeps an entry.
FILE_CACHE_VARIABLE: Final = "CROSS_ACCOUNT_FILE_CACHE"
FILE_CACHE_SECONDS_VARIABLE: Final = "CROSS_ACCOUNT_FILE_CACHE_SECONDS"
DEFAULT_FILE_CACHE_SECONDS: Final = 3600
FILE_CACHE_SECONDS_RANGE: Final = (900, 43200)
#: STS's clock may run a little ahead of ours: a session this much longer than the file cache's lifetime still fits.
_CLOCK_SLACK: Final = timedelta(minutes=5)
REUSE_MARGIN: Final = timedelta(minutes=5)
#: botocore refreshes credential_process credentials from 15 minutes before they expire.
CREDENTIAL_PROCESS_MARGIN: Final = timedelta(minutes=15)
_ENTRY_VERSION: Final = 1
#: The ``kind`` field of an MFA session's entry (its ``role_arn`` is the MFA device).
MFA_SESSION_KIND: Final = "mfa-session"
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


def file_cache_opted_in(flag: bool, environ: Mapping[str, str]) -> bool:
    """--file-cache, or CROSS_ACCOUNT_FILE_CACHE=1 (also true/yes/on); 0/false/no/off or unset: not."""
    if flag:
        return True
    text = environ.get(FILE_CACHE_VARIABLE, "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise UsageError(f"invalid {FILE_CACHE_VARIABLE}={shown(text)}: must be 1 (use the file cache) or 0")


def file_cache_lifetime(environ: Mapping[str, str]) -> timedelta:
    """How long the file cache keeps an entry: CROSS_ACCOUNT_FILE_CACHE_SECONDS, 900-43200, else one hour."""
    text = environ.get(FILE_CACHE_SECONDS_VARIABLE)
    if not text:
        return timedelta(seconds=DEFAULT_FILE_CACHE_SECONDS)
    return timedelta(
        seconds=whole_seconds(f"{FILE_CACHE_SECONDS_VARIABLE}=", text, *FILE_CACHE_SECONDS_RANGE, digits=5)
    )


def sessions(count: int) -> str:
    return f"{count} cached session{'s' if count != 1 else ''}"


def cache_key(fields: Mapping[str, Any]) -> str:
    """A stable hash of the fields; ``None`` and absent differ from any string."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def describe(fields: Mapping[str, Any], credentials: Credentials | None = None) -> str:
    """What an entry holds, for messages: ``MFA session for <device>``, or ``session <name> for <role>`` (without
    the name before the session exists)."""
    if fields.get("kind") == MFA_SESSION_KIND:
        return f"MFA session for {fields.get('role_arn')}"
    name = f" {credentials.session_name}" if credentials is not None else ""
    return f"session{name} for {fields.get('role_arn')}"


class EntryStore(Protocol):
    """Where entries are kept: the keychain, or files. ``where`` names it in messages; ``plaintext``: on disk as is."""

    where: str
    plaintext: bool

    def ready(self) -> bool: ...

    def read(self, key: str) -> dict[str, Any] | None: ...

    def write(self, key: str, data: bytes, expiration: datetime) -> Path | str: ...

    def delete(self, key: str) -> None: ...

    def clear(self) -> int: ...


class CredentialCache:
    """Read and write cached role sessions. ``clock`` is injectable so tests can move time.

    `where`: a folder (the file cache) or a store. `keep`: how long an entry is kept at most, from when it was
    issued; a session valid for longer is not written (the file cache: nothing on disk outlives it).
    `announce`: told of each entry written in plaintext.
    """

    def __init__(
        self,
        where: Path | EntryStore,
        *,
        clock: Callable[[], datetime] = utc_now,
        keep: timedelta | None = None,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        self.store: EntryStore = FileStore(where) if isinstance(where, Path) else where
        self.clock = clock
        self.keep = keep
        self._announce = announce

    @property
    def directory(self) -> Path:
        """The file cache's folder (only for a file cache)."""
        assert isinstance(self.store, FileStore)
        return self.store.directory

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
        of expiry, or kept longer than ``keep``.

        With ``need_mfa``, a session made without MFA does not count: actions that require MFA would fail
        in it. (A session made with MFA serves a request without.) With ``max_age``, an entry issued that long
        ago or longer does not count either, and stays for requests that allow more. With ``need_unchained``, a
        role-chained session does not count (a console session of over an hour cannot be made from one).
        """
        if not self.store.ready():
            return None
        entry = self.store.read(key)
        if entry is None:
            return None
        credentials = _credentials_for(entry, fields, need_mfa=need_mfa)
        if credentials is None:
            return None
        if self.keep is not None and not self._younger(entry, self.keep):
            self._forget(key)  # kept its time
            return None
        if max_age is not None and not self._younger(entry, max_age):
            return None
        if need_unchained and entry.get("Chained") is not False:
            return None
        left = credentials.expiration - self.clock()
        if left > MAX_LIFETIME:
            return None  # no STS session lasts that long: a forged or damaged entry (it is replaced on success)
        if left <= margin:
            self._forget(key)
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
    ) -> Path | str:
        """Write atomically: a reader sees the old entry or the new one, never half of one. `issued`: when the
        session was asked for (default: now), which :meth:`get` measures ``max_age`` and ``keep`` from; `chained`:
        the session was assumed with temporary credentials. Returns where the entry went.

        With ``keep``, a session valid for longer from now is not written: nothing on disk outlives it."""
        now = self.clock()
        issued = issued or now
        if self.keep is not None and credentials.expiration - now > self.keep + _CLOCK_SLACK:
            seconds = round((credentials.expiration - now).total_seconds())
            raise CliError(
                f"the session is valid for {seconds} s, longer than the file cache keeps entries "
                f"({int(self.keep.total_seconds())} s, {FILE_CACHE_SECONDS_VARIABLE}): it is not written in plaintext"
            )
        entry = {
            "Version": _ENTRY_VERSION,
            "Key": dict(fields),
            "Mfa": mfa,
            "Chained": chained,
            "Issued": iso8601(issued),
            "Credentials": credentials.to_dict(),
        }
        where = self.store.write(key, json.dumps(entry).encode(), credentials.expiration)
        if self.store.plaintext and self._announce is not None:
            kept = min(credentials.expiration, issued + self.keep) if self.keep is not None else credentials.expiration
            self._announce(
                f"wrote the {describe(fields, credentials)} in plaintext to {where} (0600; there is no keychain "
                f"and {FILE_CACHE_VARIABLE} is on), kept until {iso8601(kept)}"
            )
        return where

    def clear(self) -> int:
        """Delete every cached session; return how many went (see the store's ``clear``)."""
        return self.store.clear()

    def _forget(self, key: str) -> None:
        with contextlib.suppress(CliError, OSError):
            self.store.delete(key)

    def _younger(self, entry: Mapping[str, Any], age: timedelta) -> bool:
        """The entry was issued less than `age` ago (and not in the future)."""
        try:
            issued = parse_iso8601(entry.get("Issued"))
        except (ValueError, TypeError, OverflowError):
            return False
        return timedelta(0) <= self.clock() - issued < age


class FileStore:
    """One 0600 JSON file per entry in a 0700 folder of ours; read only when nobody else could have written it."""

    plaintext = True

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.where = str(directory)

    def ready(self) -> bool:
        """Entries are read only from a folder of ours that nobody else can write to (a cache can be planted)."""
        try:
            info = os.lstat(self.directory)
        except OSError:
            return False
        return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o022

    def read(self, key: str) -> dict[str, Any] | None:
        return _read_entry(self._path(key))

    def write(self, key: str, data: bytes, expiration: datetime) -> Path:
        self._ensure_directory()
        path = self._path(key)
        try:
            write_atomically(path, data, mode=0o600, prefix=_TEMPORARY_PREFIX, suffix=".json")
        except IsADirectoryError:
            raise CliError(f"the cache entry {path} is a folder; remove it") from None
        except OSError as error:
            raise CliError(f"cannot write the cache entry {path}: {error.strerror or error}") from None
        return path

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

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


#: The keychain item that lists the cached sessions (keyring cannot list a service's items) with their expiry.
_INDEX_ITEM: Final = "cache-index"
_ITEM_PREFIX: Final = "session:"


class KeychainStore:
    """One keychain item per entry (``session:<key>``), and an index item that lists them for clear-cache and
    for deleting expired ones whenever an entry is written."""

    plaintext = False

    def __init__(self, keychain: Keychain, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._keychain = keychain
        self._clock = clock
        self.where = f"the keychain ({keychain.name})"

    def ready(self) -> bool:
        return True

    def read(self, key: str) -> dict[str, Any] | None:
        return self._keychain.get_json(_ITEM_PREFIX + key)

    def write(self, key: str, data: bytes, expiration: datetime) -> str:
        self._keychain.set(_ITEM_PREFIX + key, data.decode())
        index = self._index()
        now = self._clock()
        for other, until in list(index.items()):
            if other != key and _expired(until, now):
                self._keychain.delete(_ITEM_PREFIX + other)
                del index[other]
        index[key] = iso8601(expiration)
        self._keychain.set(_INDEX_ITEM, json.dumps(index))
        return self.where

    def delete(self, key: str) -> None:
        self._keychain.delete(_ITEM_PREFIX + key)
        index = self._index()
        if index.pop(key, None) is not None:
            self._keychain.set(_INDEX_ITEM, json.dumps(index))

    def clear(self) -> int:
        removed = sum(self._keychain.delete(_ITEM_PREFIX + key) for key in self._index())
        self._keychain.delete(_INDEX_ITEM)
        return removed

    def _index(self) -> dict[str, str]:
        index = self._keychain.get_json(_INDEX_ITEM) or {}
        return {key: until for key, until in index.items() if _KEY.match(key) and isinstance(until, str)}


_KEY: Final = re.compile(r"^[0-9a-f]{64}\Z", re.ASCII)


def _expired(until: str, now: datetime) -> bool:
    try:
        return parse_iso8601(until) <= now
    except (ValueError, TypeError, OverflowError):
        return True


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
