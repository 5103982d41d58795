"""Cross-account access with IAM AssumeRole, on both sides of the trust.

Constructs:
- :class:`CrossAccountRole`: the role in the target account (B), with its props :class:`CrossAccountRoleProps`;
- :class:`CrossAccountAssumers`: the group and policy in the trusted account (A);
- :class:`GithubOidcDeployer` / :class:`CiOidcDeployer`: a role CI workflows assume with OpenID Connect (A);
- :class:`DeployStagingBucket` (B) and :class:`DeployLaneSynthesizer` (a service app's stacks): the deploy lane.

The settings contract (:class:`Settings`), the props and their rules have no CDK import;
the ``cross-account`` client reuses them. A plain install is the client (boto3 only); the constructs
need the ``cdk`` extra: ``pip install 'cross-account-assumerole[cdk]'``.
"""

from importlib import import_module

from cross_account.ci import CiRepository
from cross_account.declaration import SettingsError
from cross_account.props import CrossAccountRoleProps
from cross_account.settings import Settings

__version__ = "0.2.0"

#: Names whose modules import aws_cdk (about 1 s of jsii start-up), loaded on first use: the client never needs them.
_CONSTRUCTS = {
    "CrossAccountRole": "cross_account.role",
    "CrossAccountAssumers": "cross_account.assumers",
    "OrganizationRoles": "cross_account.assumers",
    "target_role_arn": "cross_account.assumers",
    "DeployLaneSynthesizer": "cross_account.synthesizer",
    "DeployStagingBucket": "cross_account.staging",
    "CiOidcDeployer": "cross_account.oidc",
    "GithubOidcDeployer": "cross_account.oidc",
}

__all__ = [
    "CiRepository",
    "CrossAccountRoleProps",
    "Settings",
    "SettingsError",
    "__version__",
    *_CONSTRUCTS,
]


#: What the construct modules import from the ``cdk`` extra (pyproject.toml's optional dependencies), and the
#: distribution each comes with.
_CDK_MODULES = {"aws_cdk": "aws-cdk-lib", "jsii": "aws-cdk-lib", "constructs": "constructs"}
CDK_EXTRA = "cross-account-assumerole[cdk]"


class MissingCdkError(ImportError):
    """A construct was asked for in an install without the ``cdk`` extra (the client-only install)."""

    def __init__(self, name: str, module: str) -> None:
        distribution = _CDK_MODULES[module]
        super().__init__(
            f"{name} needs the CDK part ({distribution} is not installed): pip install '{CDK_EXTRA}'", name=module
        )


def __getattr__(name: str) -> object:
    if name in _CONSTRUCTS:
        try:
            module = import_module(_CONSTRUCTS[name])
        except ModuleNotFoundError as missing:
            top = (missing.name or "").partition(".")[0]
            if top in _CDK_MODULES:
                raise MissingCdkError(name, top) from None
            raise
        return getattr(module, name)
    raise AttributeError(f"module 'cross_account' has no attribute {name!r}")
