"""`cross-account list`: the app's roles, what each requires, and the AWS profiles that point at them."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from cross_account.cli import profile as profiles
from cross_account.cli.commands.common import Shared, Subparsers, doc
from cross_account.cli.errors import UsageError
from cross_account.cli.output import emit, warn
from cross_account.cli.roles import load_settings

NAME: Final = "list"


def add_parser(commands: Subparsers, shared: Shared) -> None:
    parser = commands.add_parser(
        NAME, help="list the app's roles, what each requires, and the AWS profiles that point at them",
        description=doc(run),
    )  # fmt: skip
    parser.add_argument("--cdk-json", metavar="FILE", help="the app's cdk.json (default: ./cdk.json)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")


def run(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    """List the roles that the app's settings (cdk.json) define, one per target account and tier, with what each
    requires of a caller (external ID, MFA and its age, source identity, session tags), and the profiles of the
    AWS config file that point at them (role_arn, or a credential_process --role-arn). Offline."""
    from botocore.exceptions import BotoCoreError

    from cross_account.cli import listing
    from cross_account.cli.sdk_config import profiles_of

    path = Path(args.cdk_json) if args.cdk_json else cwd / "cdk.json"
    if not args.cdk_json and not path.is_file():
        raise UsageError(f"no cdk.json in {cwd}: run in the app's folder, or pass --cdk-json FILE")
    settings = load_settings(path, instead="pass --cdk-json with this app's file")
    config = profiles.config_path(environ)
    try:
        found_profiles = profiles_of(config) if config.is_file() else {}
    except (BotoCoreError, OSError, ValueError) as error:  # ValueError: not UTF-8, or botocore's nesting rule
        warn(f"profiles not listed: {config} cannot be read by the AWS SDKs ({type(error).__name__})")
        found_profiles = {}
    found = listing.rows(settings, found_profiles)
    render_list = listing.as_json if args.format == "json" else listing.as_text
    emit(render_list(settings, path, found))
    return 0
