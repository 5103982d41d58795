"""`cross-account clear-cache`: delete every cached role session and MFA session."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from cross_account.cli.cache import CACHE_DIR_VARIABLE, CredentialCache, KeychainStore, default_directory, sessions
from cross_account.cli.commands.common import Shared, Subparsers, doc
from cross_account.cli.errors import CliError
from cross_account.cli.keychain import find_keychain
from cross_account.cli.output import emit

NAME: Final = "clear-cache"


def add_parser(commands: Subparsers, shared: Shared) -> None:
    commands.add_parser(NAME, help="delete every cached role session and MFA session", description=doc(run))


def run(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    """Delete every cached role session and MFA session, in the keychain and in the file cache (the next assume
    calls STS again, and asks for a new MFA code). Source access keys stored with `add` stay."""
    try:
        files = CredentialCache(default_directory(environ))
    except CliError as error:
        raise CliError(f"cannot find the credential cache: {error}; set {CACHE_DIR_VARIABLE}") from None
    keychain = find_keychain(environ)
    if keychain is not None:
        store = KeychainStore(keychain)
        emit(f"removed {sessions(store.clear())} from {store.where}\n")
    removed = files.clear()
    emit(f"removed {sessions(removed)} from {files.directory}\n")
    return 0
