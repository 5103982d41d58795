"""Trusted side (account A): a role that a CI system's workflows assume with OpenID Connect, no keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Annotations, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from cross_account import quotas, tokens
from cross_account.ci import CI_PROVIDERS, CiOidcSettings, CiRepository
from cross_account.declaration import SettingsError
from cross_account.private.construct import construct_label, props_of, set_max_session_duration
from cross_account.private.policy_size import iam_length, trust_size_error


class CiOidcDeployer(Construct):
    """An IAM OIDC provider (or an existing one) and a role that trusts tokens of chosen repositories only.

    The trust allows ``sts:AssumeRoleWithWebIdentity`` (and ``sts:TagSession``: CI actions tag their
    sessions) only when ``<issuer>:aud`` equals the audience and ``<issuer>:sub`` matches a
    repository's branch, tag or environment (and, with ``repository_id``, ``<issuer>:repository_id``
    one of the IDs; with ``workflows``, ``<issuer>:job_workflow_ref`` one of those workflow files).
    A repository needs a literal owner and name; a
    repository-wide or owner-wide trust is refused unless asked for. The role gets no permission here:
    give it a grant, for example ``CrossAccountAssumers.grant_assume(deployer.role)``.

    The props come whole (a :class:`~cross_account.ci.CiOidcSettings`) or as keyword arguments of the same
    names, ``provider`` (an entry of ``CI_PROVIDERS``) and ``repositories`` required; ``role_name`` and
    ``audience`` default to the provider's.

    Exposes ``role``, ``role_arn`` and ``provider`` (an ``IOidcProvider``).
    """

    def __init__(
        self, scope: Construct, construct_id: str, props: CiOidcSettings | None = None, /, **options: Any
    ) -> None:
        label = construct_label(scope, construct_id, type(self).__name__)
        try:
            given = props_of(
                CiOidcSettings, type(self).__name__, props, options, required=_REQUIRED, build=CiOidcSettings.of
            )
            # The same rules as the settings, on the props themselves; the role is built from what they read
            # (the string "false" is False), never from the raw values.
            # Errors name the construct's props, not the cdk.json setting they share rules with.
            props = given.validated(unresolved=tokens.unresolved, prefix="")
        except SettingsError as error:
            raise error.at(label) from None
        super().__init__(scope, construct_id)
        issuer = props.provider.issuer
        self.provider: iam.IOidcProvider = (
            iam.OidcProviderNative.from_oidc_provider_arn(self, "Provider", props.provider_arn)
            if props.provider_arn
            else iam.OidcProviderNative(self, "Provider", url=f"https://{issuer}", client_ids=[props.audience])
        )
        federated = self.provider.oidc_provider_arn
        trusts = [_conditions(props, subjects, repository_id) for subjects, repository_id in props.trusted()]
        self.role = iam.Role(
            self,
            "Role",
            role_name=props.role_name,
            description=_description(props),
            assumed_by=iam.FederatedPrincipal(federated, trusts[0], "sts:AssumeRoleWithWebIdentity"),
        )
        set_max_session_duration(self.role, props.max_session_duration_seconds)
        # CI actions tag their sessions: each trust allows sts:TagSession under the same conditions.
        principal = iam.FederatedPrincipal(federated)
        self.role.assume_role_policy.add_statements(  # type: ignore[union-attr]
            iam.PolicyStatement(principals=[principal], actions=["sts:TagSession"], conditions=trusts[0]),
            *(
                iam.PolicyStatement(principals=[principal], actions=[action], conditions=conditions)
                for conditions in trusts[1:]
                for action in ("sts:AssumeRoleWithWebIdentity", "sts:TagSession")
            ),
        )
        self._check_trust_size(label, props)
        self.role_arn: str = self.role.role_arn

    def _check_trust_size(self, label: str, props: CiOidcSettings) -> None:
        trust = self.role.assume_role_policy
        assert trust is not None
        size = iam_length(Stack.of(self).resolve(trust.to_json()))
        parts = "repositories, refs or workflows"
        too_large = trust_size_error(size, quotas.MAX_TRUST_POLICY_QUOTA, parts=parts)
        if too_large:
            raise SettingsError(
                "repositories",
                f"{len(props.repositories)} repositories",
                too_large,
                where=label,
            )
        if size > quotas.DEFAULT_TRUST_POLICY_QUOTA:
            Annotations.of(self).add_warning_v2(
                "cross-account:ci-trust-policy-quota",
                f"the trust policy is about {size} characters, over IAM's default quota of "
                f"{quotas.DEFAULT_TRUST_POLICY_QUOTA}: request an increase (up to {quotas.MAX_TRUST_POLICY_QUOTA}) "
                f"before deploying, or use fewer {parts}",
            )


_REQUIRED = {
    "provider": f"required: the CI system, one of CI_PROVIDERS ({', '.join(CI_PROVIDERS)})",
    "repositories": "required: at least one CiRepository",
}


class GithubOidcDeployer(CiOidcDeployer):
    """:class:`CiOidcDeployer` for GitHub Actions (``token.actions.githubusercontent.com``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repositories: Sequence[CiRepository],
        provider_arn: str | None = None,
        role_name: str | None = None,
        max_session_duration_seconds: int = 3600,
        allow_any_repository_of_owner: bool = False,
        allow_ref_wildcards: bool = False,
        workflows: Sequence[str] = (),
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            CiOidcSettings.of(  # the provider's role name and audience where none is given
                CI_PROVIDERS["github_oidc"],
                repositories=tuple(repositories),
                provider_arn=provider_arn,
                role_name=role_name or None,
                max_session_duration_seconds=max_session_duration_seconds,
                allow_any_repository_of_owner=allow_any_repository_of_owner,
                allow_ref_wildcards=allow_ref_wildcards,
                workflows=tuple(workflows),
            ),
        )


def _conditions(props: CiOidcSettings, subjects: list[str], repository_id: Any) -> dict[str, dict[str, Any]]:
    """The conditions of one trust statement: the audience, the subjects and, when pinned, the repository ID."""
    assert subjects, "a trust without a sub condition lets every repository in"
    issuer = props.provider.issuer
    conditions: dict[str, dict[str, Any]] = {
        "StringEquals": {f"{issuer}:aud": props.audience},
        "StringLike": {f"{issuer}:sub": subjects},
    }
    if repository_id is not None:
        conditions["StringEquals"][f"{issuer}:{props.provider.id_claim}"] = tokens.as_string(repository_id)
    if props.provider.protected_ref_claim and not props.allow_unprotected_refs:
        # Only pipelines of protected branches and tags: who may push those is the project's choice, not anyone's.
        conditions["StringEquals"][f"{issuer}:{props.provider.protected_ref_claim}"] = "true"
    if props.workflows:
        conditions["StringLike"][f"{issuer}:{props.provider.workflow_claim}"] = list(props.workflows)
    return conditions


def _description(props: CiOidcSettings) -> str:
    repositories = ", ".join(r.repository for r in props.repositories)
    text = f"Deploys from {props.provider.label} workflows of {repositories}"
    # IAM takes 1000 characters; a token's text must stay whole.
    return text if tokens.unresolved(text) or len(text) <= 1000 else text[:997] + "..."
