"""Offline static checks of the synthesized IDENTITY policies with parliament and policy_sentry.

The role's tamper guard (Deny and NotAction statements) is an identity policy too: its
actions must exist and act on its resources (a Deny that fits none of them protects
nothing), and what its NotAction leaves out must be read-only.

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

from harness.simulate import PolicyDocument, load_synthesized
from harness.simulate.howto import howto_account_a_policy
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
    ("CrossAccountPermissions", "UNKNOWN_ACTION"): (
        "with cloudformation_stack_names the CloudFormation actions are spelled out from policy_sentry 0.15's "
        "service reference, which knows actions newer than parliament 1.6.4's data (e.g. CreateStackRefactor)"
    ),
    ("TamperGuard", "UNKNOWN_ACTION"): (
        "the guard denies IAM writes by verb (iam:Accept*, iam:Associate*, iam:Reject*, iam:Send*: IAM's delegation "
        "requests), newer than parliament 1.6.4's data; policy_sentry knows them (the test below)"
    ),
    ("CrossAccountPermissions", "PERMISSIONS_MANAGEMENT_ACTIONS"): (
        "s3:*, sqs:* and cloudformation:* include bucket/queue/stack policy actions; same default as above"
    ),
}

#: The tamper guard's policy name is CDK's (with a hash); checks call it this.
GUARD = "TamperGuard"
GUARD_PREFIX = "CrossAccountRoleTamperGuard"
#: Managed policies that templates only name by ARN: not ours, so not linted here.
EXTERNAL_POLICIES: dict[str, PolicyDocument] = {
    arn: {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    for arn in ("arn:aws:iam::222222222222:policy/TeamAccess", "arn:aws:iam::222222222222:policy/Boundary")
}
#: A NotAction exception of a Deny statement may only let these access levels through.
READ_ONLY_LEVELS = frozenset({"Read", "List"})
#: Writes a Deny leaves out on purpose, because another statement decides them: Sid -> actions.
#: The lane's stack creations are decided by their request's tag (DenyStackCreationOutsideTheLane) and
#: tagging by DenyTaggingOutsideTheLane; a lane writes its own objects, and the staging bucket's policy
#: keeps it to its prefix (tests/test_simulate_lane.py proves each).
DECIDED_ELSEWHERE = {
    "DenyStacksOutsideTheLane": frozenset(
        {
            "cloudformation:CreateStack",
            "cloudformation:CreateChangeSet",
            "cloudformation:TagResource",
            "cloudformation:UntagResource",
        }
    ),
    "DenyStagingBucketSettings": frozenset({"s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"}),
}

#: Settings that change identity policies: MFA and source identity change account A's policy,
#: a narrowed permission set replaces the wildcards, and attached policies and stack names
#: add statements to the role's policy and its guard.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "mfa_and_source_identity": {"require_mfa": True, "mfa_max_age_seconds": 3600, "require_source_identity": True},
    "narrowed": {
        "allowed_actions": ["s3:GetObject", "s3:ListBucket", "sqs:SendMessage"],
        "allowed_resources": ["arn:aws:s3:::reports", "arn:aws:s3:::reports/*", "arn:aws:sqs:*:222222222222:jobs"],
    },
    "guarded_policies": {
        "managed_policy_arns": ["arn:aws:iam::222222222222:policy/TeamAccess"],
        "permissions_boundary_arn": "arn:aws:iam::222222222222:policy/Boundary",
        "protected_stack_names": ["shared-*"],
    },
    "stack_names": {"cloudformation_stack_names": ["my-service-*"]},
}


def identity_policies(overrides: dict[str, Any]) -> Iterator[tuple[str, PolicyDocument]]:
    """The policies the templates define (the guard as GUARD), not the external ones they name."""
    model = load_synthesized(synth(overrides), external_policies=EXTERNAL_POLICIES)
    external = [*(arn.rsplit("/", 1)[-1] for arn in EXTERNAL_POLICIES)]
    for principal in [*model.roles.values(), *model.groups.values()]:
        for name, document in principal.policies.items():
            if name not in external:
                yield (GUARD if name.startswith(GUARD_PREFIX) else name), document


def parliament_issues(document: PolicyDocument) -> set[str]:
    policy = analyze_policy_string(json.dumps(document), include_community_auditors=True)
    return {finding.issue for finding in policy.findings}


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


@cache
def _action_rows(action: str) -> tuple[dict[str, Any], ...]:
    service, name = action.split(":", 1)
    return tuple(get_action_data(service, name).get(service) or ())


def _arn_formats(action: str) -> frozenset[str] | None:
    rows = _action_rows(action)
    return frozenset(row["resource_arn_format"] for row in rows) if rows else None


def _fits(action: str, resources: list[str]) -> bool:
    """Like IAM: an action needs one resource of the statement it can act on; the others are no-ops."""
    formats = _arn_formats(action) or frozenset()
    return any(formats & set(get_matching_raw_arns(arn)) for arn in resources)


def _expanded(patterns: Any, problems: list[str]) -> Iterator[tuple[str, list[str]]]:
    """Each pattern with its actions; an unknown one (expand() hands it back unchanged) goes to ``problems``."""
    for pattern in _as_list(patterns):
        actions = list(expand(pattern))
        if any(_arn_formats(a) is None for a in actions):
            problems.append(f"{pattern}: no such action")
        else:
            yield pattern, actions


def sentry_problems(document: PolicyDocument) -> list[str]:
    """Unknown actions, and actions on a resource type they do not support, per policy_sentry."""
    problems = []
    for statement in _as_list(document["Statement"]):
        # A Deny on NotResource (every IAM resource but the lane's) acts on every kind of resource.
        resources = _as_list(statement.get("Resource", "*"))
        if "NotAction" in statement:
            problems += _not_action_problems(statement)
        elif statement["Effect"] == "Deny":
            problems += _deny_problems(statement, resources)
        else:
            problems += _allow_problems(statement, [] if "*" in resources else resources)
    return problems


def _allow_problems(statement: dict[str, Any], resources: list[str]) -> list[str]:
    """Every granted action must act on one of the resources (none given: "*", which fits every action)."""
    problems: list[str] = []
    for _, actions in _expanded(statement["Action"], problems):
        for action in actions if resources else ():
            if not ((_arn_formats(action) or frozenset()) - {"*"}):
                problems.append(f"{action}: only accepts Resource '*', granted on {', '.join(resources)}")
            elif not _fits(action, resources):
                problems.append(f"{action}: acts on none of {', '.join(resources)}")
    return problems


def _deny_problems(statement: dict[str, Any], resources: list[str]) -> list[str]:
    """A denied pattern must name actions, and some of them must act on the resources: else it protects nothing.

    (A wildcard's other actions are no-ops there, as in IAM: ``s3:Put*`` on a bucket pattern.)
    """
    problems: list[str] = []
    for pattern, actions in _expanded(statement["Action"], problems):
        if "*" not in resources and not any(_fits(action, resources) for action in actions):
            problems.append(f"{pattern}: denied on {', '.join(resources)}, acts on none of them")
    return problems


def _not_action_problems(statement: dict[str, Any]) -> list[str]:
    """What a Deny's NotAction leaves out must exist and be read-only (a write left out is a hole in the Deny)."""
    if statement["Effect"] != "Deny":
        return [f"{statement.get('Sid')}: NotAction in an Allow grants nearly everything"]
    problems: list[str] = []
    for _, actions in _expanded(statement["NotAction"], problems):
        problems += [
            f"{action}: left out of the Deny, access level {row['access_level']}"
            for action in actions
            for row in _action_rows(action)[:1]
            if row["access_level"] not in READ_ONLY_LEVELS
            and action not in DECIDED_ELSEWHERE.get(statement.get("Sid", ""), ())
        ]
    return problems


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_identity_policies_have_only_kept_parliament_findings(variant: str) -> None:
    unexplained = {
        (name, issue)
        for name, document in identity_policies(VARIANTS[variant])
        for issue in parliament_issues(document)
        if (name, issue) not in KEPT_FINDINGS
    }
    assert unexplained == set()


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_identity_policy_actions_exist_and_fit_their_resources(variant: str) -> None:
    policies = dict(identity_policies(VARIANTS[variant]))
    assert set(policies) == {"CrossAccountPermissions", GUARD, "AssumeCrossAccountAccessRole"}
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


def test_guard_checks_catch_a_write_left_out_and_a_deny_that_fits_nothing() -> None:
    role = "arn:aws:iam::222222222222:role/R"
    leaky = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "NotAction": ["iam:Get*", "iam:UpdateAssumeRolePolicy"], "Resource": role},
            {"Effect": "Deny", "Action": ["s3:PutObject", "iam:DeleteRole"], "Resource": role},
            {"Effect": "Deny", "Action": "sts:AssumeRol", "Resource": role},
        ],
    }
    assert sentry_problems(leaky) == [
        "iam:UpdateAssumeRolePolicy: left out of the Deny, access level Permissions management",
        f"s3:PutObject: denied on {role}, acts on none of them",
        "sts:AssumeRol: no such action",
    ]
