"""Trusted side (account A): the group whose members may assume the target role."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from functools import cache
from typing import Any

from aws_cdk import Annotations, Aws, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from cross_account import declaration, quotas, rules, tokens
from cross_account.caller import CallerRequirements
from cross_account.declaration import SettingsError, rule_of, setting
from cross_account.private.conditions import mfa_conditions
from cross_account.private.construct import construct_label, props_of

#: How long an ARN only known at deploy time is reckoned when spreading ARNs over managed policies:
#: the longest partition, an account, and a 64-character name under a short path.
UNRESOLVED_ARN_LENGTH = 160


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

    def validate(self) -> None:
        for key, value, validate in (
            ("organization_roles.organization_id", self.organization_id, rules.validate_org_id),
            ("organization_roles.role_path", self.role_path, rules.validate_path),
            ("organization_roles.role_name", self.role_name, rules.validate_role_name),
        ):
            if not tokens.unresolved(value):
                validate(key, value)
        declaration.sequence_of(
            "organization_roles.organizational_unit_ids",
            self.organizational_unit_ids,
            rules.validate_ou_id,
            unresolved=tokens.unresolved,
        )

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


@dataclass(frozen=True)
class _Grant:
    """One statement of the grant: the managed policy holds it, and grant_assume gives it to an identity."""

    sid: str
    actions: list[str]
    resources: list[str]
    conditions: dict[str, dict[str, Any]]

    def statement(self) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            sid=self.sid, actions=self.actions, resources=self.resources, conditions=self.conditions or None
        )


def _organization_roles(key: str, value: Any) -> OrganizationRoles:
    declaration.check(key, value, isinstance(value, OrganizationRoles), "must be an OrganizationRoles")
    value.validate()
    return value  # type: ignore[no-any-return]


def _caller(key: str, value: Any) -> CallerRequirements:
    """What the grant mirrors of the target's trust; the MFA age is the one part it writes down."""
    declaration.check(key, value, isinstance(value, CallerRequirements), "must be a CallerRequirements")
    for flag in ("mfa", "source_identity", "session_tags"):  # they decide what the grant holds, at synth
        given = getattr(value, flag)
        declaration.check(f"{key}.{flag}", given, isinstance(given, bool), "must be True or False, known at synth")
    if value.mfa_max_age_seconds is not None and not tokens.unresolved(value.mfa_max_age_seconds):
        rules.validate_mfa_max_age(f"{key}.mfa_max_age_seconds", value.mfa_max_age_seconds)
    rules.check_mfa_max_age(f"{key}.mfa_max_age_seconds", value.mfa_max_age_seconds, require_mfa=value.mfa)
    return value  # type: ignore[no-any-return]


@dataclass(frozen=True, kw_only=True)
class CrossAccountAssumersProps:
    """Who in the trusted account may assume which roles, and what they must bring. Any value may be a CDK
    token (another construct's ``role_arn``): what is known at synth is validated."""

    #: The roles to assume. Default: none (then ``organization_roles`` is required).
    role_arns: Sequence[str] = setting(lambda k, v: _validate_role_arn(k, v), default=(), shape="list")
    #: The role in every account of an organization, as a StackSet rolls it out. Default: none.
    organization_roles: OrganizationRoles | None = setting(declaration.optional(_organization_roles), default=None)  # noqa: RUF009 - a field
    #: The group's name. Default: generated by CloudFormation.
    group_name: str | None = setting(declaration.optional(rules.validate_group_name), default=None)
    #: The managed policy's name (``-2``, ``-3`` … for more). Default: generated by CloudFormation.
    managed_policy_name: str | None = setting(declaration.optional(rules.validate_policy_name), default=None)
    #: What the target's trust requires of a caller, so that the grant asks the same (MFA) and allows what
    #: the request sends (``sts:SetSourceIdentity``, ``sts:TagSession``): a ``CrossAccountRole``'s
    #: ``props.caller``. Default: nothing beyond ``sts:AssumeRole``.
    caller: CallerRequirements = setting(_caller, default_factory=CallerRequirements)  # noqa: RUF009 - a field

    def validated(self) -> CrossAccountAssumersProps:
        """A copy with every value checked; raises :class:`SettingsError` naming the first bad prop."""
        values = {
            f.name: rule_of(f).apply(f.name, getattr(self, f.name), unresolved=_unresolved_arn) for f in fields(self)
        }
        props = replace(self, **values)
        declaration.check(
            "role_arns", [], bool(props.role_arns or props.organization_roles), "must name at least one role to assume"
        )
        return props


class CrossAccountAssumers(Construct):
    """An IAM group, and managed policies, that allow assuming the given role(s) in other accounts.

    Give the options as a :class:`CrossAccountAssumersProps`, or as keyword arguments of the same
    names (the props type documents each one and its default)::

        CrossAccountAssumers(stack, "Deployers", role_arns=[arn], caller=access.props.caller)

    The policy grants ``sts:AssumeRole`` on exactly ``role_arns`` (plus ``sts:SetSourceIdentity``
    and ``sts:TagSession`` when the target's caller requirements need them), with the same MFA
    conditions, and nothing else. ``iam:PassRole`` is not granted: it hands a role in *this*
    account to a service, and means nothing for a role in another account. ``iam:ListRoles`` is
    not granted: it only works on ``Resource: "*"`` (so the how-to's grant on one ARN had no
    effect), and nobody needs it to assume a role whose ARN they know.

    With ``organization_roles`` it also grants the role in every account of an organization
    (restricted by ``aws:ResourceOrgID``), for roles rolled out by a StackSet. Many explicit ARNs
    are spread over several managed policies.

    Exposes ``group``, ``policies`` (``policy`` when there is one) and :meth:`grant_assume`.
    """

    def __init__(
        self, scope: Construct, construct_id: str, props: CrossAccountAssumersProps | None = None, /, **options: Any
    ) -> None:
        self._label = construct_label(scope, construct_id, "CrossAccountAssumers")
        try:
            props = props_of(CrossAccountAssumersProps, "CrossAccountAssumers", props, options, required={})
            props = props.validated()
            _check_partition(scope, props.role_arns)
            chunks = quotas.policy_chunks(props.role_arns, length=_reckoned_length)
            organization_roles = props.organization_roles
            quotas.check_policy_count("role_arns", len(props.role_arns), len(chunks) + (organization_roles is not None))
        except SettingsError as error:
            raise error.at(self._label) from None
        super().__init__(scope, construct_id)
        self.props: CrossAccountAssumersProps = props

        actions = props.caller.assume_actions
        mfa = mfa_conditions(props.caller)
        self._grants = [_Grant("AssumeCrossAccountRole", actions, list(chunk), mfa) for chunk in chunks]
        if organization_roles is not None:
            self._grants.append(
                _Grant(
                    "AssumeRoleInOrganization",
                    actions,
                    [organization_roles.role_arn_pattern()],
                    {**organization_roles.conditions(), **mfa},
                )
            )
        name = props.managed_policy_name
        self.policies: tuple[iam.ManagedPolicy, ...] = tuple(
            iam.ManagedPolicy(
                self,
                "AssumeRolePolicy" if i == 0 else f"AssumeRolePolicy{i + 1}",
                managed_policy_name=name if name is None or i == 0 else f"{name}-{i + 1}",
                description="Allows assuming the cross-account role(s) in the target account(s)",
                statements=[grant.statement()],
            )
            for i, grant in enumerate(self._grants)
        )
        self.organization_policy: iam.ManagedPolicy | None = self.policies[-1] if organization_roles else None
        self.group = iam.Group(self, "Group", group_name=props.group_name, managed_policies=list(self.policies))
        self.role_arns: tuple[str, ...] = tuple(props.role_arns)

    @property
    def policy(self) -> iam.ManagedPolicy:
        """The managed policy, when the grant fits in one (it does below about 80 target accounts)."""
        if len(self.policies) != 1:
            raise SettingsError(
                "policy",
                len(self.policies),
                "the grant spans several managed policies; use .policies",
                where=self._label,
            )
        return self.policies[0]

    def grant_assume(self, identity: iam.IGrantable) -> iam.Grant:
        """Let another user, role or group assume the target role(s) too, with the group's conditions.

        The statements go into the identity's own (inline) policy, as CDK's ``grant_*``
        methods do, so this works for imported identities too (``User.from_user_name``,
        ``Group.from_group_name``, ``Role.from_role_arn``). Raises if the identity cannot
        take a policy: a grant never fails silently.
        """
        grants = [
            iam.Grant.add_to_principal(
                grantee=identity,
                actions=grant.actions,
                resource_arns=grant.resources,
                conditions=grant.conditions or None,
            )
            for grant in self._grants
        ]
        combined = grants[0]
        for grant in grants[1:]:
            combined = combined.combine(grant)
        principal = identity.grant_principal
        if combined.success and hasattr(principal, "node") and not _holds_a_policy(principal):
            # aws-iam reports success for an immutable import (another account's role is one): nothing was added.
            Annotations.of(self).add_warning_v2(
                "cross-account:grant-not-attached",
                f"grant_assume: {principal.node.path} is an immutable import or another account's identity: it "
                "takes no policy here, so nothing was granted; attach the ManagedPolicyArn output to it in its "
                "own account",
            )
        if not combined.success:
            raise SettingsError(
                "identity",
                str(identity.grant_principal),
                "cannot take a policy statement (an imported principal that is not an IAM identity?); "
                "attach the ManagedPolicy output to it in its own account instead",
                where=self._label,
            )
        return combined


def _holds_a_policy(principal: Any) -> bool:
    """aws-iam adds a grant to a policy construct under the identity ("DefaultPolicy" of its own roles, "Policy"
    of a mutable import); an immutable import gets none."""
    return any(principal.node.try_find_child(name) is not None for name in ("DefaultPolicy", "Policy"))


def _check_partition(scope: Construct, role_arns: Sequence[str]) -> None:
    """A role ARN in another partition than the stack's (known from its region) can never be assumed from it."""
    region = Stack.of(scope).region
    if tokens.unresolved(region):
        return
    partition = rules.partition_of(region)
    for i, arn in enumerate(role_arns):
        if isinstance(arn, str) and not tokens.unresolved(arn):
            declaration.check(
                f"role_arns[{i}]",
                arn,
                arn.split(":")[1] == partition,
                f"is in partition {arn.split(':')[1]}, but the stack's region {region} is in {partition}: "
                "a role is assumed within its partition only",
            )


def _in_longest_partition(arn: Any) -> Any:
    # The partition is often the deploying stack's token; the rest of the ARN can still be checked.
    return arn.replace(partition_token(), quotas.LONGEST_PARTITION) if isinstance(arn, str) else arn


def _unresolved_arn(arn: Any) -> bool:
    return tokens.unresolved(_in_longest_partition(arn))


def _validate_role_arn(key: str, value: Any) -> str:
    rules.validate_role_arn(key, _in_longest_partition(value))
    return str(value)


def _reckoned_length(arn: str) -> int:
    return UNRESOLVED_ARN_LENGTH if _unresolved_arn(arn) else len(_in_longest_partition(arn))
