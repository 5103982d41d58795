"""TrustedStack: deployed in the trusted account (A) with `cdk deploy TrustedStack --profile accountA`."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, CfnOutput, Fn, Stack, Validations
from constructs import Construct

from cross_account.assumers import CrossAccountAssumers, OrganizationRoles, target_role_arn
from cross_account.oidc import CiOidcDeployer
from cross_account.settings import Settings


class TrustedStack(Stack):
    """Per role, the group whose members may assume it in every target account, and the policy that allows it."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        assumers_of: dict[str | None, CrossAccountAssumers] = {}
        for spec in settings.role_specs:
            role_arns = [
                target_role_arn(target_account_id=account, role_path=spec.role_path, role_name=spec.role_name)
                for account in settings.target_accounts
            ]
            organization_roles = (
                OrganizationRoles(
                    organization_id=settings.organization_id,
                    organizational_unit_ids=settings.target_organizational_unit_ids,
                    role_path=spec.role_path,
                    role_name=spec.role_name,
                )
                if settings.organization_id
                else None
            )
            assumers = CrossAccountAssumers(
                self,
                f"{spec.tier}Assumers" if spec.tier else "CrossAccountAssumers",
                role_arns=role_arns,
                organization_roles=organization_roles,
                group_name=spec.assumers_group_name,
                managed_policy_name=f"Assume{spec.role_name}",
                caller=spec.caller,
            )
            assumers_of[spec.tier] = assumers
            if assumers.organization_policy is not None:
                Validations.of(assumers.organization_policy).acknowledge(
                    Acknowledgment(
                        id=f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role{spec.role_path}{spec.role_name}]",
                        reason="the role exists in every account of the organization (StackSet); the account wildcard "
                        "is restricted by aws:ResourceOrgID and aws:ResourceOrgPaths",
                    )
                )
            prefix = spec.tier or ""
            CfnOutput(
                self, f"{prefix}GroupName", value=assumers.group.group_name, description="Add users to this group"
            )
            CfnOutput(
                self,
                f"{prefix}ManagedPolicyArn",
                value=Fn.join(",", [policy.managed_policy_arn for policy in assumers.policies]),
                description="Attach to users or roles that should assume the role (comma-separated if several)",
            )
            if len(role_arns) == 1:
                CfnOutput(self, f"{prefix}TargetRoleArn", value=role_arns[0], description="The role members may assume")
        for ci in settings.ci_deployers:
            # The CI role's only grant is its tier's group's: the same roles, with the same conditions.
            label = ci.provider.default_role_name.removesuffix("Deployer")
            deployer = CiOidcDeployer(self, f"{label}Deployer", ci)
            assumers_of[ci.tier].grant_assume(deployer.role)
            CfnOutput(
                self,
                f"{label}DeployerRoleArn",
                value=deployer.role_arn,
                description=f"The role {ci.provider.label} workflows assume with OpenID Connect; they chain from it",
            )
