"""`cross-account rotate`: replace the access key a profile keeps in the OS keychain with a new one."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from cross_account.cli import source_keys
from cross_account.cli.commands.common import Shared, Subparsers, doc, require_keychain
from cross_account.cli.errors import checked_flag
from cross_account.cli.output import emit, logger
from cross_account.cli.sts import parse_deadline
from cross_account.rules import validate_profile_name, validate_region

NAME: Final = "rotate"


def add_parser(commands: Subparsers, shared: Shared) -> None:
    parser = commands.add_parser(
        NAME, help="replace a profile's access key in the keychain with a new one, and delete the old one",
        description=doc(run), parents=[shared.timeout],
    )  # fmt: skip
    parser.add_argument("profile", metavar="PROFILE", help="a profile whose keys `cross-account add` stored")
    parser.add_argument("--region", metavar="REGION", help="where STS checks the new key (default us-east-1)")
    parser.add_argument("-v", "--verbose", action="store_true", help="say what happens on stderr (never secrets)")


def run(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    """Rotate the IAM user's access key that the keychain holds for PROFILE: create a new key (iam:CreateAccessKey
    on your own user; IAM allows two keys per user, so the user must have only this one), check that it answers as
    the same user (sts:GetCallerIdentity, waiting up to 30 s for IAM to accept it), store it in the keychain, then
    delete the old key with the new one (iam:DeleteAccessKey). A failure says which key is active and which the
    keychain holds; before the new key is stored, it is deleted again and the old key stays."""
    profile = checked_flag("PROFILE", args.profile, validate_profile_name)
    region = checked_flag("--region", args.region, validate_region)
    deadline = parse_deadline(args.sts_timeout, environ)
    keychain = require_keychain(environ, "there is nothing to rotate")
    done = source_keys.rotate(keychain, profile, region=region, deadline=deadline, log=logger(args.verbose))
    emit(
        f"rotated the access key of profile {profile} (IAM user {done.user}): {done.new} is in the keychain, "
        f"{done.old} is deleted\n"
    )
    return 0
