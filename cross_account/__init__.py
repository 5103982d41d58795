"""Cross-account access with IAM AssumeRole, on both sides of the trust.

Constructs:
- :class:`CrossAccountRole`: the role in the target account (B);
- :class:`CrossAccountAssumers`: the group and policy in the trusted account (A).

The settings contract (:class:`Settings`) and its validators have no CDK import;
the ``cross-account`` client reuses them.
"""

from cross_account.props import CrossAccountRoleProps
from cross_account.rules import SettingsError
from cross_account.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "CrossAccountAssumers",
    "CrossAccountRole",
    "CrossAccountRoleProps",
    "OrganizationRoles",
    "Settings",
    "SettingsError",
    "__version__",
    "target_role_arn",
]


def __getattr__(name: str) -> object:
    # The constructs import aws_cdk (about 1 s of jsii start-up); the client never needs them.
    if name == "CrossAccountRole":
        from cross_account.role import CrossAccountRole

        return CrossAccountRole
    if name in ("CrossAccountAssumers", "OrganizationRoles", "target_role_arn"):
        from cross_account import assumers

        return getattr(assumers, name)
    raise AttributeError(f"module 'cross_account' has no attribute {name!r}")
