"""`cross-account configure-profile`: write or update a role profile in the AWS config file (offline)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from cross_account.cli import profile as profiles
from cross_account.cli.commands.common import Shared, Subparsers, options
from cross_account.cli.errors import UsageError, checked_flag
from cross_account.cli.names import caller_session_name, check_source_profile
from cross_account.cli.output import emit
from cross_account.cli.request import RoleRequest, resolve_request
from cross_account.cli.user_config import check_allowed, load_user_config
from cross_account.rules import validate_profile_name

NAME: Final = "configure-profile"


def add_parser(commands: Subparsers, shared: Shared) -> None:
    parser = shared.add_role_command(
        commands, run, name=NAME, help="write or update a role profile in the AWS config file", source=False
    )
    parser.add_argument("name", metavar="NAME", help="the profile to write")
    parser.add_argument("--source-profile", metavar="P", required=True, help="the trusted account's profile")
    parser.add_argument(
        "--credential-process", action="store_true", help="write credential_process = cross-account assume ..."
    )


def run(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    """Write (or update) profile NAME in the AWS config file, so the AWS CLI, the CDK CLI and boto3 assume the
    role themselves, and refresh it; NAME then works as cross-account exec NAME -- CMD, assume NAME and console
    NAME from any folder. Sessions are named after you, as exec names them: without --session-name, your IAM user
    name (or your role session's name) is looked up once with the source profile (GetCallerIdentity, which needs
    no permission); with --session-name or --credential-process, nothing is called. Other profiles and comments
    are kept byte for byte; a backup is kept; running it twice changes nothing."""
    name = checked_flag("NAME", args.name, validate_profile_name)
    source = checked_flag("--source-profile", args.source_profile, validate_profile_name)
    if name == source:
        raise UsageError("--source-profile must differ from the profile being written")
    check_source_profile(source, environ)
    if args.mfa_token is not None:
        raise UsageError("--mfa-token is not stored in a profile: the MFA code is asked when needed")
    if args.tag and not args.credential_process:
        raise UsageError("AWS config role profiles cannot send session tags: add --credential-process")
    # The profile's region is the flag's or the app's, never the shell's AWS_REGION of the moment.
    request, _ = resolve_request(options(args, environ, profile=source), cwd=cwd, environ={})
    check_allowed(request.role_arn, request.origin, load_user_config(environ))
    if not args.credential_process and (request.source_identity or request.source_identity_from_caller):
        raise UsageError(
            "AWS config role profiles cannot send a source identity (the role requires one, or you gave "
            "--source-identity): add --credential-process"
        )
    looked_up = None
    if args.credential_process:
        values = _credential_process_values(request, source)
    else:
        if request.session_name is None:
            looked_up = caller_session_name(request, environ)
            request = replace(request, session_name=looked_up)
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
    emit(f"{_session_naming(request, credential_process=args.credential_process, looked_up=looked_up)}\n")
    emit(f"use it: aws sts get-caller-identity --profile {name}  |  AWS_PROFILE={name} npx cdk deploy MyService\n")
    return 0


def _session_naming(request: RoleRequest, *, credential_process: bool, looked_up: str | None) -> str:
    """How the sessions of the profile will be named, said once at writing time."""
    if looked_up is not None:
        return (
            f"sessions will be named {looked_up} (your name, looked up with profile {request.profile}), so the "
            "target account's CloudTrail shows who acted; --session-name NAME names them otherwise"
        )
    if request.session_name is not None:
        return f"sessions will be named {request.session_name} (--session-name)"
    return (
        "sessions will be named after the caller (an IAM user's name, or a role's session name), looked up "
        "each time the profile is used"
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
