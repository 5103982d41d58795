"""Role credentials, and the three ways `assume` prints them."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

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


@dataclass(frozen=True, repr=False)
class Credentials:
    """A role session. ``repr`` hides the secret and the token, so a log line or traceback cannot leak them."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    role_arn: str
    session_name: str
    assumed_role_arn: str = ""
    region: str | None = None

    def __repr__(self) -> str:
        return (
            f"Credentials(access_key_id={self.access_key_id!r}, role_arn={self.role_arn!r}, "
            f"session_name={self.session_name!r}, expiration={iso8601(self.expiration)!r}, secrets=<hidden>)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "SessionToken": self.session_token,
            "Expiration": iso8601(self.expiration),
            "RoleArn": self.role_arn,
            "RoleSessionName": self.session_name,
            "AssumedRoleArn": self.assumed_role_arn,
            "Region": self.region,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Credentials:
        """The inverse of :meth:`to_dict`; raises ``KeyError``/``ValueError``/``TypeError`` on bad data."""
        strings = ("AccessKeyId", "SecretAccessKey", "SessionToken", "RoleArn", "RoleSessionName")
        for key in strings:
            if not isinstance(data[key], str) or not data[key]:
                raise ValueError(f"{key} must be a non-empty string")
        region = data.get("Region")
        return cls(
            access_key_id=data["AccessKeyId"],
            secret_access_key=data["SecretAccessKey"],
            session_token=data["SessionToken"],
            expiration=parse_iso8601(data["Expiration"]),
            role_arn=data["RoleArn"],
            session_name=data["RoleSessionName"],
            assumed_role_arn=str(data.get("AssumedRoleArn") or ""),
            region=region if isinstance(region, str) and region else None,
        )

    def environment(self) -> dict[str, str]:
        """The variables a child process (or an `eval`) gets; region only when it is known."""
        env = {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
            # Read by the JS SDK v3 (so the CDK CLI) and aws-vault-aware tools: they know when to stop.
            "AWS_CREDENTIAL_EXPIRATION": iso8601(self.expiration),
        }
        if self.region:
            env["AWS_REGION"] = self.region
            env["AWS_DEFAULT_REGION"] = self.region
        return env


def iso8601(moment: datetime) -> str:
    """UTC, second precision, ``Z`` suffix: what STS returns and what credential_process expects."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso8601(text: Any) -> datetime:
    if not isinstance(text, str):
        raise TypeError("Expiration must be a string")
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("Expiration must carry a time zone")
    return moment


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
