"""A role session's credentials: the one type the cache, the formats and `exec` share."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

#: What STS issues: an access key ID of 16-128 word characters; a secret and a token of printable ASCII.
_SHAPES: Final = {
    "AccessKeyId": (re.compile(r"^\w{16,128}\Z", re.ASCII), "16-128 letters or digits"),
    "SecretAccessKey": (re.compile(r"^[\x21-\x7e]{1,1024}\Z", re.ASCII), "1-1024 printable ASCII characters"),
    "SessionToken": (re.compile(r"^[\x21-\x7e]{1,16384}\Z", re.ASCII), "1-16384 printable ASCII characters"),
}


def credential_problem(fields: Mapping[str, Any]) -> str | None:
    """What makes these fields not a set of temporary credentials (naming the field, never its value), or None."""
    for name, (shape, rule) in _SHAPES.items():
        value = fields.get(name)
        if not isinstance(value, str) or not shape.match(value):
            return f"{name} is not {rule}"
    return None


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
        problem = credential_problem(data)
        if problem is not None:
            raise ValueError(problem)
        for key in ("RoleArn", "RoleSessionName"):
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


@dataclass(frozen=True)
class Issued:
    """A session STS just issued, and when it was asked for by this machine's clock (after any MFA prompt, before
    the call): what the cache measures the entry's age from, so an MFA age is never counted short."""

    credentials: Credentials
    asked: datetime


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
