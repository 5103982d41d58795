"""Trusted side: the group and its policy grant sts:AssumeRole on the exact role ARN, and nothing more."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from cross_account import CrossAccountAssumers, SettingsError, target_role_arn
from harness.synth import synth

ROLE_ARN = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::222222222222:role/CrossAccountAccessRole"]]}


def resources_by_type(overrides: dict[str, Any] | None = None) -> dict[str, list[dict[str, Any]]]:
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in synth(overrides).template("TrustedStack")["Resources"].values():
        if resource["Type"] != "AWS::CDK::Metadata":
            by_type.setdefault(resource["Type"], []).append(resource["Properties"])
    return by_type


def policy_statements(overrides: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    (policy,) = resources_by_type(overrides)["AWS::IAM::ManagedPolicy"]
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


def test_default_grant_is_assume_role_on_the_exact_arn_only() -> None:
    assert policy_statements() == [
        {"Sid": "AssumeCrossAccountRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE_ARN}
    ]


def test_the_stack_holds_a_group_and_its_managed_policy_and_nothing_more() -> None:
    by_type = resources_by_type()
    assert sorted(by_type) == ["AWS::IAM::Group", "AWS::IAM::ManagedPolicy"]
    (group,) = by_type["AWS::IAM::Group"]
    (policy,) = by_type["AWS::IAM::ManagedPolicy"]
    assert group["GroupName"] == "CrossAccountAssumers"
    assert len(group["ManagedPolicyArns"]) == 1
    assert "Policies" not in group
    assert policy["ManagedPolicyName"] == "AssumeCrossAccountAccessRole"


def test_the_howtos_extra_grants_are_gone() -> None:
    actions = [a for s in policy_statements() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert "iam:PassRole" not in actions
    assert "iam:ListRoles" not in actions


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"require_mfa": "true"},
            {
                "Sid": "AssumeCrossAccountRole",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": ROLE_ARN,
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            },
        ),
        (
            {"require_mfa": "true", "mfa_max_age_seconds": "900"},
            {
                "Sid": "AssumeCrossAccountRole",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": ROLE_ARN,
                "Condition": {
                    "Bool": {"aws:MultiFactorAuthPresent": "true"},
                    "NumericLessThan": {"aws:MultiFactorAuthAge": "900"},
                },
            },
        ),
        (
            {"require_source_identity": "true"},
            {
                "Sid": "AssumeCrossAccountRole",
                "Effect": "Allow",
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
                "Resource": ROLE_ARN,
            },
        ),
        (
            {"role_path": "/cross-account/", "role_name": "Deployer", "target_account_id": "022222222222"},
            {
                "Sid": "AssumeCrossAccountRole",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": {
                    "Fn::Join": [
                        "",
                        ["arn:", {"Ref": "AWS::Partition"}, ":iam::022222222222:role/cross-account/Deployer"],
                    ]
                },
            },
        ),
    ],
    ids=["mfa", "mfa-max-age", "source-identity", "path-name-account"],
)
def test_grant_per_option(overrides: dict[str, Any], expected: dict[str, Any]) -> None:
    assert policy_statements(overrides) == [expected]


def test_group_name_setting() -> None:
    (group,) = resources_by_type({"assumers_group_name": "Deployers"})["AWS::IAM::Group"]
    assert group["GroupName"] == "Deployers"


def test_no_cross_stack_reference_between_the_accounts() -> None:
    trusted = synth().template("TrustedStack")
    assert "Fn::ImportValue" not in str(trusted)
    assert set(trusted.get("Parameters", {})) <= {"BootstrapVersion"}


def test_several_targets_are_granted_exactly() -> None:
    accounts = ["222222222222", "333333333333"]
    (statement,) = policy_statements({"target_account_ids": json.dumps(accounts)})
    assert statement["Resource"] == [
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::{a}:role/CrossAccountAccessRole"]]}
        for a in accounts
    ]


def test_many_targets_spread_over_managed_policies_under_the_size_quota() -> None:
    # At the construct level: 500 TargetStacks would only slow the test down.
    accounts = [f"{n:012d}" for n in range(300000000000, 300000000500)]
    app = cdk.App(builtin_cloud_formation_validation=False)
    stack = cdk.Stack(app, "Tooling", env=cdk.Environment(account="111111111111", region="us-east-1"))
    arns = [target_role_arn(target_account_id=a, role_path="/", role_name="CrossAccountAccessRole") for a in accounts]
    CrossAccountAssumers(stack, "Assumers", role_arns=arns, managed_policy_name="AssumeCrossAccountAccessRole")
    template = Template.from_stack(stack).to_json()
    policies = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    assert 1 < len(policies) <= 10  # the per-group quota
    (group,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Group"]
    assert len(group["ManagedPolicyArns"]) == len(policies)
    granted = []
    for policy in policies:
        (statement,) = policy["PolicyDocument"]["Statement"]
        rendered = json.dumps(policy["PolicyDocument"], separators=(",", ":"))
        # Each Fn::Join renders as "arn:aws-us-gov:iam::..." at worst; the quota is 6,144 characters.
        joins = rendered.count('{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},"')
        worst_case = (
            len(rendered)
            - joins * len('{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},"]]}')
            + joins * len("arn:aws-us-gov")
        )
        assert worst_case < 6144
        granted += [r["Fn::Join"][1][2] for r in statement["Resource"]]
    assert granted == [f":iam::{a}:role/CrossAccountAccessRole" for a in accounts]
    assert [p["ManagedPolicyName"] for p in policies][:2] == [
        "AssumeCrossAccountAccessRole",
        "AssumeCrossAccountAccessRole-2",
    ]


def test_more_targets_than_the_group_quota_allows_point_to_the_organization_grant() -> None:
    stack = cdk.Stack(cdk.App(), "Tooling")
    arns = [f"arn:aws:iam::{n:012d}:role/CrossAccountAccessRole" for n in range(300000000000, 300000001000)]
    with pytest.raises(SettingsError, match="organization_roles on the construct"):
        CrossAccountAssumers(stack, "Assumers", role_arns=arns)
