"""`cross-account list`: the app's roles, what each requires, and the AWS profiles that point at them."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

from cross_account.cli import listing
from cross_account.cli import profile as profiles
from cross_account.cli.commands.common import Shared, Subparsers, doc
from cross_account.cli.errors import UsageError
from cross_account.cli.listing import Row
from cross_account.cli.output import emit, warn
from cross_account.cli.roles import load_settings
from cross_account.settings import Settings

if TYPE_CHECKING:
    from cross_account.cli.names import NamedRole

NAME: Final = "list"


def add_parser(commands: Subparsers, shared: Shared) -> None:
    parser = commands.add_parser(
        NAME, help="list the app's roles, what each requires, the AWS profiles that point at them, and the named roles",
        description=doc(run),
    )  # fmt: skip
    parser.add_argument(
        "--cdk-json", metavar="FILE", help="the app's cdk.json (default: $CROSS_ACCOUNT_CDK_JSON, else ./cdk.json)"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")


def run(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    """List the roles that the app's settings (cdk.json: --cdk-json, else $CROSS_ACCOUNT_CDK_JSON, else ./cdk.json)
    define, one per target account and tier, with what each requires of a caller (external ID, MFA and its age,
    source identity, session tags), and the profiles of the AWS config file that point at them (role_arn, or a
    credential_process --role-arn); then the named roles (profiles written by configure-profile NAME), which work
    from any folder. Without the app's cdk.json, only the named roles. Offline."""
    from cross_account.cli import names

    config = profiles.config_path(environ)
    try:
        named, unreadable = names.named_roles(config), None
    except UsageError as error:  # the app's roles are still listed, with a warning (below)
        named, unreadable = {}, error
    chosen = names.cdk_json_path(args.cdk_json, environ)
    path = Path(chosen) if chosen else cwd / "cdk.json"
    if not chosen and not path.is_file():
        if unreadable is not None:
            raise unreadable
        if not named:
            raise UsageError(
                f"no cdk.json in {cwd} and no named roles in {config}: run in the app's folder, pass --cdk-json "
                f"FILE (or set {names.CDK_JSON_VARIABLE}), or write one with configure-profile NAME"
            )
        emit(_render(args.format, None, named, config))
        return 0
    settings = load_settings(path, instead=f"pass --cdk-json with this app's file (or set {names.CDK_JSON_VARIABLE})")
    emit(_render(args.format, (settings, path, _rows(settings, config)), named, config))
    return 0


def _rows(settings: Settings, config: Path) -> list[Row]:
    from botocore.exceptions import BotoCoreError

    from cross_account.cli.sdk_config import profiles_of

    try:
        found_profiles = profiles_of(config) if config.is_file() else {}
    except (BotoCoreError, OSError, ValueError) as error:  # ValueError: not UTF-8, or botocore's nesting rule
        warn(f"profiles not listed: {config} cannot be read by the AWS SDKs ({type(error).__name__})")
        found_profiles = {}
    return listing.rows(settings, found_profiles)


def _render(
    form: str, app: tuple[Settings, Path, list[Row]] | None, named: Mapping[str, NamedRole], config: Path
) -> str:
    from cross_account.cli import names

    if form == "json":
        document = json.loads(listing.as_json(*app)) if app else {"settings": None, "roles": []}
        document["named_roles"] = names.as_json(named)
        return json.dumps(document, indent=2) + "\n"
    parts = [listing.as_text(*app)] if app else []
    if named:
        parts.append(names.as_text(named, config))
    return "\n".join(parts)
