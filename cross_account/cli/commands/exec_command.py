"""`cross-account exec`: run a command with the role's credentials, in its environment or served to it."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from cross_account.cli import profile as profiles
from cross_account.cli.assume import utc_now
from cross_account.cli.cache import CREDENTIAL_PROCESS_MARGIN
from cross_account.cli.commands.common import Shared, Subparsers, obtain_credentials, role_session
from cross_account.cli.errors import UsageError
from cross_account.cli.output import PROG, logger, warn

NAME: Final = "exec"


def add_parser(commands: Subparsers, shared: Shared) -> None:
    parser = shared.add_role_command(
        commands,
        run,
        name=NAME,
        help="run a command with the role's credentials: exec [flags] -- CMD ...",
        usage=f"{PROG} exec [flags] -- CMD [ARG ...]",
    )
    parser.add_argument(
        "--server",
        action="store_true",
        help="serve the credentials on 127.0.0.1 (container-credentials protocol) and renew them before they "
        "expire, instead of putting them in the environment",
    )
    parser.add_argument(
        "--keep-background",
        action="store_true",
        help="leave running what CMD started in the background (a daemon on purpose); by default, when CMD exits, "
        "what it left in its process group gets SIGTERM, then SIGKILL 2 s later, as it holds the role's keys",
    )


def run(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    """Run CMD with the role's credentials (and AWS_REGION) in its environment; AWS_PROFILE is removed.
    CMD runs in a process group of its own, which holds the terminal while it runs; signals are passed on to that
    group, and the exit code is CMD's (128+N when a signal N ended it). When CMD exits, what it left running in its
    group is ended (SIGTERM, then SIGKILL), unless --keep-background.

    With --server, the credentials are served to CMD instead (AWS_CONTAINER_CREDENTIALS_FULL_URI on 127.0.0.1,
    with a fresh AWS_CONTAINER_AUTHORIZATION_TOKEN), and the role is assumed again before they expire, so a
    command that outlasts one session keeps working. The SDKs ask on their own (tested: boto3 and the AWS CLI).
    The command's shared credentials file is /dev/null, as its default profile would come first."""
    # Imported when run (not at start-up), and looked up then: tests replace run_command.
    from cross_account.cli.run import child_environment, run_command

    if not args.command_line:
        raise UsageError("exec needs a command after --, e.g. cross-account exec -- npx cdk deploy MyService")
    if args.server:
        return _exec_with_server(args, environ, cwd)
    credentials = obtain_credentials(args, environ=environ, cwd=cwd)
    return run_command(
        args.command_line, child_environment(credentials, environ), keep_background=args.keep_background, warn=warn
    )


def _exec_with_server(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    from cross_account.cli.run import run_command
    from cross_account.cli.server import CredentialServer, check_default_profile, server_environment

    check_default_profile(profiles.config_path(environ))
    session = role_session(args, environ=environ, cwd=cwd)
    first = session.credentials(CREDENTIAL_PROCESS_MARGIN)
    server = CredentialServer(lambda: session.credentials(CREDENTIAL_PROCESS_MARGIN), first, clock=utc_now, warn=warn)
    server.start()
    logger(args.verbose)(f"serving the role's credentials at {server.url}")
    try:
        env = server_environment(environ, url=server.url, token=server.token, credentials=first)
        return run_command(args.command_line, env, keep_background=args.keep_background, warn=warn)
    finally:
        server.stop()
