"""CI's OIDC deployer, as IAM would decide: which workflow tokens get the role, and the chain into B.

A token row is ``sts:AssumeRoleWithWebIdentity`` on the deployer role with the token's claims as
``<issuer>:aud`` and ``<issuer>:sub`` keys (decided in the simulator's unsafe mode: see
``Request.oidc_claims`` in harness/simulate.py). A chain row is the deployer's session calling
``sts:AssumeRole`` on the target role in B.

Every row names the condition keys that decide it, and :func:`test_each_row_depends_on_its_conditions`
proves it: an allowed row is denied once any of those conditions in the trust asks for another value,
and a denied row is allowed once its condition is taken out of the trust (for ``sub``, that is the
well-known misconfiguration that lets any repository in).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from harness.simulate import (
    TRUST_POLICY,
    IamModel,
    Outcome,
    Request,
    Role,
    Scenario,
    SimulationError,
    Verdict,
    assume_role_requests,
    load_synthesized,
    run_scenarios,
    simulate,
    web_identity_request,
)
from harness.synth import cdk_json_context, synth
from tests.simulate_support import Template, alter_condition, drop_condition, edit_trust, model_with

GITHUB, GITHUB_AUDIENCE = "token.actions.githubusercontent.com", "sts.amazonaws.com"
GITLAB, GITLAB_AUDIENCE = "gitlab.com", "https://gitlab.com"
GITHUB_REPOSITORY = {"repository": "octo/app", "branches": ["main"], "environments": ["production"]}
REPO_ID, LIB_ID = "892317", "1204"
GITLAB_REPOSITORY = {"repository": "group/app", "branches": ["main"]}
WORLDS: dict[str, dict[str, Any]] = {
    "github": {"github_oidc": json.dumps({"repositories": [GITHUB_REPOSITORY]})},
    "gitlab": {"gitlab_oidc": json.dumps({"repositories": [GITLAB_REPOSITORY]})},
    "gitlab_unprotected": {
        "gitlab_oidc": json.dumps({"repositories": [GITLAB_REPOSITORY], "allow_unprotected_refs": True})
    },
    "github_workflows": {
        "github_oidc": json.dumps(
            {"repositories": [GITHUB_REPOSITORY], "workflows": ["octo/app/.github/workflows/deploy.yml@*"]}
        ),
    },
    "github_pinned": {
        "github_oidc": json.dumps(
            {
                "repositories": [
                    {**GITHUB_REPOSITORY, "repository_id": REPO_ID},
                    {"repository": "octo/lib", "tags": ["v1"], "repository_id": LIB_ID},
                ]
            }
        )
    },
    "github_session_tags": {
        "github_oidc": json.dumps({"repositories": [GITHUB_REPOSITORY]}),
        "allow_session_tags": True,
    },
}
#: world -> (issuer, audience, deployer role name)
ISSUERS = {
    "github": (GITHUB, GITHUB_AUDIENCE, "GithubActionsDeployer"),
    "github_workflows": (GITHUB, GITHUB_AUDIENCE, "GithubActionsDeployer"),
    "github_pinned": (GITHUB, GITHUB_AUDIENCE, "GithubActionsDeployer"),
    "gitlab": (GITLAB, GITLAB_AUDIENCE, "GitlabCiDeployer"),
    "gitlab_unprotected": (GITLAB, GITLAB_AUDIENCE, "GitlabCiDeployer"),
}
EXTERNAL_ID = str(cdk_json_context()["external_ids"][0])
TARGET_ROLE = str(cdk_json_context()["role_name"])
AUDIENCE = object()  # a token row's default: the world's audience


@dataclass(frozen=True)
class TokenRow:
    """A workflow's token: ``sub`` and ``aud`` (None: the token lacks that claim)."""

    world: str
    name: str
    sub: str | None
    expect: Verdict
    #: The claims whose trust conditions decide this row.
    decided_by: tuple[str, ...] = ("sub",)
    aud: object = AUDIENCE
    #: GitHub's job_workflow_ref claim, when the row's token carries one.
    workflow: str | None = None
    #: GitHub's repository_id claim, when the row's token carries one.
    repository_id: str | None = None
    #: GitLab's ref_protected claim ("true"/"false"), when the row's token carries one.
    ref_protected: str | None = None

    @property
    def key(self) -> str:
        return f"{self.world}-{self.name}"

    def claims(self) -> dict[str, str]:
        _, audience, _ = ISSUERS[self.world]
        aud = audience if self.aud is AUDIENCE else self.aud
        given = {
            "sub": self.sub,
            "aud": aud,
            "job_workflow_ref": self.workflow,
            "repository_id": self.repository_id,
            "ref_protected": self.ref_protected,
        }
        return {claim: value for claim, value in given.items() if isinstance(value, str)}

    def scenario(self, model: IamModel, name: str, expect: Verdict) -> Scenario:
        _, _, role_name = ISSUERS[self.world]
        role = model.role(role_name)
        request = web_identity_request(role, provider=provider_of(role), claims=self.claims(), label=name)
        return Scenario(name, (request,), expect)


BOTH = ("sub", "aud")
GITLAB_MAIN = "project_path:group/app:ref_type:branch:ref:main"
TOKEN_ROWS: list[TokenRow] = [
    TokenRow("github", "branch_main", "repo:octo/app:ref:refs/heads/main", "Allowed", BOTH),
    TokenRow("github", "environment_production", "repo:octo/app:environment:production", "Allowed", BOTH),
    TokenRow("github", "branch_dev", "repo:octo/app:ref:refs/heads/dev", "Denied"),
    TokenRow("github", "branch_main_prefix", "repo:octo/app:ref:refs/heads/main-hotfix", "Denied"),
    TokenRow("github", "tag", "repo:octo/app:ref:refs/tags/v1.0", "Denied"),
    TokenRow("github", "environment_staging", "repo:octo/app:environment:staging", "Denied"),
    # A pull_request workflow, a fork's pull request included, gets this sub (the base repository's).
    TokenRow("github", "pull_request", "repo:octo/app:pull_request", "Denied"),
    TokenRow("github", "other_repository_pull_request", "repo:OTHER/REPO:pull_request", "Denied"),
    TokenRow("github", "same_owner_other_repository", "repo:octo/other:ref:refs/heads/main", "Denied"),
    TokenRow("github", "other_owner_same_name", "repo:evil/app:ref:refs/heads/main", "Denied"),
    TokenRow(
        "github", "wrong_audience", "repo:octo/app:ref:refs/heads/main", "Denied", ("aud",), "https://github.com/octo"
    ),
    TokenRow("github", "no_audience", "repo:octo/app:ref:refs/heads/main", "Denied", ("aud",), None),
    TokenRow("github", "no_sub", None, "Denied"),
    # With workflows pinned: the deploy workflow on main gets in; a pull_request_target workflow, which
    # runs with main's sub (and may check out a fork's code), does not.
    TokenRow(
        "github_workflows",
        "deploy_workflow_on_main",
        "repo:octo/app:ref:refs/heads/main",
        "Allowed",
        ("sub", "aud", "job_workflow_ref"),
        workflow="octo/app/.github/workflows/deploy.yml@refs/heads/main",
    ),
    TokenRow(
        "github_workflows",
        "deploy_workflow_in_production",
        "repo:octo/app:environment:production",
        "Allowed",
        ("sub", "job_workflow_ref"),
        workflow="octo/app/.github/workflows/deploy.yml@refs/heads/release",
    ),
    TokenRow(
        "github_workflows",
        "pull_request_target_workflow_on_main",
        "repo:octo/app:ref:refs/heads/main",
        "Denied",
        ("job_workflow_ref",),
        workflow="octo/app/.github/workflows/pr-comment.yml@refs/heads/main",
    ),
    # With repository_id pinned: someone who re-creates octo/app after a rename or deletion gets a new ID.
    *(
        TokenRow("github_pinned", name, sub, "Allowed", (*BOTH, "repository_id"), repository_id=REPO_ID)
        for name, sub in (
            ("branch_main", "repo:octo/app:ref:refs/heads/main"),
            ("environment_production", "repo:octo/app:environment:production"),
        )
    ),
    *(
        TokenRow("github_pinned", name, "repo:octo/app:ref:refs/heads/main", "Denied", ("repository_id",), **claim)
        for name, claim in (
            ("recreated_repository", {"repository_id": "990001"}),
            ("no_repository_id", {}),
            # octo/lib's ID with octo/app's sub: each ID goes with its own repository's refs only.
            ("another_pinned_repositorys_id", {"repository_id": LIB_ID}),
        )
    ),
    TokenRow("github_pinned", "lib_tag", "repo:octo/lib:ref:refs/tags/v1", "Allowed", BOTH, repository_id=LIB_ID),
    TokenRow("gitlab", "branch_main", GITLAB_MAIN, "Allowed", (*BOTH, "ref_protected"), ref_protected="true"),
    TokenRow("gitlab", "branch_dev", "project_path:group/app:ref_type:branch:ref:dev", "Denied", ref_protected="true"),
    TokenRow(
        "gitlab", "tag_named_main", "project_path:group/app:ref_type:tag:ref:main", "Denied", ref_protected="true"
    ),
    # A pipeline of an unprotected main (say, in a fork-like setting anyone may push to) is refused by default.
    TokenRow("gitlab", "branch_main_unprotected", GITLAB_MAIN, "Denied", ("ref_protected",), ref_protected="false"),
    TokenRow("gitlab", "branch_main_no_ref_protected", GITLAB_MAIN, "Denied", ("ref_protected",)),
    TokenRow("gitlab_unprotected", "branch_main_unprotected", GITLAB_MAIN, "Allowed", BOTH, ref_protected="false"),
]


@dataclass(frozen=True)
class ChainRow:
    """The GitHub deployer's session asks ``sts:AssumeRole`` on the target role in B."""

    name: str
    external_id: str | None
    expect: Verdict

    @property
    def key(self) -> str:
        return f"chain-{self.name}"

    def scenario(self, model: IamModel, name: str, expect: Verdict) -> Scenario:
        deployer, target = model.role(ISSUERS["github"][2]), model.role(TARGET_ROLE)
        requests = assume_role_requests(
            target,
            principal=deployer.session_arn("ci"),
            identity_policies=deployer.policies,
            external_id=self.external_id,
            session_name="ci",
            label=name,
        )
        return Scenario(name, requests, expect)


CHAIN_ROWS = [
    ChainRow("external_id", EXTERNAL_ID, "Allowed"),
    ChainRow("no_external_id", None, "Denied"),
    ChainRow("wrong_external_id", "wrong-external-id", "Denied"),
]


def provider_of(role: Role) -> str:
    """The one federated principal of the role's trust (the OIDC provider's ARN)."""
    (provider,) = {s["Principal"]["Federated"] for s in role.trust_policy["Statement"]}
    return str(provider)


def model(world: str, edit: Callable[[Template], None] | None = None, *, stack: str = "TrustedStack") -> IamModel:
    if edit is None:
        return load_synthesized(synth(WORLDS[world]))
    return model_with(WORLDS[world], edit, stack=stack)


def flipped(
    key: str, expect: Verdict, condition: str, make: Callable[[Callable[[Template], None]], IamModel]
) -> tuple[str, Verdict, IamModel]:
    """The row again, on a trust where ``condition`` asks for another value (allowed rows) or is gone (denied)."""
    if expect == "Allowed":
        return f"{key}-altered-{condition}", "Denied", make(edit_trust(alter_condition(condition)))
    return f"{key}-without-{condition}", "Allowed", make(edit_trust(drop_condition(condition)))


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    """Every row, and every row again on its altered trust, in one batch."""
    scenarios = [row.scenario(model(row.world), row.key, row.expect) for row in TOKEN_ROWS]
    scenarios += [row.scenario(model("github"), row.key, row.expect) for row in CHAIN_ROWS]
    for token_row in TOKEN_ROWS:
        issuer, _, _ = ISSUERS[token_row.world]
        for claim in token_row.decided_by:
            name, expect, edited = flipped(
                token_row.key, token_row.expect, f"{issuer}:{claim}", lambda edit, w=token_row.world: model(w, edit)
            )
            scenarios.append(token_row.scenario(edited, name, expect))
    for chain_row in CHAIN_ROWS:
        name, expect, edited = flipped(
            chain_row.key, chain_row.expect, "sts:ExternalId", lambda edit: model("github", edit, stack="TargetStack")
        )
        scenarios.append(chain_row.scenario(edited, name, expect))
    return {outcome.scenario.name: outcome for outcome in run_scenarios(scenarios)}


def explain(outcome: Outcome) -> str:
    parts = []
    for decision in outcome.decisions:
        request = decision.request
        context = {k: v for k, v in request.context.items() if k != "sts:RoleSessionName"}
        parts.append(f"{request.action} by {request.principal} with {context}: {decision.result}")
    return f"{outcome.scenario.name}: " + "; ".join(parts)


@pytest.mark.parametrize("row", TOKEN_ROWS, ids=lambda row: row.key)
def test_token_row(row: TokenRow, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[row.key]
    assert outcome.verdict == row.expect, explain(outcome)


@pytest.mark.parametrize("row", CHAIN_ROWS, ids=lambda row: row.key)
def test_chain_row(row: ChainRow, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[row.key]
    assert outcome.verdict == row.expect, explain(outcome)
    if row.expect == "Denied":
        # The deployer's own grant allows the call: the target's trust refuses it.
        assert outcome.denied_by_types == {"resource"}, explain(outcome)


def _flips() -> list[str]:
    names = [
        f"{row.key}-{'altered' if row.expect == 'Allowed' else 'without'}-{ISSUERS[row.world][0]}:{claim}"
        for row in TOKEN_ROWS
        for claim in row.decided_by
    ]
    return names + [
        f"{row.key}-{'altered' if row.expect == 'Allowed' else 'without'}-sts:ExternalId" for row in CHAIN_ROWS
    ]


@pytest.mark.parametrize("name", _flips())
def test_each_row_depends_on_its_conditions(name: str, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[name]
    assert outcome.as_expected, explain(outcome)


def test_every_configured_subject_has_an_allowed_row() -> None:
    for world, (issuer, _, role_name) in ISSUERS.items():
        trust = model(world).role(role_name).trust_policy
        subjects = {
            s for statement in trust["Statement"] for s in statement["Condition"]["StringLike"][f"{issuer}:sub"]
        }
        allowed = {row.sub for row in TOKEN_ROWS if row.world == world and row.expect == "Allowed"}
        assert subjects == allowed, world


SESSION_TAGS = {"GitHub": "Actions", "Repository": "octo/app", "Branch": "refs/heads/main"}


@pytest.mark.parametrize(("world", "expect"), [("github", "Denied"), ("github_session_tags", "Allowed")])
def test_the_chain_with_session_tags_needs_allow_session_tags(world: str, expect: Verdict) -> None:
    """configure-aws-credentials tags the chained session unless told ``role-skip-session-tagging``."""
    iam = model(world)
    deployer, target = iam.role(ISSUERS["github"][2]), iam.role(TARGET_ROLE)
    (assume,) = assume_role_requests(
        target, principal=deployer.session_arn("ci"), identity_policies=deployer.policies, external_id=EXTERNAL_ID
    )
    tags: dict[str, str | list[str]] = {f"aws:RequestTag/{k}": v for k, v in SESSION_TAGS.items()}
    tag = Request(
        principal=deployer.session_arn("ci"),
        action="sts:TagSession",
        resource=target.arn,
        identity_policies=deployer.policies,
        resource_policy=target.trust_policy,
        resource_policy_name=TRUST_POLICY,
        context={**tags, "aws:TagKeys": list(SESSION_TAGS)},
    )
    (outcome,) = run_scenarios([Scenario(f"{world}-tagged-chain", (assume, tag), expect)])
    assert outcome.as_expected, explain(outcome)


def test_the_checked_mode_alone_drops_the_claims() -> None:
    """Why the token rows need the unsafe mode: iam-simulate's checked mode drops ``<issuer>:sub``/``:aud``.

    If an upgrade keeps them, this fails: the token rows can then use the checked mode (and get reasons).
    """
    role = model("github").role(ISSUERS["github"][2])
    claims = {"sub": "repo:octo/app:ref:refs/heads/main", "aud": GITHUB_AUDIENCE}
    request = web_identity_request(role, provider=provider_of(role), claims=claims, label="checked")
    checked = replace(request, oidc_claims=False)
    with pytest.raises(SimulationError, match=rf"dropped context keys .*{GITHUB}:sub"):
        simulate([checked])
