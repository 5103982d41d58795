"""The top-level parser of ``cross-account``, the flag groups its commands share, dispatch, and :func:`main`.

Each command's own flags and action are in its module of :mod:`cross_account.cli.commands`.

Imports stay light: no aws_cdk ever, and boto3 only when STS must be called or the source
credentials must be resolved (a cache hit with the source keys in AWS_* variables loads neither).
configure-profile and list are offline: they need no credentials and call nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Final, NoReturn

from cross_account import __version__
from cross_account.cli.commands import (
    add,
    assume,
    clear_cache,
    configure_profile,
    console,
    exec_command,
    list_roles,
    rotate,
)
from cross_account.cli.commands.common import Command, Shared
from cross_account.cli.errors import EXIT_INTERRUPTED, CliError, UsageError
from cross_account.cli.output import PROG, discard_stdout, emit
from cross_account.cli.sts import DEADLINE_VARIABLE, DEFAULT_DEADLINE

__all__ = ["build_parser", "main"]

#: In the order --help lists them.
_COMMANDS: tuple[Command, ...] = (
    assume,
    exec_command,
    console,
    list_roles,
    configure_profile,
    clear_cache,
    add,
    rotate,
)
_BY_NAME: dict[str, Command] = {command.NAME: command for command in _COMMANDS}

EXAMPLES = """\
examples:
  # the how-to's assume-role + jq + export script, in one line (role and external ID from ./cdk.json):
  eval "$(cross-account assume)"
  # deploy your service into the target account through the role's deploy lane (its stack uses
  # cross_account.DeployLaneSynthesizer; exit code and signals pass through):
  cross-account exec -- npx cdk deploy MyService
  # ... served to it and renewed before they expire, for deploys longer than one session:
  cross-account exec --server -- npx cdk deploy MyService
  # sign in to the target account's console (works with an external ID, which switch-role cannot send):
  cross-account console --service cloudformation
  # one MFA code for every role, tier and account for a while (cached MFA session):
  cross-account assume --mfa-serial arn:aws:iam::111111111111:mfa/alice --tier Admin
  # tag the session (the role must allow session tags):
  cross-account assume --tag team=platform --transitive-tag team
  # the app's roles, what each requires, and the profiles that point at them:
  cross-account list
  cross-account exec --role-arn arn:aws:iam::222222222222:role/CrossAccountAccessRole \\
      --external-id 12345678TESTID --mfa-serial arn:aws:iam::111111111111:mfa/alice -- npm run deploy
  # the role ARN from `cdk deploy TargetStack --outputs-file outputs.json`:
  cross-account assume --from-stack-outputs outputs.json --format json
  # a profile the SDKs refresh themselves (preferred for long deploys):
  cross-account configure-profile deploy-b --source-profile account-a
  aws cloudformation deploy --profile deploy-b --stack-name my-service --template-file my-service.json \\
      --tags cross-account:deploy-lane=CrossAccountAccessRole
  # or one that calls this client (cached, MFA prompted once per session):
  cross-account configure-profile deploy-b --source-profile account-a --credential-process
  cross-account clear-cache
  # keep an IAM user's access keys in the keychain (asked on the terminal, never argv), then rotate them:
  cross-account add account-a
  cross-account rotate account-a

The role comes from --role-arn, else --from-stack-outputs, else ./cdk.json (the app's settings,
which also give the external ID, MFA and duration rules); stderr says which role and from where, and
allowed_accounts in ~/.config/cross-account/config.toml refuses any other account. Credentials are cached in
the OS keychain (keyring) until five minutes before they expire; with --mfa-serial, an MFA session
(GetSessionToken) is cached too, and roles are assumed from it without a new code. Without a keychain nothing
is cached unless you opt in (--file-cache, CROSS_ACCOUNT_FILE_CACHE=1): 0600 files kept 1 hour, in
$CROSS_ACCOUNT_CACHE_DIR, $XDG_CACHE_HOME/cross-account or ~/.cache/cross-account. STS is called at the
region's endpoint, or AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL if set; each STS call has 30 seconds, retries
included (--sts-timeout or $CROSS_ACCOUNT_STS_TIMEOUT).
"""


class _ParserExit(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, and --help/--version return instead of exiting."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix(PROG).strip()
        raise UsageError(f"{command + ': ' if command else ''}{message} (see --help)")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise _ParserExit(status)


def _role_flags() -> _Parser:
    parent = _Parser(add_help=False)
    role = parent.add_argument_group("role (the rules of the app settings apply to every value)")
    role.add_argument("--role-arn", metavar="ARN", help="the role to assume")
    role.add_argument(
        "--from-stack-outputs", metavar="FILE", help="read RoleArn/ExternalId from a cdk deploy --outputs-file JSON"
    )
    role.add_argument("--cdk-json", metavar="FILE", help="the app's cdk.json (default: ./cdk.json when present)")
    role.add_argument("--account", metavar="ID", help="which target account of the app (default: target_account_id)")
    role.add_argument("--tier", metavar="NAME", help="which role tier of the app (default: the first)")
    role.add_argument("--external-id", metavar="ID", help="default: the app's first external ID")
    role.add_argument("--session-name", metavar="NAME", help="default: your IAM user name (GetCallerIdentity)")
    role.add_argument(
        "--source-identity", metavar="NAME", help="default: your own name if the role requires one (see below)"
    )
    role.add_argument(
        "--source-identity-from-caller",
        action="store_true",
        help="send your own name as the source identity: your IAM user name, or your role session name when you "
        "are a role (the default when the app requires a source identity)",
    )
    role.add_argument(
        "--mfa-serial",
        metavar="ARN",
        help="your MFA device; the code is asked on the terminal, else read as one line of standard input",
    )
    role.add_argument(
        "--mfa-token",
        metavar="CODE",
        help="the 6-digit MFA code, visible to every local user in ps while the command runs: for scripts, "
        "prefer standard input (echo CODE | cross-account ...)",
    )
    role.add_argument("--duration", metavar="SECONDS", help="900-43200, within the role's maximum (default 3600)")
    role.add_argument("--region", metavar="REGION", help="exported as AWS_REGION (default: the app's region)")
    role.add_argument(
        "--tag",
        metavar="KEY=VALUE",
        action="append",
        help="a session tag (repeatable, at most 50; the role must allow session tags)",
    )
    role.add_argument(
        "--transitive-tag",
        metavar="KEY",
        action="append",
        help="the tag KEY passes on to sessions assumed from this one (repeatable; KEY must be a --tag)",
    )
    parent.add_argument("-v", "--verbose", action="store_true", help="say what happens on stderr (never secrets)")
    return parent


def _timeout_flag() -> _Parser:
    parent = _Parser(add_help=False)
    parent.add_argument(
        "--sts-timeout",
        metavar="SECONDS",
        help=f"deadline of each call to AWS, retries included (default ${DEADLINE_VARIABLE}, else {DEFAULT_DEADLINE})",
    )
    return parent


def _source_flags(timeout: _Parser) -> _Parser:
    parent = _Parser(add_help=False, parents=[timeout])
    parent.add_argument("--profile", metavar="P", help="source credentials of the trusted account (default chain)")
    parent.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the credential cache (keychain or file)"
    )
    parent.add_argument(
        "--file-cache",
        action="store_true",
        help="where there is no OS keychain, cache sessions in plaintext 0600 files, kept 1 hour "
        "(CROSS_ACCOUNT_FILE_CACHE=1; CROSS_ACCOUNT_FILE_CACHE_SECONDS); said on stderr whenever one is written",
    )
    return parent


def build_parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        description="Assume the cross-account role and use its credentials: print them, run a command with "
        "them (refreshed for long runs), sign in to the console, or write an AWS profile; list the app's roles.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    timeout = _timeout_flag()
    shared = Shared(role=_role_flags(), source=_source_flags(timeout), timeout=timeout, examples=EXAMPLES)
    for command in _COMMANDS:
        command.add_parser(commands, shared)
    return parser


_EXEC_HINT: Final = "; exec runs the command after --: cross-account exec [NAME] [flags] -- CMD [ARG ...]"


def _split_command(argv: Sequence[str]) -> tuple[list[str], list[str] | None]:
    """`exec [flags] -- CMD ...`: everything after the first `--` belongs to CMD, untouched by argparse."""
    items = list(argv)
    if "--" in items:
        index = items.index("--")
        return items[:index], items[index + 1 :]
    return items, None


def _run(arguments: list[str], command_line: list[str] | None) -> int:
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(arguments)
    except _ParserExit as done:  # --help, --version
        return done.status
    if extra:
        hint = _EXEC_HINT if args.command == exec_command.NAME and command_line is None else ""
        parser.error(f"unrecognized arguments: {' '.join(extra)}{hint}")
    if command_line is not None and args.command != exec_command.NAME:
        raise UsageError(f"{args.command} takes no command after --")
    args.command_line = command_line or []
    return _BY_NAME[args.command].run(args, os.environ, Path.cwd())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status. Expected failures print one line on stderr."""
    arguments, command_line = _split_command(sys.argv[1:] if argv is None else argv)
    stderr: IO[str] = sys.stderr
    try:
        status = _run(arguments, command_line)
        emit("")  # flush now: a write that fails is one line here, not a traceback at exit
        return status
    except CliError as error:
        print(f"{PROG}: {error}", file=stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`); nothing left to say, and nowhere to say it.
        discard_stdout()
        return 1
