"""`cross-account add`: keep an IAM user's access keys in the OS keychain, as the source credentials of a profile."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from cross_account.cli import source_keys
from cross_account.cli.commands.common import Shared, Subparsers, doc, require_keychain
from cross_account.cli.errors import UsageError, checked_flag
from cross_account.cli.output import emit, warn
from cross_account.cli.prompt import ask
from cross_account.rules import validate_profile_name

NAME: Final = "add"


def add_parser(commands: Subparsers, shared: Shared) -> None:
    parser = commands.add_parser(
        NAME, help="keep an IAM user's access keys in the OS keychain as a profile's source credentials",
        description=doc(run),
    )  # fmt: skip
    parser.add_argument("profile", metavar="PROFILE", help="the name --profile will use")
    parser.add_argument("--replace", action="store_true", help="replace the keys the keychain holds for PROFILE")


def run(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    """Store an IAM user's access key ID and secret access key in the OS keychain (Secret Service, macOS Keychain,
    Windows Credential Locker) under PROFILE. They are asked on the terminal (the secret without echo), or read as
    two lines of standard input: never from the command line, which every local user can see (ps). From then on
    --profile PROFILE uses them before anything in ~/.aws, and `cross-account rotate PROFILE` replaces them with a
    new key. Where there is no keychain, nothing is stored."""
    profile = checked_flag("PROFILE", args.profile, validate_profile_name)
    keychain = require_keychain(environ, "access keys are not stored")
    if not args.replace and keychain.get(source_keys.item_of(profile)) is not None:
        raise UsageError(
            f"the keychain already holds an access key for profile {profile}: pass --replace, or rotate it with "
            f"cross-account rotate {profile}"
        )
    instead = "pipe the key ID and the secret in, one line each"
    key_id = ask("Access key ID: ", secret=False, what="an access key ID", instead=instead)
    secret = ask("Secret access key: ", secret=True, what="a secret access key", instead=instead)
    keys = source_keys.checked_keys(key_id, secret)
    source_keys.store(keychain, profile, keys)
    emit(f"stored access key {keys.access_key_id} for profile {profile} in the keychain ({keychain.name})\n")
    still = source_keys.keys_in_credentials_file(environ, profile)
    if still is not None:
        warn(
            f"{still} still holds a secret key for [{profile}]: delete its aws_access_key_id and "
            "aws_secret_access_key lines, so the keychain is the only place that has it"
        )
    return 0
