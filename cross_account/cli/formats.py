"""The three ways `assume` prints a role's credentials."""

from __future__ import annotations

import json
import shlex
from typing import Final

from cross_account.cli.credentials import Credentials, iso8601

FORMATS: Final = ("env", "json", "credential-process")

#: Variables `exec` and `--format env` take away, so nothing outranks the role's credentials:
#: the JS SDK v3 ignores AWS_ACCESS_KEY_ID whenever AWS_PROFILE is set (aws-sdk-js-v3#2549).
CONFLICTING_VARIABLES: Final = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SECURITY_TOKEN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
)


def render(credentials: Credentials, output_format: str) -> str:
    """The text `assume` prints, newline-terminated."""
    if output_format == "env":
        return render_env(credentials)
    if output_format == "json":
        return json.dumps(credentials.to_dict(), indent=2) + "\n"
    if output_format == "credential-process":
        return render_credential_process(credentials)
    raise ValueError(f"unknown format {output_format!r}")


def render_env(credentials: Credentials) -> str:
    """POSIX shell lines, each value quoted, so ``eval "$(cross-account assume)"`` is safe."""
    lines = [f"unset {' '.join(CONFLICTING_VARIABLES)}"]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in credentials.environment().items()]
    return "\n".join(lines) + "\n"


def render_credential_process(credentials: Credentials) -> str:
    """The AWS ``credential_process`` contract: JSON version 1 with an ISO 8601 ``Expiration``."""
    document = {
        "Version": 1,
        "AccessKeyId": credentials.access_key_id,
        "SecretAccessKey": credentials.secret_access_key,
        "SessionToken": credentials.session_token,
        "Expiration": iso8601(credentials.expiration),
    }
    return json.dumps(document) + "\n"
