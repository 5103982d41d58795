"""The user's own settings for the client, in a file no repository can put on the user's machine:
``$CROSS_ACCOUNT_CONFIG``, else ``$XDG_CONFIG_HOME/cross-account/config.toml``, else
``~/.config/cross-account/config.toml``. TOML:

    allowed_accounts = ["222222222222", "333333333333"]

With ``allowed_accounts``, a role in any other account is refused before any call, wherever its ARN came from
(``--role-arn``, an outputs file, a cdk.json that a cloned repository brought). Without the file, every account is
allowed, and the role assumed is said on stderr all the same.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cross_account.cli.errors import CliError, UsageError, cut
from cross_account.cli.files import home_directory
from cross_account.rules import ACCOUNT_ID_RE, ROLE_ARN_RE

CONFIG_VARIABLE: Final = "CROSS_ACCOUNT_CONFIG"
ALLOWED_ACCOUNTS: Final = "allowed_accounts"
_KNOWN: Final = (ALLOWED_ACCOUNTS,)
#: A settings file of a few lines; anything far larger is not one.
_MAX_BYTES: Final = 65536


@dataclass(frozen=True)
class UserConfig:
    """The user's settings (``path``: where they were read from, or would be)."""

    path: Path | None
    allowed_accounts: tuple[str, ...] | None = None


def config_path(environ: Mapping[str, str]) -> Path | None:
    """Where the user's settings are; None without a home folder (and no override): then there are none."""
    if environ.get(CONFIG_VARIABLE):
        return Path(environ[CONFIG_VARIABLE])
    xdg = environ.get("XDG_CONFIG_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "cross-account" / "config.toml"
    try:
        return home_directory(environ) / ".config" / "cross-account" / "config.toml"
    except CliError:
        return None


def load_user_config(environ: Mapping[str, str]) -> UserConfig:
    """The user's settings; none when the file does not exist. A file that is there but unusable (a folder,
    unreadable, writable by others, not TOML, an unknown or malformed setting) is one usage line naming it."""
    path = config_path(environ)
    data = _read(path) if path is not None else None
    if path is None or data is None:
        return UserConfig(path)
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise UsageError(f"{path}: not UTF-8 (byte {error.start})") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: not valid TOML: {cut(str(error), 160)}") from None
    unknown = sorted(set(document) - set(_KNOWN))
    if unknown:
        raise UsageError(f"{path}: unknown setting {cut(unknown[0], 60)!r} (known: {', '.join(_KNOWN)})")
    return UserConfig(path, _accounts(path, document.get(ALLOWED_ACCOUNTS)))


def _read(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    try:
        _check_file(path, os.fstat(fd))
        data = os.read(fd, _MAX_BYTES + 1)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > _MAX_BYTES:
        raise UsageError(f"{path} is larger than {_MAX_BYTES} bytes: not a settings file")
    return data


def _check_file(path: Path, info: os.stat_result) -> None:
    """A regular file that only its owner (the user, or root) can change: it decides which accounts are allowed."""
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{path} is a folder, not a settings file; remove it or set {CONFIG_VARIABLE}")
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{path} is not a regular file")
    if info.st_uid not in (os.getuid(), 0) or info.st_mode & 0o022:
        raise UsageError(
            f"{path} can be changed by other users (it must be yours, or root's, and not group- or "
            f"world-writable: chmod go-w {path}); it decides which accounts may be assumed"
        )


def _accounts(path: Path, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    rule = 'must be a list of 12-digit account IDs in quotes, e.g. ["222222222222"]'
    if not isinstance(value, list):
        raise UsageError(f"{path}: invalid {ALLOWED_ACCOUNTS}: {rule}")
    for index, item in enumerate(value):
        if not isinstance(item, str) or not ACCOUNT_ID_RE.match(item):
            shown = cut(repr(item), 40)
            extra = " (a number loses leading zeros: quote it)" if isinstance(item, int) else ""
            raise UsageError(f"{path}: invalid {ALLOWED_ACCOUNTS}[{index}] {shown}: {rule}{extra}")
    return tuple(value)


def check_allowed(role_arn: str, origin: str, config: UserConfig) -> None:
    """Refuse a role whose account is not among the user's allowed_accounts (when they set any)."""
    if config.allowed_accounts is None:
        return
    match = ROLE_ARN_RE.match(role_arn)
    account = match["account"] if match else "?"
    if account in config.allowed_accounts:
        return
    allowed = ", ".join(config.allowed_accounts) or "none"
    raise UsageError(
        f"refusing {role_arn} (from {origin}): account {account} is not in {ALLOWED_ACCOUNTS} of {config.path} "
        f"({allowed}); add it there if you mean to assume roles in it"
    )
