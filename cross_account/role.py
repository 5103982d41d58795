"""Target side (account B): the role that people from the trusted account assume."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, Stack, Tags, Token
from aws_cdk import aws_iam as iam
from constructs import Construct

from cross_account import settings as rules
from cross_account.settings import HOWTO_ACTIONS, SettingsError

#: Request keys the trust conditions compare the caller's user name with.
CALLER_USER_NAME = "${aws:username}"


def trust_conditions(
    *,
    external_ids: Sequence[str],
    require_mfa: bool,
    mfa_max_age_seconds: int | None,
    trusted_principal_arns: Sequence[str],
    principal_org_id: str | None,
    require_source_identity: bool,
) -> dict[str, dict[str, Any]]:
    """The conditions of the trust statement that allows ``sts:AssumeRole``."""
    string_equals: dict[str, Any] = {}
    if external_ids:
        string_equals["sts:ExternalId"] = list(external_ids)
    if principal_org_id:
        string_equals["aws:PrincipalOrgID"] = principal_org_id
    if require_source_identity:
        string_equals["sts:SourceIdentity"] = CALLER_USER_NAME
    conditions: dict[str, dict[str, Any]] = {}
    if string_equals:
        conditions["StringEquals"] = string_equals
    if trusted_principal_arns:
        conditions["ArnEquals"] = {"aws:PrincipalArn": list(trusted_principal_arns)}
    conditions.update(mfa_conditions(require_mfa=require_mfa, mfa_max_age_seconds=mfa_max_age_seconds))
    return conditions


def mfa_conditions(*, require_mfa: bool, mfa_max_age_seconds: int | None) -> dict[str, dict[str, Any]]:
    """MFA in an Allow is ``Bool`` (never ``BoolIfExists``, which passes when the key is absent)."""
    if not require_mfa:
        return {}
    conditions: dict[str, dict[str, Any]] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    if mfa_max_age_seconds is not None:
        conditions["NumericLessThan"] = {"aws:MultiFactorAuthAge": str(mfa_max_age_seconds)}
    return conditions


class CrossAccountRole(Construct):
    """An IAM role in the target account that a trusted account may assume.

    The trust is secure by default: every statement that allows ``sts:AssumeRole``
    requires one of ``external_ids`` (pass an empty list to opt out explicitly), and
    MFA, specific principals, an organization and a source identity are one
    argument away. The role gets no IAM permissions unless you grant them.

    Exposes ``role``, ``role_arn`` and ``role_name``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        trusted_account_id: str,
        external_ids: Sequence[str],
        role_name: str = "CrossAccountAccessRole",
        role_path: str = "/",
        description: str | None = None,
        require_mfa: bool = False,
        mfa_max_age_seconds: int | None = None,
        trusted_principal_arns: Sequence[str] = (),
        principal_org_id: str | None = None,
        require_source_identity: bool = False,
        max_session_duration_seconds: int = 3600,
        allowed_actions: Sequence[str] = HOWTO_ACTIONS,
        allowed_resources: Sequence[str] = ("*",),
        managed_policy_arns: Sequence[str] = (),
        permissions_boundary_arn: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        # Validate at the boundary with the same rules as the app settings.
        rules.validate_account_id("trusted_account_id", trusted_account_id)
        external_ids = rules.sequence_of("external_ids", external_ids, rules.validate_external_id)
        rules.validate_role_name("role_name", role_name)
        rules.validate_path("role_path", role_path)
        if description is not None:
            rules.validate_description("description", description)
        rules.check_mfa_max_age("mfa_max_age_seconds", mfa_max_age_seconds, require_mfa=require_mfa)
        principals = rules.sequence_of(
            "trusted_principal_arns",
            trusted_principal_arns,
            lambda k, v: rules.validate_principal_arn(k, v, trusted_account_id=trusted_account_id),
        )
        if principal_org_id is not None:
            rules.validate_org_id("principal_org_id", principal_org_id)
        rules.validate_max_session_duration("max_session_duration_seconds", max_session_duration_seconds)
        actions = rules.sequence_of("allowed_actions", allowed_actions, rules.validate_action)
        resources = rules.sequence_of("allowed_resources", allowed_resources, rules.validate_resource)
        policy_arns = rules.sequence_of("managed_policy_arns", managed_policy_arns, rules.validate_policy_arn)
        if permissions_boundary_arn is not None:
            rules.validate_policy_arn("permissions_boundary_arn", permissions_boundary_arn)
        rules.check_grants("", actions=actions, resources=resources, managed_policy_arns=policy_arns)
        validated_tags = rules.validate_tags("tags", tags or {})

        own_account = Stack.of(scope).account
        if not Token.is_unresolved(own_account) and own_account == trusted_account_id:
            raise SettingsError(
                "trusted_account_id", trusted_account_id, "must differ from the account the role is deployed in"
            )
        super().__init__(scope, construct_id)

        trusted_account = iam.AccountPrincipal(trusted_account_id)
        conditions = trust_conditions(
            external_ids=external_ids,
            require_mfa=require_mfa,
            mfa_max_age_seconds=mfa_max_age_seconds,
            trusted_principal_arns=principals,
            principal_org_id=principal_org_id,
            require_source_identity=require_source_identity,
        )
        inline_policies = {}
        if actions:
            inline_policies["CrossAccountPermissions"] = iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(sid="CrossAccountPermissions", actions=list(actions), resources=list(resources))
                ]
            )

        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            path=role_path,
            description=description,
            assumed_by=trusted_account.with_conditions(conditions) if conditions else trusted_account,
            max_session_duration=Duration.seconds(max_session_duration_seconds),
            inline_policies=inline_policies,
            managed_policies=[
                iam.ManagedPolicy.from_managed_policy_arn(self, f"Managed{i}", arn) for i, arn in enumerate(policy_arns)
            ],
            permissions_boundary=(
                iam.ManagedPolicy.from_managed_policy_arn(self, "Boundary", permissions_boundary_arn)
                if permissions_boundary_arn
                else None
            ),
        )
        if require_source_identity:
            # Its own statement: the service reference lists no sts:ExternalId key for
            # sts:SetSourceIdentity, so a combined statement could never match. On its
            # own it lets nobody assume the role.
            self.role.assume_role_policy.add_statements(  # type: ignore[union-attr]
                iam.PolicyStatement(
                    actions=["sts:SetSourceIdentity"],
                    principals=[trusted_account],
                    conditions={"StringEquals": {"sts:SourceIdentity": CALLER_USER_NAME}},
                )
            )
        for key, value in validated_tags.items():
            Tags.of(self.role).add(key, value)

        self.role_name = role_name
        self.role_path = role_path
        self.external_ids: tuple[str, ...] = external_ids
        self.role_arn: str = self.role.role_arn
