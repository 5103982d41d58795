"""TargetStack: deployed in each target account (B) with `cdk deploy TargetStack --profile accountB`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from aws_cdk import Acknowledgment, Annotations, CfnOutput, Stack, Validations
from constructs import Construct

from cross_account.role import CrossAccountRole
from cross_account.rules import CONSOLE_SWITCH_ROLE_MAX
from cross_account.settings import RoleSpec, Settings
from cross_account.staging import DeployStagingBucket


class TargetStack(Stack):
    """The role(s) people assume, with their permission and trust policies, in one target account, and the
    staging bucket their sessions deploy through (the deploy lane)."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        staging = DeployStagingBucket(self, "DeployStaging")
        CfnOutput(
            self,
            "StagingBucket",
            value=staging.bucket_name,
            description="Where lane deploys stage templates and assets (DeployLaneSynthesizer finds it by name)",
        )
        for spec in settings.role_specs:
            access = add_role(self, spec)
            staging.grant_deploy(access)
            self._add_outputs(spec, access)

    def _add_outputs(self, spec: RoleSpec, access: CrossAccountRole) -> None:
        prefix = spec.tier or ""
        CfnOutput(self, f"{prefix}RoleArn", value=access.role_arn, description="ARN of the role to assume")
        CfnOutput(
            self,
            f"{prefix}ExternalId",
            value=",".join(spec.caller.external_ids) or "none",
            description="External ID(s) the trust requires (an identifier, not a secret)",
        )
        CfnOutput(
            self,
            f"{prefix}AssumeRoleCommand",
            value=assume_role_command(spec, access.role_arn),
            description="Assume the role with the AWS CLI from the trusted account",
        )
        self._add_switch_role_url(spec, prefix)

    def _add_switch_role_url(self, spec: RoleSpec, prefix: str) -> None:
        """The console's switch-role link, only where it can work: the console sends neither an external ID nor a
        source identity (`cross-account console` signs in to such roles instead)."""
        if spec.caller.external_ids or spec.caller.source_identity:
            return
        path_and_name = spec.role_path.lstrip("/") + spec.role_name
        if len(path_and_name) <= CONSOLE_SWITCH_ROLE_MAX:
            query = urlencode({"roleName": path_and_name, "account": self.account, "displayName": spec.role_name})
            CfnOutput(
                self,
                f"{prefix}SwitchRoleUrl",
                value=f"https://signin.aws.amazon.com/switchrole?{query}",
                description="Console switch-role link (the console cannot send an external ID or source identity)",
            )
        else:
            Annotations.of(self).add_warning_v2(
                "cross-account:no-switch-role-url",
                f"role path + name is {len(path_and_name)} characters; the console's switch-role limit is "
                f"{CONSOLE_SWITCH_ROLE_MAX}, so no SwitchRoleUrl output is written",
            )


def add_role(scope: Construct, spec: RoleSpec) -> CrossAccountRole:
    """The role of one spec, from the settings; also used for the StackSet's template (one source of truth)."""
    description = spec.description or f"Cross-account access for account {spec.trusted_account_id}"
    access = CrossAccountRole(
        scope, f"{spec.tier}Role" if spec.tier else "CrossAccountRole", replace(spec, description=description)
    )
    acknowledge_configured_findings(access, spec)
    return access


def assume_role_command(spec: RoleSpec, role_arn: str) -> str:
    """The how-to's `aws sts assume-role` call, completed with what this trust requires."""
    return " ".join(
        [f"aws sts assume-role --role-arn {role_arn} --role-session-name $USER", *spec.caller.assume_role_options()]
    )


def nag_text(stack: Stack, value: str) -> str:
    """A value as cdk-nag's finding IDs spell it: intrinsics as <AWS::Partition>, <Logical.Arn>."""
    resolved = stack.resolve(value)
    if isinstance(resolved, str):
        return resolved
    _separator, parts = resolved["Fn::Join"]
    return "".join(part if isinstance(part, str) else f"<{part['Ref']}>" for part in parts)


def acknowledge_configured_findings(access: CrossAccountRole, spec: RoleSpec) -> None:
    """Acknowledge the cdk-nag findings that the settings ask for explicitly, on the role resource only.

    Wildcards and AWS managed policies are the deployer's written choice (the defaults are the original
    how-to's permission set); anything else cdk-nag finds still fails the synth.
    """
    findings = [(f"AwsSolutions-IAM5[Action::{a}]", "allowed_actions", a) for a in spec.allowed_actions if "*" in a]
    findings += [
        (f"AwsSolutions-IAM5[Resource::{r}]", "allowed_resources", r) for r in spec.allowed_resources if "*" in r
    ]
    findings += [
        (f"AwsSolutions-IAM4[Policy::{p}]", "managed_policy_arns", p)
        for p in spec.managed_policy_arns
        if ":iam::aws:policy/" in p
    ]
    if spec.cloudformation_stack_names:
        # The named stacks, and CloudFormation's resource-less actions (they accept only "*").
        stack = Stack.of(access)
        findings += [
            (
                f"AwsSolutions-IAM5[Resource::{nag_text(stack, access.stack_arn(name))}]",
                "cloudformation_stack_names",
                name,
            )
            for name in spec.cloudformation_stack_names
        ]
        findings.append(("AwsSolutions-IAM5[Resource::*]", "cloudformation_stack_names", "*"))
    role_resource = access.role.node.default_child
    assert role_resource is not None
    # The service roles' boundary repeats the role's permissions: the same findings, the same choice.
    boundary = access.service_role_boundary.node.default_child if access.service_role_boundary else None
    if findings:
        for resource in (role_resource, boundary):
            if resource is None:
                continue
            # One call for all of them: each jsii call costs, and this runs once per account.
            Validations.of(resource).acknowledge(
                *(
                    Acknowledgment(
                        id=finding, reason=f"{value} is granted on purpose by the {setting} setting; narrow it there"
                    )
                    for finding, setting, value in findings
                )
            )
    service_roles = access.node.try_find_child("ServiceRoles")
    if service_roles is not None and (path := access.service_role_path):
        stack = Stack.of(access)
        roles = nag_text(stack, f"arn:{stack.partition}:iam::{stack.account}:role{path}*")
        Validations.of(service_roles.node.default_child or service_roles).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{roles}]",
                reason="the roles a session may create: only under the lane's path, only with its boundary",
            )
        )
