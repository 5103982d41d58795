"""Target side (account B): the role that people from the trusted account assume."""

from __future__ import annotations

import json
import weakref
from collections.abc import MutableMapping
from typing import Any

import jsii
from aws_cdk import Annotations, Duration, Stack, Tags
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct, IValidation

from cross_account import rules, tokens
from cross_account.props import CrossAccountRoleProps
from cross_account.rules import SettingsError

#: Request keys the trust conditions compare the caller's user name with.
CALLER_USER_NAME = "${aws:username}"
#: IAM's trust-policy size: 2,048 characters by default, 4,096 at most with a quota increase.
TRUST_POLICY_DEFAULT_QUOTA = 2048
TRUST_POLICY_MAX = 4096


def trust_conditions(props: CrossAccountRoleProps) -> dict[str, dict[str, Any]]:
    """The conditions of the trust statement that allows ``sts:AssumeRole``."""
    string_equals: dict[str, Any] = {}
    if props.external_ids:
        string_equals["sts:ExternalId"] = list(props.external_ids)
    if props.principal_org_id:
        string_equals["aws:PrincipalOrgID"] = props.principal_org_id
    if props.require_source_identity:
        string_equals["sts:SourceIdentity"] = CALLER_USER_NAME
    conditions: dict[str, dict[str, Any]] = {}
    if string_equals:
        conditions["StringEquals"] = string_equals
    if props.trusted_principal_arns:
        conditions["ArnEquals"] = {"aws:PrincipalArn": list(props.trusted_principal_arns)}
    conditions.update(mfa_conditions(require_mfa=props.require_mfa, mfa_max_age_seconds=props.mfa_max_age_seconds))
    return conditions


def mfa_conditions(*, require_mfa: bool, mfa_max_age_seconds: int | float | None) -> dict[str, dict[str, Any]]:
    """MFA in an Allow is ``Bool`` (never ``BoolIfExists``, which passes when the key is absent)."""
    if not require_mfa:
        return {}
    conditions: dict[str, dict[str, Any]] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    if mfa_max_age_seconds is not None:
        conditions["NumericLessThan"] = {"aws:MultiFactorAuthAge": tokens.as_string(mfa_max_age_seconds)}
    return conditions


def construct_label(scope: IConstruct, construct_id: str, kind: str) -> str:
    """How errors name a construct: its path and class, as CDK's validation errors do."""
    parent = scope.node.path
    return f"{parent}/{construct_id} ({kind})" if parent else f"{construct_id} ({kind})"


#: Fixed role names per app, to refuse a second role with the same name in one account at synth.
_ROLE_NAMES: weakref.WeakKeyDictionary[IConstruct, MutableMapping[tuple[str, str], str]] = weakref.WeakKeyDictionary()


@jsii.implements(iam.IGrantable)
class CrossAccountRole(Construct):
    """An IAM role in the target account (B) that principals of a trusted account (A) may assume.

    Give the options as a :class:`~cross_account.props.CrossAccountRoleProps`, or as keyword
    arguments of the same names (the props type documents each one and its default)::

        CrossAccountRole(stack, "Deploy", trusted_account_id="111111111111", external_ids=["deploy-2026"])

    The trust is secure by default: every statement that allows ``sts:AssumeRole`` requires one
    of ``external_ids`` (``[]`` opts out explicitly); MFA, specific principals, an organization
    and a source identity are one option away. The role grants nothing until you say what: with
    ``allowed_actions``, ``managed_policy_arns``, or CDK's own grants, since the construct is
    ``IGrantable`` (``bucket.grant_read(access)``). Without ``role_name`` CloudFormation names
    the role, so two of them never collide.

    Values may be CDK tokens; what is known at synth is validated, and a bad value raises
    :class:`~cross_account.rules.SettingsError` naming this construct's path.

    Exposes ``role``, ``role_arn``, ``role_name`` and ``props`` (the validated options).
    """

    def __init__(
        self, scope: Construct, construct_id: str, props: CrossAccountRoleProps | None = None, /, **options: Any
    ) -> None:
        label = construct_label(scope, construct_id, "CrossAccountRole")
        try:
            props = _props(props, options).validated(unresolved=tokens.unresolved)
            _check_not_own_account(scope, props)
        except SettingsError as error:
            raise error.at(label) from None
        _claim_role_name(scope, props, label)
        super().__init__(scope, construct_id)
        self.props: CrossAccountRoleProps = props

        trusted_account = iam.AccountPrincipal(props.trusted_account_id)
        conditions = trust_conditions(props)
        # iam.Role range-checks the duration even when it is a token: set a token on the resource itself.
        duration_token = tokens.unresolved(props.max_session_duration_seconds)
        self.role = iam.Role(
            self,
            "Role",
            role_name=props.role_name,
            path=props.role_path,
            description=props.description,
            assumed_by=trusted_account.with_conditions(conditions) if conditions else trusted_account,
            max_session_duration=(None if duration_token else Duration.seconds(props.max_session_duration_seconds)),
            inline_policies=_inline_policies(props),
            managed_policies=[
                iam.ManagedPolicy.from_managed_policy_arn(self, f"Managed{i}", arn)
                for i, arn in enumerate(props.managed_policy_arns)
            ],
            permissions_boundary=(
                iam.ManagedPolicy.from_managed_policy_arn(self, "Boundary", props.permissions_boundary_arn)
                if props.permissions_boundary_arn
                else None
            ),
        )
        if props.require_source_identity:
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
        if duration_token:
            cfn_role = self.role.node.default_child
            assert isinstance(cfn_role, iam.CfnRole)
            cfn_role.max_session_duration = props.max_session_duration_seconds
        for key, value in props.tags.items():
            Tags.of(self.role).add(key, value)
        # Statements can be added to the trust after construction: its size is checked at synth.
        self.node.add_validation(_TrustPolicySize(self.role))

        self.role_name: str = self.role.role_name
        self.role_path: str = props.role_path
        self.external_ids: tuple[str, ...] = tuple(props.external_ids)
        self.role_arn: str = self.role.role_arn

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The role, for CDK's ``grant_*`` methods (``bucket.grant_read(access)``)."""
        return self.role


def _props(props: CrossAccountRoleProps | None, options: dict[str, Any]) -> CrossAccountRoleProps:
    if props is not None and options:
        raise SettingsError("props", sorted(options), "give a CrossAccountRoleProps or keyword arguments, not both")
    if props is not None:
        return props
    unknown = sorted(set(options) - set(CrossAccountRoleProps.prop_names()))
    if unknown:
        known = ", ".join(CrossAccountRoleProps.prop_names())
        raise SettingsError(unknown[0], options[unknown[0]], f"is not a CrossAccountRole prop; known: {known}")
    missing = [name for name in ("trusted_account_id", "external_ids") if name not in options]
    if missing:
        raise SettingsError(missing[0], None, "is required (external_ids=[] opts out of external IDs explicitly)")
    return CrossAccountRoleProps(**options)


def _check_not_own_account(scope: Construct, props: CrossAccountRoleProps) -> None:
    own_account = Stack.of(scope).account
    if not tokens.unresolved(own_account) and not tokens.unresolved(props.trusted_account_id):
        rules.check(
            "trusted_account_id",
            props.trusted_account_id,
            own_account != props.trusted_account_id,
            "must differ from the account the role is deployed in",
        )


def _claim_role_name(scope: Construct, props: CrossAccountRoleProps, label: str) -> None:
    """IAM role names are unique per account, ignoring case: refuse a second one in the app now."""
    if props.role_name is None or tokens.unresolved(props.role_name):
        return
    stack = Stack.of(scope)
    account = stack.node.path if tokens.unresolved(stack.account) else stack.account
    taken = _ROLE_NAMES.setdefault(scope.node.root, {})
    key = (account, f"{props.role_path}{props.role_name}".lower())
    if key in taken:
        raise SettingsError(
            "role_name",
            props.role_name,
            f"{taken[key]} already names a role so in this account (IAM role names are unique ignoring case); "
            "leave role_name unset to let CloudFormation generate one",
            where=label,
        )
    taken[key] = label


def _inline_policies(props: CrossAccountRoleProps) -> dict[str, iam.PolicyDocument]:
    if not props.allowed_actions:
        return {}
    statement = iam.PolicyStatement(
        sid="CrossAccountPermissions", actions=list(props.allowed_actions), resources=list(props.allowed_resources)
    )
    return {"CrossAccountPermissions": iam.PolicyDocument(statements=[statement])}


@jsii.implements(IValidation)
class _TrustPolicySize:
    """The trust policy fits IAM's quota (checked at synth, after every statement is in)."""

    def __init__(self, role: iam.Role) -> None:
        self._role = role

    def validate(self) -> list[str]:
        document = Stack.of(self._role).resolve(self._role.assume_role_policy.to_json())  # type: ignore[union-attr]
        size = _iam_length(document)
        if size > TRUST_POLICY_MAX:
            return [f"the trust policy is about {size} characters, over IAM's maximum of {TRUST_POLICY_MAX}"]
        if size > TRUST_POLICY_DEFAULT_QUOTA:
            Annotations.of(self._role).add_warning_v2(
                "cross-account:trust-policy-size",
                f"the trust policy is about {size} characters, over IAM's default quota of "
                f"{TRUST_POLICY_DEFAULT_QUOTA}: request a quota increase, or merge principals",
            )
        return []


def _iam_length(document: Any) -> int:
    """The policy's length as IAM counts it (no whitespace); an intrinsic counts as a short ARN part."""
    if isinstance(document, dict) and list(document) == ["Fn::Join"]:
        _separator, parts = document["Fn::Join"]
        return 2 + sum(len(part) if isinstance(part, str) else 10 for part in parts)
    if isinstance(document, dict) and len(document) == 1 and next(iter(document)).startswith(("Fn::", "Ref")):
        return 12
    if isinstance(document, dict):
        return 2 + sum(len(json.dumps(k)) + 1 + _iam_length(v) + 1 for k, v in document.items())
    if isinstance(document, list):
        return 2 + sum(_iam_length(v) + 1 for v in document)
    return len(json.dumps(document))
