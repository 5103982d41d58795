"""A property-based fuzz of the settings: every value is refused in one line naming its key, or it
synthesizes templates that cfn-lint and IAM's size quotas accept."""

from __future__ import annotations

import json
from typing import Any

import cfnlint.api
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cross_account.role import iam_length
from cross_account.rules import MAX_TRUST_POLICY_QUOTA, SettingsError
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
    "tags": ['{"team": "platform"}', json.dumps({f"k{i}": "v" * 256 for i in range(50)})],
    "target_account_ids": ['["222222222222", "333333333333"]'],
    "roles": ['{"ReadOnly": {"allowed_actions": ["s3:Get*"]}}'],
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
def test_any_value_is_refused_in_one_line_or_accepted(key: str, value: str) -> None:
    # What accepted values build is checked below, on fewer examples: each is a synth.
    refused_in_one_line({key: value})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(choice=st.dictionaries(st.sampled_from(sorted(PLAUSIBLE)), st.sampled_from(range(3)), min_size=1, max_size=4))
def test_accepted_settings_build_templates_that_deploy(choice: dict[str, int]) -> None:
    context = {key: PLAUSIBLE[key][i % len(PLAUSIBLE[key])] for key, i in choice.items()}
    if refused_in_one_line(context) is None:
        return
    try:
        app = synth(context)
    except SettingsError as error:  # a construct's rule across settings (the trust's size): one line too
        assert "\n" not in str(error)
        return
    for stack_id in app.templates:
        template = app.template(stack_id)
        errors = [m for m in cfnlint.api.lint(json.dumps(template)) if m.rule.id.startswith("E")]
        assert not errors, f"{context}: {stack_id}: {errors}"
        for resource in template["Resources"].values():
            properties = resource.get("Properties", {})
            if "AssumeRolePolicyDocument" in properties:
                assert iam_length(properties["AssumeRolePolicyDocument"]) <= MAX_TRUST_POLICY_QUOTA
            if resource["Type"] == "AWS::IAM::ManagedPolicy":
                assert iam_length(properties["PolicyDocument"]) <= 6144


@pytest.mark.parametrize("key", sorted(PLAUSIBLE))
def test_the_plausible_values_are_accepted(key: str) -> None:
    # Otherwise the fuzz above would only ever see refusals.
    for value in PLAUSIBLE[key]:
        context = {key: value, **({"require_mfa": "true"} if key == "mfa_max_age_seconds" else {})}
        assert Settings.from_context(context) is not None, (key, value)
