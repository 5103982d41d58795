"""Organization-wide rollout: the StackSet, its template (the role's own), and the org-wide grant."""

from __future__ import annotations

import json
from typing import Any

from harness.synth import synth

ORG = {
    "organization_id": "o-abcdefghij",
    "target_organizational_unit_ids": '["ou-ab12-abcdefgh", "r-ab12"]',
}


def stack_set(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    resources = synth({**ORG, **(overrides or {})}).template("TargetStackSet")["Resources"]
    (properties,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudFormation::StackSet"]
    return properties


def test_stackset_is_service_managed_auto_deployed_in_one_region() -> None:
    properties = stack_set()
    properties.pop("TemplateBody")
    assert properties == {
        "StackSetName": "CrossAccountAccessRole",
        "Description": "Cross-account access: the role(s) the trusted account assumes, in every account of the OUs",
        "PermissionModel": "SERVICE_MANAGED",
        "CallAs": "SELF",
        "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
        "Capabilities": ["CAPABILITY_NAMED_IAM"],
        "ManagedExecution": {"Active": True},
        "OperationPreferences": {
            "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE",
            "FailureTolerancePercentage": 10,
            "MaxConcurrentPercentage": 25,
        },
        "StackInstancesGroup": [
            {"DeploymentTargets": {"OrganizationalUnitIds": ["ou-ab12-abcdefgh", "r-ab12"]}, "Regions": ["us-east-1"]}
        ],
    }


def test_stackset_settings_are_applied() -> None:
    properties = stack_set(
        {
            "stackset_name": "DeployRoles",
            "stackset_call_as": "DELEGATED_ADMIN",
            "stackset_failure_tolerance_percentage": "0",
            "stackset_max_concurrent_percentage": "100",
            "region": "eu-west-1",
        }
    )
    assert properties["StackSetName"] == "DeployRoles"
    assert properties["CallAs"] == "DELEGATED_ADMIN"
    assert properties["OperationPreferences"]["FailureTolerancePercentage"] == 0
    assert properties["OperationPreferences"]["MaxConcurrentPercentage"] == 100
    assert properties["StackInstancesGroup"][0]["Regions"] == ["eu-west-1"]


def test_template_body_is_the_target_roles_own_template() -> None:
    # One source of truth: the StackSet deploys exactly the role TargetStack deploys, with the
    # partition left to CloudFormation because the accounts are not known at synth time.
    body = json.loads(stack_set()["TemplateBody"])
    assert set(body) == {"Resources"}, "no bootstrap parameter, rule or metadata condition"
    (role,) = [r for r in body["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert sorted(r["Type"] for r in body["Resources"].values()) == ["AWS::IAM::Policy", "AWS::IAM::Role"]
    target_role = next(
        r for r in synth(ORG).template("TargetStack")["Resources"].values() if r["Type"] == "AWS::IAM::Role"
    )
    expected = json.loads(
        json.dumps(target_role["Properties"]).replace(
            '"arn:aws:iam::111111111111:root"',
            json.dumps({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::111111111111:root"]]}),
        )
    )
    assert role["Type"] == "AWS::IAM::Role"
    assert role["Properties"] == expected


def test_template_body_has_every_tier() -> None:
    body = json.loads(
        stack_set({"roles": '{"ReadOnly": {"allowed_actions": ["s3:Get*"]}, "Deploy": {}}'})["TemplateBody"]
    )
    names = sorted(r["Properties"]["RoleName"] for r in body["Resources"].values() if r["Type"] == "AWS::IAM::Role")
    assert names == ["CrossAccountAccessRole-Deploy", "CrossAccountAccessRole-ReadOnly"]


def test_trusted_side_grants_the_role_in_the_organization_never_a_bare_account_wildcard() -> None:
    resources = synth(ORG).template("TrustedStack")["Resources"]
    statements = [
        s
        for r in resources.values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    org_statement = next(s for s in statements if s["Sid"] == "AssumeRoleInOrganization")
    assert org_statement == {
        "Sid": "AssumeRoleInOrganization",
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::*:role/CrossAccountAccessRole"]]},
        "Condition": {
            "StringEquals": {"aws:ResourceOrgID": "o-abcdefghij"},
            "ForAnyValue:StringLike": {
                "aws:ResourceOrgPaths": ["o-abcdefghij/*/ou-ab12-abcdefgh/*", "o-abcdefghij/r-ab12/*"]
            },
        },
    }
    for statement in statements:
        assert statement["Resource"] != "*"


def test_org_wide_grant_keeps_mfa() -> None:
    resources = synth({**ORG, "require_mfa": "true"}).template("TrustedStack")["Resources"]
    conditions = [
        s["Condition"]
        for r in resources.values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert all(c["Bool"] == {"aws:MultiFactorAuthPresent": "true"} for c in conditions)
    assert len(conditions) == 2


def test_management_account_keeps_its_target_stack() -> None:
    # Service-managed StackSets skip the management account: TargetStack stays available for it.
    assert set(synth(ORG).templates) == {"TargetStack", "TrustedStack", "TargetStackSet"}


def test_stackset_can_target_some_accounts_of_the_ous() -> None:
    accounts = ["333333333333", "444444444444"]
    (group,) = stack_set({"stackset_account_ids": json.dumps(accounts)})["StackInstancesGroup"]
    assert group["DeploymentTargets"] == {
        "OrganizationalUnitIds": ["ou-ab12-abcdefgh", "r-ab12"],
        "Accounts": accounts,
        "AccountFilterType": "INTERSECTION",
    }
