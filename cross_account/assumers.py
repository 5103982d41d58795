"""Trusted side (account A): the group whose members may assume the target role."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

from cross_account import settings as rules
from cross_account.role import mfa_conditions
from cross_account.settings import SettingsError


def target_role_arn(*, target_account_id: str, role_path: str, role_name: str) -> str:
    """The target role's ARN in the deploying stack's partition.

    Computed from account, path and name: the two accounts never share a
    CloudFormation reference.
    """
    return rules.role_arn(
        partition=Aws.PARTITION, account_id=target_account_id, role_path=role_path, role_name=role_name
    )


class CrossAccountAssumers(Construct):
    """An IAM group, and a managed policy, that allow assuming the given role(s).

    The policy grants ``sts:AssumeRole`` on exactly ``role_arns`` (plus
    ``sts:SetSourceIdentity`` when the target requires a source identity) and
    nothing else. ``iam:PassRole`` is not granted: it hands a role in *this*
    account to a service, and means nothing for a role in another account.
    ``iam:ListRoles`` is not granted: it only works on ``Resource: "*"`` (so the
    how-to's grant on one ARN had no effect), and nobody needs it to assume a
    role whose ARN they know.

    Exposes ``group``, ``policy`` and :meth:`grant_assume`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_arns: Sequence[str],
        group_name: str = "CrossAccountAssumers",
        managed_policy_name: str | None = None,
        require_mfa: bool = False,
        mfa_max_age_seconds: int | None = None,
        require_source_identity: bool = False,
    ) -> None:
        arns = rules.sequence_of("role_arns", role_arns, _validate_role_arn)
        if not arns:
            raise SettingsError("role_arns", [], "must name at least one role to assume")
        rules.validate_group_name("group_name", group_name)
        if managed_policy_name is not None:
            rules.validate_policy_name("managed_policy_name", managed_policy_name)
        if mfa_max_age_seconds is not None:
            rules.validate_mfa_max_age("mfa_max_age_seconds", mfa_max_age_seconds)
            if not require_mfa:
                raise SettingsError("mfa_max_age_seconds", mfa_max_age_seconds, "only applies with require_mfa=True")
        super().__init__(scope, construct_id)

        actions = ["sts:AssumeRole"]
        if require_source_identity:
            actions.append("sts:SetSourceIdentity")
        conditions = mfa_conditions(require_mfa=require_mfa, mfa_max_age_seconds=mfa_max_age_seconds)
        self.policy = iam.ManagedPolicy(
            self,
            "AssumeRolePolicy",
            managed_policy_name=managed_policy_name,
            description="Allows assuming the cross-account role(s) in the target account(s)",
            statements=[
                iam.PolicyStatement(
                    sid="AssumeCrossAccountRole",
                    actions=actions,
                    resources=list(arns),
                    conditions=conditions or None,
                )
            ],
        )
        self.group = iam.Group(self, "Group", group_name=group_name, managed_policies=[self.policy])
        self.role_arns: tuple[str, ...] = arns

    def grant_assume(self, identity: iam.IIdentity) -> None:
        """Let an existing user, role or group assume the target role(s) too."""
        identity.add_managed_policy(self.policy)


def _validate_role_arn(key: str, value: str) -> str:
    # The partition may be the deploying stack's token; check the rest of the ARN.
    rules.validate_role_arn(key, value.replace(Aws.PARTITION, "aws"))
    return value
