"""The security claims' small print: reserved tags in any case, external IDs that parse as options, the
synth warnings that say what the guard cannot stop, and the guard's IAM write list kept complete.

What IAM decides is in tests/test_simulate_guard.py (AdministratorAccess attached, artifact buckets)
and tests/test_simulate_trust.py (role callers and their source identity).
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

import aws_cdk as cdk
import pytest

from cross_account.declaration import SettingsError
from cross_account.guard import IAM_WRITES
from cross_account.iam_data import IDENTITY_ESCALATION
from cross_account.role import CrossAccountRole
from cross_account.settings import Settings
from harness.node import PROJECT_ROOT
from harness.synth import cdk_json_context
from tests.cdk_support import messages

B = cdk.Environment(account="222222222222", region="us-east-1")
REQUIRED = {"trusted_account_id": "111111111111", "external_ids": ["x-1"]}


def context(**overrides: Any) -> dict[str, Any]:
    return {**cdk_json_context(), **{k: v if isinstance(v, str) else json.dumps(v) for k, v in overrides.items()}}


def settings_error(**overrides: Any) -> SettingsError:
    with pytest.raises(SettingsError) as raised:
        Settings.from_context(context(**overrides))
    return raised.value


@pytest.mark.parametrize(
    "key", ["Cross-Account:Tamper-Guard", "CROSS-ACCOUNT:TAMPER-GUARD", "cross-account:tamper-guard"]
)
def test_the_guard_tag_is_reserved_in_any_case(key: str) -> None:
    # IAM compares tag keys ignoring case: on update, TagRole would overwrite the guard's own tag.
    error = settings_error(tags={key: "off"})
    assert error.key == f"tags.{key}" and "tamper guard's own tag" in str(error)


@pytest.mark.parametrize("external_id", ["-abc", "--help"])
def test_an_external_id_that_reads_as_an_option_is_refused(external_id: str) -> None:
    error = settings_error(external_ids=[external_id])
    assert error.key == "external_ids[0]" and "must not start with '-'" in str(error)


def test_an_external_id_with_a_dash_inside_is_fine() -> None:
    assert Settings.from_context(context(external_ids=["deploy-2026"])).role.external_ids == ("deploy-2026",)


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("*", "needs a literal part"),
        ("My_Bucket", "must be an S3 bucket name"),
        ("a" * 64, "must be an S3 bucket name"),
    ],
)
def test_protected_bucket_names_are_checked(value: str, rule: str) -> None:
    error = settings_error(protected_bucket_names=[value])
    assert error.key == "protected_bucket_names[0]" and rule in str(error)


def warnings_of(**options: Any) -> dict[str, str]:
    stack = cdk.Stack(cdk.App(), "Deployments", env=B)
    CrossAccountRole(stack, "Access", **{**REQUIRED, **options})
    return {text.split(" ", 1)[0]: text for text in messages(stack, "warning")}


def test_resource_policy_writes_are_named_at_synth() -> None:
    warnings = warnings_of(allowed_actions=["s3:*", "sqs:*", "events:*"])
    (text,) = [w for w in warnings.values() if "resource policies" in w]
    assert "s3:PutBucketPolicy" in text and "outlives the session" in text
    assert not [w for w in warnings_of(allowed_actions=["s3:GetObject"]).values() if "resource policies" in w]


@pytest.mark.parametrize("name", ["AdministratorAccess", "IAMFullAccess", "PowerUserAccess"])
def test_privileged_managed_policies_are_named_with_the_lanes_alternative(name: str) -> None:
    warnings = warnings_of(managed_policy_arns=[f"arn:aws:iam::aws:policy/{name}"])
    (text,) = [w for w in warnings.values() if w.startswith("managed_policy_arns:")]
    assert name in text and "service_role_services" in text


def test_a_read_only_managed_policy_is_not_warned_about() -> None:
    warnings = warnings_of(managed_policy_arns=["arn:aws:iam::aws:policy/ReadOnlyAccess"])
    assert not [w for w in warnings.values() if w.startswith("managed_policy_arns:")]


def test_role_callers_refused_without_named_roles_is_said_at_synth() -> None:
    warnings = warnings_of(require_source_identity=True)
    assert [w for w in warnings.values() if "role sessions" in w and "trusted_principal_arns" in w]
    named = warnings_of(require_source_identity=True, trusted_principal_arns=["arn:aws:iam::111111111111:role/ci"])
    assert not [w for w in named.values() if "role sessions" in w]


def test_the_guards_iam_writes_cover_every_identity_changing_iam_action() -> None:
    # IDENTITY_ESCALATION holds every IAM action that is not a read (generated from IAM's service reference).
    iam_actions = [a for a in IDENTITY_ESCALATION if a.startswith("iam:")]
    assert len(iam_actions) > 100
    missed = [a for a in iam_actions if not any(fnmatchcase(a, p.lower()) for p in IAM_WRITES)]
    assert missed == []


def test_an_oversize_trust_names_the_setting_the_user_set() -> None:
    principals = [f"arn:aws:iam::111111111111:role/{'p' * 60}{i:02}" for i in range(40)]
    stack = cdk.Stack(cdk.App(), "Deployments", env=B)
    with pytest.raises(SettingsError) as raised:
        CrossAccountRole(stack, "Access", **{**REQUIRED, "trusted_principal_arns": principals})
    assert raised.value.key == "trusted_principal_arns" and "the trust policy is about" in str(raised.value)


def test_the_readme_names_what_an_administrator_session_can_still_do() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    for claim in ("lambda:UpdateFunctionCode", "codebuild:StartBuild", "DenyIdentityChanges"):
        assert claim in readme


def test_unprotected_refs_is_refused_for_a_ci_system_without_the_claim() -> None:
    github = {"repositories": [{"repository": "octo/app", "branches": ["main"]}], "allow_unprotected_refs": True}
    error = settings_error(github_oidc=github)
    assert error.key == "github_oidc.allow_unprotected_refs" and "protected refs" in str(error)
