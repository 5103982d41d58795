"""Files the client writes: the home folder, atomic replacement; shared by the credential cache and the
AWS config writer."""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Final

from cross_account.cli.errors import CliError

#: How long a writer waits for another one's lock before it gives up.
LOCK_WAIT: Final = 60.0


def home_directory(environ: Mapping[str, str] = os.environ) -> Path:
    """``$HOME``, else the passwd entry's home; a CliError naming why when neither is an absolute path."""
    home = environ.get("HOME")
    if home is None:
        import pwd

        try:
            home = pwd.getpwuid(os.getuid()).pw_dir
        except KeyError:
            raise CliError(f"no home folder: HOME is unset and user ID {os.getuid()} has no passwd entry") from None
    if not Path(home).is_absolute():
        raise CliError(f"no home folder: HOME={home!r} is not an absolute path")
    return Path(home)


def write_atomically(
    path: Path,
    data: bytes,
    *,
    mode: int,
    prefix: str,
    suffix: str,
    before_replace: Callable[[Path], None] | None = None,
    owner: tuple[int, int] | None = None,
) -> None:
    """Replace `path` with `data`: a reader sees the old file or the new one, never half of one.

    The temporary file is made in the same folder (a rename is atomic only within one file system),
    private from its first byte (mkstemp), given `mode` (and `owner`, see :func:`give`), and flushed to disk
    before the rename. `before_replace` gets the temporary file just before the rename and may raise to
    abandon the write; the temporary file never outlives a failure.
    """
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
            give(handle.fileno(), owner, path)
        if before_replace is not None:
            before_replace(Path(temporary))
        Path(temporary).replace(path)
    except BaseException:
        # The original error is the one worth reporting, not a failed clean-up.
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise


def owner_of_new_files(folder: Path) -> tuple[int, int] | None:
    """Who a file made in `folder` should belong to: as root (sudo keeps HOME), the folder's owner; else us."""
    if os.geteuid() != 0:
        return None
    info = folder.stat()
    return info.st_uid, info.st_gid


def give(fd: int, owner: tuple[int, int] | None, path: Path) -> None:
    """Make the open file `fd` (written for `path`) belong to `owner` (user, group), or refuse in one line."""
    if owner is None:
        return
    info = os.fstat(fd)
    if (info.st_uid, info.st_gid) == owner:
        return
    try:
        os.fchown(fd, *owner)
    except PermissionError:
        raise CliError(
            f"{path} belongs to user {owner[0]}, group {owner[1]}; user {os.geteuid()} cannot keep it theirs: "
            "run this as its owner"
        ) from None


def make_folders(folder: Path) -> None:
    """``mkdir -p`` with mode 0700; as root, each new folder belongs to the owner of the nearest existing one."""
    missing = []
    existing = folder
    while not existing.exists():
        missing.append(existing)
        existing = existing.parent
    owner = owner_of_new_files(existing)
    for new in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by a concurrent run
            new.mkdir(mode=0o700)
            if owner is not None:
                os.chown(new, *owner)


def regular_file_or_none(path: Path) -> os.stat_result | None:
    """`path`'s status when it is a regular file, None when it does not exist; else a CliError naming its kind.

    A device (AWS_CONFIG_FILE=/dev/null), a FIFO (which would block a reader forever) or a folder is never
    read or replaced.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        raise CliError(f"{path} is {_kind(info.st_mode)}, not a regular file: only a regular file is edited")
    return info


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"))
    return next((name for test, name in kinds if test(mode)), "a special file")


def read_regular(path: Path) -> bytes | None:
    """The bytes of `path` if it is a regular file (checked on the open file: no FIFO can block), else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CliError(f"{path} is {_kind(info.st_mode)}, not a regular file: only a regular file is edited")
        return handle.read()


@contextlib.contextmanager
def locked(path: Path, *, owner: tuple[int, int] | None, guards: Path, wait: float = LOCK_WAIT) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the lock file `path` (made 0600 if missing, owned like the file it `guards`)
    while the block runs.

    Writers that take the same lock go one at a time; a second one waits (up to `wait` seconds) instead of
    failing. The lock goes with the file descriptor, also when the process dies.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise CliError(f"the lock file {path} is not a regular file; remove it")
        give(fd, owner, guards)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise CliError(f"another writer has held {path} for over {wait:g} s; try again") from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)
