"""Trusted side (account A): a role that a CI system's workflows assume with OpenID Connect, no keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from constructs import Construct

from cross_account.ci import CI_PROVIDERS, CiOidcSettings, CiRepository, parse_ci_oidc
from cross_account.role import construct_label
from cross_account.rules import SettingsError


class CiOidcDeployer(Construct):
    """An IAM OIDC provider (or an existing one) and a role that trusts tokens of chosen repositories only.

    The trust allows ``sts:AssumeRoleWithWebIdentity`` (and ``sts:TagSession``: CI actions tag their
    sessions) only when ``<issuer>:aud`` equals the audience and ``<issuer>:sub`` matches a
    repository's branch, tag or environment (and, with ``repository_id``, ``<issuer>:repository_id``
    one of the IDs; with ``workflows``, ``<issuer>:job_workflow_ref`` one of those workflow files).
    A repository needs a literal owner and name; a
    repository-wide or owner-wide trust is refused unless asked for. The role gets no permission here:
    give it a grant, for example ``CrossAccountAssumers.grant_assume(deployer.role)``.

    Exposes ``role``, ``role_arn`` and ``provider`` (an ``IOidcProvider``).
    """

    def __init__(self, scope: Construct, construct_id: str, props: CiOidcSettings) -> None:
        label = construct_label(scope, construct_id, type(self).__name__)
        try:
            # The same rules as the settings: the props go through the setting's parser.
            checked = parse_ci_oidc(props.provider)(props.provider.setting, _as_setting(props))
        except SettingsError as error:
            raise error.at(label) from None
        assert checked is not None
        super().__init__(scope, construct_id)
        issuer = props.provider.issuer
        self.provider: iam.IOidcProvider = (
            iam.OidcProviderNative.from_oidc_provider_arn(self, "Provider", props.provider_arn)
            if props.provider_arn
            else iam.OidcProviderNative(self, "Provider", url=f"https://{issuer}", client_ids=[props.audience])
        )
        subjects = checked.subjects()
        assert subjects, "a trust without a sub condition lets every repository in"
        conditions: dict[str, dict[str, Any]] = {
            "StringEquals": {f"{issuer}:aud": props.audience},
            "StringLike": {f"{issuer}:sub": subjects},
        }
        if checked.repository_ids():
            conditions["StringEquals"][f"{issuer}:{props.provider.id_claim}"] = checked.repository_ids()
        if props.workflows:
            conditions["StringLike"][f"{issuer}:{props.provider.workflow_claim}"] = list(props.workflows)
        federated = self.provider.oidc_provider_arn
        self.role = iam.Role(
            self,
            "Role",
            role_name=props.role_name,
            description=f"Deploys from {props.provider.label} workflows of "
            + ", ".join(r.repository for r in props.repositories)[:900],
            max_session_duration=Duration.seconds(props.max_session_duration_seconds),
            assumed_by=iam.FederatedPrincipal(federated, conditions, "sts:AssumeRoleWithWebIdentity"),
        )
        self.role.assume_role_policy.add_statements(  # type: ignore[union-attr]
            iam.PolicyStatement(
                actions=["sts:TagSession"], principals=[iam.FederatedPrincipal(federated)], conditions=conditions
            )
        )
        self.role_arn: str = self.role.role_arn


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
        provider = CI_PROVIDERS["github_oidc"]
        super().__init__(
            scope,
            construct_id,
            CiOidcSettings(
                provider=provider,
                repositories=tuple(repositories),
                provider_arn=provider_arn,
                role_name=role_name or provider.default_role_name,
                max_session_duration_seconds=max_session_duration_seconds,
                allow_any_repository_of_owner=allow_any_repository_of_owner,
                allow_ref_wildcards=allow_ref_wildcards,
                workflows=tuple(workflows),
                audience=provider.audience,
            ),
        )


def _as_setting(props: CiOidcSettings) -> dict[str, Any]:
    """The props as the setting's JSON, so that one parser checks both."""
    return {
        "repositories": [
            {k: (v if isinstance(v, str) else list(v)) for k, v in asdict(r).items() if v} for r in props.repositories
        ],
        **({"provider_arn": props.provider_arn} if props.provider_arn else {}),
        "role_name": props.role_name,
        "max_session_duration_seconds": props.max_session_duration_seconds,
        "allow_any_repository_of_owner": props.allow_any_repository_of_owner,
        "allow_ref_wildcards": props.allow_ref_wildcards,
        "audience": props.audience,
        **({"tier": props.tier} if props.tier else {}),
        **({"workflows": list(props.workflows)} if props.workflows else {}),
    }
