"""Target side: the exact trust and permission policies of the role, for the defaults and each option."""

from __future__ import annotations

from typing import Any

import pytest

from harness.synth import synth

TRUSTED_ROOT = "arn:aws:iam::111111111111:root"


def role_properties(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    resources = synth(overrides).template("TargetStack")["Resources"]
    roles = [r for r in resources.values() if r["Type"] == "AWS::IAM::Role"]
    assert len(roles) == 1
    properties: dict[str, Any] = roles[0]["Properties"]
    return properties


def trust_statements(overrides: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    document = role_properties(overrides)["AssumeRolePolicyDocument"]
    assert document["Version"] == "2012-10-17"
    statements: list[dict[str, Any]] = document["Statement"]
    return statements


def assume(condition: dict[str, Any]) -> dict[str, Any]:
    return {"Action": "sts:AssumeRole", "Condition": condition, "Effect": "Allow", "Principal": {"AWS": TRUSTED_ROOT}}


def test_default_trust_enforces_the_external_id() -> None:
    assert trust_statements() == [assume({"StringEquals": {"sts:ExternalId": ["12345678TESTID"]}})]


def test_default_permission_policy_is_the_howtos() -> None:
    properties = role_properties()
    assert properties["Policies"] == [
        {
            "PolicyName": "CrossAccountPermissions",
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "CrossAccountPermissions",
                        "Effect": "Allow",
                        "Action": ["cloudformation:*", "cloudwatch:*", "events:*", "s3:*", "sqs:*"],
                        "Resource": "*",
                    }
                ],
            },
        }
    ]
    assert properties["RoleName"] == "CrossAccountAccessRole"
    assert properties["Path"] == "/"
    assert properties["MaxSessionDuration"] == 3600
    for absent in ("ManagedPolicyArns", "PermissionsBoundary", "Tags"):
        assert absent not in properties


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"external_ids": "[]"}, [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"AWS": TRUSTED_ROOT}}]),
        (
            {"external_ids": '["first-id", "second-id"]'},
            [assume({"StringEquals": {"sts:ExternalId": ["first-id", "second-id"]}})],
        ),
        (
            {"require_mfa": "true"},
            [
                assume(
                    {
                        "StringEquals": {"sts:ExternalId": ["12345678TESTID"]},
                        "Bool": {"aws:MultiFactorAuthPresent": "true"},
                    }
                )
            ],
        ),
        (
            {"require_mfa": "true", "mfa_max_age_seconds": "3600"},
            [
                assume(
                    {
                        "StringEquals": {"sts:ExternalId": ["12345678TESTID"]},
                        "Bool": {"aws:MultiFactorAuthPresent": "true"},
                        "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"},
                    }
                )
            ],
        ),
        (
            {"trusted_principal_arns": '["arn:aws:iam::111111111111:user/alice", "arn:aws:iam::111111111111:role/ci"]'},
            [
                assume(
                    {
                        "StringEquals": {"sts:ExternalId": ["12345678TESTID"]},
                        "ArnEquals": {
                            "aws:PrincipalArn": [
                                "arn:aws:iam::111111111111:user/alice",
                                "arn:aws:iam::111111111111:role/ci",
                            ]
                        },
                    }
                )
            ],
        ),
        (
            {"principal_org_id": "o-abcdefghij"},
            [assume({"StringEquals": {"sts:ExternalId": ["12345678TESTID"], "aws:PrincipalOrgID": "o-abcdefghij"}})],
        ),
        (
            {"require_source_identity": "true"},
            [
                assume(
                    {"StringEquals": {"sts:ExternalId": ["12345678TESTID"], "sts:SourceIdentity": "${aws:username}"}}
                ),
                # Its own statement, with only the source-identity condition (no sts:ExternalId key exists for it).
                {
                    "Action": "sts:SetSourceIdentity",
                    "Condition": {"StringEquals": {"sts:SourceIdentity": "${aws:username}"}},
                    "Effect": "Allow",
                    "Principal": {"AWS": TRUSTED_ROOT},
                },
            ],
        ),
    ],
    ids=["no-external-id", "two-external-ids", "mfa", "mfa-max-age", "principals", "org", "source-identity"],
)
def test_trust_policy_per_option(overrides: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    assert trust_statements(overrides) == expected


def test_every_assume_statement_carries_the_external_id_with_all_options_on() -> None:
    statements = trust_statements(
        {
            "external_ids": '["first-id", "second-id"]',
            "require_mfa": "true",
            "trusted_principal_arns": '["arn:aws:iam::111111111111:user/alice"]',
            "principal_org_id": "o-abcdefghij",
            "require_source_identity": "true",
        }
    )
    for statement in statements:
        assert statement["Principal"] == {"AWS": TRUSTED_ROOT}, "never Principal '*'"
        if "sts:AssumeRole" in statement["Action"]:
            assert statement["Condition"]["StringEquals"]["sts:ExternalId"] == ["first-id", "second-id"]
        else:
            assert statement["Action"] == "sts:SetSourceIdentity"


def test_session_and_permission_options() -> None:
    properties = role_properties(
        {
            "role_path": "/cross-account/",
            "role_description": "Deploys from the tooling account",
            "max_session_duration_seconds": "43200",
            "allowed_actions": '["s3:GetObject", "s3:ListBucket"]',
            "allowed_resources": '["arn:aws:s3:::artifacts", "arn:aws:s3:::artifacts/*"]',
            "managed_policy_arns": '["arn:aws:iam::aws:policy/ReadOnlyAccess"]',
            "permissions_boundary_arn": "arn:aws:iam::222222222222:policy/Boundary",
            "tags": '{"team": "platform", "cost-center": "42"}',
        }
    )
    assert properties["Path"] == "/cross-account/"
    assert properties["Description"] == "Deploys from the tooling account"
    assert properties["MaxSessionDuration"] == 43200
    assert properties["Policies"][0]["PolicyDocument"]["Statement"] == [
        {
            "Sid": "CrossAccountPermissions",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::artifacts", "arn:aws:s3:::artifacts/*"],
        }
    ]
    assert properties["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    assert properties["PermissionsBoundary"] == "arn:aws:iam::222222222222:policy/Boundary"
    assert sorted(properties["Tags"], key=lambda t: t["Key"]) == [
        {"Key": "cost-center", "Value": "42"},
        {"Key": "team", "Value": "platform"},
    ]


def test_managed_policies_only_means_no_inline_policy() -> None:
    properties = role_properties(
        {"allowed_actions": "[]", "managed_policy_arns": '["arn:aws:iam::aws:policy/ReadOnlyAccess"]'}
    )
    assert "Policies" not in properties
    assert properties["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]


def test_nothing_else_in_the_target_account_grants_iam_access() -> None:
    template = synth().template("TargetStack")
    types = sorted(r["Type"] for r in template["Resources"].values() if r["Type"] != "AWS::CDK::Metadata")
    assert types == ["AWS::IAM::Role"]
    for statement in role_properties()["Policies"][0]["PolicyDocument"]["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not [a for a in actions if a.startswith(("iam:", "sts:")) or a == "*"]
