"""Trusted side: the group and its policy grant sts:AssumeRole on the exact role ARN, and nothing more."""

from __future__ import annotations

from typing import Any

import pytest

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
