"""Offline static checks of the synthesized IDENTITY policies with parliament and policy_sentry.

Trust policies are left to the simulator (tests/test_simulate_trust.py): parliament
does not model them and reports them as malformed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from parliament import analyze_policy_string  # type: ignore[import-untyped]
from policy_sentry.analysis.expand import expand
from policy_sentry.querying.actions import get_action_data
from policy_sentry.querying.arns import get_matching_raw_arns

from harness.howto_fixture import howto_account_a_policy
from harness.simulate import PolicyDocument, load_synthesized
from harness.synth import synth

#: Findings kept on purpose: (policy name, parliament issue) -> why.
KEPT_FINDINGS: dict[tuple[str, str], str] = {
    ("AssumeCrossAccountAccessRole", "CREDENTIALS_EXPOSURE"): (
        "sts:AssumeRole is the point of this policy; it names one role ARN, and the trust in B decides the rest"
    ),
    ("CrossAccountPermissions", "RESOURCE_STAR"): (
        "the how-to's permission set on Resource '*' is the documented default (allowed_actions/allowed_resources); "
        "cdk-nag acknowledges the same wildcards, and deployers narrow them in cdk.json"
    ),
    ("CrossAccountPermissions", "PERMISSIONS_MANAGEMENT_ACTIONS"): (
        "s3:*, sqs:* and cloudformation:* include bucket/queue/stack policy actions; same default as above"
    ),
}

#: Settings that change identity policies: MFA and source identity change account A's policy,
#: and a narrowed permission set replaces the wildcards.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "mfa_and_source_identity": {"require_mfa": True, "mfa_max_age_seconds": 3600, "require_source_identity": True},
    "narrowed": {
        "allowed_actions": ["s3:GetObject", "s3:ListBucket", "sqs:SendMessage"],
        "allowed_resources": ["arn:aws:s3:::reports", "arn:aws:s3:::reports/*", "arn:aws:sqs:*:222222222222:jobs"],
    },
}


def identity_policies(overrides: dict[str, Any]) -> Iterator[tuple[str, PolicyDocument]]:
    model = load_synthesized(synth(overrides))
    for role in model.roles.values():
        yield from role.policies.items()
    for group in model.groups.values():
        yield from group.policies.items()


def parliament_issues(document: PolicyDocument) -> set[str]:
    policy = analyze_policy_string(json.dumps(document), include_community_auditors=True)
    return {finding.issue for finding in policy.findings}


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


@cache
def _arn_formats(action: str) -> frozenset[str] | None:
    service, name = action.split(":", 1)
    rows = get_action_data(service, name).get(service)
    return frozenset(row["resource_arn_format"] for row in rows) if rows else None


def sentry_problems(document: PolicyDocument) -> list[str]:
    """Unknown actions, and actions granted on a resource type they do not support, per policy_sentry."""
    problems = []
    for statement in _as_list(document["Statement"]):
        if statement["Effect"] != "Allow":
            continue
        resources = _as_list(statement["Resource"])
        if "*" in resources:
            resources = []  # every action fits "*"
        for pattern in _as_list(statement["Action"]):
            actions = expand(pattern)
            # expand() hands back an unknown pattern unchanged.
            if any(_arn_formats(a) is None for a in actions):
                problems.append(f"{pattern}: no such action")
                continue
            for action in actions if resources else ():
                formats = _arn_formats(action) or frozenset()
                # Like IAM, an action needs one resource of the statement it can act on; the others are no-ops.
                if not (formats - {"*"}):
                    problems.append(f"{action}: only accepts Resource '*', granted on {', '.join(resources)}")
                elif not any(formats & set(get_matching_raw_arns(arn)) for arn in resources):
                    problems.append(f"{action}: acts on none of {', '.join(resources)}")
    return problems


@pytest.mark.parametrize("variant", VARIANTS)
def test_identity_policies_have_only_kept_parliament_findings(variant: str) -> None:
    unexplained = {
        (name, issue)
        for name, document in identity_policies(VARIANTS[variant])
        for issue in parliament_issues(document)
        if (name, issue) not in KEPT_FINDINGS
    }
    assert unexplained == set()


@pytest.mark.parametrize("variant", VARIANTS)
def test_identity_policy_actions_exist_and_fit_their_resources(variant: str) -> None:
    policies = dict(identity_policies(VARIANTS[variant]))
    assert set(policies) == {"CrossAccountPermissions", "AssumeCrossAccountAccessRole"}
    assert {name: sentry_problems(document) for name, document in policies.items()} == {name: [] for name in policies}


def test_every_kept_finding_still_occurs() -> None:
    """A kept finding that no longer appears is a stale excuse: remove it."""
    found = {
        (name, issue)
        for overrides in VARIANTS.values()
        for name, doc in identity_policies(overrides)
        for issue in parliament_issues(doc)
    }
    assert set(KEPT_FINDINGS) <= found


# --- the checks can fail: the how-to's account-A policy, and a typo ------------------------


def test_parliament_flags_the_howtos_list_roles_and_pass_role() -> None:
    policy = analyze_policy_string(json.dumps(howto_account_a_policy()), include_community_auditors=True)
    by_issue = {finding.issue: finding for finding in policy.findings}
    assert {action["action"] for action in by_issue["RESOURCE_MISMATCH"].detail} == {"iam:ListRoles"}
    assert by_issue["PERMISSIONS_MANAGEMENT_ACTIONS"].location["actions"] == ["iam:passrole"]


def test_policy_sentry_flags_the_howtos_list_roles() -> None:
    assert sentry_problems(howto_account_a_policy()) == [
        "iam:ListRoles: only accepts Resource '*', granted on arn:aws:iam::222222222222:role/CrossAccountAccessRole"
    ]


def test_unknown_actions_are_flagged_by_both() -> None:
    typo = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRol", "Resource": "*"}]}
    assert "UNKNOWN_ACTION" in parliament_issues(typo)
    assert sentry_problems(typo) == ["sts:AssumeRol: no such action"]


def test_resource_type_mismatch_is_flagged_by_policy_sentry() -> None:
    wrong = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:sqs:us-east-1:1:q"}],
    }
    assert sentry_problems(wrong) == ["s3:GetObject: acts on none of arn:aws:sqs:us-east-1:1:q"]
