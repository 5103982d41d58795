"""A property-based fuzz of the settings: every value is refused in one line naming its key, or it
synthesizes templates that cfn-lint and IAM's size quotas accept."""

from __future__ import annotations

import functools
import json
from typing import Any

import cfnlint.api
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cross_account.declaration import SettingsError
from cross_account.private.policy_size import iam_length
from cross_account.quotas import DEFAULT_TRUST_POLICY_QUOTA, ROLE_INLINE_POLICIES_QUOTA
from cross_account.settings import Settings
from harness.synth import synth

KEYS = Settings.setting_names()

#: Values each key accepts, so that the fuzz reaches the templates too, not only the refusals.
PLAUSIBLE: dict[str, list[str]] = {
    "external_ids": ['["abcdef12"]', '["a-1", "b-2"]', "[]", json.dumps(["x" * 1224, "y" * 1224])],
    "role_name": ["Deploy-Role", "a" * 64],
    "role_path": ["/ops/", "/" + "p" * 60 + "/"],
    "role_description": ["Zugriff für A", ""],
    "require_mfa": ["true", "false"],
    "max_session_duration_seconds": ["7200", "43200"],
    "trusted_principal_arns": ['["arn:aws:iam::111111111111:role/ci-*"]'],
    "principal_org_id": ["o-abcdefghij"],
    "require_source_identity": ["true"],
    "allowed_actions": ['["s3:GetObject", "cloudformation:Describe*"]', '["lambda:*"]'],
    "allowed_resources": ['["arn:aws:s3:::bucket/*"]'],
    "managed_policy_arns": ['["arn:aws:iam::aws:policy/ReadOnlyAccess"]'],
    "permissions_boundary_arn": ["arn:aws:iam::222222222222:policy/Boundary"],
    "cloudformation_stack_names": ['["my-service-*"]'],
    "protected_stack_names": ['["Network"]'],
    "trust_policy_quota": ["4096"],
    "tags": ['{"team": "platform"}', json.dumps({f"k{i}": "v" * 256 for i in range(49)})],
    "target_account_ids": ['["222222222222", "333333333333"]'],
    "roles": ['{"ReadOnly": {"allowed_actions": ["s3:Get*"]}}'],
    "mfa_max_age_seconds": ["3600", "129600"],
    "allow_session_tags": ["true", "false"],
    "allowed_session_tag_keys": ['["Team", "Project"]'],
    "assumers_group_name": ["Deployers"],
    "github_oidc": [
        json.dumps(
            {
                "repositories": [{"repository": "octo/app", "branches": ["main"], "repository_id": 1}],
                "workflows": ["octo/app/.github/workflows/deploy.yml@*"],
            }
        ),
        json.dumps({"repositories": [{"repository": "octo/app", "environments": ["prod"]}], "provider_arn": None}),
    ],
    "gitlab_oidc": [json.dumps({"repositories": [{"repository": "g/sub/p", "tags": ["v1"]}]})],
    "local": ["true", "false"],
    "organization_id": ["o-abcdefghij"],
    "target_organizational_unit_ids": ['["ou-ab12-abcdefgh"]'],
    "stackset_account_ids": ['["444444444444"]'],
    "stackset_call_as": ["DELEGATED_ADMIN"],
    "stackset_failure_tolerance_percentage": ["0", "100"],
    "stackset_max_concurrent_percentage": ["1", "100"],
    "stackset_name": ["Cross-Access"],
    "region": ["eu-west-1", "cn-north-1", "us-gov-west-1"],
    "target_account_id": ["333333333333"],
    "trusted_account_id": ["555555555555"],
}
#: What a key needs beside it to mean anything (a chosen value wins over these).
COMPANIONS: dict[str, dict[str, str]] = {
    "mfa_max_age_seconds": {"require_mfa": "true"},
    "allowed_session_tag_keys": {"allow_session_tags": "true"},
    **{
        key: {"organization_id": "o-abcdefghij", "target_organizational_unit_ids": '["ou-ab12-abcdefgh"]'}
        for key in KEYS
        if key.startswith("stackset_") or key in ("organization_id", "target_organizational_unit_ids")
    },
}
HOSTILE = ["9" * 5000, "[" * 3000, "{" * 3000, "arn:", "*", "iam:*", "role/*", "-1", "1e400", "\u0000", "a\nb", ""]

values = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.lists(st.one_of(st.text(max_size=20), st.sampled_from(HOSTILE)), max_size=4).map(json.dumps),
    st.dictionaries(st.text(max_size=12), st.text(max_size=12), max_size=4).map(json.dumps),
    st.sampled_from(HOSTILE),
)


def refused_in_one_line(context: dict[str, Any]) -> Settings | None:
    """The settings, or None when refused properly; anything else fails the test."""
    try:
        return Settings.from_context(context)
    except SettingsError as error:
        assert "\n" not in str(error)
        assert error.key.split(".")[0].split("[")[0] in KEYS, error.key
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(KEYS), value=values)
def test_any_value_is_refused_in_one_line_or_builds_templates_that_deploy(key: str, value: str) -> None:
    # Accepted values build too; cfn-lint (most of the cost) runs in the property below, on plausible values.
    if refused_in_one_line({key: value}) is not None:
        assert_builds_templates_that_deploy({key: value}, lint=False)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choice=st.dictionaries(st.sampled_from(sorted(PLAUSIBLE)), st.sampled_from(range(3)), min_size=1, max_size=5))
def test_accepted_settings_build_templates_that_deploy(choice: dict[str, int]) -> None:
    chosen = {key: PLAUSIBLE[key][i % len(PLAUSIBLE[key])] for key, i in choice.items()}
    context = {k: v for key in chosen for k, v in COMPANIONS.get(key, {}).items()} | chosen
    if refused_in_one_line(context) is not None:
        assert_builds_templates_that_deploy(context)


def assert_builds_templates_that_deploy(context: dict[str, Any], *, lint: bool = True) -> None:
    try:
        app = synth(context)
    except SettingsError as error:  # a construct's rule across settings (the trust's size): one line too
        assert "\n" not in str(error)
        return
    for stack_id in app.templates:
        template = app.template(stack_id)
        if lint:
            errors = lint_errors(json.dumps(template, sort_keys=True))
            assert not errors, f"{context}: {stack_id}: {errors}"
        assert_within_iam_quotas(template, int(context.get("trust_policy_quota", DEFAULT_TRUST_POLICY_QUOTA)))


@functools.cache
def lint_errors(template: str) -> list[str]:
    """cfn-lint's errors; a template seen before (TrustedStack often is) is not linted again."""
    return [str(m) for m in cfnlint.api.lint(template) if m.rule.id.startswith("E")]


def assert_within_iam_quotas(template: dict[str, Any], trust_quota: int) -> None:
    """Each role's trust within the quota, its inline policies together within 10,240, each managed policy 6,144."""
    resources = template["Resources"]
    for logical_id, resource in resources.items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            assert iam_length(properties["AssumeRolePolicyDocument"]) <= trust_quota, logical_id
            inline = [p["PolicyDocument"] for p in properties.get("Policies", [])]
            inline += [
                r["Properties"]["PolicyDocument"]
                for r in resources.values()
                if r["Type"] == "AWS::IAM::Policy" and {"Ref": logical_id} in r["Properties"].get("Roles", [])
            ]
            assert sum(map(iam_length, inline)) <= ROLE_INLINE_POLICIES_QUOTA, logical_id
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            assert iam_length(properties["PolicyDocument"]) <= 6144, logical_id


@pytest.mark.parametrize("key", sorted(PLAUSIBLE))
def test_the_plausible_values_are_accepted(key: str) -> None:
    # Otherwise the fuzz above would only ever see refusals.
    for value in PLAUSIBLE[key]:
        assert Settings.from_context({**COMPANIONS.get(key, {}), key: value}) is not None, (key, value)
