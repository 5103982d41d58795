"""The options of one cross-account role, declared once, with their defaults and rules.

:class:`CrossAccountRoleProps` has no CDK import. The construct takes it, and the app's
settings extend it (:class:`cross_account.settings.RoleSpec`), so a role option, its
default and its rule live here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Self

from cross_account import declaration, quotas, rules
from cross_account.caller import CallerRequirements
from cross_account.declaration import setting


@dataclass(frozen=True, kw_only=True)
class CrossAccountRoleProps:
    """What a :class:`~cross_account.CrossAccountRole` trusts and grants.

    Secure by default: the trust requires one of ``external_ids`` on every statement
    that allows ``sts:AssumeRole``, and the role grants nothing until you say what.
    Any value may be a CDK token (a parameter, another construct's attribute); what
    is known at synth is validated, the rest is left to IAM at deploy time.
    """

    #: The account (A) whose principals may assume the role: 12 digits as a string, not the role's own
    #: account. Default: none (required).
    trusted_account_id: str = setting(rules.validate_account_id)
    #: One of these must be sent as `sts:ExternalId`, on every statement that allows `sts:AssumeRole`: each
    #: 2–1224 of `[A-Za-z0-9+=,.@:/_-]`, not starting with `-` (command-line parsers would read it as an
    #: option). Default: none (required; `[]` opts out explicitly).
    external_ids: Sequence[str] = setting(rules.validate_external_id, shape="list")
    #: The role's name, 1–64 of `[A-Za-z0-9+=,.@_-]`; unique per account, ignoring case. Default: none, so
    #: CloudFormation generates one (name it to give people a stable ARN).
    role_name: str | None = setting(declaration.optional(rules.validate_role_name), default=None)
    #: The role's path: `/` or `/…/`, at most 512 printable ASCII. Default: `/`.
    role_path: str = setting(rules.validate_path, default="/")
    #: The role's description: at most 1000 characters of printable ASCII, Latin-1, tabs and line breaks.
    #: Default: none (the app writes one).
    description: str | None = setting(
        declaration.optional(rules.validate_description), default=None, name="role_description"
    )
    #: Callers must have signed in with MFA: the trust and the group's grant require
    #: `Bool aws:MultiFactorAuthPresent`. Default: `false`.
    require_mfa: bool = setting(rules.validate_bool, default=False, tokens=False)
    #: With `require_mfa`: the MFA sign-in is at most this old (`NumericLessThan aws:MultiFactorAuthAge`),
    #: 1–129600 seconds. Default: none.
    mfa_max_age_seconds: int | None = setting(declaration.optional(rules.validate_mfa_max_age), default=None)
    #: Sessions last at most this long, 3600–43200 seconds. Default: `3600`.
    max_session_duration_seconds: int = setting(rules.validate_max_session_duration, default=3600)
    #: Only these users or roles **of the trusted account** (`ArnEquals aws:PrincipalArn`); a `*` or `?`
    #: only after a literal name prefix (`role/*`, `user/*`, `*` are refused). With
    #: `require_source_identity`, only the roles named here may set one. Default: `[]` (any principal that
    #: the trusted account's own policies allow).
    trusted_principal_arns: Sequence[str] = setting(rules.validate_principal_arn, default=(), shape="list")
    #: `o-…`: callers must belong to this organization (`aws:PrincipalOrgID`). Default: none.
    principal_org_id: str | None = setting(declaration.optional(rules.validate_org_id), default=None)
    #: IAM users must set `sts:SourceIdentity` to their user name; the roles named in
    #: `trusted_principal_arns` must set one (other role sessions are refused). Default: `false`.
    require_source_identity: bool = setting(rules.validate_bool, default=False, tokens=False)
    #: Callers may tag their sessions: `sts:TagSession` in the trust (its own statement, with the principal
    #: conditions) and in the group's grant; GitHub's `configure-aws-credentials` tags by default.
    #: Default: `false`.
    allow_session_tags: bool = setting(rules.validate_bool, default=False, tokens=False)
    #: With `allow_session_tags`: only these tag keys (`ForAllValues:StringEquals aws:TagKeys`). Default:
    #: `[]` (any key).
    allowed_session_tag_keys: Sequence[str] = setting(rules.validate_tag_key, default=(), shape="list")
    #: Actions the role's inline policy allows, `service:Action`. Refused by meaning: `*`, any wildcard in
    #: `iam:`, `sts:` or `organizations:`, and every action with which a session raises its own privileges
    #: (IAM's permissions-management actions, `iam:PassRole`, credentials, `sts:AssumeRole`…: attach such a
    #: policy deliberately through `managed_policy_arns`). Synth warnings name grants that act with another
    #: principal's permissions and resource-policy writes. Default: `[]` (grant with CDK's `grant_*`
    #: methods: the construct is an `iam.IRole`).
    allowed_actions: Sequence[str] = setting(rules.validate_action, default=(), shape="list")
    #: Resources for `allowed_actions`: `*` or ARNs `arn:<partition>:<service>:<region>:<account>:<resource>`.
    #: Default: `["*"]`.
    allowed_resources: Sequence[str] = setting(rules.validate_resource, default=("*",), shape="list")
    #: The CloudFormation actions of `allowed_actions` apply only to stacks of these names (e.g.
    #: `["my-service-*"]`: wildcards allowed, with a literal part). It narrows the [deploy
    #: lane](#deploy-your-service-with-the-role), which holds either way. Default: `[]`.
    cloudformation_stack_names: Sequence[str] = setting(rules.validate_lane_stack_pattern, default=(), shape="list")
    #: More stacks the session may never operate, beside those always protected (its own stack, `CDKToolkit`,
    #: `CDKToolkit-*`, `StackSet-*`). Default: `[]`.
    protected_stack_names: Sequence[str] = setting(rules.validate_stack_name_pattern, default=(), shape="list")
    #: Services (`iam:PassedToService`) the session may pass roles it creates to, such as
    #: `lambda.amazonaws.com`: it may then create roles under `service_role_path`, each with the lane's
    #: permissions boundary (at most this role's own permissions, with its tamper guard inside). Not
    #: `cloudformation`, `iam`, `sts` or `organizations`. Default: `[]` (the session creates no roles).
    service_role_services: Sequence[str] = setting(rules.validate_service_principal, default=(), shape="list")
    #: With `service_role_services`: where those roles live; not `/`, nor the role's own path or one above it.
    #: Default: `/cross-account-lane/<role_name>/`.
    service_role_path: str | None = setting(declaration.optional(rules.validate_path), default=None)
    #: More S3 buckets the session may only read (name patterns with a literal part, such as your Terraform
    #: state's), beside the deploy tools' artifact buckets always protected. Default: `[]`.
    protected_bucket_names: Sequence[str] = setting(rules.validate_bucket_name_pattern, default=(), shape="list")
    #: Managed policy ARNs attached to the role: at most 20 (IAM's most; over 10, IAM's default quota, a synth
    #: warning; a synth warning also names administrator-like AWS policies). Default: `[]`.
    managed_policy_arns: Sequence[str] = setting(rules.validate_policy_arn, default=(), shape="list")
    #: The role's permissions boundary, a managed policy ARN. Default: none.
    permissions_boundary_arn: str | None = setting(declaration.optional(rules.validate_policy_arn), default=None)
    #: The account's trust-policy size quota, 2048–4096: a trust that would not fit is refused at synth.
    #: Default: `2048` (IAM's default; up to 4096 after a quota increase).
    trust_policy_quota: int = setting(rules.validate_trust_policy_quota, default=quotas.DEFAULT_TRUST_POLICY_QUOTA)
    #: At most 49 tags on the role (the tamper guard's `cross-account:tamper-guard` is the 50th, reserved in
    #: any case): letters, digits, spaces and `_.:/=+-@`; the `aws:` prefix is reserved. Default: `{}`.
    tags: Mapping[str, str] = setting(rules.role_tags, default_factory=dict, shape="tags")

    @property
    def caller(self) -> CallerRequirements:
        """What a caller must bring to assume the role: the trust, the trusted side and the client read it."""
        return CallerRequirements(
            external_ids=tuple(self.external_ids),
            mfa=self.require_mfa,
            mfa_max_age_seconds=self.mfa_max_age_seconds,
            source_identity=self.require_source_identity,
            session_tags=self.allow_session_tags,
            session_tag_keys=tuple(self.allowed_session_tag_keys),
        )

    @classmethod
    def prop_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(CrossAccountRoleProps))

    def validated(self, *, unresolved: Callable[[Any], bool] = declaration.never, prefix: str = "") -> Self:
        """A copy with every value checked and normalized (lists as tuples, ``""`` as none).

        Raises :class:`~cross_account.declaration.SettingsError` naming the first bad prop
        (``prefix`` + its name). Values for which ``unresolved`` is true pass unchecked.
        """
        values = {
            f.name: declaration.rule_of(f).apply(f"{prefix}{f.name}", getattr(self, f.name), unresolved=unresolved)
            for f in fields(CrossAccountRoleProps)
        }
        props = replace(self, **values)
        props.check_together(unresolved=unresolved, prefix=prefix)
        return props

    def check_together(self, *, unresolved: Callable[[Any], bool] = declaration.never, prefix: str = "") -> None:
        """Rules that involve several props."""
        trusted = None if unresolved(self.trusted_account_id) else self.trusted_account_id
        for i, arn in enumerate(self.trusted_principal_arns):
            if not unresolved(arn):
                rules.validate_principal_arn(f"{prefix}trusted_principal_arns[{i}]", arn, trusted_account_id=trusted)
        rules.check_mfa_max_age(f"{prefix}mfa_max_age_seconds", self.mfa_max_age_seconds, require_mfa=self.require_mfa)
        declaration.check(
            f"{prefix}allowed_session_tag_keys",
            list(self.allowed_session_tag_keys),
            self.allow_session_tags or not self.allowed_session_tag_keys,
            "only applies with allow_session_tags=true",
        )
        declaration.check(
            f"{prefix}managed_policy_arns",
            f"{len(self.managed_policy_arns)} policies",
            len(self.managed_policy_arns) <= quotas.MAX_MANAGED_POLICIES_PER_ROLE,
            f"IAM attaches at most {quotas.MAX_MANAGED_POLICIES_PER_ROLE} managed policies to a role "
            f"({quotas.DEFAULT_MANAGED_POLICIES_PER_ROLE} without a quota increase)",
        )
        declaration.check(
            f"{prefix}service_role_path",
            self.service_role_path,
            self.service_role_path is None or bool(self.service_role_services),
            "only applies with service_role_services",
        )
        declaration.check(
            f"{prefix}service_role_path",
            self.service_role_path,
            not self.service_role_services or self.service_role_path is not None or self.role_name is not None,
            "is needed when role_name is unset: a service app's DeployLaneSynthesizer puts its roles under "
            "/cross-account-lane/<role_name>/ unless told this path",
        )
        if self.service_role_path and not unresolved(self.service_role_path) and not unresolved(self.role_path):
            rules.check_service_role_path(
                f"{prefix}service_role_path", self.service_role_path, role_path=self.role_path
            )
        rules.check_resources_for_actions(
            f"{prefix}allowed_resources", self.allowed_resources, actions=self.allowed_actions
        )
