"""TargetStackSet: rolls the target role(s) out to organizational units through a service-managed StackSet.

Deploy it in the organization's management account, or in a delegated administrator account
(with stackset_call_as=DELEGATED_ADMIN). Service-managed StackSets never deploy into the
management account itself: deploy a TargetStack there if the role is needed in it.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import BootstraplessSynthesizer, CfnOutput, Stack, Stage
from aws_cdk import aws_cloudformation as cfn
from constructs import Construct

from cross_account.rules import role_arn
from cross_account.settings import Settings
from stacks.target_stack import add_role

ROLE_TEMPLATE_STAGE = "TargetStackSetTemplate"


class TargetStackSet(Stack):
    """A service-managed StackSet whose template is the role stack synthesized from the same construct."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        assert settings.organization_id, "TargetStackSet needs organization_id"
        stack_set = cfn.CfnStackSet(
            self,
            "StackSet",
            stack_set_name=settings.stackset_name,
            description="Cross-account access: the role(s) the trusted account assumes, in every account of the OUs",
            permission_model="SERVICE_MANAGED",
            call_as=settings.stackset_call_as,
            auto_deployment=cfn.CfnStackSet.AutoDeploymentProperty(
                enabled=True, retain_stacks_on_account_removal=False
            ),
            capabilities=["CAPABILITY_NAMED_IAM"],
            managed_execution={"Active": True},
            operation_preferences=cfn.CfnStackSet.OperationPreferencesProperty(
                failure_tolerance_percentage=settings.stackset_failure_tolerance_percentage,
                max_concurrent_percentage=settings.stackset_max_concurrent_percentage,
                concurrency_mode="SOFT_FAILURE_TOLERANCE",
            ),
            stack_instances_group=[
                cfn.CfnStackSet.StackInstancesProperty(
                    deployment_targets=cfn.CfnStackSet.DeploymentTargetsProperty(
                        organizational_unit_ids=list(settings.target_organizational_unit_ids),
                        # Optionally only some accounts of the OUs (a canary, a subset).
                        accounts=list(settings.stackset_account_ids) or None,
                        account_filter_type="INTERSECTION" if settings.stackset_account_ids else None,
                    ),
                    # IAM names are account-global: one region only, or the second instance fails.
                    regions=[settings.region],
                )
            ],
            template_body=json.dumps(role_template(scope, settings), separators=(",", ":")),
        )
        CfnOutput(self, "StackSetId", value=stack_set.attr_stack_set_id, description="The StackSet's ID")
        for spec in settings.role_specs:
            CfnOutput(
                self,
                f"{spec.tier or ''}RoleArnPattern",
                value=role_arn(
                    partition=self.partition, account_id="<account>", role_path=spec.role_path, role_name=spec.role_name
                ),
                description="The role's ARN in each account of the organizational units",
            )


def role_template(scope: Construct, settings: Settings) -> dict[str, Any]:
    """The role stack's template, synthesized in a stage of its own (kept in cdk.out for review)."""
    stage = Stage(scope, ROLE_TEMPLATE_STAGE)
    # Environment-agnostic, no bootstrap version check, no metadata: it deploys into accounts we never bootstrapped.
    stack = Stack(stage, "Role", synthesizer=BootstraplessSynthesizer(), analytics_reporting=False)
    for spec in settings.role_specs:
        add_role(stack, spec)
    template: dict[str, Any] = stage.synth().get_stack_by_name(stack.stack_name).template
    return template
