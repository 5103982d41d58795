"""TrustedStack: deployed in the trusted account (A) with `cdk deploy TrustedStack --profile accountA`."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from cross_account.assumers import CrossAccountAssumers, target_role_arn
from cross_account.settings import Settings


class TrustedStack(Stack):
    """The group whose members may assume the target role, and the policy that allows it."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        role_arn = target_role_arn(
            target_account_id=settings.target_account_id, role_path=settings.role_path, role_name=settings.role_name
        )
        assumers = CrossAccountAssumers(
            self,
            "CrossAccountAssumers",
            role_arns=[role_arn],
            group_name=settings.assumers_group_name,
            managed_policy_name=f"Assume{settings.role_name}",
            require_mfa=settings.require_mfa,
            mfa_max_age_seconds=settings.mfa_max_age_seconds,
            require_source_identity=settings.require_source_identity,
        )
        CfnOutput(self, "GroupName", value=assumers.group.group_name, description="Add users to this group")
        CfnOutput(
            self,
            "ManagedPolicyArn",
            value=assumers.policy.managed_policy_arn,
            description="Attach to existing users or roles that should assume the target role",
        )
        CfnOutput(self, "TargetRoleArn", value=role_arn, description="The role members may assume")
