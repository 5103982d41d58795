"""The constructs as an outside user meets them: a fresh App, no settings module, the README's sample."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from cross_account import CrossAccountAssumers, CrossAccountRole, SettingsError, target_role_arn
from harness.node import PROJECT_ROOT

B = cdk.Environment(account="222222222222", region="eu-west-1")
A = cdk.Environment(account="111111111111", region="eu-west-1")


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
    # The jsii process is already running, so the output folder goes in as an argument, not CDK_OUTDIR.
    sample = sample.replace(
        "app = cdk.App()", f"app = cdk.App(outdir={str(tmp_path)!r}, builtin_cloud_formation_validation=False)"
    )
    namespace: dict[str, Any] = {}
    exec(compile(sample, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    app: cdk.App = namespace["app"]
    assembly = app.synth()
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
    tooling = Template.from_json(stacks["Tooling"].template)
    tooling.resource_count_is("AWS::IAM::Group", 1)
    tooling.resource_count_is("AWS::IAM::User", 1)
    # grant_assume attached the managed policy to the existing user too.
    tooling.has_resource_properties(
        "AWS::IAM::User", {"ManagedPolicyArns": [{"Ref": _logical_id(tooling, "AWS::IAM::ManagedPolicy")}]}
    )


def _logical_id(template: Template, resource_type: str) -> str:
    (logical_id,) = template.find_resources(resource_type)
    return str(logical_id)


def test_cdk_nag_fails_on_unacknowledged_wildcards_outside_our_app(tmp_path: Path) -> None:
    # The construct does not hide findings: acknowledging the how-to's wildcards is the app's decision.
    app = cdk.App(outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "Deployments", env=B)
    CrossAccountRole(stack, "Access", trusted_account_id="111111111111", external_ids=["deploy-2026"])
    with pytest.raises(RuntimeError, match=r"ValidationFailed(.|\n)*AwsSolutions-IAM5\[Resource::\*\]"):
        app.synth()


def construct_error(build: Any) -> SettingsError:
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
        ({"allowed_actions": [], "managed_policy_arns": []}, "allowed_actions"),
        ({"allowed_resources": []}, "allowed_resources"),
        ({"principal_org_id": "o-1"}, "principal_org_id"),
        ({"permissions_boundary_arn": "Boundary"}, "permissions_boundary_arn"),
        ({"tags": {"aws:x": "y"}}, "tags.aws:x"),
    ],
)
def test_role_props_are_validated_before_anything_is_created(kwargs: dict[str, Any], key: str) -> None:
    props: dict[str, Any] = {"trusted_account_id": "111111111111", "external_ids": ["deploy-2026"], **kwargs}
    error = construct_error(lambda stack: CrossAccountRole(stack, "Access", **props))
    assert error.key == key


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
        ({"managed_policy_name": ""}, "managed_policy_name"),
        ({"mfa_max_age_seconds": 300}, "mfa_max_age_seconds"),
    ],
)
def test_assumers_props_are_validated_before_anything_is_created(kwargs: dict[str, Any], key: str) -> None:
    props: dict[str, Any] = {"role_arns": ["arn:aws:iam::222222222222:role/X"], **kwargs}
    error = construct_error(lambda stack: CrossAccountAssumers(stack, "Assumers", **props))
    assert error.key == key


def test_target_role_arn_follows_the_stack_partition() -> None:
    stack = cdk.Stack(fresh_app(), "Tooling", env=cdk.Environment(account="111111111111", region="cn-north-1"))
    arn = target_role_arn(target_account_id="222222222222", role_path="/ops/", role_name="Deploy")
    # Resolved by CloudFormation in the deploying account's partition (aws, aws-cn, aws-us-gov, ...).
    assert stack.resolve(arn) == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::222222222222:role/ops/Deploy"]]
    }


def test_grant_assume_accepts_roles_and_groups_too() -> None:
    stack = cdk.Stack(fresh_app(), "Tooling", env=A)
    assumers = CrossAccountAssumers(stack, "Assumers", role_arns=["arn:aws:iam::222222222222:role/X"])
    ci_role = iam.Role(stack, "Ci", assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"))
    assumers.grant_assume(ci_role)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::IAM::Role", {"ManagedPolicyArns": [{"Ref": _logical_id(template, "AWS::IAM::ManagedPolicy")}]}
    )
