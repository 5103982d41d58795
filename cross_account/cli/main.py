"""The parser, the commands and :func:`main` of ``cross-account``.

Imports stay light: no aws_cdk ever, and boto3 only when STS must be called or the source
credentials must be resolved (a cache hit with the source keys in AWS_* variables loads neither).
configure-profile and list are offline: they need no credentials and call nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import inspect
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
    load_settings,
    resolve_request,
    utc_now,
)
from cross_account.cli.cache import (
    CACHE_DIR_VARIABLE,
    CREDENTIAL_PROCESS_MARGIN,
    REUSE_MARGIN,
    CredentialCache,
    default_directory,
    sessions,
)
from cross_account.cli.credentials import Credentials
from cross_account.cli.errors import EXIT_INTERRUPTED, CliError, UsageError, checked_flag
from cross_account.cli.formats import FORMATS, render
from cross_account.cli.session import RoleSession
from cross_account.cli.sts import DEADLINE_VARIABLE, DEFAULT_DEADLINE, parse_deadline
from cross_account.rules import validate_profile_name

__all__ = ["build_parser", "main"]

PROG = "cross-account"

EXAMPLES = """\
examples:
  # the how-to's assume-role + jq + export script, in one line (role and external ID from ./cdk.json):
  eval "$(cross-account assume)"
  # run the deploy with the role's credentials (exit code and signals pass through):
  cross-account exec -- npm run deploy
  # ... served to it and renewed before they expire, for deploys longer than one session:
  cross-account exec --server -- npm run deploy
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
  aws cloudformation deploy --profile deploy-b --stack-name my-service --template-file my-service.json
  # or one that calls this client (cached, MFA prompted once per session):
  cross-account configure-profile deploy-b --source-profile account-a --credential-process
  cross-account clear-cache

The role comes from --role-arn, else --from-stack-outputs, else ./cdk.json (the app's settings,
which also give the external ID, MFA and duration rules). Credentials are cached (0600 files in
$CROSS_ACCOUNT_CACHE_DIR, $XDG_CACHE_HOME/cross-account or ~/.cache/cross-account) until five
minutes before they expire; with --mfa-serial, an MFA session (GetSessionToken) is cached too, and roles are
assumed from it without a new code. STS is called at the region's endpoint, or AWS_ENDPOINT_URL_STS /
AWS_ENDPOINT_URL if set; each STS call has 30 seconds, retries included (--sts-timeout or
$CROSS_ACCOUNT_STS_TIMEOUT).
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


def _doc(command: Callable[..., int]) -> str:
    """A command's docstring as its --help description, without the source's indentation."""
    return inspect.cleandoc(command.__doc__ or "")


def build_parser() -> _Parser:
    role, source = _role_flags(), _source_flags()
    parser = _Parser(
        prog=PROG,
        description="Assume the cross-account role and use its credentials: print them, run a command with "
        "them (refreshed for long runs), sign in to the console, or write an AWS profile; list the app's roles.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    formatter = argparse.RawDescriptionHelpFormatter

    assume = commands.add_parser(
        "assume", parents=[role, source], help="assume the role and print its credentials", epilog=EXAMPLES,
        formatter_class=formatter, description=_doc(_cmd_assume),
    )  # fmt: skip
    assume.add_argument("--format", choices=FORMATS, default="env", help="env (default): export lines for eval")
    run = commands.add_parser(
        "exec", parents=[role, source], help="run a command with the role's credentials: exec [flags] -- CMD ...",
        usage=f"{PROG} exec [flags] -- CMD [ARG ...]", epilog=EXAMPLES, formatter_class=formatter,
        description=_doc(_cmd_exec),
    )  # fmt: skip
    run.add_argument(
        "--server",
        action="store_true",
        help="serve the credentials on 127.0.0.1 (container-credentials protocol) and renew them before they "
        "expire, instead of putting them in the environment",
    )
    console = commands.add_parser(
        "console", parents=[role, source], help="sign in to the role's account in the AWS console",
        epilog=EXAMPLES, formatter_class=formatter, description=_doc(_cmd_console),
    )  # fmt: skip
    console.add_argument("--print", action="store_true", help="print the sign-in URL (a secret) instead of opening it")
    page = console.add_mutually_exclusive_group()
    page.add_argument("--service", metavar="NAME", help="the console page of a service: s3, cloudformation, iam, ...")
    page.add_argument("--destination", metavar="URL", help="a console URL to land on")
    console.add_argument(
        "--console-duration",
        metavar="SECONDS",
        help="the console session's length, 900-43200 (default 3600; 3600 at most from temporary credentials)",
    )
    listing = commands.add_parser(
        "list", help="list the app's roles, what each requires, and the AWS profiles that point at them",
        description=_doc(_cmd_list),
    )  # fmt: skip
    listing.add_argument("--cdk-json", metavar="FILE", help="the app's cdk.json (default: ./cdk.json)")
    listing.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
    profile = commands.add_parser(
        "configure-profile", parents=[role], help="write or update a role profile in the AWS config file",
        epilog=EXAMPLES, formatter_class=formatter, description=_doc(_cmd_configure_profile),
    )  # fmt: skip
    profile.add_argument("name", metavar="NAME", help="the profile to write")
    profile.add_argument("--source-profile", metavar="P", required=True, help="the trusted account's profile")
    profile.add_argument(
        "--credential-process", action="store_true", help="write credential_process = cross-account assume ..."
    )
    commands.add_parser(
        "clear-cache", help="delete every cached role session and MFA session", description=_doc(_cmd_clear_cache)
    )
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


def role_session(
    args: argparse.Namespace, *, environ: Mapping[str, str], cwd: Path, direct_mfa: bool = False
) -> RoleSession:
    """The request of the role flags, and where its credentials come from (the cache, the MFA session, STS)."""
    request, mfa_token = resolve_request(_options(args), cwd=cwd, environ=environ)
    return RoleSession(
        request,
        mfa_token,
        environ=environ,
        deadline=parse_deadline(args.sts_timeout, environ),
        cache=None if args.no_cache else _usable_cache(environ),
        log=_logger(args.verbose),
        warn=_warn,
        notice=_note,
        direct_mfa=direct_mfa,
    )


def obtain_credentials(args: argparse.Namespace, *, environ: Mapping[str, str], cwd: Path) -> Credentials:
    """From the cache when a session has more than five minutes left (fifteen for credential_process);
    else from STS (and cached)."""
    # botocore asks a credential_process again from 15 minutes before expiry: hand it a fresh session then.
    margin = CREDENTIAL_PROCESS_MARGIN if getattr(args, "format", None) == "credential-process" else REUSE_MARGIN
    return role_session(args, environ=environ, cwd=cwd).credentials(margin)


def _usable_cache(environ: Mapping[str, str]) -> CredentialCache | None:
    """The credential cache, or None (with a warning) when there is no home folder to keep it in."""
    try:
        return CredentialCache(default_directory(environ), clock=utc_now)
    except CliError as error:
        _warn(f"not caching: {error}; set {CACHE_DIR_VARIABLE}, or pass --no-cache")
        return None


def _warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def _note(message: str) -> None:
    print(f"{PROG}: note: {message}", file=sys.stderr)


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
    credentials = obtain_credentials(args, environ=environ, cwd=cwd)
    emit(render(credentials, args.format))
    return 0


def _cmd_exec(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    """Run CMD with the role's credentials (and AWS_REGION) in its environment; AWS_PROFILE is removed.
    Signals are passed on, and the exit code is CMD's (128+N when a signal N ended it).

    With --server, the credentials are served to CMD instead (AWS_CONTAINER_CREDENTIALS_FULL_URI on 127.0.0.1,
    with a fresh AWS_CONTAINER_AUTHORIZATION_TOKEN), and the role is assumed again before they expire, so a
    command that outlasts one session keeps working. The SDKs ask on their own (tested: boto3 and the AWS CLI).
    The command's shared credentials file is /dev/null, as its default profile would come first."""
    from cross_account.cli.run import child_environment, run_command

    if not args.command_line:
        raise UsageError("exec needs a command after --, e.g. cross-account exec -- cdk deploy")
    if args.server:
        return _exec_with_server(args, environ, cwd)
    credentials = obtain_credentials(args, environ=environ, cwd=cwd)
    return run_command(args.command_line, child_environment(credentials, environ))


def _exec_with_server(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    from cross_account.cli.run import run_command
    from cross_account.cli.server import CredentialServer, check_default_profile, server_environment

    check_default_profile(profiles.config_path(environ))
    session = role_session(args, environ=environ, cwd=cwd)
    first = session.credentials(CREDENTIAL_PROCESS_MARGIN)
    server = CredentialServer(lambda: session.credentials(CREDENTIAL_PROCESS_MARGIN), first, clock=utc_now, warn=_warn)
    server.start()
    _logger(args.verbose)(f"serving the role's credentials at {server.url}")
    try:
        env = server_environment(environ, url=server.url, token=server.token, credentials=first)
        return run_command(args.command_line, env)
    finally:
        server.stop()


def _cmd_console(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    """Assume the role (flags, cache and MFA as for assume) and sign in to its account's AWS console through the
    federation endpoint (getSigninToken), which takes roles that require an external ID; the console's own
    switch-role cannot send one. Opens the browser (webbrowser, $BROWSER), or prints the URL with --print: it
    holds a sign-in token, valid 15 minutes, so treat it as a secret. The endpoint follows the role's partition;
    CROSS_ACCOUNT_FEDERATION_ENDPOINT overrides it. --console-duration sets the console session's length
    (900-43200 s, default 3600); from temporary credentials (SSO, a role, an MFA session) the session is
    role-chained and AWS allows 1 hour at most."""
    from cross_account.cli import console

    seconds = console.console_duration(args.console_duration)
    session = role_session(args, environ=environ, cwd=cwd, direct_mfa=seconds > console.DEFAULT_CONSOLE_SECONDS)
    request = session.request
    partition = request.role_arn.split(":")[1]
    target = console.Console(
        endpoint=console.federation_endpoint(partition, environ),
        destination=console.destination(partition, request.region, service=args.service, url=args.destination),
    )
    console.check_not_chained(seconds, chained=seconds > console.DEFAULT_CONSOLE_SECONDS and session.chained())
    credentials = session.credentials()
    token = console.signin_token(target, credentials, session_duration=seconds, deadline=session.sts.deadline)
    _logger(args.verbose)(f"got a sign-in token for {credentials.role_arn} (valid 15 minutes; not shown)")
    url = console.login_url(target, token)
    if args.print:
        emit(url + "\n")
    else:
        console.open_in_browser(url)
        print(f"{PROG}: opened the console for {request.role_arn} in the browser", file=sys.stderr)
    return 0


def _cmd_list(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
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
        _warn(f"profiles not listed: {config} cannot be read by the AWS SDKs ({type(error).__name__})")
        found_profiles = {}
    found = listing.rows(settings, found_profiles)
    render_list = listing.as_json if args.format == "json" else listing.as_text
    emit(render_list(settings, path, found))
    return 0


def _cmd_configure_profile(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    """Write (or update) profile NAME in the AWS config file, so the AWS CLI, the CDK CLI and boto3 assume the
    role themselves, and refresh it. Offline: no credentials are needed, and AWS is not called. Other profiles
    and comments are kept byte for byte; a backup is kept; running it twice changes nothing."""
    name = checked_flag("NAME", args.name, validate_profile_name)
    source = checked_flag("--source-profile", args.source_profile, validate_profile_name)
    if name == source:
        raise UsageError("--source-profile must differ from the profile being written")
    if args.mfa_token is not None:
        raise UsageError("--mfa-token is not stored in a profile: the MFA code is asked when needed")
    if args.tag and not args.credential_process:
        raise UsageError("AWS config role profiles cannot send session tags: add --credential-process")
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
    emit(f"use it: aws sts get-caller-identity --profile {name}  |  aws cloudformation deploy --profile {name} …\n")
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
    for key, value in request.tags:
        command += ["--tag", f"{key}={value}"]
    for key in request.transitive_tag_keys:
        command += ["--transitive-tag", key]
    return profiles.credential_process_values(profiles.credential_process_line(command), region=request.region)


def _cmd_clear_cache(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    """Delete every cached role session and MFA session (the next assume calls STS again, and asks for a new MFA
    code)."""
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
    "console": _cmd_console,
    "list": _cmd_list,
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
