"""Keychains for tests: keyring backends that never touch the machine's own keychain.

:class:`MemoryKeyring` keeps items in this process (class-level, so the client's own ``load_keyring`` instance sees
what the test put there); :class:`FileKeyring` keeps them in the JSON file ``$CROSS_ACCOUNT_TEST_KEYCHAIN`` (for
subprocesses; a test keeps that file outside the HOME it scans). Both are checked against keyring's own backend
tests (tests/test_cli_secrets.py). The client loads them by name through PYTHON_KEYRING_BACKEND.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import ClassVar

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError, PasswordSetError

MEMORY: str = f"{__name__}.MemoryKeyring"
FILE: str = f"{__name__}.FileKeyring"
FILE_VARIABLE = "CROSS_ACCOUNT_TEST_KEYCHAIN"


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]
    items: ClassVar[dict[tuple[str, str], str]] = {}
    #: Set to make every write fail as a locked keychain's would.
    refuse_writes: ClassVar[bool] = False

    @classmethod
    def reset(cls) -> None:
        cls.items.clear()
        cls.refuse_writes = False

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.refuse_writes:
            raise PasswordSetError("the collection is locked")
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.items[(service, username)]
        except KeyError:
            raise PasswordDeleteError("not found") from None


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @property
    def path(self) -> Path:
        return Path(os.environ[FILE_VARIABLE])

    def _load(self) -> dict[str, str]:
        try:
            loaded: dict[str, str] = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return loaded

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\n{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        items = self._load()
        items[f"{service}\n{username}"] = password
        self.path.write_text(json.dumps(items))

    def delete_password(self, service: str, username: str) -> None:
        items = self._load()
        if items.pop(f"{service}\n{username}", None) is None:
            raise PasswordDeleteError("not found")
        self.path.write_text(json.dumps(items))

    def all_items(self) -> dict[str, str]:
        return self._load()
