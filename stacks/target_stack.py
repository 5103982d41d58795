"""TargetStack: deployed in the target account (B) with `cdk deploy TargetStack --profile accountB`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aws_cdk import Acknowledgment, Annotations, CfnOutput, Stack, Validations
from constructs import Construct

from cross_account.role import CrossAccountRole
from cross_account.settings import CONSOLE_SWITCH_ROLE_MAX, Settings


class TargetStack(Stack):
    """The role people assume, its permission policy and its trust policy."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        access = CrossAccountRole(
            self,
            "CrossAccountRole",
            trusted_account_id=settings.trusted_account_id,
            external_ids=settings.external_ids,
            role_name=settings.role_name,
            role_path=settings.role_path,
            description=settings.role_description or f"Cross-account access for account {settings.trusted_account_id}",
            require_mfa=settings.require_mfa,
            mfa_max_age_seconds=settings.mfa_max_age_seconds,
            trusted_principal_arns=settings.trusted_principal_arns,
            principal_org_id=settings.principal_org_id,
            require_source_identity=settings.require_source_identity,
            max_session_duration_seconds=settings.max_session_duration_seconds,
            allowed_actions=settings.allowed_actions,
            allowed_resources=settings.allowed_resources,
            managed_policy_arns=settings.managed_policy_arns,
            permissions_boundary_arn=settings.permissions_boundary_arn,
            tags=settings.tags,
        )
        acknowledge_configured_findings(access, settings)

        CfnOutput(self, "RoleArn", value=access.role_arn, description="ARN of the role to assume")
        CfnOutput(
            self,
            "ExternalId",
            value=",".join(settings.external_ids) or "none",
            description="External ID(s) the trust requires (an identifier, not a secret)",
        )
        CfnOutput(
            self,
            "AssumeRoleCommand",
            value=assume_role_command(settings, access.role_arn),
            description="Assume the role with the AWS CLI from the trusted account",
        )
        path_and_name = settings.role_path.lstrip("/") + settings.role_name
        if len(path_and_name) <= CONSOLE_SWITCH_ROLE_MAX:
            query = urlencode(
                {"roleName": path_and_name, "account": settings.target_account_id, "displayName": settings.role_name}
            )
            CfnOutput(
                self,
                "SwitchRoleUrl",
                value=f"https://signin.aws.amazon.com/switchrole?{query}",
                description="Console switch-role link (the console cannot send an external ID or source identity)",
            )
        else:
            Annotations.of(self).add_warning_v2(
                "cross-account:no-switch-role-url",
                f"role path + name is {len(path_and_name)} characters; the console's switch-role limit is "
                f"{CONSOLE_SWITCH_ROLE_MAX}, so no SwitchRoleUrl output is written",
            )


def assume_role_command(settings: Settings, role_arn: str) -> str:
    """The how-to's `aws sts assume-role` call, completed with what this trust requires."""
    parts = [f"aws sts assume-role --role-arn {role_arn} --role-session-name $USER"]
    if settings.external_ids:
        parts.append(f"--external-id {settings.external_ids[0]}")
    if settings.require_mfa:
        parts.append("--serial-number <your-mfa-device-arn> --token-code <6-digit-code>")
    if settings.require_source_identity:
        parts.append("--source-identity $USER")
    return " ".join(parts)


def acknowledge_configured_findings(access: CrossAccountRole, settings: Settings) -> None:
    """Acknowledge the cdk-nag findings that the settings ask for explicitly, on the role resource only.

    Wildcards and AWS managed policies are the deployer's written choice (the defaults are the original
    how-to's permission set); anything else cdk-nag finds still fails the synth.
    """
    findings = [(f"AwsSolutions-IAM5[Action::{a}]", "allowed_actions", a) for a in settings.allowed_actions if "*" in a]
    findings += [
        (f"AwsSolutions-IAM5[Resource::{r}]", "allowed_resources", r) for r in settings.allowed_resources if "*" in r
    ]
    findings += [
        (f"AwsSolutions-IAM4[Policy::{p}]", "managed_policy_arns", p)
        for p in settings.managed_policy_arns
        if ":iam::aws:policy/" in p
    ]
    role_resource = access.role.node.default_child
    assert role_resource is not None
    for finding, setting, value in findings:
        Validations.of(role_resource).acknowledge(
            Acknowledgment(
                id=finding, reason=f"{value} is granted on purpose by the {setting} setting; narrow it there"
            )
        )
