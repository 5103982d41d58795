"""What IAM would decide at scale: role tiers, and roles rolled out to an organization by the StackSet.

Same bridge and same two-sided judgement as test_simulate_trust.py: the group member's
identity policy in account A, and the role's trust policy in the target account. The
org-wide roles are loaded from the StackSet's own template body, deployed (in the model)
into an account of the organization and into one outside it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from harness.simulate import (
    Group,
    Outcome,
    Role,
    Scenario,
    StackEnv,
    assume_role_requests,
    load_synthesized,
    load_templates,
    run_scenarios,
    session_request,
)
from harness.synth import cdk_json_context, synth

ALICE = "arn:aws:iam::111111111111:user/alice"
EXTERNAL_ID: str = cdk_json_context()["external_ids"][0]
ORG, OTHER_ORG = "o-abcdefghij", "o-zzzzzzzzzz"
OU, OTHER_OU = "ou-ab12-abcdefgh", "ou-ab12-zzzzzzzz"
MEMBER_ACCOUNT, OUTSIDER_ACCOUNT = "444444444444", "555555555555"
ORG_SETTINGS = {"organization_id": ORG, "target_organizational_unit_ids": json.dumps([OU])}
TIERS = {
    "roles": json.dumps({"ReadOnly": {"allowed_actions": ["s3:Get*", "s3:List*"]}, "Deploy": {"require_mfa": True}})
}


def org_paths(org: str, ou: str) -> list[str]:
    return [f"{org}/r-ab12/{ou}/"]


#: A StackSet instance's stack is named StackSet-<StackSet name>-<ID>.
INSTANCE_STACK = "StackSet-CrossAccountAccessRole-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"


def stackset_role(account: str) -> Role:
    """The StackSet's role template, as CloudFormation would deploy it in ``account``."""
    template = synth(ORG_SETTINGS).template("TargetStackSet")
    body = json.loads(template["Resources"]["StackSet"]["Properties"]["TemplateBody"])
    model = load_templates({INSTANCE_STACK: body}, {INSTANCE_STACK: StackEnv(account=account, region="us-east-1")})
    return model.role()


def org_attempt(role: Role, group: Group, *, resource_org: Mapping[str, Any] | None, **change: Any) -> tuple[Any, ...]:
    keys = {"external_id": EXTERNAL_ID, **change}
    return assume_role_requests(
        role,
        principal=ALICE,
        identity_policies=group.policies,
        session_name="alice",
        context=dict(resource_org or {}),
        **keys,
    )


IN_ORG = {"aws:ResourceOrgID": ORG, "aws:ResourceOrgPaths": org_paths(ORG, OU)}

#: name -> (requests builder, expected verdict, policy kinds that decide it)
CASES: dict[str, tuple[str, frozenset[str]]] = {
    "org_role_in_member_account": ("Allowed", frozenset({"identity", "resource"})),
    "org_role_in_account_outside_the_org": ("Denied", frozenset({"identity"})),
    "org_role_in_another_ou_of_the_org": ("Denied", frozenset({"identity"})),
    "org_role_without_org_context": ("Denied", frozenset({"identity"})),
    "org_role_wrong_external_id": ("Denied", frozenset({"resource"})),
    "explicit_target_stack_role_still_granted": ("Allowed", frozenset({"identity", "resource"})),
    "read_only_member_read_only_role": ("Allowed", frozenset({"identity", "resource"})),
    "read_only_member_deploy_role": ("Denied", frozenset({"identity"})),
    "deploy_member_deploy_role_with_mfa": ("Allowed", frozenset({"identity", "resource"})),
    "deploy_member_deploy_role_without_mfa": ("Denied", frozenset({"identity", "resource"})),
    "deploy_member_read_only_role": ("Denied", frozenset({"identity"})),
    "read_only_session_get_object": ("Allowed", frozenset({"identity"})),
    "read_only_session_put_object": ("Denied", frozenset({"identity"})),
    "deploy_session_put_object": ("Allowed", frozenset({"identity"})),
}


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    org_model = load_synthesized(synth(ORG_SETTINGS))
    assumers = org_model.group()
    member_role, outsider_role = stackset_role(MEMBER_ACCOUNT), stackset_role(OUTSIDER_ACCOUNT)
    tiers = load_synthesized(synth(TIERS))
    read_only = tiers.role("CrossAccountAccessRole-ReadOnly")
    deploy = tiers.role("CrossAccountAccessRole-Deploy")
    read_only_group = tiers.group("CrossAccountAssumers-ReadOnly")
    deploy_group = tiers.group("CrossAccountAssumers-Deploy")
    bucket = "arn:aws:s3:::artifacts/app.zip"

    def tier_attempt(role: Role, group: Group, **change: Any) -> tuple[Any, ...]:
        return assume_role_requests(
            role,
            principal=ALICE,
            identity_policies=group.policies,
            session_name="alice",
            external_id=EXTERNAL_ID,
            **change,
        )

    requests: dict[str, tuple[Any, ...]] = {
        "org_role_in_member_account": org_attempt(member_role, assumers, resource_org=IN_ORG),
        "org_role_in_account_outside_the_org": org_attempt(
            outsider_role,
            assumers,
            resource_org={"aws:ResourceOrgID": OTHER_ORG, "aws:ResourceOrgPaths": org_paths(OTHER_ORG, OU)},
        ),
        "org_role_in_another_ou_of_the_org": org_attempt(
            member_role,
            assumers,
            resource_org={"aws:ResourceOrgID": ORG, "aws:ResourceOrgPaths": org_paths(ORG, OTHER_OU)},
        ),
        "org_role_without_org_context": org_attempt(outsider_role, assumers, resource_org=None),
        "org_role_wrong_external_id": org_attempt(
            member_role, assumers, resource_org=IN_ORG, external_id="wrong-external-id"
        ),
        "explicit_target_stack_role_still_granted": org_attempt(org_model.role(), assumers, resource_org=None),
        "read_only_member_read_only_role": tier_attempt(read_only, read_only_group),
        "read_only_member_deploy_role": tier_attempt(deploy, read_only_group, mfa_age_seconds=60),
        "deploy_member_deploy_role_with_mfa": tier_attempt(deploy, deploy_group, mfa_age_seconds=60),
        "deploy_member_deploy_role_without_mfa": tier_attempt(deploy, deploy_group),
        "deploy_member_read_only_role": tier_attempt(read_only, deploy_group, mfa_age_seconds=60),
        "read_only_session_get_object": (session_request(read_only, "s3:GetObject", bucket),),
        "read_only_session_put_object": (session_request(read_only, "s3:PutObject", bucket),),
        "deploy_session_put_object": (session_request(deploy, "s3:PutObject", bucket),),
    }
    assert set(requests) == set(CASES)
    scenarios = [Scenario(name, reqs) for name, reqs in requests.items()]
    return {o.scenario.name: o for o in run_scenarios(scenarios)}


def test_the_org_wide_role_is_the_same_as_the_explicit_one_but_for_its_account() -> None:
    explicit = load_synthesized(synth(ORG_SETTINGS)).role()
    member = stackset_role(MEMBER_ACCOUNT)
    assert member.arn == f"arn:aws:iam::{MEMBER_ACCOUNT}:role/CrossAccountAccessRole"
    # The tamper guard names the account and the stack it protects: the instance's own.
    as_explicit = (
        json.dumps([member.trust_policy, member.policies])
        .replace(MEMBER_ACCOUNT, explicit.account)
        .replace(f"stack/{INSTANCE_STACK}/", f"stack/{explicit.stack_name}/")
    )
    assert _resources_sorted(json.loads(as_explicit)) == _resources_sorted([explicit.trust_policy, explicit.policies])
    assert explicit.policies.keys() == member.policies.keys()


def _resources_sorted(value: Any) -> Any:
    """The same policies with every Resource list in one order (the two templates list them differently)."""
    if isinstance(value, list):
        return [_resources_sorted(v) for v in value]
    if isinstance(value, dict):
        return {
            k: sorted(v) if k == "Resource" and isinstance(v, list) else _resources_sorted(v) for k, v in value.items()
        }
    return value


@pytest.mark.parametrize("name", list(CASES))
def test_scale_decision_matrix(name: str, outcomes: dict[str, Outcome]) -> None:
    expect, deciders = CASES[name]
    outcome = outcomes[name]
    detail = "; ".join(f"{d.request.action}: {d.result} {[str(r) for r in d.reasons]}" for d in outcome.decisions)
    assert outcome.verdict == expect, detail
    kinds = (
        frozenset(r.policy_type for d in outcome.decisions for r in d.granted_by)
        if outcome.allowed
        else outcome.denied_by_types
    )
    assert kinds == deciders, detail
