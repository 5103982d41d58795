"""The OS keychain, through ``keyring``: Secret Service (GNOME Keyring, KWallet), macOS Keychain, Windows
Credential Locker. It holds what must not be plaintext on disk: source access keys (``cross-account add``), MFA
sessions and role sessions (the credential cache).

``keyring`` picks the backend: ``PYTHON_KEYRING_BACKEND`` names one (tests use theirs), else its own configuration
and detection. Where it finds none (a headless machine without a Secret Service, or keyring's ``fail``/``null``
backends), or only one that writes plaintext files (keyrings.alt's ``PlaintextKeyring``), there is no keychain.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from cross_account.cli.errors import CliError, cut

#: The keychain's service name for every item of the client.
SERVICE: Final = "cross-account"
BACKEND_VARIABLE: Final = "PYTHON_KEYRING_BACKEND"
#: Backends that are no keychain: nothing stored (fail, null), or plaintext files (keyrings.alt).
_NOT_A_KEYCHAIN: Final = frozenset({"fail.Keyring", "null.Keyring", "file.PlaintextKeyring"})


class Keychain:
    """Items of the service ``cross-account`` in one keyring backend; failures are one-line CliErrors."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.name = _backend_name(backend)

    def get(self, item: str) -> str | None:
        value: str | None = self._call("read", item, lambda: self._backend.get_password(SERVICE, item))
        return value

    def set(self, item: str, value: str) -> None:
        self._call("write", item, lambda: self._backend.set_password(SERVICE, item, value))

    def delete(self, item: str) -> bool:
        """Delete the item; False when there was none."""
        from keyring.errors import PasswordDeleteError

        def delete() -> bool:
            try:
                self._backend.delete_password(SERVICE, item)
            except PasswordDeleteError:
                if self._backend.get_password(SERVICE, item) is None:
                    return False
                raise
            return True

        deleted: bool = self._call("delete", item, delete)
        return deleted

    def get_json(self, item: str) -> dict[str, Any] | None:
        """The item as a JSON object; None when absent or not a JSON object (a damaged item is not used)."""
        text = self.get(item)
        if text is None:
            return None
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return None
        return value if isinstance(value, dict) else None

    def _call(self, what: str, item: str, work: Any) -> Any:
        from keyring.errors import KeyringError

        try:
            return work()
        except KeyringError as error:
            detail = cut(str(error), 160) or type(error).__name__
            raise CliError(f"the keychain ({self.name}) refused to {what} {SERVICE}/{item}: {detail}") from None
        except Exception as error:  # a backend's own failure (D-Bus, the Security framework): one line too
            raise CliError(
                f"the keychain ({self.name}) failed to {what} {SERVICE}/{item}: {type(error).__name__}"
            ) from None


def _backend_name(backend: Any) -> str:
    kind = type(backend)
    return f"{kind.__module__.removeprefix('keyring.backends.')}.{kind.__name__}"


def _is_keychain(backend: Any) -> bool:
    """A backend that keeps secrets out of plaintext files; a chainer counts when one of its backends does."""
    from keyring.backends.chainer import ChainerBackend

    if isinstance(backend, ChainerBackend):
        return any(_is_keychain(inner) for inner in backend.backends)
    name = _backend_name(backend)
    return not any(name.endswith(excluded) for excluded in _NOT_A_KEYCHAIN)


def find_keychain(environ: Mapping[str, str]) -> Keychain | None:
    """The OS keychain, or None where keyring finds none (or one that writes plaintext)."""
    import keyring
    import keyring.core

    name = environ.get(BACKEND_VARIABLE)
    try:
        backend = keyring.core.load_keyring(name) if name else keyring.get_keyring()
    except Exception as error:  # a backend named that cannot be loaded, a broken keyringrc.cfg
        raise CliError(
            f"cannot load the keychain backend {name or '(keyring default)'}: {type(error).__name__}"
        ) from None
    return Keychain(backend) if _is_keychain(backend) else None
