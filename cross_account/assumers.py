"""Trusted side (account A): the group whose members may assume the target role."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

from cross_account import settings as rules
from cross_account.role import mfa_conditions
from cross_account.settings import SettingsError


@dataclass(frozen=True)
class OrganizationRoles:
    """The role with this path and name in every account of an organization (or of some of its OUs).

    The grant names ``arn:<partition>:iam::*:role/<path><name>``, never a bare ``*``, and
    restricts it with ``aws:ResourceOrgID`` (and ``aws:ResourceOrgPaths`` for OUs).
    """

    organization_id: str
    role_path: str
    role_name: str
    organizational_unit_ids: Sequence[str] = ()

    def role_arn_pattern(self) -> str:
        return rules.role_arn(
            partition=partition_token(), account_id="*", role_path=self.role_path, role_name=self.role_name
        )

    def conditions(self) -> dict[str, dict[str, Any]]:
        conditions: dict[str, dict[str, Any]] = {"StringEquals": {"aws:ResourceOrgID": self.organization_id}}
        if self.organizational_unit_ids:
            # The path is o-…/r-…/ou-…/…; an OU can sit at any depth under the root.
            paths = [
                f"{self.organization_id}/{ou}/*" if ou.startswith("r-") else f"{self.organization_id}/*/{ou}/*"
                for ou in self.organizational_unit_ids
            ]
            conditions["ForAnyValue:StringLike"] = {"aws:ResourceOrgPaths": paths}
        return conditions


@cache
def partition_token() -> str:
    """The deploying stack's partition, as a token; one string for the whole process (each read is a jsii call)."""
    return Aws.PARTITION


def target_role_arn(*, target_account_id: str, role_path: str, role_name: str) -> str:
    """The target role's ARN in the deploying stack's partition.

    Computed from account, path and name: the two accounts never share a
    CloudFormation reference.
    """
    return rules.role_arn(
        partition=partition_token(), account_id=target_account_id, role_path=role_path, role_name=role_name
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

    With ``organization_roles`` it also grants the role in every account of an
    organization (restricted by ``aws:ResourceOrgID``), for roles rolled out by a
    StackSet. Many explicit ARNs are spread over several managed policies.

    Exposes ``group``, ``policies`` (``policy`` when there is one) and :meth:`grant_assume`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_arns: Sequence[str] = (),
        organization_roles: OrganizationRoles | None = None,
        group_name: str = "CrossAccountAssumers",
        managed_policy_name: str | None = None,
        require_mfa: bool = False,
        mfa_max_age_seconds: int | None = None,
        require_source_identity: bool = False,
    ) -> None:
        arns = rules.sequence_of("role_arns", role_arns, _validate_role_arn)
        if not arns and organization_roles is None:
            raise SettingsError("role_arns", [], "must name at least one role to assume")
        if organization_roles is not None:
            rules.validate_org_id("organization_roles.organization_id", organization_roles.organization_id)
            rules.sequence_of(
                "organization_roles.organizational_unit_ids",
                organization_roles.organizational_unit_ids,
                rules.validate_ou_id,
            )
            rules.validate_path("organization_roles.role_path", organization_roles.role_path)
            rules.validate_role_name("organization_roles.role_name", organization_roles.role_name)
        rules.validate_group_name("group_name", group_name)
        if managed_policy_name is not None:
            rules.validate_policy_name("managed_policy_name", managed_policy_name)
        rules.check_mfa_max_age("mfa_max_age_seconds", mfa_max_age_seconds, require_mfa=require_mfa)
        partition = partition_token()
        chunks = rules.policy_chunks(arns, length=lambda arn: len(arn.replace(partition, rules.LONGEST_PARTITION)))
        rules.check_policy_count("role_arns", len(arns), len(chunks) + (organization_roles is not None))
        super().__init__(scope, construct_id)

        actions = ["sts:AssumeRole"]
        if require_source_identity:
            actions.append("sts:SetSourceIdentity")
        mfa = mfa_conditions(require_mfa=require_mfa, mfa_max_age_seconds=mfa_max_age_seconds)
        statements = [
            iam.PolicyStatement(
                sid="AssumeCrossAccountRole", actions=actions, resources=list(chunk), conditions=mfa or None
            )
            for chunk in chunks
        ]
        if organization_roles is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="AssumeRoleInOrganization",
                    actions=actions,
                    resources=[organization_roles.role_arn_pattern()],
                    conditions={**organization_roles.conditions(), **mfa},
                )
            )
        self.policies: tuple[iam.ManagedPolicy, ...] = tuple(
            iam.ManagedPolicy(
                self,
                "AssumeRolePolicy" if i == 0 else f"AssumeRolePolicy{i + 1}",
                managed_policy_name=(
                    managed_policy_name if managed_policy_name is None or i == 0 else f"{managed_policy_name}-{i + 1}"
                ),
                description="Allows assuming the cross-account role(s) in the target account(s)",
                statements=[statement],
            )
            for i, statement in enumerate(statements)
        )
        self.organization_policy: iam.ManagedPolicy | None = self.policies[-1] if organization_roles else None
        self.group = iam.Group(self, "Group", group_name=group_name, managed_policies=list(self.policies))
        self.role_arns: tuple[str, ...] = arns

    @property
    def policy(self) -> iam.ManagedPolicy:
        """The managed policy, when the grant fits in one (it does below about 80 target accounts)."""
        if len(self.policies) != 1:
            raise ValueError(f"the grant spans {len(self.policies)} managed policies; use .policies")
        return self.policies[0]

    def grant_assume(self, identity: iam.IIdentity) -> None:
        """Let an existing user, role or group assume the target role(s) too."""
        for policy in self.policies:
            identity.add_managed_policy(policy)


def _validate_role_arn(key: str, value: str) -> str:
    # The partition may be the deploying stack's token; check the rest of the ARN.
    rules.validate_role_arn(key, value.replace(partition_token(), "aws"))
    return value
