"""The constructs as an outside user meets them: a fresh App, no settings module, the README's sample."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from cross_account import (
    CrossAccountAssumers,
    CrossAccountRole,
    CrossAccountRoleProps,
    OrganizationRoles,
    SettingsError,
    target_role_arn,
)
from cross_account.caller import CallerRequirements
from cross_account.ci import CI_PROVIDERS, CiRepository
from cross_account.oidc import CiOidcDeployer
from harness.node import PROJECT_ROOT
from tests.cdk_support import messages

B = cdk.Environment(account="222222222222", region="eu-west-1")
A = cdk.Environment(account="111111111111", region="eu-west-1")
ROLE_X = "arn:aws:iam::222222222222:role/X"


def fresh_app() -> cdk.App:
    # The built-in CloudFormation validator is most of a synth; cfn-lint covers it in test_stacks.
    return cdk.App(builtin_cloud_formation_validation=False)


def readme_sample() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text()
    match = re.search(r"<!-- reuse-sample:start -->\s*```python\n(.*?)```\s*<!-- reuse-sample:end -->", readme, re.S)
    assert match, "README.md lost its reuse sample"
    return match.group(1)


def test_the_readme_sample_runs_and_builds_both_sides(tmp_path: Path) -> None:
    sample = readme_sample()
    assert "app = cdk.App()" in sample
    assert "app.synth()" in sample
    # The jsii process is already running, so the output folder goes in as an argument, not CDK_OUTDIR.
    sample = sample.replace(
        "app = cdk.App()", f"app = cdk.App(outdir={str(tmp_path)!r}, builtin_cloud_formation_validation=False)"
    )
    namespace: dict[str, Any] = {}
    exec(compile(sample, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assembly = namespace["app"].synth()
    stacks = {s.stack_name: s for s in assembly.stacks}
    assert set(stacks) == {"Deployments", "Tooling"}
    target = Template.from_json(stacks["Deployments"].template)
    target.has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": "DeployRole",
            "AssumeRolePolicyDocument": {
                "Statement": [{"Condition": {"StringEquals": {"sts:ExternalId": ["deploy-2026"]}}}]
            },
        },
    )
    # bucket.grant_read_write(access) reached the role.
    target.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with([Match.object_like({"Action": Match.array_with(["s3:GetObject*"])})])
            },
            "Roles": [{"Ref": _logical_id(target, "AWS::IAM::Role")}],
        },
    )
    tooling = Template.from_json(stacks["Tooling"].template)
    tooling.resource_count_is("AWS::IAM::Group", 1)
    # grant_assume gave the imported user an inline policy with the same statement as the group's.
    tooling.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Users": ["ci-deployer"],
            "PolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Action": "sts:AssumeRole",
                            "Effect": "Allow",
                            "Resource": {
                                "Fn::Join": [
                                    "",
                                    ["arn:", {"Ref": "AWS::Partition"}, ":iam::222222222222:role/DeployRole"],
                                ]
                            },
                        }
                    )
                ]
            },
        },
    )


def _logical_id(template: Template, resource_type: str) -> str:
    (logical_id,) = template.find_resources(resource_type)
    return str(logical_id)


def test_cdk_nag_fails_on_unacknowledged_wildcards_outside_our_app(tmp_path: Path) -> None:
    # The construct does not hide findings: acknowledging wildcards is the app's decision.
    app = cdk.App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "Deployments", env=B)
    CrossAccountRole(
        stack, "Access", trusted_account_id="111111111111", external_ids=["deploy-2026"], allowed_actions=["s3:*"]
    )
    with pytest.raises(RuntimeError, match=r"ValidationFailed(.|\n)*AwsSolutions-IAM5\[Action::s3:\*\]"):
        app.synth()


# --- defaults -----------------------------------------------------------------------------------------


def test_a_reused_role_grants_nothing_by_default_and_gets_a_generated_name() -> None:
    stack = cdk.Stack(fresh_app(), "Deployments", env=B)
    access = CrossAccountRole(stack, "Access", trusted_account_id="111111111111", external_ids=["deploy-2026"])
    template = Template.from_stack(stack)
    (role,) = template.find_resources("AWS::IAM::Role").values()
    assert "RoleName" not in role["Properties"]
    assert "Policies" not in role["Properties"]
    assert "ManagedPolicyArns" not in role["Properties"]
    # The only policy is the tamper guard, which denies and allows nothing.
    (guard,) = template.find_resources("AWS::IAM::Policy").values()
    assert {s["Effect"] for s in guard["Properties"]["PolicyDocument"]["Statement"]} == {"Deny"}
    assert access.props.allowed_actions == ()


def test_two_unnamed_roles_in_one_stack_do_not_collide() -> None:
    stack = cdk.Stack(fresh_app(), "Deployments", env=B)
    for name in ("One", "Two"):
        CrossAccountRole(stack, name, trusted_account_id="111111111111", external_ids=["deploy-2026"])
    Template.from_stack(stack).resource_count_is("AWS::IAM::Role", 2)


def test_a_role_in_a_nested_stack_protects_every_stack_above_it() -> None:
    # Updating a parent stack replaces the nested stack's template, and with it the role. Nested stacks are
    # named <root>-<id>-<suffix>: the root's literal name covers them all, with no reference between stacks.
    app = fresh_app()
    top = cdk.Stack(app, "Platform", env=B)
    middle = cdk.NestedStack(top, "Access")
    inner = cdk.NestedStack(middle, "Roles")
    CrossAccountRole(inner, "Deploy", trusted_account_id="111111111111", external_ids=["deploy-2026"])
    (guard,) = Template.from_stack(inner).find_resources("AWS::IAM::Policy").values()
    by_sid = {s["Sid"]: s for s in guard["Properties"]["PolicyDocument"]["Statement"]}
    protected = json.dumps(by_sid["DenyProtectedStacks"]["Resource"])
    for name in ('{"Ref": "AWS::StackName"}', "stack/Platform/*", "stack/Platform-*/*"):
        assert name in protected
    # A reference between the stacks made a cycle two levels deep (Template.from_stack refuses one).
    for stack in (top, middle, inner):
        assert "referenceto" not in json.dumps(Template.from_stack(stack).to_json())


def test_a_role_in_a_top_level_stack_protects_no_other_stack_by_name() -> None:
    stack = cdk.Stack(fresh_app(), "Platform", env=B)
    CrossAccountRole(stack, "Deploy", trusted_account_id="111111111111", external_ids=["deploy-2026"])
    (guard,) = Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
    by_sid = {s["Sid"]: s for s in guard["Properties"]["PolicyDocument"]["Statement"]}
    assert "Platform" not in json.dumps(by_sid["DenyProtectedStacks"]["Resource"])


def test_a_second_role_with_the_same_name_in_one_account_is_refused_naming_both() -> None:
    app = fresh_app()
    one = cdk.Stack(app, "One", env=B)
    two = cdk.Stack(app, "Two", env=B)
    elsewhere = cdk.Stack(app, "Elsewhere", env=cdk.Environment(account="333333333333", region="eu-west-1"))
    props = CrossAccountRoleProps(trusted_account_id="111111111111", external_ids=["x-1"], role_name="Deploy")
    CrossAccountRole(one, "Access", props)
    CrossAccountRole(elsewhere, "Access", props)  # another account: its own namespace
    with pytest.raises(SettingsError) as caught:
        CrossAccountRole(two, "Access", CrossAccountRoleProps(**{**props.__dict__, "role_name": "DEPLOY"}))
    assert str(caught.value).startswith('Two/Access (CrossAccountRole): invalid role_name="DEPLOY": One/Access')


def test_props_object_or_keywords_alike() -> None:
    props = CrossAccountRoleProps(trusted_account_id="111111111111", external_ids=["x-1"], allowed_actions=["s3:Get*"])
    templates = []
    for build in (
        lambda stack: CrossAccountRole(stack, "Access", props),
        lambda stack: CrossAccountRole(stack, "Access", **props.__dict__),
    ):
        stack = cdk.Stack(fresh_app(), "Deployments", env=B)
        build(stack)
        templates.append(Template.from_stack(stack).to_json())
    assert templates[0] == templates[1]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda s: CrossAccountRole(s, "Access", external_ids=[]), "invalid trusted_account_id=null: is required"),
        (lambda s: CrossAccountRole(s, "Access", trusted_account_id="111111111111"), "invalid external_ids=null"),
        (
            lambda s: CrossAccountRole(s, "Access", trusted_account_id="111111111111", external_ids=[], rolename="R"),
            'invalid rolename="R": is not a CrossAccountRole prop',
        ),
        (
            lambda s: CrossAccountRole(
                s, "Access", CrossAccountRoleProps(trusted_account_id="111111111111", external_ids=[]), role_name="R"
            ),
            "a CrossAccountRoleProps or keyword arguments, not both",
        ),
    ],
)
def test_construct_errors_name_the_construct_path(build: Callable[[cdk.Stack], Any], message: str) -> None:
    error = construct_error(build)
    assert str(error).startswith("Deployments/Access (CrossAccountRole): "), str(error)
    assert message in str(error)


def construct_error(build: Callable[[cdk.Stack], Any]) -> SettingsError:
    stack = cdk.Stack(fresh_app(), "Deployments", env=B)
    with pytest.raises(SettingsError) as caught:
        build(stack)
    assert stack.node.find_all() == [stack], "nothing may be created before validation fails"
    return caught.value


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"external_ids": "deploy-2026"}, "external_ids"),
        ({"external_ids": ["x"]}, "external_ids[0]"),
        ({"trusted_account_id": "1111"}, "trusted_account_id"),
        ({"role_name": "has space"}, "role_name"),
        ({"role_path": "path"}, "role_path"),
        ({"trusted_principal_arns": ["*"]}, "trusted_principal_arns[0]"),
        ({"trusted_principal_arns": ["arn:aws:iam::333333333333:role/x"]}, "trusted_principal_arns[0]"),
        ({"mfa_max_age_seconds": 300}, "mfa_max_age_seconds"),
        ({"max_session_duration_seconds": 60}, "max_session_duration_seconds"),
        ({"allowed_actions": ["*"]}, "allowed_actions[0]"),
        ({"allowed_actions": ["s3:GetObject"], "allowed_resources": []}, "allowed_resources"),
        ({"principal_org_id": "o-1"}, "principal_org_id"),
        ({"permissions_boundary_arn": "Boundary"}, "permissions_boundary_arn"),
        ({"tags": {"aws:x": "y"}}, "tags.aws:x"),
    ],
)
def test_role_props_are_validated_before_anything_is_created(kwargs: dict[str, Any], key: str) -> None:
    props: dict[str, Any] = {"trusted_account_id": "111111111111", "external_ids": ["deploy-2026"], **kwargs}
    error = construct_error(lambda stack: CrossAccountRole(stack, "Access", **props))
    assert error.key == key
    assert str(error).startswith(f"Deployments/Access (CrossAccountRole): invalid {key}=")


def test_role_refuses_to_trust_its_own_account() -> None:
    stack = cdk.Stack(fresh_app(), "Deployments", env=B)
    with pytest.raises(SettingsError, match="must differ from the account the role is deployed in"):
        CrossAccountRole(stack, "Access", trusted_account_id="222222222222", external_ids=[])


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"role_arns": []}, "role_arns"),
        ({"role_arns": "arn:aws:iam::222222222222:role/X"}, "role_arns"),
        ({"role_arns": ["arn:aws:iam::222222222222:user/X"]}, "role_arns[0]"),
        ({"role_arns": ["*"]}, "role_arns[0]"),
        ({"group_name": "a b"}, "group_name"),
        ({"managed_policy_name": "a b"}, "managed_policy_name"),
        ({"caller": CallerRequirements(mfa_max_age_seconds=300)}, "caller.mfa_max_age_seconds"),
        ({"require_mfa": True}, "require_mfa"),
        (
            {"organization_roles": OrganizationRoles(organization_id="o-1", role_path="/", role_name="R")},
            "organization_roles.organization_id",
        ),
    ],
)
def test_assumers_props_are_validated_before_anything_is_created(kwargs: dict[str, Any], key: str) -> None:
    props: dict[str, Any] = {"role_arns": [ROLE_X], **kwargs}
    stack = cdk.Stack(fresh_app(), "Deployments", env=A)
    with pytest.raises(SettingsError) as caught:
        CrossAccountAssumers(stack, "Assumers", **props)
    assert stack.node.find_all() == [stack], "nothing may be created before validation fails"
    assert caught.value.key == key
    assert str(caught.value).startswith(f"Deployments/Assumers (CrossAccountAssumers): invalid {key}=")


def test_target_role_arn_follows_the_stack_partition() -> None:
    stack = cdk.Stack(fresh_app(), "Tooling", env=cdk.Environment(account="111111111111", region="cn-north-1"))
    arn = target_role_arn(target_account_id="222222222222", role_path="/ops/", role_name="Deploy")
    # Resolved by CloudFormation in the deploying account's partition (aws, aws-cn, aws-us-gov, ...).
    assert stack.resolve(arn) == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::222222222222:role/ops/Deploy"]]
    }


# --- tokens: every prop takes a value only known at deploy time ----------------------------------------


class Tokens:
    """Deploy-time values of each kind, in one stack: parameters, and attributes of other constructs."""

    def __init__(self) -> None:
        self.app = fresh_app()
        self.stack = cdk.Stack(self.app, "Deployments")  # environment-agnostic: its account is a token too
        self.text = cdk.CfnParameter(self.stack, "Text").value_as_string
        self.number = cdk.CfnParameter(self.stack, "Number", type="Number").value_as_number
        self.texts = cdk.CfnParameter(self.stack, "Texts", type="CommaDelimitedList").value_as_list
        self.bucket_arn = s3.Bucket(self.stack, "Bucket").bucket_arn
        self.policy_arn = iam.ManagedPolicy(
            self.stack, "Policy", statements=[iam.PolicyStatement(actions=["s3:ListBucket"], resources=["*"])]
        ).managed_policy_arn


#: prop -> (its value, built from the stack's tokens; what the role's resources must then refer to)
ROLE_TOKEN_CASES: dict[str, tuple[Callable[[Tokens], dict[str, Any]], str]] = {
    "trusted_account_id": (lambda t: {"trusted_account_id": t.text}, '{"Ref": "Text"}'),
    "trusted_account_id=Aws.ACCOUNT_ID": (
        lambda t: {"trusted_account_id": cdk.Aws.ACCOUNT_ID},
        '{"Ref": "AWS::AccountId"}',
    ),
    "external_ids (a list token)": (lambda t: {"external_ids": t.texts}, '"sts:ExternalId": {"Ref": "Texts"}'),
    "external_ids (an item)": (lambda t: {"external_ids": [t.text, "fixed-id"]}, '[{"Ref": "Text"}, "fixed-id"]'),
    "role_name": (lambda t: {"role_name": t.text}, '"RoleName": {"Ref": "Text"}'),
    "role_path": (lambda t: {"role_path": t.text}, '"Path": {"Ref": "Text"}'),
    "description": (lambda t: {"description": t.text}, '"Description": {"Ref": "Text"}'),
    "mfa_max_age_seconds": (
        lambda t: {"require_mfa": True, "mfa_max_age_seconds": t.number},
        '"aws:MultiFactorAuthAge": {"Ref": "Number"}',
    ),
    "max_session_duration_seconds": (
        lambda t: {"max_session_duration_seconds": t.number},
        '"MaxSessionDuration": {"Ref": "Number"}',
    ),
    "trusted_principal_arns": (lambda t: {"trusted_principal_arns": [t.text]}, '"aws:PrincipalArn": [{"Ref": "Text"}]'),
    "principal_org_id": (lambda t: {"principal_org_id": t.text}, '"aws:PrincipalOrgID": {"Ref": "Text"}'),
    "allowed_actions": (lambda t: {"allowed_actions": [t.text]}, '"Action": {"Ref": "Text"}'),
    "allowed_resources": (
        lambda t: {"allowed_actions": ["s3:GetObject"], "allowed_resources": [t.bucket_arn]},
        '"Resource": {"Fn::GetAtt": ["Bucket',
    ),
    "managed_policy_arns": (lambda t: {"managed_policy_arns": [t.policy_arn]}, '"ManagedPolicyArns": [{"Ref": "Policy'),
    "permissions_boundary_arn": (
        lambda t: {"permissions_boundary_arn": t.policy_arn},
        '"PermissionsBoundary": {"Ref": "Policy',
    ),
    "tags": (lambda t: {"tags": {"team": t.text}}, '{"Key": "team", "Value": {"Ref": "Text"}}'),
    "allowed_session_tag_keys": (
        lambda t: {"allow_session_tags": True, "allowed_session_tag_keys": t.texts},
        '"aws:TagKeys": {"Ref": "Texts"}',
    ),
    "cloudformation_stack_names": (
        lambda t: {"allowed_actions": ["cloudformation:UpdateStack"], "cloudformation_stack_names": [t.text]},
        ':stack/", {"Ref": "Text"}, "/*"',
    ),
    "protected_stack_names": (lambda t: {"protected_stack_names": [t.text]}, ':stack/", {"Ref": "Text"}, "/*"'),
    # The quota is a number IAM never sees: a token there skips the size check, and the role builds.
    "trust_policy_quota": (lambda t: {"trust_policy_quota": t.number}, '"sts:ExternalId": ["x-1"]'),
    "protected_bucket_names": (lambda t: {"protected_bucket_names": [t.text]}, ':s3:::", {"Ref": "Text"}'),
    "service_role_services": (
        lambda t: {"service_role_services": [t.text], "service_role_path": "/svc/"},
        '"iam:PassedToService": [{"Ref": "Text"}]',
    ),
    "service_role_path": (
        lambda t: {"service_role_services": ["lambda.amazonaws.com"], "service_role_path": t.text},
        ':policy", {"Ref": "Text"}',
    ),
}


@pytest.mark.parametrize("case", sorted(ROLE_TOKEN_CASES))
def test_every_role_prop_takes_a_token(case: str) -> None:
    tokens = Tokens()
    given, expected = ROLE_TOKEN_CASES[case]
    CrossAccountRole(
        tokens.stack, "Access", **{"trusted_account_id": "111111111111", "external_ids": ["x-1"], **given(tokens)}
    )
    template = Template.from_stack(tokens.stack)
    (role,) = template.find_resources("AWS::IAM::Role").values()
    (guard,) = [p for p in template.find_resources("AWS::IAM::Policy").values() if "TamperGuard" in json.dumps(p)]
    # The deploy-time value reached the role (or its guard), where it belongs: not dropped, not refused.
    assert expected in json.dumps([role, guard]), json.dumps([role, guard])


def test_assumers_take_the_arn_of_a_role_in_the_same_app() -> None:
    # The example: a role built in this app, its ARN a token.
    app = fresh_app()
    stack = cdk.Stack(app, "Both", env=B)
    role = CrossAccountRole(stack, "Access", trusted_account_id="111111111111", external_ids=["x-1"])
    assumers = CrossAccountAssumers(stack, "Assumers", role_arns=[role.role_arn])
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": [Match.object_like({"Resource": {"Fn::GetAtt": [Match.any_value(), "Arn"]}})]
            }
        },
    )
    assert assumers.role_arns == (role.role_arn,)


def test_every_assumers_prop_takes_a_token() -> None:
    tokens = Tokens()
    CrossAccountAssumers(
        tokens.stack,
        "Assumers",
        role_arns=[tokens.text, f"arn:aws:iam::{cdk.Aws.ACCOUNT_ID}:role/Deploy"],
        organization_roles=OrganizationRoles(
            organization_id=tokens.text,
            role_path="/",
            role_name=tokens.text,
            organizational_unit_ids=[tokens.text],
        ),
        group_name=tokens.text,
        managed_policy_name=tokens.text,
        caller=CallerRequirements(mfa=True, mfa_max_age_seconds=tokens.number),  # type: ignore[arg-type]
    )
    template = Template.from_stack(tokens.stack)
    template.has_resource_properties("AWS::IAM::Group", {"GroupName": {"Ref": "Text"}})
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "ManagedPolicyName": {"Ref": "Text"},
            "PolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Condition": Match.object_like(
                                {"NumericLessThan": {"aws:MultiFactorAuthAge": {"Ref": "Number"}}}
                            )
                        }
                    )
                ]
            },
        },
    )


def test_known_parts_are_still_checked_beside_tokens() -> None:
    tokens = Tokens()
    with pytest.raises(SettingsError, match=r"invalid external_ids\[1\]=\"x\""):
        CrossAccountRole(tokens.stack, "Access", trusted_account_id=tokens.text, external_ids=[tokens.text, "x"])


# --- grants ------------------------------------------------------------------------------------------------


def _grant_policy(stack: cdk.Stack) -> dict[str, Any]:
    """The one policy that allows something (a role also has its tamper guard, which only denies)."""
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
    (policy,) = [p for p in policies if "TamperGuard" not in p["Properties"]["PolicyName"]]
    return dict(policy["Properties"])


@pytest.mark.parametrize(
    ("identity", "attached_to"),
    [
        (lambda s: iam.User.from_user_name(s, "Imported", "ci"), ("Users", ["ci"])),
        (lambda s: iam.Group.from_group_name(s, "Imported", "ops"), ("Groups", ["ops"])),
        (
            lambda s: iam.Role.from_role_arn(s, "Imported", "arn:aws:iam::111111111111:role/ci"),
            ("Roles", ["ci"]),
        ),
        (lambda s: iam.User(s, "Own"), ("Users", [{"Ref": "Own30425842"}])),
    ],
)
def test_grant_assume_returns_a_grant_and_reaches_imported_identities(
    identity: Callable[[cdk.Stack], iam.IGrantable], attached_to: tuple[str, Any]
) -> None:
    stack = cdk.Stack(fresh_app(), "Tooling", env=A)
    assumers = CrossAccountAssumers(
        stack, "Assumers", role_arns=[ROLE_X], caller=CallerRequirements(mfa=True, mfa_max_age_seconds=900)
    )
    grant = assumers.grant_assume(identity(stack))
    assert isinstance(grant, iam.Grant)
    assert grant.success
    policy = _grant_policy(stack)
    key, value = attached_to
    assert policy[key] == value
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {
                "Bool": {"aws:MultiFactorAuthPresent": "true"},
                "NumericLessThan": {"aws:MultiFactorAuthAge": "900"},
            },
            "Effect": "Allow",
            "Resource": ROLE_X,
        }
    ]


def test_grant_assume_covers_the_organization_grant_too() -> None:
    stack = cdk.Stack(fresh_app(), "Tooling", env=A)
    assumers = CrossAccountAssumers(
        stack,
        "Assumers",
        role_arns=[ROLE_X],
        organization_roles=OrganizationRoles(organization_id="o-a1b2c3d4e5", role_path="/", role_name="R"),
        caller=CallerRequirements(source_identity=True),
    )
    assumers.grant_assume(iam.User.from_user_name(stack, "Imported", "ci"))
    statements = _grant_policy(stack)["PolicyDocument"]["Statement"]
    assert [s["Action"] for s in statements] == [["sts:AssumeRole", "sts:SetSourceIdentity"]] * 2
    assert statements[1]["Condition"] == {"StringEquals": {"aws:ResourceOrgID": "o-a1b2c3d4e5"}}


def test_grant_assume_never_succeeds_silently() -> None:
    # A principal that is not an IAM identity cannot take a policy statement.
    stack = cdk.Stack(fresh_app(), "Tooling", env=A)
    assumers = CrossAccountAssumers(stack, "Assumers", role_arns=[ROLE_X])
    with pytest.raises(
        SettingsError, match=r"^Tooling/Assumers \(CrossAccountAssumers\): invalid identity=.*cannot take"
    ):
        assumers.grant_assume(iam.AccountPrincipal("333333333333"))


def test_the_role_is_grantable_like_an_iam_role() -> None:
    stack = cdk.Stack(fresh_app(), "Deployments", env=B)
    access = CrossAccountRole(stack, "Access", trusted_account_id="111111111111", external_ids=["x-1"])
    grant = s3.Bucket(stack, "Bucket").grant_read(access)
    assert grant.success
    policy = _grant_policy(stack)
    assert policy["Roles"] == [{"Ref": _logical_id(Template.from_stack(stack), "AWS::IAM::Role")}]


# --- checks that run at synth ---------------------------------------------------------------------------


def _with_trust_principals(count: int, quota: int = 2048) -> tuple[cdk.App, cdk.Stack]:
    app = fresh_app()
    stack = cdk.Stack(app, "Deployments", env=B)
    access = CrossAccountRole(
        stack, "Access", trusted_account_id="111111111111", external_ids=["x-1"], trust_policy_quota=quota
    )
    # Added after construction: only the synth-time check sees them.
    access.role.assume_role_policy.add_statements(  # type: ignore[union-attr]
        iam.PolicyStatement(
            actions=["sts:AssumeRole"],
            principals=[iam.ArnPrincipal(f"arn:aws:iam::111111111111:role/deployer-{i:04}") for i in range(count)],
        )
    )
    return app, stack


def test_statements_added_later_are_measured_at_synth() -> None:
    app, _stack = _with_trust_principals(40)
    with pytest.raises(RuntimeError, match="about 2156 characters, over the quota of 2048: request an IAM quota"):
        app.synth()
    # After a quota increase, the same trust fits.
    app, _stack = _with_trust_principals(40, quota=4096)
    app.synth()
    app, _stack = _with_trust_principals(100, quota=4096)
    with pytest.raises(RuntimeError, match="over the most IAM allows"):
        app.synth()


def test_too_many_external_ids_are_refused_before_deploy_with_the_computed_size() -> None:
    long_ids = [c * 1224 for c in "abc"]
    error = construct_error(
        lambda stack: CrossAccountRole(stack, "Access", trusted_account_id="111111111111", external_ids=long_ids)
    )
    # Named after what the user set that takes the room, not the quota (which they did not set).
    assert error.key == "external_ids"
    assert "the trust policy is about 3" in error.rule


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"external_ids": ["a" * 1224, "b-2"]},
        {
            "require_source_identity": True,
            "require_mfa": True,
            "mfa_max_age_seconds": 300,
            "trusted_principal_arns": ["arn:aws:iam::111111111111:user/a"],
            "principal_org_id": "o-abcdefghij",
        },
    ],
)
def test_the_trust_is_measured_before_building_as_it_is_built(options: dict[str, Any]) -> None:
    from cross_account.private.policy_size import iam_length
    from cross_account.role import trust_document

    stack = cdk.Stack(fresh_app(), "Deployments", env=B)
    access = CrossAccountRole(
        stack, "Access", **{"trusted_account_id": "111111111111", "external_ids": ["x-1"], **options}
    )
    built = stack.resolve(access.role.assume_role_policy.to_json())  # type: ignore[union-attr]
    assert iam_length(trust_document(access.props)) == iam_length(built)


def _actions(count: int) -> list[str]:
    return [f"ec2:DescribeThing{i:04}" for i in range(count)]


def test_inline_policies_over_the_role_quota_are_refused_naming_the_setting() -> None:
    stack = cdk.Stack(fresh_app(), "Deployments", env=B)
    CrossAccountRole(
        stack, "Fits", trusted_account_id="111111111111", external_ids=["x-1"], allowed_actions=_actions(120)
    )
    with pytest.raises(SettingsError) as caught:
        CrossAccountRole(
            stack, "TooMany", trusted_account_id="111111111111", external_ids=["x-1"], allowed_actions=_actions(600)
        )
    message = str(caught.value)
    assert message.startswith(
        'Deployments/TooMany (CrossAccountRole): invalid allowed_actions="600 actions on 1 resources": '
    )
    assert "over IAM's 10240 per role" in message
    with pytest.raises(SettingsError) as caught:
        CrossAccountRole(
            stack,
            "TooManyResources",
            trusted_account_id="111111111111",
            external_ids=["x-1"],
            allowed_actions=["s3:GetObject"],
            allowed_resources=[f"arn:aws:s3:::artifacts-{i:03}/*" for i in range(400)],
        )
    assert caught.value.key == "allowed_resources"


def test_grants_added_later_are_measured_at_synth() -> None:
    app = fresh_app()
    stack = cdk.Stack(app, "Deployments", env=B)
    access = CrossAccountRole(
        stack, "Access", trusted_account_id="111111111111", external_ids=["x-1"], allowed_actions=_actions(120)
    )
    for i in range(150):
        s3.Bucket.from_bucket_name(stack, f"Bucket{i}", f"artifacts-{i:03}").grant_read(access)
    with pytest.raises(RuntimeError, match="inline policies come to about"):
        app.synth()


@pytest.mark.parametrize(("extra", "fits"), [(30, True), (200, False)])
def test_every_policy_naming_the_role_is_measured_at_synth(extra: int, fits: bool) -> None:
    # Not only the role's own grants: an iam.Policy attached from elsewhere in the stack counts too.
    app = fresh_app()
    stack = cdk.Stack(app, "Deployments", env=B)
    access = CrossAccountRole(
        stack, "Access", trusted_account_id="111111111111", external_ids=["x-1"], allowed_actions=_actions(100)
    )
    more = iam.PolicyStatement(actions=_actions(100 + extra)[100:], resources=["*"])
    iam.Policy(stack, "More", roles=[access.role], statements=[more])
    if fits:
        app.synth()
        return
    with pytest.raises(RuntimeError, match="inline policies come to about"):
        app.synth()


@pytest.mark.parametrize(
    ("intrinsic", "length"),
    [
        ({"Ref": "AWS::StackName"}, 128),
        ({"Ref": "AWS::AccountId"}, 12),
        ({"Ref": "AWS::Partition"}, 10),
        ({"Ref": "SomeBucket"}, 64),
        ({"Fn::GetAtt": ["Role", "Arn"]}, 128),
    ],
)
def test_a_deploy_time_value_counts_as_the_longest_it_can_be(intrinsic: dict[str, Any], length: int) -> None:
    from cross_account.private.policy_size import iam_length

    assert iam_length(intrinsic) == length + 2  # with its quotes, as IAM would see the string
    assert iam_length({"Fn::Join": ["", ["arn:", intrinsic]]}) == 2 + 4 + length


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"allowed_actions": _actions(100), "allowed_resources": [f"arn:aws:s3:::b{i}/*" for i in range(30)]},
        {"allowed_actions": ["cloudformation:*", "s3:*"], "cloudformation_stack_names": ["my-service-*", "x" * 128]},
        {
            "allowed_actions": ["s3:GetObject"],
            "protected_stack_names": [f"{'p' * 100}{i}" for i in range(12)],
            "managed_policy_arns": [f"arn:aws:iam::222222222222:policy/{'q' * 100}{i}" for i in range(10)],
            "permissions_boundary_arn": "arn:aws:iam::222222222222:policy/Boundary",
        },
    ],
    ids=["none", "many-actions", "stack-names", "protected-and-policies"],
)
def test_the_size_bound_from_the_props_is_never_below_the_policies(options: dict[str, Any]) -> None:
    # The measure skips its jsii calls when this bound fits: it must never be below what is built.
    from cross_account.private.policy_size import iam_length
    from cross_account.role import _size_bound

    stack = cdk.Stack(fresh_app(), "Deployments", env=B)
    access = CrossAccountRole(stack, "Access", trusted_account_id="111111111111", external_ids=["x-1"], **options)
    template = Template.from_stack(stack).to_json()
    built = sum(
        iam_length(p["PolicyDocument"])
        for r in template["Resources"].values()
        for p in ([r["Properties"]] if r["Type"] == "AWS::IAM::Policy" else r["Properties"].get("Policies", []))
    )
    assert built <= _size_bound(access.props), (built, _size_bound(access.props))


# --- constructs that behave like aws-iam's ---------------------------------------------------


def test_the_role_stands_wherever_an_irole_is_expected() -> None:
    stack = cdk.Stack(fresh_app(), "Deployments", env=B)
    access = CrossAccountRole(stack, "Access", trusted_account_id="111111111111", external_ids=["x-1"])
    access.add_to_principal_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=["*"]))
    iam.ManagedPolicy(
        stack, "Team", roles=[access], statements=[iam.PolicyStatement(actions=["sns:Publish"], resources=["*"])]
    )
    template = Template.from_stack(stack)
    role = stack.resolve(access.role.role_name)
    template.has_resource_properties("AWS::IAM::ManagedPolicy", {"Roles": [role]})
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [role],
            "PolicyDocument": {
                "Statement": [{"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": "*"}],
                "Version": "2012-10-17",
            },
        },
    )


@pytest.mark.parametrize(
    ("identity", "warned"),
    [
        (lambda s: iam.Role.from_role_arn(s, "Immutable", "arn:aws:iam::111111111111:role/ci", mutable=False), True),
        (lambda s: iam.Role.from_role_arn(s, "OtherAccount", "arn:aws:iam::333333333333:role/ci"), True),
        (lambda s: iam.Role.from_role_arn(s, "Mutable", "arn:aws:iam::111111111111:role/ci"), False),
        (lambda s: iam.User.from_user_name(s, "Bob", "bob"), False),
    ],
    ids=["immutable", "other-account", "mutable-import", "user-import"],
)
def test_grant_assume_warns_when_aws_iam_would_drop_the_grant(
    identity: Callable[[cdk.Stack], iam.IGrantable], warned: bool
) -> None:
    stack = cdk.Stack(fresh_app(), "Tooling", env=A)
    assumers = CrossAccountAssumers(stack, "Assumers", role_arns=[ROLE_X])
    assumers.grant_assume(identity(stack))
    warnings = [text for text in messages(stack, "warning") if "nothing was granted" in text]
    assert bool(warnings) == warned


def test_role_arns_in_another_partition_than_the_stack_are_refused() -> None:
    stack = cdk.Stack(fresh_app(), "Tooling", env=A)
    with pytest.raises(SettingsError) as caught:
        CrossAccountAssumers(stack, "Assumers", role_arns=["arn:aws-cn:iam::222222222222:role/R"])
    assert caught.value.key == "role_arns[0]" and "partition aws-cn" in caught.value.rule


#: The role's flags: each decides what the template holds, so a deploy-time value cannot stand for it (the
#: template would be the same whatever the parameter turned out to be).
ROLE_FLAGS = ("require_mfa", "require_source_identity", "allow_session_tags")


def test_every_role_prop_is_either_taken_as_a_token_or_refused_as_one() -> None:
    taken = {case.split(" ")[0].split("=")[0] for case in ROLE_TOKEN_CASES}
    assert taken | set(ROLE_FLAGS) == set(CrossAccountRoleProps.prop_names()), (
        "a new prop needs a row: taken as a token (ROLE_TOKEN_CASES), or refused as one (ROLE_FLAGS)"
    )


@pytest.mark.parametrize("flag", ROLE_FLAGS)
def test_a_role_flag_given_as_a_token_is_refused_not_taken_as_true(flag: str) -> None:
    tokens = Tokens()
    with pytest.raises(SettingsError) as caught:
        CrossAccountRole(
            tokens.stack, "Access", trusted_account_id="111111111111", external_ids=["x-1"], **{flag: tokens.text}
        )
    assert str(caught.value).startswith(f"Deployments/Access (CrossAccountRole): invalid {flag}=")
    assert str(caught.value).endswith("must be known when the app is synthesized, not a deploy-time value")


@pytest.mark.parametrize("flag", ["allow_any_repository_of_owner", "allow_ref_wildcards", "allow_unprotected_refs"])
def test_a_ci_flag_given_as_a_token_is_refused_not_taken_as_true(flag: str) -> None:
    tokens = Tokens()
    owner_wide = CiRepository(repository="group/*", branches=["main"])
    with pytest.raises(SettingsError) as caught:
        CiOidcDeployer(
            tokens.stack, "Ci", provider=CI_PROVIDERS["gitlab_oidc"], repositories=[owner_wide], **{flag: tokens.text}
        )
    assert str(caught.value).startswith(f"Deployments/Ci (CiOidcDeployer): invalid {flag}=")
    assert "must be known when the app is synthesized" in str(caught.value)


@pytest.mark.parametrize("flag", ["mfa", "source_identity", "session_tags"])
def test_an_assumers_caller_flag_must_be_a_bool(flag: str) -> None:
    tokens = Tokens()
    for value in (tokens.text, "false"):
        with pytest.raises(SettingsError) as caught:
            CrossAccountAssumers(
                tokens.stack,
                f"Assumers{len(value)}",
                role_arns=["arn:aws:iam::222222222222:role/Access"],
                caller=CallerRequirements(**{flag: value}),
            )
        assert f"invalid caller.{flag}=" in str(caught.value), str(caught.value)
