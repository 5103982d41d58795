"""`cross-account exec`: run a command with the role's credentials, in its environment or served to it."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final

from cross_account.cli import profile as profiles
from cross_account.cli.assume import utc_now
from cross_account.cli.cache import CREDENTIAL_PROCESS_MARGIN
from cross_account.cli.commands.common import Shared, Subparsers, obtain_credentials, role_session
from cross_account.cli.errors import AccessDeniedError, CliError, UsageError
from cross_account.cli.output import PROG, logger, warn

NAME: Final = "exec"
#: Set in the command's environment by exec (not secret): the role its credentials belong to.
ROLE_ARN_VARIABLE: Final = "CROSS_ACCOUNT_ROLE_ARN"


def add_parser(commands: Subparsers, shared: Shared) -> None:
    parser = shared.add_role_command(
        commands,
        run,
        name=NAME,
        named=True,
        help="run a command with the role's credentials: exec [NAME] [flags] -- CMD ...",
        usage=f"{PROG} exec [NAME] [flags] -- CMD [ARG ...]",
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
        raise UsageError(_no_command(args.named))
    with _nested_refusal(args, environ):
        if args.server:
            return _exec_with_server(args, environ, cwd)
        credentials = obtain_credentials(args, environ=environ, cwd=cwd)
    return run_command(
        args.command_line, child_environment(credentials, environ), keep_background=args.keep_background, warn=warn
    )


def _no_command(named: str | None) -> str:
    if named is None:
        return "exec needs a command after --, e.g. cross-account exec -- npx cdk deploy MyService"
    return (
        f"exec needs a command after --: cross-account exec {named} -- CMD ... runs CMD in the role named {named}; "
        f"for the command {named} itself, write cross-account exec [NAME] -- {named}"
    )


@contextlib.contextmanager
def _nested_refusal(args: argparse.Namespace, environ: Mapping[str, str]) -> Iterator[None]:
    """Inside another exec (CROSS_ACCOUNT_ROLE_ARN is set, and its keys are the source), a refusal is that: one line."""
    outer = environ.get(ROLE_ARN_VARIABLE)
    try:
        yield
    except AccessDeniedError as error:
        if not outer or args.profile is not None:
            raise
        raise CliError(
            f"AccessDenied: this command already runs in a session of {outer} ({ROLE_ARN_VARIABLE} is set by an "
            f"outer cross-account exec), which may not assume {error.role_arn}: run the command without "
            "cross-account exec, or leave the outer one first"
        ) from None


def _exec_with_server(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    from cross_account.cli.run import run_command
    from cross_account.cli.server import CredentialServer, check_default_profile, server_environment

    check_default_profile(profiles.config_path(environ))
    session = role_session(args, environ=environ, cwd=cwd, margin=CREDENTIAL_PROCESS_MARGIN)
    first = session.credentials()
    server = CredentialServer(session.credentials, first, clock=utc_now, warn=warn)
    server.start()
    logger(args.verbose)(f"serving the role's credentials at {server.url}")
    try:
        env = server_environment(environ, url=server.url, token=server.token, credentials=first)
        return run_command(args.command_line, env, keep_background=args.keep_background, warn=warn)
    finally:
        server.stop()
