"""CI deploys without keys: the OIDC deployer role's exact trust, its grant, and every refused pattern."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template

from cross_account import SettingsError
from cross_account.ci import CI_PROVIDERS, CiOidcSettings, CiRepository
from cross_account.oidc import CiOidcDeployer, GithubOidcDeployer
from cross_account.settings import Settings
from harness.synth import synth
from tests.test_reuse import Tokens

GITHUB = "token.actions.githubusercontent.com"
REPO = {"repository": "octo/app", "branches": ["main"]}


def github(**options: Any) -> dict[str, str]:
    return {"github_oidc": json.dumps({"repositories": [REPO], **options})}


def trusted(overrides: dict[str, Any]) -> dict[str, Any]:
    return synth(overrides).template("TrustedStack")["Resources"]


def deployer_role(overrides: dict[str, Any]) -> dict[str, Any]:
    (role,) = [r for r in trusted(overrides).values() if r["Type"] == "AWS::IAM::Role"]
    return dict(role["Properties"])


def web_identity(issuer: str, subjects: list[str], audience: str) -> dict[str, Any]:
    equals = {f"{issuer}:aud": audience}
    if issuer == "gitlab.com":
        # Only pipelines of protected branches and tags (allow_unprotected_refs turns it off).
        equals["gitlab.com:ref_protected"] = "true"
    return {"StringEquals": equals, "StringLike": {f"{issuer}:sub": subjects}}


@pytest.mark.parametrize(
    ("setting", "repositories", "subjects"),
    [
        ("github_oidc", [REPO], ["repo:octo/app:ref:refs/heads/main"]),
        (
            "github_oidc",
            [{"repository": "octo/app", "environments": ["production"], "tags": ["v1.0"]}],
            ["repo:octo/app:ref:refs/tags/v1.0", "repo:octo/app:environment:production"],
        ),
        (
            "gitlab_oidc",
            [{"repository": "group/sub/project", "branches": ["main"]}],
            ["project_path:group/sub/project:ref_type:branch:ref:main"],
        ),
    ],
    ids=["github-branch", "github-environment-and-tag", "gitlab-branch"],
)
def test_the_deployer_trusts_exactly_the_configured_refs(
    setting: str, repositories: list[dict[str, Any]], subjects: list[str]
) -> None:
    issuer, audience = (
        (GITHUB, "sts.amazonaws.com") if setting == "github_oidc" else ("gitlab.com", "https://gitlab.com")
    )
    role = deployer_role({setting: json.dumps({"repositories": repositories})})
    statements = role["AssumeRolePolicyDocument"]["Statement"]
    conditions = web_identity(issuer, subjects, audience)
    assert [(s["Action"], s["Condition"]) for s in statements] == [
        ("sts:AssumeRoleWithWebIdentity", conditions),
        ("sts:TagSession", conditions),
    ]
    assert all(set(s["Principal"]) == {"Federated"} for s in statements)
    assert role["MaxSessionDuration"] == 3600


def test_the_provider_is_created_or_imported() -> None:
    resources = trusted(github())
    (provider,) = [r for r in resources.values() if r["Type"] == "AWS::IAM::OIDCProvider"]
    assert provider["Properties"] == {"ClientIdList": ["sts.amazonaws.com"], "Url": f"https://{GITHUB}"}
    existing = f"arn:aws:iam::111111111111:oidc-provider/{GITHUB}"
    resources = trusted(github(provider_arn=existing))
    assert not [r for r in resources.values() if r["Type"] == "AWS::IAM::OIDCProvider"]
    (role,) = [r for r in resources.values() if r["Type"] == "AWS::IAM::Role"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Federated": existing}


def test_the_deployers_only_grant_is_the_groups_and_the_target_trusts_it_like_the_group() -> None:
    overrides = {
        **github(role_name="Ci", max_session_duration_seconds=7200),
        "trusted_principal_arns": '["arn:aws:iam::111111111111:user/alice"]',
        "allow_session_tags": "true",
    }
    resources = trusted(overrides)
    (role_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
    assert resources[role_id]["Properties"]["RoleName"] == "Ci"
    assert resources[role_id]["Properties"]["MaxSessionDuration"] == 7200
    assert "ManagedPolicyArns" not in resources[role_id]["Properties"]
    (grant,) = [r for r in resources.values() if r["Type"] == "AWS::IAM::Policy"]
    assert grant["Properties"]["Roles"] == [{"Ref": role_id}]
    (group_policy,) = [r for r in resources.values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    group_statement = group_policy["Properties"]["PolicyDocument"]["Statement"][0]
    (statement,) = grant["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == (group_statement["Action"], group_statement["Resource"])
    target = synth(overrides).template("TargetStack")
    (target_role,) = [r for r in target["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    condition = target_role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert condition["ArnEquals"]["aws:PrincipalArn"] == [
        "arn:aws:iam::111111111111:user/alice",
        "arn:aws:iam::111111111111:role/Ci",
    ]
    assert condition["StringEquals"] == {"sts:ExternalId": ["12345678TESTID"]}, "external ID as for the group"


def test_without_the_setting_the_trusted_stack_is_unchanged() -> None:
    types = {r["Type"] for r in trusted({}).values()}
    assert not types & {"AWS::IAM::OIDCProvider", "AWS::IAM::Role", "AWS::IAM::Policy"}


@pytest.mark.parametrize(
    ("value", "key", "rule"),
    [
        (
            {"repositories": [{"repository": "*", "branches": ["main"]}]},
            "github_oidc.repositories[0].repository",
            "literal owner",
        ),
        (
            {"repositories": [{"repository": "*/app", "branches": ["main"]}]},
            "github_oidc.repositories[0].repository",
            "literal owner",
        ),
        (
            {"repositories": [{"repository": "repo:*", "branches": ["main"]}]},
            "github_oidc.repositories[0].repository",
            "OWNER/REPO",
        ),
        (
            {"repositories": [{"repository": "octo/*", "branches": ["main"]}]},
            "github_oidc.repositories[0].repository",
            "allow_any_repository_of_owner",
        ),
        ({"repositories": [{"repository": "octo/app"}]}, "github_oidc.repositories[0]", "at least one of"),
        (
            {"repositories": [{"repository": "octo/app", "branches": []}]},
            "github_oidc.repositories[0]",
            "at least one of",
        ),
        (
            {"repositories": [{"repository": "octo/app", "branches": ["a:b"]}]},
            "github_oidc.repositories[0].branches[0]",
            "':'",
        ),
        (
            {"repositories": [{"repository": "octo/app", "pull_requests": ["x"]}]},
            "github_oidc.repositories[0].pull_requests",
            "unknown",
        ),
        ({"repositories": []}, "github_oidc.repositories", "non-empty"),
        ({}, "", ""),  # an empty object means no deployer
        ({"repositories": [REPO], "audience": "*"}, "github_oidc.audience", "no wildcard"),
        (
            {"repositories": [REPO], "provider_arn": "arn:aws:iam::111111111111:oidc-provider/gitlab.com"},
            "github_oidc.provider_arn",
            GITHUB,
        ),
        ({"repositories": [REPO], "subject": "repo:*"}, "github_oidc.subject", "unknown"),
        ({"repositories": [REPO], "tier": "Deploy"}, "github_oidc.tier", "only applies with roles"),
        # main* matches main-attacker: wildcards only when asked for.
        (
            {"repositories": [{"repository": "octo/app", "branches": ["main*"]}]},
            "github_oidc.repositories[0].branches[0]",
            "allow_ref_wildcards",
        ),
        (
            {"repositories": [{"repository": "octo/app", "environments": ["*"]}]},
            "github_oidc.repositories[0].environments[0]",
            "allow_ref_wildcards",
        ),
        (
            {"repositories": [{"repository": "octo/app", "branches": ["a${b}"]}]},
            "github_oidc.repositories[0].branches[0]",
            "'$'",
        ),
        *(
            (
                {"repositories": [{**REPO, "repository_id": bad}]},
                "github_oidc.repositories[0].repository_id",
                "numeric ID",
            )
            for bad in ("0123", "12a", "", True, 0, -5, 10**20, 1.5, "*")
        ),
        (
            {"repositories": [{**REPO, "repository_id": 1}, {"repository": "octo/b", "tags": ["v1"]}]},
            "github_oidc.repositories[1].repository_id",
            "once another repository has one",
        ),
        (
            {
                "repositories": [{"repository": "octo/*", "branches": ["main"], "repository_id": 1}],
                "allow_any_repository_of_owner": True,
            },
            "github_oidc.repositories[0].repository_id",
            "OWNER/*",
        ),
    ],
)
def test_refused_patterns_name_the_key(value: dict[str, Any], key: str, rule: str) -> None:
    if not value:
        assert Settings.from_context({"github_oidc": "{}"}).ci_deployers == ()
        return
    with pytest.raises(SettingsError) as caught:
        Settings.from_context({"github_oidc": json.dumps(value)})
    assert caught.value.key == key
    assert rule in caught.value.rule
    assert "\n" not in str(caught.value)


def test_owner_wide_trust_only_when_asked_for() -> None:
    value = {"repositories": [{"repository": "octo/*", "branches": ["main"]}], "allow_any_repository_of_owner": True}
    role = deployer_role({"github_oidc": json.dumps(value)})
    condition = role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert condition["StringLike"] == {f"{GITHUB}:sub": ["repo:octo/*:ref:refs/heads/main"]}


def test_ci_cannot_get_a_grant_that_requires_mfa_and_tiers_are_chosen() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_context({**github(), "require_mfa": "true"})
    assert str(caught.value) == (
        "invalid setting require_mfa=true: github_oidc: a CI session cannot satisfy require_mfa of "
        "CrossAccountAccessRole; give CI a tier of its own without MFA"
    )
    tiers = '{"ReadOnly": {}, "Deploy": {"require_mfa": true}}'
    with pytest.raises(SettingsError, match="must be one of the tiers"):
        Settings.from_context({**github(), "roles": tiers})
    settings = Settings.from_context({**github(tier="ReadOnly"), "roles": tiers})
    (deployer,) = settings.ci_deployers
    assert settings.ci_spec(deployer).role_name == "CrossAccountAccessRole-ReadOnly"


def test_the_construct_checks_its_props_like_the_settings() -> None:
    stack = cdk.Stack(cdk.App(builtin_cloud_formation_validation=False), "Tooling")
    with pytest.raises(SettingsError) as caught:
        GithubOidcDeployer(stack, "Ci", repositories=[CiRepository(repository="octo/*", branches=["main"])])
    assert str(caught.value).startswith("Tooling/Ci (GithubOidcDeployer): invalid repositories[0].repository")
    deployer = GithubOidcDeployer(
        stack, "Deployer", repositories=[CiRepository(repository="octo/app", environments=["prod"])]
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::OIDCProvider", 1)
    assert deployer.role_arn


def test_ref_wildcards_only_when_asked_for_and_role_names_differ_ignoring_case() -> None:
    value = {"repositories": [{"repository": "octo/app", "branches": ["release/*"]}], "allow_ref_wildcards": True}
    role = deployer_role({"github_oidc": json.dumps(value)})
    condition = role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert condition["StringLike"] == {f"{GITHUB}:sub": ["repo:octo/app:ref:refs/heads/release/*"]}
    gitlab = json.dumps({"repositories": [{"repository": "g/p", "branches": ["main"]}], "role_name": "ci"})
    with pytest.raises(SettingsError) as caught:
        Settings.from_context({**github(role_name="Ci"), "gitlab_oidc": gitlab})
    assert caught.value.key == "gitlab_oidc.role_name"


def test_workflows_pin_the_workflow_file_too() -> None:
    pinned = "octo/app/.github/workflows/deploy.yml@refs/heads/main"
    role = deployer_role(github(workflows=[pinned]))
    for statement in role["AssumeRolePolicyDocument"]["Statement"]:
        assert statement["Condition"]["StringLike"] == {
            f"{GITHUB}:sub": ["repo:octo/app:ref:refs/heads/main"],
            f"{GITHUB}:job_workflow_ref": [pinned],
        }
    gitlab = {"repositories": [{"repository": "g/p", "branches": ["main"]}], "workflows": [pinned]}
    with pytest.raises(SettingsError, match="GitLab CI tokens name no workflow"):
        Settings.from_context({"gitlab_oidc": json.dumps(gitlab)})


@pytest.mark.parametrize(
    ("setting", "claim"), [("github_oidc", f"{GITHUB}:repository_id"), ("gitlab_oidc", "gitlab.com:project_id")]
)
def test_repository_ids_pin_the_repositories_beside_their_names(setting: str, claim: str) -> None:
    # A repository deleted or renamed frees its name for someone else; its numeric ID is not reused. Each
    # pinned repository gets statements of its own: one repository's ID never stands in for another's name.
    issuer = claim.rsplit(":", 1)[0]
    repositories = [
        {"repository": "octo/app", "branches": ["main"], "repository_id": 892317},
        {"repository": "octo/lib", "tags": ["v1"], "repository_id": "1204"},
    ]
    role = deployer_role({setting: json.dumps({"repositories": repositories})})
    pinned: dict[tuple[str, str], list[str]] = {}
    for statement in role["AssumeRolePolicyDocument"]["Statement"]:  # CDK may merge alike statements
        condition = statement["Condition"]
        for action in [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]:
            pinned[action, condition["StringEquals"][claim]] = condition["StringLike"][f"{issuer}:sub"]
    app_sub, lib_sub = (
        ("repo:octo/app:ref:refs/heads/main", "repo:octo/lib:ref:refs/tags/v1")
        if setting == "github_oidc"
        else ("project_path:octo/app:ref_type:branch:ref:main", "project_path:octo/lib:ref_type:tag:ref:v1")
    )
    assert pinned == {
        (action, repository_id): [sub]
        for action in ("sts:AssumeRoleWithWebIdentity", "sts:TagSession")
        for repository_id, sub in (("892317", app_sub), ("1204", lib_sub))
    }
    unpinned = deployer_role({setting: json.dumps({"repositories": [REPO]})})
    assert all(
        claim not in statement["Condition"]["StringEquals"]
        for statement in unpinned["AssumeRolePolicyDocument"]["Statement"]
    )


def test_the_construct_takes_repository_ids_as_the_setting_does() -> None:
    stack = cdk.Stack(cdk.App(builtin_cloud_formation_validation=False), "Tooling")
    GithubOidcDeployer(
        stack, "Ci", repositories=[CiRepository(repository="octo/app", branches=["main"], repository_id=7)]
    )
    (role,) = Template.from_stack(stack).find_resources("AWS::IAM::Role").values()
    (first, _tag) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert first["Condition"]["StringEquals"][f"{GITHUB}:repository_id"] == "7"
    for bad in ("", 0):
        with pytest.raises(SettingsError, match="numeric ID"):
            GithubOidcDeployer(
                stack,
                f"Bad{bad!r}",
                repositories=[CiRepository(repository="octo/app", branches=["main"], repository_id=bad)],
            )


def test_a_trust_over_the_quota_is_a_warning_and_over_the_most_iam_allows_an_error() -> None:
    def deployer(branches: int) -> cdk.Stack:
        stack = cdk.Stack(cdk.App(builtin_cloud_formation_validation=False), "Tooling")
        refs = [f"release-{i:03}" for i in range(branches)]
        GithubOidcDeployer(stack, "Ci", repositories=[CiRepository(repository="octo/app", branches=refs)])
        return stack

    # has_warning, not find_warning: the entries find_warning returns need a jsii type that aws-cdk-lib's
    # cloud_assembly_schema package, installed over its submodule in some orders, does not register.
    quota = Match.string_like_regexp("over IAM's default quota of 2048")
    Annotations.from_stack(deployer(5)).has_no_warning("*", Match.any_value())
    Annotations.from_stack(deployer(30)).has_warning("/Tooling/Ci", quota)
    with pytest.raises(SettingsError) as caught:
        deployer(80)
    assert str(caught.value).startswith("Tooling/Ci (GithubOidcDeployer): invalid repositories=")
    assert "over the most IAM allows; use fewer or shorter repositories, refs or workflows" in str(caught.value)


def _token_stack() -> tuple[cdk.Stack, str, float]:
    tokens = Tokens()
    return tokens.stack, tokens.text, tokens.number


MAIN = CiRepository(repository="octo/app", branches=["main"])
GITHUB_TOKEN_CASES: dict[str, tuple[Callable[[str, float], dict[str, Any]], str]] = {
    "provider_arn": (lambda t, n: {"provider_arn": t}, '"Federated": {"Ref": "Text"}'),
    "role_name": (lambda t, n: {"role_name": t}, '"RoleName": {"Ref": "Text"}'),
    "max_session_duration_seconds": (
        lambda t, n: {"max_session_duration_seconds": n},
        '"MaxSessionDuration": {"Ref": "Number"}',
    ),
    "repository": (
        lambda t, n: {"repositories": [CiRepository(repository=t, branches=["main"])]},
        '"repo:", {"Ref": "Text"}, ":ref:refs/heads/main"',
    ),
    "branch": (
        lambda t, n: {"repositories": [CiRepository(repository="octo/app", branches=[t])]},
        '"repo:octo/app:ref:refs/heads/", {"Ref": "Text"}',
    ),
    "repository_id": (
        lambda t, n: {"repositories": [CiRepository(repository="octo/app", branches=["main"], repository_id=t)]},
        '"token.actions.githubusercontent.com:repository_id": {"Ref": "Text"}',
    ),
    "workflows": (
        lambda t, n: {"repositories": [MAIN], "workflows": [t]},
        '"token.actions.githubusercontent.com:job_workflow_ref": [{"Ref": "Text"}]',
    ),
}


@pytest.mark.parametrize("case", sorted(GITHUB_TOKEN_CASES))
def test_every_github_deployer_prop_takes_a_token(case: str) -> None:
    stack, text, number = _token_stack()
    given, expected = GITHUB_TOKEN_CASES[case]
    GithubOidcDeployer(stack, "Ci", **{"repositories": [MAIN], **given(text, number)})
    assert expected in json.dumps(Template.from_stack(stack).to_json())


@pytest.mark.parametrize(
    ("build", "prop"),
    [
        (
            lambda t: {"repositories": [CiRepository(repository=f"*/{t}", branches=["main"])]},
            "repositories[0].repository",
        ),
        (
            lambda t: {"repositories": [CiRepository(repository=f"octo/*{t}", branches=["main"])]},
            "repositories[0].repository",
        ),
        (
            lambda t: {"repositories": [CiRepository(repository="octo/app", branches=[f"*{t}"])]},
            "repositories[0].branches[0]",
        ),
        (
            lambda t: {
                "repositories": [CiRepository(repository="octo/app", branches=["main"], repository_id=f"abc{t}")]
            },
            "repositories[0].repository_id",
        ),
        (lambda t: {"repositories": [MAIN], "workflows": [f"*{t}"]}, "workflows[0]"),
    ],
    ids=["any-owner", "owner-wildcard", "branch-wildcard", "id-letters", "workflow-wildcard"],
)
def test_a_wildcard_beside_a_token_is_refused(build: Callable[[str], dict[str, Any]], prop: str) -> None:
    # The text around a token is known at synth: a wildcard there would widen the trust unchecked.
    stack, text, _ = _token_stack()
    with pytest.raises(SettingsError) as caught:
        GithubOidcDeployer(stack, "Ci", **build(text))
    assert caught.value.key == prop
    assert "the text beside a token may hold no wildcard" in caught.value.rule


def test_a_number_token_as_repository_id_stays_a_token() -> None:
    stack, _, number = _token_stack()
    pinned = CiRepository(repository="octo/app", branches=["main"], repository_id=number)  # type: ignore[arg-type]
    GithubOidcDeployer(stack, "Ci", repositories=[pinned])
    assert '"token.actions.githubusercontent.com:repository_id": {"Ref": "Number"}' in json.dumps(
        Template.from_stack(stack).to_json()
    )
    floating = CiRepository(repository="octo/app", branches=["main"], repository_id=12.0)  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match="numeric ID"):
        GithubOidcDeployer(stack, "Float", repositories=[floating])


def test_known_values_beside_a_token_are_still_checked() -> None:
    stack, text, _ = _token_stack()
    with pytest.raises(SettingsError, match="allow_ref_wildcards"):
        GithubOidcDeployer(stack, "Ci", repositories=[CiRepository(repository=text, branches=["main*"])])
    with pytest.raises(SettingsError, match="literal owner"):
        GithubOidcDeployer(stack, "Ci2", repositories=[CiRepository(repository="*", branches=[text])])


def test_gitlab_trusts_unprotected_refs_only_when_told() -> None:
    repositories = [{"repository": "group/app", "branches": ["main"]}]
    role = deployer_role({"gitlab_oidc": json.dumps({"repositories": repositories, "allow_unprotected_refs": True})})
    for statement in role["AssumeRolePolicyDocument"]["Statement"]:
        assert "gitlab.com:ref_protected" not in statement["Condition"]["StringEquals"]


def test_ci_oidc_deployer_takes_its_props_whole_or_as_keywords_like_the_other_constructs() -> None:
    gitlab = CI_PROVIDERS["gitlab_oidc"]
    project = CiRepository(repository="group/app", branches=["main"])

    def role_of(build: Callable[[cdk.Stack], CiOidcDeployer]) -> dict[str, Any]:
        stack = cdk.Stack(cdk.App(builtin_cloud_formation_validation=False), "Tooling")
        build(stack)
        (role,) = Template.from_stack(stack).find_resources("AWS::IAM::Role").values()
        return dict(role)

    whole = role_of(lambda s: CiOidcDeployer(s, "Ci", CiOidcSettings.of(gitlab, repositories=(project,))))
    keywords = role_of(lambda s: CiOidcDeployer(s, "Ci", provider=gitlab, repositories=[project]))
    assert keywords == whole
    assert whole["Properties"]["RoleName"] == gitlab.default_role_name

    refusals = [
        ({"repositories": [project]}, "invalid provider=null: required: the CI system, one of CI_PROVIDERS"),
        ({"provider": "gitlab", "repositories": [project]}, 'invalid provider="gitlab": must be one of CI_PROVIDERS'),
        ({"provider": gitlab}, "invalid repositories=null: required: at least one CiRepository"),
        ({"provider": gitlab, "repositories": [project], "branch": "main"}, 'invalid branch="main": is not a'),
        ({"provider": gitlab, "repositories": [project], "role_name": "a b"}, 'invalid role_name="a b"'),
    ]
    for i, (options, message) in enumerate(refusals):
        stack = cdk.Stack(cdk.App(builtin_cloud_formation_validation=False), "Tooling")
        with pytest.raises(SettingsError) as caught:
            CiOidcDeployer(stack, f"Ci{i}", **options)
        assert str(caught.value).startswith(f"Tooling/Ci{i} (CiOidcDeployer): {message}"), str(caught.value)


def test_the_construct_builds_from_its_checked_props_so_the_string_false_is_false() -> None:
    """`validate_bool` reads "false" as False (cdk.json's -c sends strings); the role must be built from that
    reading, not from the raw string, which is truthy: it dropped the protected-refs condition."""
    gitlab = CI_PROVIDERS["gitlab_oidc"]
    project = CiRepository(repository="group/app", branches=["main"])
    for i, build in enumerate(
        [
            lambda s: CiOidcDeployer(s, "Ci", provider=gitlab, repositories=[project], allow_unprotected_refs="false"),
            lambda s: CiOidcDeployer(
                s, "Ci", CiOidcSettings.of(gitlab, repositories=(project,), allow_unprotected_refs="false")
            ),
        ]
    ):
        stack = cdk.Stack(cdk.App(builtin_cloud_formation_validation=False), f"Tooling{i}")
        build(stack)
        (role,) = Template.from_stack(stack).find_resources("AWS::IAM::Role").values()
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][:1]
        assert statement["Condition"]["StringEquals"]["gitlab.com:ref_protected"] == "true"
        assert role["Properties"]["MaxSessionDuration"] == 3600


def test_a_ci_provider_of_your_own_is_named_in_errors_as_the_construct_prop() -> None:
    own = dataclasses.replace(CI_PROVIDERS["github_oidc"], setting="ghe_oidc")
    stack = cdk.Stack(cdk.App(builtin_cloud_formation_validation=False), "Tooling")
    with pytest.raises(SettingsError) as caught:
        CiOidcDeployer(
            stack, "Ci", provider=own, repositories=[CiRepository(repository="o/r", branches=["main"])], role_name="a b"
        )
    assert str(caught.value).startswith('Tooling/Ci (CiOidcDeployer): invalid role_name="a b"'), str(caught.value)
    with pytest.raises(SettingsError) as caught:
        CiOidcDeployer(
            stack, "Whole", CiOidcSettings(provider="github_oidc", repositories=(), role_name="r", audience="a")
        )  # type: ignore[arg-type]
    assert str(caught.value).startswith('Tooling/Whole (CiOidcDeployer): invalid provider="github_oidc": must be'), str(
        caught.value
    )
