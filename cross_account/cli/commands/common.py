"""What the commands share: the shape of a command module, the shared flag groups, and the role's session."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol, TypeAlias

from cross_account.cli import source_keys
from cross_account.cli.assume import utc_now
from cross_account.cli.cache import (
    CACHE_DIR_VARIABLE,
    CREDENTIAL_PROCESS_MARGIN,
    FILE_CACHE_VARIABLE,
    REUSE_MARGIN,
    CredentialCache,
    KeychainStore,
    default_directory,
    file_cache_lifetime,
    file_cache_opted_in,
)
from cross_account.cli.credentials import Credentials
from cross_account.cli.errors import CliError
from cross_account.cli.keychain import Keychain, find_keychain
from cross_account.cli.output import logger, note, say, warn
from cross_account.cli.request import RoleOptions, resolve_request
from cross_account.cli.session import RoleSession
from cross_account.cli.sources import MfaCode
from cross_account.cli.sts import parse_deadline
from cross_account.cli.user_config import check_allowed, load_user_config

#: The subparsers of the top-level parser, which each command adds its own to.
Subparsers: TypeAlias = "argparse._SubParsersAction[Any]"  # of the top-level parser's own parser class


@dataclasses.dataclass(frozen=True)
class Shared:
    """The flag groups several commands take (as argparse parents), and the examples their --help ends with."""

    role: argparse.ArgumentParser
    source: argparse.ArgumentParser
    #: --sts-timeout alone (part of `source`), for commands that call AWS without assuming the role.
    timeout: argparse.ArgumentParser
    examples: str

    def add_role_command(
        self,
        commands: Subparsers,
        run: Callable[..., int],
        *,
        name: str,
        help: str,
        source: bool = True,
        named: bool = False,
        **extra: Any,
    ) -> argparse.ArgumentParser:
        """The parser of a command that takes the role flags (and the source flags unless `source` is false; and a
        role's NAME first when `named`): its description is `run`'s docstring, and its --help ends with the examples."""
        parents = [self.role, self.source] if source else [self.role]
        parser: argparse.ArgumentParser = commands.add_parser(
            name, parents=parents, help=help, epilog=self.examples,
            formatter_class=argparse.RawDescriptionHelpFormatter, description=doc(run), **extra,
        )  # fmt: skip
        if named:
            parser.add_argument(
                "named", metavar="NAME", nargs="?",
                help="a role profile written by configure-profile NAME: its role, external ID, MFA device, duration "
                "and source profile, from any folder (flags given here win)",
            )  # fmt: skip
        return parser


class Command(Protocol):
    """A command module: its name on the command line, its flags, and its action (which returns the exit code)."""

    @property
    def NAME(self) -> str: ...

    def add_parser(self, commands: Subparsers, shared: Shared) -> None: ...

    def run(self, args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int: ...


def doc(command: Callable[..., int]) -> str:
    """A command's docstring as its --help description, without the source's indentation."""
    return inspect.cleandoc(command.__doc__ or "")


def options(args: argparse.Namespace, environ: Mapping[str, str], **overrides: Any) -> RoleOptions:
    """The role flags of `args`, completed by the role NAME names (if any) and $CROSS_ACCOUNT_CDK_JSON."""
    from cross_account.cli.names import with_named_role

    values: dict[str, Any] = {field.name: getattr(args, field.name, None) for field in dataclasses.fields(RoleOptions)}
    values.update(overrides)
    return RoleOptions(**with_named_role(getattr(args, "named", None), values, environ))


def role_session(
    args: argparse.Namespace,
    *,
    environ: Mapping[str, str],
    cwd: Path,
    margin: timedelta = REUSE_MARGIN,
    unchained: bool = False,
) -> RoleSession:
    """The request of the role flags, and where its credentials come from (the cache, the MFA session, STS): a
    cached session serves while it has more than `margin` left; `unchained`: the session must not be role-chained."""
    request, mfa_token = resolve_request(options(args, environ), cwd=cwd, environ=environ)
    origin = _origin(args, request.origin, environ)
    check_allowed(request.role_arn, origin, load_user_config(environ))
    say(f"assuming {request.role_arn} (from {origin})")
    log = logger(args.verbose)
    keychain = find_keychain(environ) if request.profile is not None or not args.no_cache else None
    keys = _keychain_keys(keychain, request.profile, log)
    cache = None if args.no_cache else usable_cache(environ, keychain, file_cache=args.file_cache, log=log)
    if cache is None and not args.no_cache and request.mfa_serial is not None:
        note(
            "there is no keychain, so the MFA session is not kept and each run asks for a code; "
            f"{FILE_CACHE_VARIABLE}=1 (or --file-cache) keeps it in a plaintext file for 1 hour"
        )
    return RoleSession(
        request,
        MfaCode(mfa_token),
        environ=environ,
        deadline=parse_deadline(args.sts_timeout, environ),
        cache=cache,
        log=log,
        warn=warn,
        notice=note,
        margin=margin,
        unchained=unchained,
        source_keys=keys,
    )


def _origin(args: argparse.Namespace, origin: str, environ: Mapping[str, str]) -> str:
    """Where the role came from, as the user set it: a named role's profile, or $CROSS_ACCOUNT_CDK_JSON."""
    from cross_account.cli import profile as profiles
    from cross_account.cli.names import CDK_JSON_VARIABLE

    named = getattr(args, "named", None)
    if named:
        return f"named role {named} in {profiles.config_path(environ)}"
    if args.cdk_json is None and environ.get(CDK_JSON_VARIABLE) and origin.startswith("--cdk-json "):
        return f"{CDK_JSON_VARIABLE}={origin.removeprefix('--cdk-json ')}"
    return origin


def _keychain_keys(
    keychain: Keychain | None, profile: str | None, log: Callable[[str], None]
) -> tuple[str, str] | None:
    """The --profile's access keys, when the keychain holds them (`cross-account add`): they come first."""
    if keychain is None or profile is None:
        return None
    keys = source_keys.load(keychain, profile)
    if keys is None:
        return None
    log(f"the source credentials of profile {profile} are its access key {keys.access_key_id} in the keychain")
    return keys.access_key_id, keys.secret_access_key


def obtain_credentials(args: argparse.Namespace, *, environ: Mapping[str, str], cwd: Path) -> Credentials:
    """From the cache when a session has more than five minutes left (fifteen for credential_process);
    else from STS (and cached)."""
    # botocore asks a credential_process again from 15 minutes before expiry: hand it a fresh session then.
    margin = CREDENTIAL_PROCESS_MARGIN if getattr(args, "format", None) == "credential-process" else REUSE_MARGIN
    return role_session(args, environ=environ, cwd=cwd, margin=margin).credentials()


def usable_cache(
    environ: Mapping[str, str], keychain: Keychain | None, *, file_cache: bool, log: Callable[[str], None]
) -> CredentialCache | None:
    """The credential cache: the OS keychain; where there is none, the plaintext file cache if the user opted in
    (--file-cache, CROSS_ACCOUNT_FILE_CACHE=1), which keeps entries one hour by default; else None."""
    if keychain is not None:
        log(f"sessions are cached in the keychain ({keychain.name})")
        return CredentialCache(KeychainStore(keychain, clock=utc_now), clock=utc_now)
    if not file_cache_opted_in(file_cache, environ):
        log(f"no keychain and no file cache ({FILE_CACHE_VARIABLE}): nothing is cached")
        return None
    keep = file_cache_lifetime(environ)
    try:
        return CredentialCache(default_directory(environ), clock=utc_now, keep=keep, announce=note)
    except CliError as error:
        warn(f"not caching: {error}; set {CACHE_DIR_VARIABLE}, or pass --no-cache")
        return None


def require_keychain(environ: Mapping[str, str], consequence: str) -> Keychain:
    """The OS keychain; one line when keyring finds none (`consequence`: what does not happen then)."""
    keychain = find_keychain(environ)
    if keychain is None:
        raise CliError(
            f"there is no OS keychain (keyring found no Secret Service, macOS Keychain or Windows Credential Locker), "
            f"so {consequence}: this client never writes access keys in plaintext"
        )
    return keychain
