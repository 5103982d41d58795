"""Target side (account B): the role that people from the trusted account assume, and the guard around it."""

from __future__ import annotations

import weakref
from collections.abc import MutableMapping, Sequence
from fnmatch import fnmatchcase
from typing import Any, Final

import jsii
from aws_cdk import Annotations, Aws, RemovalPolicy, Stack, Tags
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct, IValidation

from cross_account import declaration, escalation, guard, lane, quotas, tokens
from cross_account.declaration import SettingsError
from cross_account.iam_data import CLOUDFORMATION_ACCOUNT_LEVEL, CLOUDFORMATION_STACK_LEVEL
from cross_account.private.construct import construct_label, props_of, set_max_session_duration
from cross_account.private.policy_size import iam_length, trust_size_error
from cross_account.props import CrossAccountRoleProps
from cross_account.trust import trust_document, trust_statements, trusted_role_arns

#: Stacks the session may never operate, beside its own: CDK's bootstrap stacks (the default one, and others
#: under their own --toolkit-stack-name) run with an administrator service role, and StackSet instances with
#: the StackSet's execution role.
ALWAYS_PROTECTED_STACKS = ("CDKToolkit", "CDKToolkit-*", "StackSet-*")
#: What a session may still do to CDK's bootstrap roles, asset buckets and container-asset repositories.
_BOOTSTRAP_READS: Final = (
    "iam:Get*",
    "iam:List*",
    "s3:Get*",
    "s3:List*",
    "ecr:BatchCheck*",
    "ecr:BatchGet*",
    "ecr:Describe*",
    "ecr:Get*",
    "ecr:List*",
)
#: Account-wide settings that act on every repository or stack, the guarded ones included.
_REGISTRY_WIDE: Final = (
    "ecr:PutRegistryPolicy",
    "ecr:DeleteRegistryPolicy",
    "ecr:PutReplicationConfiguration",
    "ecr:CreatePullThroughCacheRule",
    "ecr:UpdatePullThroughCacheRule",
    "ecr:DeletePullThroughCacheRule",
    "ecr:CreateRepositoryCreationTemplate",
    "ecr:UpdateRepositoryCreationTemplate",
    "ecr:DeleteRepositoryCreationTemplate",
    "cloudformation:ActivateType",
    "cloudformation:DeactivateType",
    "cloudformation:RegisterType",
    "cloudformation:DeregisterType",
    "cloudformation:SetTypeConfiguration",
    "cloudformation:SetTypeDefaultVersion",
)


#: Fixed role names per app, to refuse a second role with the same name in one account at synth.
_ROLE_NAMES: weakref.WeakKeyDictionary[IConstruct, MutableMapping[tuple[str, str], str]] = weakref.WeakKeyDictionary()


@jsii.implements(iam.IRole)
class CrossAccountRole(Construct):
    """An IAM role in the target account (B) that principals of a trusted account (A) may assume.

    Give the options as a :class:`~cross_account.props.CrossAccountRoleProps`, or as keyword
    arguments of the same names (the props type documents each one and its default)::

        CrossAccountRole(stack, "Deploy", trusted_account_id="111111111111", external_ids=["deploy-2026"])

    The trust is secure by default: every statement that allows ``sts:AssumeRole`` requires one
    of ``external_ids`` (``[]`` opts out explicitly); MFA, specific principals, an organization
    and a source identity are one option away. The role grants nothing until you say what: with
    ``allowed_actions``, ``managed_policy_arns``, or CDK's own grants, since the construct is an
    ``iam.IRole`` (``bucket.grant_read(access)``, ``iam.ManagedPolicy(roles=[access])``). Without
    ``role_name`` CloudFormation names the role, so two of them never collide.

    A tamper guard, an explicit Deny that no grant lifts, keeps the session from changing its
    own role and the policies that shape it, and from operating its own stack, CDK's bootstrap
    stack and StackSet instances (each runs with a service role of its own). A synth warning
    names grants with which the session acts with another principal's permissions.

    Values may be CDK tokens; what is known at synth is validated, and a bad value raises
    :class:`~cross_account.declaration.SettingsError` naming this construct's path.

    Exposes ``role``, ``role_arn``, ``role_name``, ``tamper_guard`` and ``props`` (the validated options).
    """

    def __init__(
        self, scope: Construct, construct_id: str, props: CrossAccountRoleProps | None = None, /, **options: Any
    ) -> None:
        label = construct_label(scope, construct_id, "CrossAccountRole")
        try:
            props = props_of(CrossAccountRoleProps, "CrossAccountRole", props, options, required=_REQUIRED).validated(
                unresolved=tokens.unresolved
            )
            _check_not_own_account(scope, props)
            _check_trust_size(props)
        except SettingsError as error:
            raise error.at(label) from None
        _claim_role_name(scope, props, label)
        super().__init__(scope, construct_id)
        self.props: CrossAccountRoleProps = props
        self._partition_and_account: tuple[str, str] | None = None
        self.service_role_boundary: iam.IManagedPolicy | None = None
        #: Where the roles of ``service_role_services`` live (none without them). The props refuse service
        #: roles with neither a role_name nor a service_role_path.
        self.service_role_path: str | None = (
            (props.service_role_path or lane.default_service_role_path(str(props.role_name)))
            if props.service_role_services
            else None
        )

        trusted_account = iam.AccountPrincipal(props.trusted_account_id)
        (_, conditions), *more_statements = trust_statements(props)
        self.role = iam.Role(
            self,
            "Role",
            role_name=props.role_name,
            path=props.role_path,
            description=props.description,
            assumed_by=trusted_account.with_conditions(conditions) if conditions else trusted_account,
            inline_policies=(inline := self._inline_policies()),
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
        set_max_session_duration(self.role, props.max_session_duration_seconds)
        #: The deploy lane's tag value: the role's name (a deploy-time value when CloudFormation names it).
        self.lane: str = props.role_name or self.role.role_name
        service_role_allows, self._service_role_denies = self._service_role_statements()
        if service_role_allows:
            # Apart from the role's inline policy: an unnamed role's lane is its own name, a reference to it.
            iam.Policy(
                self,
                "ServiceRoles",
                statements=[iam.PolicyStatement.from_json(s) for s in service_role_allows],
                roles=[self.role],
            )
        for action, more_conditions in more_statements:
            self.role.assume_role_policy.add_statements(  # type: ignore[union-attr]
                iam.PolicyStatement(actions=[action], principals=[trusted_account], conditions=more_conditions or None)
            )
        for key, value in props.tags.items():
            Tags.of(self.role).add(key, value)
        Tags.of(self.role).add(*quotas.GUARD_TAG)
        self.tamper_guard = self._tamper_guard()
        inline_size = _InlinePolicySize(self, [*inline.values()])
        # Nothing else names the role yet: the props alone tell, mostly, and cost no jsii call.
        if _size_bound(props) > quotas.ROLE_INLINE_POLICIES_QUOTA and (over_quota := inline_size.validate()):
            # Named after what takes the most room: the actions, or the resources they apply to.
            larger = max(("allowed_actions", "allowed_resources"), key=lambda key: len(str(getattr(props, key))))
            count = f"{len(props.allowed_actions)} actions on {len(props.allowed_resources)} resources"
            raise SettingsError(larger, count, over_quota[0], where=label)
        for warning_id, warning in _warnings(props):
            Annotations.of(self).add_warning_v2(warning_id, warning)

        # Statements can be added to the trust and grants to the role after construction: check again at synth.
        self.node.add_validation(_TrustPolicySize(self.role, _known_quota(props)))
        self.node.add_validation(inline_size)

        self.role_path: str = props.role_path
        self.external_ids: tuple[str, ...] = tuple(props.external_ids)

    # --- an iam.IRole, like aws-iam's own: each member is the role's -------------------------

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The role, for CDK's ``grant_*`` methods (``bucket.grant_read(access)``)."""
        return self.role

    @property
    def role_arn(self) -> str:
        return self.role.role_arn

    @property
    def role_name(self) -> str:
        return self.role.role_name

    @property
    def role_ref(self) -> Any:
        return self.role.role_ref

    @property
    def assume_role_action(self) -> str:
        return self.role.assume_role_action

    @property
    def policy_fragment(self) -> iam.PrincipalPolicyFragment:
        return self.role.policy_fragment

    @property
    def principal_account(self) -> str | None:
        return self.role.principal_account

    @property
    def stack(self) -> Stack:
        return self.role.stack

    @property
    def env(self) -> Any:
        return self.role.env

    def apply_removal_policy(self, policy: RemovalPolicy) -> None:
        self.role.apply_removal_policy(policy)

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        """A statement in the role's own policy (measured against IAM's quota at synth, like any grant)."""
        return self.role.add_to_principal_policy(statement)

    def add_managed_policy(self, policy: iam.IManagedPolicy) -> None:
        self.role.add_managed_policy(policy)

    def attach_inline_policy(self, policy: iam.Policy) -> None:
        self.role.attach_inline_policy(policy)

    def grant(self, grantee: iam.IPrincipal, *actions: str) -> iam.Grant:
        return self.role.grant(grantee, *actions)

    def grant_pass_role(self, grantee: iam.IPrincipal) -> iam.Grant:
        return self.role.grant_pass_role(grantee)

    def grant_assume_role(self, grantee: iam.IPrincipal) -> iam.Grant:
        return self.role.grant_assume_role(grantee)

    def with_(self, *mixins: Any) -> Any:
        return self.role.with_(*mixins)

    def _inline_policies(self) -> dict[str, iam.PolicyDocument]:
        """The role's permissions; with ``cloudformation_stack_names``, CloudFormation's go to those stacks.

        The patterns are spelled out from IAM's service reference: stack actions on the stacks, actions
        that take no resource (ListStacks, ValidateTemplate…, they act as the caller, never with a
        stack's service role) on ``*``; StackSet actions are left out (the tamper guard denies them).
        """
        props = self.props
        scoped = [a for a in props.allowed_actions if props.cloudformation_stack_names and _is_cfn(a)]

        def spelled_out(actions: Sequence[str]) -> list[str]:
            return [a for a in actions if any(fnmatchcase(a.lower(), pattern.lower()) for pattern in scoped)]

        account_level = [a for a in CLOUDFORMATION_ACCOUNT_LEVEL if a not in lane.ACCOUNT_WIDE_STACKSETS]
        by_sid = {
            "CrossAccountPermissions": ([a for a in props.allowed_actions if a not in scoped], props.allowed_resources),
            "CloudFormationStacks": (
                spelled_out(CLOUDFORMATION_STACK_LEVEL),
                [self.stack_arn(name) for name in props.cloudformation_stack_names],
            ),
            "CloudFormationAccountLevel": (spelled_out(account_level), ["*"]),
        }
        statements = [
            iam.PolicyStatement(sid=sid, actions=list(actions), resources=list(resources))
            for sid, (actions, resources) in by_sid.items()
            if actions
        ]
        self._permissions = list(statements)
        return {"CrossAccountPermissions": iam.PolicyDocument(statements=statements)} if statements else {}

    def _service_role_statements(self) -> tuple[list[lane.Statement], list[lane.Statement]]:
        """The service-role delegation's (allows, denies), none without service roles; the boundary's ARN is
        spelled out, not referenced, since the boundary holds the guard, which names it."""
        path = self.service_role_path
        if path is None:
            return [], []
        boundary = self._arn("iam", f"policy{path}{lane.boundary_policy_name(self.lane)}", region="")
        return lane.service_role_statements(
            path_arn=self._arn("iam", f"role{path}*", region=""),
            role_arns=self._arn("iam", "role/*", region=""),
            boundary_arn=boundary,
            services=self.props.service_role_services,
        )

    def stack_arn(self, name: str) -> str:
        """The ARN of the stacks named ``name`` (a pattern) in the role's account, in any region."""
        return self._arn("cloudformation", f"stack/{name}/*")

    def _arn(self, service: str, resource: str, region: str = "*", *, in_account: bool = True) -> str:
        """An ARN in the role's account: as ``Stack.format_arn`` writes it, without its jsii call per ARN.
        ``resource`` may hold ``{account}``; ``in_account=False`` for a service whose ARNs name no account."""
        partition, account = self._arn_parts()
        resource = resource.replace("{account}", account)
        return f"arn:{partition}:{service}:{region}:{account if in_account else ''}:{resource}"

    def _arn_parts(self) -> tuple[str, str]:
        """(partition, account) of the role's stack, read once."""
        if self._partition_and_account is None:
            stack = Stack.of(self)
            self._partition_and_account = (stack.partition, stack.account)
        return self._partition_and_account

    def _tamper_guard(self) -> iam.Policy:
        """Explicit Deny statements: no grant, managed policy or setting lifts them."""
        stack = Stack.of(self)
        props = self.props
        shaping_policies = [
            arn
            for arn in (*props.managed_policy_arns, props.permissions_boundary_arn)
            if arn and ":iam::aws:policy/" not in arn
        ]
        protected = [
            Aws.STACK_NAME,
            *_stacks_above(stack),
            *ALWAYS_PROTECTED_STACKS,
            *props.protected_stack_names,
        ]
        statements = [
            iam.PolicyStatement(
                sid="DenyChangesToThisRole",
                effect=iam.Effect.DENY,
                not_actions=["iam:Get*", "iam:List*"],
                resources=[self.role.role_arn],
            ),
            # The same by the role's tag, which IAM reads from the role itself: it holds whatever case or
            # spelling a request names the role with, and guards every role the construct makes (tiers).
            iam.PolicyStatement(
                sid="DenyChangesToGuardedRoles",
                effect=iam.Effect.DENY,
                not_actions=["iam:Get*", "iam:List*"],
                resources=[self._arn("iam", "role/*", region="")],
                conditions={"StringEquals": {f"aws:ResourceTag/{quotas.GUARD_TAG[0]}": quotas.GUARD_TAG[1]}},
            ),
            iam.PolicyStatement(
                sid="DenyProtectedStacks",
                effect=iam.Effect.DENY,
                not_actions=["cloudformation:Describe*", "cloudformation:Get*", "cloudformation:List*"],
                resources=[
                    *(self.stack_arn(name) for name in protected),
                    self._arn("cloudformation", "stackset/*"),
                    self._arn("cloudformation", "stackset-target/*"),
                ],
            ),
            # CDK's bootstrap roles, and the assets the next administrator's `cdk deploy` runs: read only.
            iam.PolicyStatement(
                sid="DenyCdkBootstrapRolesAndAssets",
                effect=iam.Effect.DENY,
                not_actions=[*_BOOTSTRAP_READS],
                resources=[
                    self._arn("iam", "role/cdk-*", region=""),
                    self._arn("iam", "policy/cdk-*", region=""),
                    self._arn("s3", "cdk-*-assets-{account}-*", region="", in_account=False),
                    self._arn("ecr", "repository/cdk-*-container-assets-{account}-*"),
                ],
            ),
            # Ways around the ARNs above: an access point or access grant on the asset bucket, an ECR
            # registry policy or replication rule that lets another account write the asset repository, a
            # CloudFormation extension (hook) that acts on every stack.
            iam.PolicyStatement(
                sid="DenyNewS3AccessPaths",
                effect=iam.Effect.DENY,
                actions=[
                    "s3:CreateAccessPoint",
                    "s3:CreateAccessPointForObjectLambda",
                    "s3:CreateMultiRegionAccessPoint",
                    "s3:CreateAccessGrant",
                    "s3:CreateAccessGrantsLocation",
                    "s3:UpdateAccessGrantsLocation",
                    "s3:PutAccessGrantsInstanceResourcePolicy",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="DenyRegistryWideChanges", effect=iam.Effect.DENY, actions=[*_REGISTRY_WIDE], resources=["*"]
            ),
        ]
        partition, account = self._arn_parts()
        # Written as JSON and read in one jsii call: a call per statement costs, once per role and account.
        plain = [
            *guard.identity_statements(partition=partition, account=account, lane_path=self.service_role_path),
            *guard.bucket_statements(partition=partition, protected_buckets=props.protected_bucket_names),
            *lane.lane_statements(
                lane=self.lane,
                stack_arns=self._arn("cloudformation", "stack/*"),
                account=account,
                staging=self._arn("s3", f"{lane.STAGING_BUCKET_PREFIX}*", region="", in_account=False),
            ),
        ]
        plain += self._service_role_denies
        if shaping_policies:
            statements.append(
                iam.PolicyStatement(
                    sid="DenyChangesToItsPolicies",
                    effect=iam.Effect.DENY,
                    not_actions=["iam:Get*", "iam:List*"],
                    resources=shaping_policies,
                )
            )
        policy = iam.Policy(
            self,
            "TamperGuard",
            document=iam.PolicyDocument.from_json({"Version": "2012-10-17", "Statement": plain}),
            statements=statements,
            roles=[self.role],
        )
        if props.service_role_services:
            self.service_role_boundary = self._boundary(statements, plain)
        return policy

    def _boundary(self, denies: list[iam.PolicyStatement], plain: list[lane.Statement]) -> iam.ManagedPolicy:
        """The service roles' permissions boundary: at most the role's own permissions, with its guard inside
        (but for what only IAM or STS actions meet: the boundary allows none)."""
        return iam.ManagedPolicy(
            self,
            "ServiceRoleBoundary",
            managed_policy_name=lane.boundary_policy_name(self.lane),
            path=self.service_role_path,
            description=f"Boundary of the roles that sessions of {self.props.role_name or 'the role'} create",
            document=iam.PolicyDocument.from_json(
                {"Version": "2012-10-17", "Statement": [s for s in plain if not _on_identities_only(s)]}
            ),
            statements=[
                *self._permissions,
                *(s for s in denies if not _on_identities_only(s.to_statement_json())),
            ],
        )


def _warnings(props: CrossAccountRoleProps) -> list[tuple[str, str]]:
    """(id, text) of each synth warning the props call for."""
    warnings: list[tuple[str, str]] = []
    if len(props.managed_policy_arns) > quotas.DEFAULT_MANAGED_POLICIES_PER_ROLE:
        warnings.append(
            (
                "cross-account:managed-policy-quota",
                f"{len(props.managed_policy_arns)} managed policies: over IAM's default quota of "
                f"{quotas.DEFAULT_MANAGED_POLICIES_PER_ROLE} per role; the deploy fails without a quota increase",
            )
        )
    if props.caller.source_identity and not trusted_role_arns(props):
        warnings.append(
            (
                "cross-account:role-callers-refused",
                "require_source_identity without roles in trusted_principal_arns: role sessions (IAM Identity "
                "Center, CI, a chained role) are refused, since a role chooses its own source identity; name "
                "the roles that may set one in trusted_principal_arns",
            )
        )
    known_actions = [a for a in props.allowed_actions if not tokens.unresolved(a)]
    warnings += [
        (f"cross-account:acts-as-another-principal:{service}", text)
        for service, text in escalation.acting_as_others(known_actions).items()
    ]
    if resource_policies := escalation.resource_policy_writes(known_actions):
        warnings.append(("cross-account:resource-policy-writes", resource_policies))
    known_arns = [arn for arn in props.managed_policy_arns if not tokens.unresolved(arn)]
    warnings += [
        ("cross-account:privileged-managed-policy", t) for t in escalation.privileged_managed_policies(known_arns)
    ]
    return warnings


def _on_identities_only(document: dict[str, Any]) -> bool:
    """A guard statement (as JSON) that only IAM or STS actions can meet: a boundary that allows none needs no
    copy (a managed policy holds 6,144 characters)."""

    def listed(value: Any) -> list[Any]:
        return value if isinstance(value, list) else [value]

    actions = listed(document.get("Action") or document.get("NotAction"))
    resources = listed(document.get("Resource") or document.get("NotResource"))
    if "Action" in document and all(a.startswith(("iam:", "sts:")) for a in actions):
        return True
    return all(isinstance(r, str) and ":iam::" in r for r in resources)


def _stacks_above(stack: Stack) -> list[str]:
    """For a nested stack, the stacks whose update replaces its template: the root stack, and every stack
    nested in it (CloudFormation names them ``<root>-<id>-<suffix>``). Only names known at synth: a
    parent's name is a deploy-time value, and a reference to it would make a dependency cycle."""
    root = stack
    while root.nested_stack_parent is not None:
        root = root.nested_stack_parent
    return [] if root is stack else [root.stack_name, f"{root.stack_name}-*"]


def _known_quota(props: CrossAccountRoleProps) -> int:
    """The quota to measure against: a quota known only at deploy time is held to the most IAM allows."""
    return quotas.MAX_TRUST_POLICY_QUOTA if tokens.unresolved(props.trust_policy_quota) else props.trust_policy_quota


def _is_cfn(action: str) -> bool:
    return not tokens.unresolved(action) and action.lower().startswith("cloudformation:")


#: What CrossAccountRole needs given, and why.
_REQUIRED: Final = {
    "trusted_account_id": "is required",
    "external_ids": "is required (external_ids=[] opts out of external IDs explicitly)",
}


def _check_trust_size(props: CrossAccountRoleProps) -> None:
    """The trust fits the quota; the error names what the user set that takes the room."""
    too_large = trust_size_error(iam_length(trust_document(props)), _known_quota(props))
    if too_large is None:
        return
    larger = max(("external_ids", "trusted_principal_arns"), key=lambda key: iam_length(list(getattr(props, key))))
    count = f"{len(props.external_ids)} external IDs and {len(props.trusted_principal_arns)} principals"
    raise SettingsError(larger, count, too_large)


def _check_not_own_account(scope: Construct, props: CrossAccountRoleProps) -> None:
    own_account = Stack.of(scope).account
    if not tokens.unresolved(own_account) and not tokens.unresolved(props.trusted_account_id):
        declaration.check(
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
    key = (account, props.role_name.lower())
    if key in taken:
        raise SettingsError(
            "role_name",
            props.role_name,
            f"{taken[key]} already names a role so in this account (IAM role names are unique ignoring case); "
            "leave role_name unset to let CloudFormation generate one",
            where=label,
        )
    taken[key] = label


@jsii.implements(IValidation)
class _TrustPolicySize:
    """The trust policy fits the account's quota."""

    def __init__(self, role: iam.Role, quota: int) -> None:
        self._role, self._quota = role, quota

    def validate(self) -> list[str]:
        trust = self._role.assume_role_policy
        assert trust is not None
        error = trust_size_error(iam_length(Stack.of(self._role).resolve(trust.to_json())), self._quota)
        return [error] if error else []


@jsii.implements(IValidation)
class _InlinePolicySize:
    """The role's inline policies (its permissions, the tamper guard, CDK grants) fit IAM's quota together."""

    def __init__(self, access: CrossAccountRole, documents: list[iam.PolicyDocument]) -> None:
        self._access, self._documents = access, documents

    def validate(self) -> list[str]:
        # Every AWS::IAM::Policy of the stack that names the role: the guard, CDK's grants, any other.
        stack = Stack.of(self._access)
        policies = [policy for policy in stack.node.find_all() if isinstance(policy, iam.CfnPolicy)]
        # The guard alone, as at construction: the props tell without a jsii call (500 roles would pay seconds).
        if len(policies) == 1 and _size_bound(self._access.props) <= quotas.ROLE_INLINE_POLICIES_QUOTA:
            return []
        role = stack.resolve(self._access.role.role_name)
        attached = [
            stack.resolve(policy.policy_document) for policy in policies if role in (stack.resolve(policy.roles) or [])
        ]
        size = sum(iam_length(stack.resolve(d.to_json())) for d in self._documents) + sum(map(iam_length, attached))
        if size <= quotas.ROLE_INLINE_POLICIES_QUOTA:
            return []
        return [
            f"the role's inline policies come to about {size} characters, over IAM's "
            f"{quotas.ROLE_INLINE_POLICIES_QUOTA} per role: use wildcards (s3:Get*) or fewer actions and resources, "
            "or a managed policy (managed_policy_arns)"
        ]


#: The tamper guard and the statements around the names, at their longest (the guard alone: about 5,400 with an
#: unnamed role, whose name is a deploy-time value counted at its longest).
_GUARD_AND_STATEMENTS: Final = 7200
#: The service-role delegation's allows and denies, at their longest (about 2,600).
_SERVICE_ROLE_STATEMENTS: Final = 3500
#: A stack name's ARN around it, at its longest.
_STACK_ARN: Final = 80


def _size_bound(props: CrossAccountRoleProps) -> int:
    """More than the role's permissions and tamper guard can come to, from the props alone; or more than
    the quota when a prop holds a token (its value is not known)."""
    named = [*props.allowed_actions, *props.allowed_resources, *props.managed_policy_arns]
    named += [props.permissions_boundary_arn or ""]
    stacks = [*props.cloudformation_stack_names, *props.protected_stack_names]
    if any(tokens.unresolved(value) for value in (*named, *stacks)):
        return quotas.ROLE_INLINE_POLICIES_QUOTA + 1
    spelled_out = (*CLOUDFORMATION_STACK_LEVEL, *CLOUDFORMATION_ACCOUNT_LEVEL) if stacks else ()
    return (
        _GUARD_AND_STATEMENTS
        + (_SERVICE_ROLE_STATEMENTS if props.service_role_services else 0)
        + sum(len(text) + 3 for text in (*named, *spelled_out))
        + sum(len(name) + _STACK_ARN for name in stacks)
    )
