"""Target side: the exact trust and permission policies of the role, for the defaults and each option."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.synth import synth

TRUSTED_ROOT = "arn:aws:iam::111111111111:root"
ALICE = "arn:aws:iam::111111111111:user/alice"
CI_ROLE = "arn:aws:iam::111111111111:role/ci"


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
    for absent in ("ManagedPolicyArns", "PermissionsBoundary"):
        assert absent not in properties
    # The only tag is the tamper guard's, which its DenyChangesToGuardedRoles statement reads.
    assert properties["Tags"] == [{"Key": "cross-account:tamper-guard", "Value": "on"}]


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
                # IAM users name themselves; ${aws:username} does not exist for role sessions. A role chooses
                # its own source identity, so without named roles no role session gets in (a synth warning).
                assume(
                    {"StringEquals": {"sts:ExternalId": ["12345678TESTID"], "sts:SourceIdentity": "${aws:username}"}}
                ),
                # Its own statement, without sts:ExternalId (no such key exists for the action).
                {
                    "Action": "sts:SetSourceIdentity",
                    "Condition": {"StringEquals": {"sts:SourceIdentity": "${aws:username}"}},
                    "Effect": "Allow",
                    "Principal": {"AWS": TRUSTED_ROOT},
                },
            ],
        ),
        (
            {
                "require_source_identity": "true",
                "trusted_principal_arns": json.dumps([ALICE, CI_ROLE]),
            },
            [
                assume(
                    {
                        "StringEquals": {"sts:ExternalId": ["12345678TESTID"], "sts:SourceIdentity": "${aws:username}"},
                        "ArnEquals": {"aws:PrincipalArn": [ALICE, CI_ROLE]},
                    }
                ),
                # Role sessions must set a source identity, and only the named roles may.
                assume(
                    {
                        "Null": {"sts:SourceIdentity": "false"},
                        "StringEquals": {"sts:ExternalId": ["12345678TESTID"], "aws:PrincipalType": "AssumedRole"},
                        "ArnEquals": {"aws:PrincipalArn": [CI_ROLE]},
                    }
                ),
                {
                    "Action": "sts:SetSourceIdentity",
                    "Condition": {
                        "StringEquals": {"sts:SourceIdentity": "${aws:username}"},
                        "ArnEquals": {"aws:PrincipalArn": [ALICE, CI_ROLE]},
                    },
                    "Effect": "Allow",
                    "Principal": {"AWS": TRUSTED_ROOT},
                },
                {
                    "Action": "sts:SetSourceIdentity",
                    "Condition": {
                        "Null": {"sts:SourceIdentity": "false"},
                        "StringEquals": {"aws:PrincipalType": "AssumedRole"},
                        "ArnEquals": {"aws:PrincipalArn": [CI_ROLE]},
                    },
                    "Effect": "Allow",
                    "Principal": {"AWS": TRUSTED_ROOT},
                },
            ],
        ),
    ],
    ids=[
        "no-external-id",
        "two-external-ids",
        "mfa",
        "mfa-max-age",
        "principals",
        "org",
        "source-identity",
        "source-identity-named-roles",
    ],
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
        {"Key": "cross-account:tamper-guard", "Value": "on"},
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
    resources = {k: r for k, r in template["Resources"].items() if r["Type"] != "AWS::CDK::Metadata"}
    assert sorted(r["Type"] for r in resources.values()) == [
        "AWS::IAM::Policy",
        "AWS::IAM::Role",
        "AWS::S3::Bucket",
        "AWS::S3::BucketPolicy",
    ]
    # The staging bucket's policy grants object access only, to the role, under its lane's prefix.
    (bucket_policy,) = [r for r in resources.values() if r["Type"] == "AWS::S3::BucketPolicy"]
    actions = {a for s in bucket_policy["Properties"]["PolicyDocument"]["Statement"] for a in _list(s["Action"])}
    assert not [a for a in actions if a.startswith(("s3:Put", "s3:Delete")) and "Object" not in a]
    for statement in role_properties()["Policies"][0]["PolicyDocument"]["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not [a for a in actions if a.startswith(("iam:", "sts:")) or a == "*"]
    # The only other policy is the tamper guard: nothing but Deny.
    (guard,) = [r for r in resources.values() if r["Type"] == "AWS::IAM::Policy"]
    assert {s["Effect"] for s in guard["Properties"]["PolicyDocument"]["Statement"]} == {"Deny"}


def guard_statements(overrides: dict[str, Any] | None = None, stack_id: str = "TargetStack") -> dict[str, Any]:
    resources = synth(overrides).template(stack_id)["Resources"]
    (guard,) = [r for r in resources.values() if r["Type"] == "AWS::IAM::Policy"]
    (role_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
    assert guard["Properties"]["Roles"] == [{"Ref": role_id}]
    return {s["Sid"]: s for s in guard["Properties"]["PolicyDocument"]["Statement"]}


def test_the_tamper_guard_denies_changes_to_the_role_its_stack_and_the_bootstrap() -> None:
    guard = guard_statements()
    assert guard["DenyChangesToThisRole"]["NotAction"] == ["iam:Get*", "iam:List*"]
    stacks = json.dumps(guard["DenyProtectedStacks"]["Resource"])
    for name in ('{"Ref": "AWS::StackName"}', "stack/CDKToolkit/*", "stack/StackSet-*/*", "stackset/*"):
        assert name in stacks
    bootstrap = guard["DenyCdkBootstrapRolesAndAssets"]
    assert all(a.split(":")[1].startswith(("Get", "List", "Describe", "Batch")) for a in bootstrap["NotAction"])
    assert "container-assets" in json.dumps(bootstrap["Resource"])
    assert "cloudformation:RegisterType" in guard["DenyRegistryWideChanges"]["Action"]
    assert "s3:CreateAccessPoint" in guard["DenyNewS3AccessPaths"]["Action"]
    assert "DenyChangesToItsPolicies" not in guard, "AWS managed policies cannot be changed by anyone"


def test_the_tamper_guard_covers_customer_managed_policies_and_the_boundary() -> None:
    boundary = "arn:aws:iam::222222222222:policy/Boundary"
    mine = "arn:aws:iam::222222222222:policy/Deploy"
    guard = guard_statements(
        {
            "permissions_boundary_arn": boundary,
            "managed_policy_arns": json.dumps([mine, "arn:aws:iam::aws:policy/ReadOnlyAccess"]),
            "protected_stack_names": '["Network-*"]',
        }
    )
    assert sorted(guard["DenyChangesToItsPolicies"]["Resource"]) == sorted([mine, boundary])
    assert "stack/Network-*/*" in json.dumps(guard["DenyProtectedStacks"]["Resource"])


def test_cloudformation_actions_can_be_scoped_to_stack_names() -> None:
    statements = role_properties({"cloudformation_stack_names": '["my-service-*"]'})["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    by_sid = {s["Sid"]: s for s in statements}
    # cloudformation:* is spelled out: stack actions on the named stacks, resource-less ones on "*".
    assert "cloudformation:UpdateStack" in by_sid["CloudFormationStacks"]["Action"]
    assert "cloudformation:ListStacks" not in by_sid["CloudFormationStacks"]["Action"]
    assert "stack/my-service-*/*" in json.dumps(by_sid["CloudFormationStacks"]["Resource"])
    assert "cloudformation:ValidateTemplate" in by_sid["CloudFormationAccountLevel"]["Action"]
    assert "cloudformation:UpdateStack" not in by_sid["CloudFormationAccountLevel"]["Action"]
    assert by_sid["CloudFormationAccountLevel"]["Resource"] == "*"
    assert not [a for a in by_sid["CrossAccountPermissions"]["Action"] if a.startswith("cloudformation:")]


def test_session_tags_get_a_trust_statement_of_their_own_and_the_groups_grant() -> None:
    overrides = {
        "allow_session_tags": "true",
        "allowed_session_tag_keys": '["Repository", "Actor"]',
        "trusted_principal_arns": '["arn:aws:iam::111111111111:role/ci"]',
    }
    statements = trust_statements(overrides)
    # The AssumeRole statement is unchanged; TagSession keeps the principal conditions, not the external ID
    # (no sts:ExternalId key exists for it), and limits the keys.
    assert statements[0]["Condition"]["StringEquals"] == {"sts:ExternalId": ["12345678TESTID"]}
    assert statements[1] == {
        "Action": "sts:TagSession",
        "Condition": {
            "ArnEquals": {"aws:PrincipalArn": ["arn:aws:iam::111111111111:role/ci"]},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["Repository", "Actor"]},
        },
        "Effect": "Allow",
        "Principal": {"AWS": TRUSTED_ROOT},
    }
    resources = synth(overrides).template("TrustedStack")["Resources"]
    (policy,) = [r for r in resources.values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    assert policy["Properties"]["PolicyDocument"]["Statement"][0]["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert len(trust_statements()) == 1, "nothing without the setting"


def _list(value: object) -> list[str]:
    return value if isinstance(value, list) else [str(value)]
