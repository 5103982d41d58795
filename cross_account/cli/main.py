"""The parser, the four commands and :func:`main` of ``cross-account``.

Imports stay light: no aws_cdk ever, and boto3 only when STS must be called or the source
credentials must be resolved (a cache hit with the source keys in AWS_* variables loads neither).
configure-profile is offline: it needs no credentials and calls nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

from cross_account import __version__
from cross_account.cli import profile as profiles
from cross_account.cli.assume import (
    RoleOptions,
    RoleRequest,
    call_assume_role,
    resolve_request,
    source_fingerprint,
    utc_now,
)
from cross_account.cli.cache import (
    CACHE_DIR_VARIABLE,
    CREDENTIAL_PROCESS_MARGIN,
    REUSE_MARGIN,
    CredentialCache,
    cache_key,
    default_directory,
    sessions,
)
from cross_account.cli.credentials import Credentials
from cross_account.cli.errors import EXIT_INTERRUPTED, CliError, UsageError
from cross_account.cli.formats import FORMATS, render
from cross_account.cli.sts import DEADLINE_VARIABLE, DEFAULT_DEADLINE, Sts, parse_deadline

__all__ = ["build_parser", "main"]

PROG = "cross-account"

EXAMPLES = """\
examples:
  # the how-to's assume-role + jq + export script, in one line (role and external ID from ./cdk.json):
  eval "$(cross-account assume)"
  # run the deploy with the role's credentials (exit code and signals pass through):
  cross-account exec -- npm run deploy
  cross-account exec --role-arn arn:aws:iam::222222222222:role/CrossAccountAccessRole \\
      --external-id 12345678TESTID --mfa-serial arn:aws:iam::111111111111:mfa/alice -- cdk deploy
  # the role ARN from `cdk deploy TargetStack --outputs-file outputs.json`:
  cross-account assume --from-stack-outputs outputs.json --format json
  # a profile the SDKs refresh themselves (preferred for long deploys):
  cross-account configure-profile deploy-b --source-profile account-a
  cdk deploy --profile deploy-b
  # or one that calls this client (cached, MFA prompted once per session):
  cross-account configure-profile deploy-b --source-profile account-a --credential-process
  cross-account clear-cache

The role comes from --role-arn, else --from-stack-outputs, else ./cdk.json (the app's settings,
which also give the external ID, MFA and duration rules). Credentials are cached (0600 files in
$CROSS_ACCOUNT_CACHE_DIR, $XDG_CACHE_HOME/cross-account or ~/.cache/cross-account) until five
minutes before they expire. STS is reached through AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL if set;
each STS call has 30 seconds, retries included (--sts-timeout or $CROSS_ACCOUNT_STS_TIMEOUT).
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
    role.add_argument("--mfa-serial", metavar="ARN", help="your MFA device; the code is asked on the terminal")
    role.add_argument("--mfa-token", metavar="CODE", help="the 6-digit MFA code, instead of the prompt")
    role.add_argument("--duration", metavar="SECONDS", help="900-43200, within the role's maximum (default 3600)")
    role.add_argument("--region", metavar="REGION", help="exported as AWS_REGION (default: the app's region)")
    parent.add_argument("-v", "--verbose", action="store_true", help="say what happens on stderr (never secrets)")
    return parent


def _source_flags() -> _Parser:
    parent = _Parser(add_help=False)
    parent.add_argument("--profile", metavar="P", help="source credentials of the trusted account (default chain)")
    parent.add_argument("--no-cache", action="store_true", help="neither read nor write the credential cache")
    parent.add_argument(
        "--sts-timeout",
        metavar="SECONDS",
        help=f"deadline of each STS call, retries included (default ${DEADLINE_VARIABLE}, else {DEFAULT_DEADLINE})",
    )
    return parent


def build_parser() -> _Parser:
    role, source = _role_flags(), _source_flags()
    parser = _Parser(
        prog=PROG,
        description="Assume the cross-account role and use its credentials: print them, run a command with "
        "them, or write an AWS profile.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    formatter = argparse.RawDescriptionHelpFormatter

    assume = commands.add_parser(
        "assume", parents=[role, source], help="assume the role and print its credentials", epilog=EXAMPLES,
        formatter_class=formatter, description=_cmd_assume.__doc__,
    )  # fmt: skip
    assume.add_argument("--format", choices=FORMATS, default="env", help="env (default): export lines for eval")
    commands.add_parser(
        "exec", parents=[role, source], help="run a command with the role's credentials: exec [flags] -- CMD ...",
        usage=f"{PROG} exec [flags] -- CMD [ARG ...]", epilog=EXAMPLES, formatter_class=formatter,
        description=_cmd_exec.__doc__,
    )  # fmt: skip
    profile = commands.add_parser(
        "configure-profile", parents=[role], help="write or update a role profile in the AWS config file",
        epilog=EXAMPLES, formatter_class=formatter, description=_cmd_configure_profile.__doc__,
    )  # fmt: skip
    profile.add_argument("name", metavar="NAME", help="the profile to write")
    profile.add_argument("--source-profile", metavar="P", required=True, help="the trusted account's profile")
    profile.add_argument(
        "--credential-process", action="store_true", help="write credential_process = cross-account assume ..."
    )
    commands.add_parser("clear-cache", help="delete every cached role session", description=_cmd_clear_cache.__doc__)
    return parser


def _options(args: argparse.Namespace, **overrides: Any) -> RoleOptions:
    values: dict[str, Any] = {field.name: getattr(args, field.name, None) for field in dataclasses.fields(RoleOptions)}
    values.update(overrides)
    return RoleOptions(**values)


def _logger(verbose: bool) -> Callable[[str], None]:
    def log(message: str) -> None:
        if verbose:
            print(f"{PROG}: {message}", file=sys.stderr)

    return log


def obtain_credentials(
    args: argparse.Namespace, *, environ: Mapping[str, str], cwd: Path, log: Callable[[str], None]
) -> Credentials:
    """From the cache when a session has more than five minutes left (fifteen for credential_process);
    else from STS (and cached)."""
    request, mfa_token = resolve_request(_options(args), cwd=cwd, environ=environ)
    sts = Sts(profile=request.profile, region=request.region, deadline=parse_deadline(args.sts_timeout, environ))
    cache = None if args.no_cache else _usable_cache(environ)
    if cache is None:
        return call_assume_role(request, mfa_token=mfa_token, sts=sts, log=log)
    fields = request.cache_fields(source_fingerprint(request, environ, sts))
    key = cache_key(fields)
    # botocore asks a credential_process again from 15 minutes before expiry: hand it a fresh session then.
    margin = CREDENTIAL_PROCESS_MARGIN if getattr(args, "format", None) == "credential-process" else REUSE_MARGIN
    cached = cache.get(key, fields=fields, margin=margin, need_mfa=request.mfa_serial is not None)
    if cached is not None:
        log(f"cached session {cached.session_name} for {cached.role_arn} (expires {cached.expiration:%H:%M:%S}Z)")
        return dataclasses.replace(cached, region=request.region or cached.region)
    credentials = call_assume_role(request, mfa_token=mfa_token, sts=sts, log=log, now=cache.clock)
    log(f"new session {credentials.session_name}, expires {credentials.expiration.isoformat()}")
    try:
        cache.put(key, credentials, fields=fields, mfa=request.mfa_serial is not None)
    except (CliError, OSError) as error:
        # The credentials are good; only reuse is lost.
        _warn(f"not cached: {error}")
    return credentials


def _usable_cache(environ: Mapping[str, str]) -> CredentialCache | None:
    """The credential cache, or None (with a warning) when there is no home folder to keep it in."""
    try:
        return CredentialCache(default_directory(environ), clock=utc_now)
    except CliError as error:
        _warn(f"not caching: {error}; set {CACHE_DIR_VARIABLE}, or pass --no-cache")
        return None


def _warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def emit(text: str) -> None:
    """Write to stdout now. A closed pipe stays a BrokenPipeError (silence); any other failure (a full disk) is
    one line, and stdout is pointed at /dev/null so the exit flush cannot print a traceback."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        _discard_stdout()
        raise CliError(f"cannot write to standard output: {error.strerror or error}") from None


def _discard_stdout() -> None:
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _cmd_assume(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    """Assume the role and print its credentials as env (export lines), json, or credential-process JSON."""
    credentials = obtain_credentials(args, environ=environ, cwd=cwd, log=_logger(args.verbose))
    emit(render(credentials, args.format))
    return 0


def _cmd_exec(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    """Run CMD with the role's credentials (and AWS_REGION) in its environment; AWS_PROFILE is removed.
    Signals are passed on, and the exit code is CMD's (128+N when a signal N ended it)."""
    from cross_account.cli.run import child_environment, run_command

    if not args.command_line:
        raise UsageError("exec needs a command after --, e.g. cross-account exec -- cdk deploy")
    credentials = obtain_credentials(args, environ=environ, cwd=cwd, log=_logger(args.verbose))
    return run_command(args.command_line, child_environment(credentials, environ))


def _cmd_configure_profile(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    """Write (or update) profile NAME in the AWS config file, so the AWS CLI, the CDK CLI and boto3 assume the
    role themselves, and refresh it. Offline: no credentials are needed, and AWS is not called. Other profiles
    and comments are kept byte for byte; a backup is kept; running it twice changes nothing."""
    name = profiles.validate_profile_name("NAME", args.name)
    source = profiles.validate_profile_name("--source-profile", args.source_profile)
    if name == source:
        raise UsageError("--source-profile must differ from the profile being written")
    if args.mfa_token is not None:
        raise UsageError("--mfa-token is not stored in a profile: the MFA code is asked when needed")
    # The profile's region is the flag's or the app's, never the shell's AWS_REGION of the moment.
    request, _ = resolve_request(_options(args, profile=source), cwd=cwd, environ={})
    if not args.credential_process and (request.source_identity or request.source_identity_from_caller):
        raise UsageError(
            "AWS config role profiles cannot send a source identity (the role requires one, or you gave "
            "--source-identity): add --credential-process"
        )
    if args.credential_process:
        values = _credential_process_values(request, source)
    else:
        values = profiles.profile_values(
            source_profile=source,
            role_arn=request.role_arn,
            external_id=request.external_id,
            mfa_serial=request.mfa_serial,
            duration=request.duration,
            session_name=request.session_name,
            region=request.region,
        )
    result = profiles.write_profile(profiles.config_path(environ), name, values)
    if not result.changed:
        emit(f"profile {name} in {result.path} is already up to date\n")
    elif result.backup is not None:
        emit(f"wrote profile {name} to {result.path} (previous version: {result.backup})\n")
    else:
        emit(f"wrote profile {name} to {result.path} (new file)\n")
    emit(f"{_session_naming(request, credential_process=args.credential_process)}\n")
    emit(f"use it: cdk deploy --profile {name}  |  aws sts get-caller-identity --profile {name}\n")
    return 0


def _session_naming(request: RoleRequest, *, credential_process: bool) -> str:
    """How the sessions of the profile will be named, said once at writing time."""
    if request.session_name is not None:
        return f"sessions will be named {request.session_name} (--session-name)"
    if credential_process:
        return (
            "sessions will be named after the caller (an IAM user's name, or a role's session name), looked up "
            "each time the profile is used"
        )
    return (
        "sessions will be named by the SDK that uses the profile (botocore-session-<time> for the AWS CLI and "
        "boto3); pass --session-name NAME to name them yourself"
    )


def _credential_process_values(request: RoleRequest, source: str) -> dict[str, Any]:
    """A profile whose credential_process line runs `assume` with every value of this request."""
    command = [*profiles.self_command(), "assume", "--format", "credential-process", "--profile", source]
    command += ["--role-arn", request.role_arn]
    for flag, value in (
        ("--external-id", request.external_id),
        ("--session-name", request.session_name),
        ("--source-identity", request.source_identity),
        ("--mfa-serial", request.mfa_serial),
        ("--duration", request.duration),
        ("--region", request.region),
    ):
        if value is not None:
            command += [flag, str(value)]
    if request.source_identity_from_caller:
        command.append("--source-identity-from-caller")
    return profiles.credential_process_values(profiles.credential_process_line(command), region=request.region)


def _cmd_clear_cache(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    """Delete every cached role session (the next assume calls STS again)."""
    try:
        cache = CredentialCache(default_directory(environ))
    except CliError as error:
        raise CliError(f"cannot find the credential cache: {error}; set {CACHE_DIR_VARIABLE}") from None
    removed = cache.clear()
    emit(f"removed {sessions(removed)} from {cache.directory}\n")
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace, Mapping[str, str], Path], int]] = {
    "assume": _cmd_assume,
    "exec": _cmd_exec,
    "configure-profile": _cmd_configure_profile,
    "clear-cache": _cmd_clear_cache,
}


def _split_command(argv: Sequence[str]) -> tuple[list[str], list[str] | None]:
    """`exec [flags] -- CMD ...`: everything after the first `--` belongs to CMD, untouched by argparse."""
    items = list(argv)
    if "--" in items:
        index = items.index("--")
        return items[:index], items[index + 1 :]
    return items, None


def _run(arguments: list[str], command_line: list[str] | None) -> int:
    try:
        args = build_parser().parse_args(arguments)
    except _ParserExit as done:  # --help, --version
        return done.status
    if command_line is not None and args.command != "exec":
        raise UsageError(f"{args.command} takes no command after --")
    args.command_line = command_line or []
    return _COMMANDS[args.command](args, os.environ, Path.cwd())


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
        _discard_stdout()
        return 1
