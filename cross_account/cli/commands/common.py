"""What the commands share: the shape of a command module, the shared flag groups, and the role's session."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeAlias

from cross_account.cli.assume import utc_now
from cross_account.cli.cache import (
    CACHE_DIR_VARIABLE,
    CREDENTIAL_PROCESS_MARGIN,
    REUSE_MARGIN,
    CredentialCache,
    default_directory,
)
from cross_account.cli.credentials import Credentials
from cross_account.cli.errors import CliError
from cross_account.cli.output import logger, note, warn
from cross_account.cli.request import RoleOptions, resolve_request
from cross_account.cli.session import RoleSession
from cross_account.cli.sts import parse_deadline

#: The subparsers of the top-level parser, which each command adds its own to.
Subparsers: TypeAlias = "argparse._SubParsersAction[Any]"  # of the top-level parser's own parser class


@dataclasses.dataclass(frozen=True)
class Shared:
    """The flag groups several commands take (as argparse parents), and the examples their --help ends with."""

    role: argparse.ArgumentParser
    source: argparse.ArgumentParser
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
    args: argparse.Namespace, *, environ: Mapping[str, str], cwd: Path, direct_mfa: bool = False
) -> RoleSession:
    """The request of the role flags, and where its credentials come from (the cache, the MFA session, STS)."""
    request, mfa_token = resolve_request(options(args, environ), cwd=cwd, environ=environ)
    return RoleSession(
        request,
        mfa_token,
        environ=environ,
        deadline=parse_deadline(args.sts_timeout, environ),
        cache=None if args.no_cache else _usable_cache(environ),
        log=logger(args.verbose),
        warn=warn,
        notice=note,
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
        warn(f"not caching: {error}; set {CACHE_DIR_VARIABLE}, or pass --no-cache")
        return None
