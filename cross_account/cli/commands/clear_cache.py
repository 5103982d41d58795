"""`cross-account clear-cache`: delete every cached role session and MFA session."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from cross_account.cli.cache import CACHE_DIR_VARIABLE, CredentialCache, default_directory, sessions
from cross_account.cli.commands.common import Shared, Subparsers, doc
from cross_account.cli.errors import CliError
from cross_account.cli.output import emit

NAME: Final = "clear-cache"


def add_parser(commands: Subparsers, shared: Shared) -> None:
    commands.add_parser(NAME, help="delete every cached role session and MFA session", description=doc(run))


def run(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    """Delete every cached role session and MFA session (the next assume calls STS again, and asks for a new MFA
    code)."""
    try:
        cache = CredentialCache(default_directory(environ))
    except CliError as error:
        raise CliError(f"cannot find the credential cache: {error}; set {CACHE_DIR_VARIABLE}") from None
    removed = cache.clear()
    emit(f"removed {sessions(removed)} from {cache.directory}\n")
    return 0
