"""What a caller must bring to assume a role, as one value.

Derived once from a role's props (:attr:`CrossAccountRoleProps.caller`), and read by every side
that must agree on it: the role's trust, the trusted account's grant (:class:`CrossAccountAssumers`),
TargetStack's ready-made command, and the client's request, ``list`` and ``configure-profile``.
Adding a condition callers must meet touches the props, the trust and this type. No CDK import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class CallerRequirements:
    """What a caller sends with ``sts:AssumeRole``, besides being allowed to call it."""

    #: One of these as ``sts:ExternalId``. Default: none.
    external_ids: tuple[str, ...] = ()
    #: An MFA sign-in (``aws:MultiFactorAuthPresent``). Default: false.
    mfa: bool = False
    #: With ``mfa``: at most this old (``aws:MultiFactorAuthAge``). Default: any age.
    mfa_max_age_seconds: int | None = None
    #: A source identity (``sts:SetSourceIdentity``): an IAM user's own name, a named role's choice. Default: false.
    source_identity: bool = False
    #: Session tags may be sent (``sts:TagSession``). Default: false.
    session_tags: bool = False
    #: With ``session_tags``: only these keys. Default: any key.
    session_tag_keys: tuple[str, ...] = ()

    @property
    def assume_actions(self) -> list[str]:
        """The STS actions one AssumeRole request of such a caller is authorized for."""
        actions = ["sts:AssumeRole"]
        if self.source_identity:
            actions.append("sts:SetSourceIdentity")
        if self.session_tags:
            actions.append("sts:TagSession")
        return actions

    def described(self) -> list[str]:
        """Each requirement in words, for ``list``."""
        parts = []
        if self.external_ids:
            parts.append("external ID")
        if self.mfa:
            age = f" at most {self.mfa_max_age_seconds} s old" if self.mfa_max_age_seconds is not None else ""
            parts.append(f"MFA{age}")
        if self.source_identity:
            parts.append("source identity")
        if self.session_tags:
            keys = f" ({', '.join(self.session_tag_keys)})" if self.session_tag_keys else ""
            parts.append(f"session tags allowed{keys}")
        return parts

    def as_json(self) -> dict[str, Any]:
        """The requirements as ``list --format json`` shows them: ``requires`` and ``session_tags``."""
        return {
            "requires": {
                "external_id": bool(self.external_ids),
                "mfa": self.mfa,
                "mfa_max_age_seconds": self.mfa_max_age_seconds,
                "source_identity": self.source_identity,
            },
            "session_tags": {"allowed": self.session_tags, "keys": list(self.session_tag_keys)},
        }

    def assume_role_options(self) -> list[str]:
        """The AWS CLI's ``aws sts assume-role`` options these requirements need."""
        options = []
        if self.external_ids:
            options.append(f"--external-id {self.external_ids[0]}")
        if self.mfa:
            options.append("--serial-number <your-mfa-device-arn> --token-code <6-digit-code>")
        if self.source_identity:
            options.append("--source-identity $USER")
        return options
