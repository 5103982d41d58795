"""`cross-account assume`: assume the role and print its credentials."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from cross_account.cli.commands.common import Shared, Subparsers, obtain_credentials
from cross_account.cli.formats import FORMATS, render
from cross_account.cli.output import emit

NAME: Final = "assume"


def add_parser(commands: Subparsers, shared: Shared) -> None:
    parser = shared.add_role_command(
        commands, run, name=NAME, named=True, help="assume the role and print its credentials"
    )
    parser.add_argument("--format", choices=FORMATS, default="env", help="env (default): export lines for eval")


def run(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    """Assume the role and print its credentials as env (export lines), json, or credential-process JSON."""
    credentials = obtain_credentials(args, environ=environ, cwd=cwd)
    emit(render(credentials, args.format))
    return 0
