"""The bootstrap's execution role, as IAM would decide: what CloudFormation may do with it, and what not.

Every stack deployed with a bootstrap runs its updates with that bootstrap's execution role (the stack's
stored service role), whoever starts them. These rows are requests by a session of the execution role
(``cdk-xacctb-cfn-exec-role-…``) with bootstrap/execution-policy-*.json as its only policy: TargetStack's
and TrustedStack's own resources by their exact names are allowed; another role, an AdministratorAccess
attachment, another policy or bucket are not. Each denied row is run again with its narrowing undone (the
old ``*CrossAccountAccessRole*`` resource, the ``iam:PolicyARN`` condition removed, ...) and must then come
out Allowed: the row shows what the narrowing does, not a constant.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bootstrap.execution_policy import PRINCIPAL_ACCOUNT, execution_policy
from harness.simulate import Outcome, PolicyDocument, Role, Scenario, Verdict, run_scenarios, session_request
from harness.synth import synth
from tests.test_bootstrap_policies import POLICY_OF

ACCOUNT_A = "111111111111"
ACCOUNT_B = "222222222222"
QUALIFIER = "xacctb"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
#: The resource pattern of the execution policy before it named exact roles.
OLD_ROLES = "arn:aws:iam::*:role/*CrossAccountAccessRole*"


def role_in(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


OWN_ROLE = role_in(ACCOUNT_B, "CrossAccountAccessRole")
PWN_ROLE = role_in(ACCOUNT_B, "PwnCrossAccountAccessRole")
LANE_PATH = "/cross-account-lane/CrossAccountAccessRole/"
BOUNDARY = f"arn:aws:iam::{ACCOUNT_B}:policy{LANE_PATH}CrossAccountAccessRole-ServiceRoleBoundary"
STAGING = f"arn:aws:s3:::cross-account-deploys-{ACCOUNT_B}-us-east-1"
VERSION = f"arn:aws:ssm:us-east-1:{ACCOUNT_B}:parameter/cdk-bootstrap/xacctb/version"
GROUP = f"arn:aws:iam::{ACCOUNT_A}:group/CrossAccountAssumers"
ASSUME_POLICY = f"arn:aws:iam::{ACCOUNT_A}:policy/AssumeCrossAccountAccessRole"

Edit = Callable[[PolicyDocument], None]


def _statement(policy: PolicyDocument, sid: str) -> dict[str, Any]:
    found = [s for s in policy["Statement"] if s.get("Sid") == sid]
    assert len(found) == 1, f"no statement {sid}"
    statement: dict[str, Any] = found[0]
    return statement


def resource(sid: str, pattern: str) -> Edit:
    """Undo: the statement ``sid`` on ``pattern`` instead of its exact names."""

    def edit(policy: PolicyDocument) -> None:
        _statement(policy, sid)["Resource"] = pattern

    return edit


def without_condition(sid: str) -> Edit:
    """Undo: the statement ``sid`` without its condition (any managed policy)."""

    def edit(policy: PolicyDocument) -> None:
        assert _statement(policy, sid).pop("Condition", None), f"{sid} has no condition"

    return edit


def with_action(sid: str, action: str) -> Edit:
    """Undo: ``action`` granted by the statement ``sid`` as well (as the old policy granted AttachRolePolicy)."""

    def edit(policy: PolicyDocument) -> None:
        _statement(policy, sid)["Action"].append(action)

    return edit


def any_account(sid: str) -> Edit:
    """Undo: the statement ``sid`` with ``*`` where it names the execution role's own account."""

    def edit(policy: PolicyDocument) -> None:
        statement = _statement(policy, sid)
        statement["Resource"] = [r.replace(PRINCIPAL_ACCOUNT, "*") for r in statement["Resource"]]

    return edit


def committed(stack: str) -> PolicyDocument:
    document: PolicyDocument = json.loads(POLICY_OF[stack].read_text())
    return document


def with_managed_policy() -> PolicyDocument:
    """What bootstrap/execution_policy.py writes for a TargetStack with managed_policy_arns = [ReadOnlyAccess]."""
    app = synth({"managed_policy_arns": json.dumps([READ_ONLY])})
    return execution_policy([app.template("TargetStack")])


#: The execution policy each world's execution role has, and the account it is in.
WORLDS: dict[str, tuple[Callable[[], PolicyDocument], str]] = {
    "target": (lambda: committed("TargetStack"), ACCOUNT_B),
    "target_managed": (with_managed_policy, ACCOUNT_B),
    "trusted": (lambda: committed("TrustedStack"), ACCOUNT_A),
}


def execution_role(policy: PolicyDocument, account: str) -> Role:
    name = f"cdk-{QUALIFIER}-cfn-exec-role-{account}-us-east-1"
    return Role(
        arn=role_in(account, name),
        name=name,
        account=account,
        partition="aws",
        policies={"CdkExecutionPolicy": policy},
        trust_policy={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudformation.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
    )


@dataclass(frozen=True)
class Row:
    """A request by CloudFormation's session of the world's execution role.

    ``sid``: the statement that allows it (Allowed), or whose narrowing denies it (Denied); ``undo``, for a
    denied row: the edit of that statement after which the same request must be Allowed.
    """

    world: str
    name: str
    action: str
    target: str
    expect: Verdict
    sid: str
    undo: Edit | None = None
    context: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.world}-{self.name}"

    def scenario(self, role: Role, name: str, expect: Verdict) -> Scenario:
        request = session_request(
            role, self.action, self.target, session_name="AWSCloudFormation", context=self.context, label=name
        )
        return Scenario(name, (request,), expect)


def attaching(policy_arn: str) -> dict[str, str]:
    return {"iam:PolicyARN": policy_arn}


ROWS: list[Row] = [
    # What TargetStack's deploy does, by exact name.
    *(
        Row("target", f"{a}_own_role", f"iam:{a}", OWN_ROLE, "Allowed", "Roles")
        for a in ("CreateRole", "PutRolePolicy", "UpdateAssumeRolePolicy", "TagRole", "DeleteRole")
    ),
    *(
        Row("target", f"{a}_lane_boundary", f"iam:{a}", BOUNDARY, "Allowed", "ManagedPolicies")
        for a in ("CreatePolicy", "CreatePolicyVersion", "DeletePolicyVersion", "DeletePolicy")
    ),
    *(
        Row("target", f"{a}_staging_bucket", f"s3:{a}", STAGING, "Allowed", "Buckets")
        for a in (
            "CreateBucket",
            "PutEncryptionConfiguration",
            "PutLifecycleConfiguration",
            "PutBucketPublicAccessBlock",
            "PutBucketOwnershipControls",
        )
    ),
    Row("target", "PutBucketPolicy_staging_bucket", "s3:PutBucketPolicy", STAGING, "Allowed", "BucketPolicies"),
    Row("target", "GetParameters_bootstrap_version", "ssm:GetParameters", VERSION, "Allowed", "CdkBootstrapVersion"),
    # Issue 16: with the old policy the execution role could make a role of its own and make it an administrator.
    Row("target", "CreateRole_pwn", "iam:CreateRole", PWN_ROLE, "Denied", "Roles", resource("Roles", OLD_ROLES)),
    Row(
        "target",
        "UpdateAssumeRolePolicy_pwn",
        "iam:UpdateAssumeRolePolicy",
        PWN_ROLE,
        "Denied",
        "Roles",
        resource("Roles", OLD_ROLES),
    ),
    Row(
        "target",
        "PutRolePolicy_same_name_other_path",
        "iam:PutRolePolicy",
        role_in(ACCOUNT_B, "team/CrossAccountAccessRole"),
        "Denied",
        "Roles",
        resource("Roles", OLD_ROLES),
    ),
    Row(
        "target",
        "PutRolePolicy_execution_role_itself",
        "iam:PutRolePolicy",
        role_in(ACCOUNT_B, f"cdk-{QUALIFIER}-cfn-exec-role-{ACCOUNT_B}-us-east-1"),
        "Denied",
        "Roles",
        resource("Roles", "arn:aws:iam::*:role/*"),
    ),
    # The default settings attach no managed policy: the execution policy attaches none.
    Row(
        "target",
        "AttachRolePolicy_AdministratorAccess_own_role",
        "iam:AttachRolePolicy",
        OWN_ROLE,
        "Denied",
        "Roles",
        with_action("Roles", "iam:AttachRolePolicy"),
        attaching(ADMIN),
    ),
    Row(
        "target",
        "CreatePolicyVersion_other_lane_policy",
        "iam:CreatePolicyVersion",
        f"arn:aws:iam::{ACCOUNT_B}:policy{LANE_PATH}Other",
        "Denied",
        "ManagedPolicies",
        resource("ManagedPolicies", "arn:aws:iam::*:policy/cross-account-lane/*"),
    ),
    Row(
        "target",
        "PutBucketPolicy_other_bucket",
        "s3:PutBucketPolicy",
        "arn:aws:s3:::my-service-artifacts",
        "Denied",
        "BucketPolicies",
        resource("BucketPolicies", "arn:aws:s3:::*"),
    ),
    # The bucket's name holds the account: ${aws:PrincipalAccount} is the execution role's own.
    Row(
        "target",
        "PutBucketPolicy_staging_name_of_another_account",
        "s3:PutBucketPolicy",
        "arn:aws:s3:::cross-account-deploys-333333333333-us-east-1",
        "Denied",
        "BucketPolicies",
        any_account("BucketPolicies"),
    ),
    # managed_policy_arns = [ReadOnlyAccess]: that one attaches, AdministratorAccess does not.
    Row(
        "target_managed",
        "AttachRolePolicy_ReadOnlyAccess_own_role",
        "iam:AttachRolePolicy",
        OWN_ROLE,
        "Allowed",
        "RolesManagedPolicies",
        context=attaching(READ_ONLY),
    ),
    Row(
        "target_managed",
        "AttachRolePolicy_AdministratorAccess_own_role",
        "iam:AttachRolePolicy",
        OWN_ROLE,
        "Denied",
        "RolesManagedPolicies",
        without_condition("RolesManagedPolicies"),
        attaching(ADMIN),
    ),
    Row(
        "target_managed",
        "AttachRolePolicy_ReadOnlyAccess_pwn",
        "iam:AttachRolePolicy",
        PWN_ROLE,
        "Denied",
        "RolesManagedPolicies",
        resource("RolesManagedPolicies", OLD_ROLES),
        attaching(READ_ONLY),
    ),
    # Account A: the group gets its own assume policy, not AdministratorAccess; no other role.
    Row(
        "trusted",
        "AttachGroupPolicy_assume_policy",
        "iam:AttachGroupPolicy",
        GROUP,
        "Allowed",
        "GroupsManagedPolicies",
        context=attaching(ASSUME_POLICY),
    ),
    Row(
        "trusted",
        "AttachGroupPolicy_AdministratorAccess",
        "iam:AttachGroupPolicy",
        GROUP,
        "Denied",
        "GroupsManagedPolicies",
        without_condition("GroupsManagedPolicies"),
        attaching(ADMIN),
    ),
    Row(
        "trusted",
        "CreateRole_other_role",
        "iam:CreateRole",
        role_in(ACCOUNT_A, "PwnGithubActionsDeployer"),
        "Denied",
        "Roles",
        resource("Roles", "arn:aws:iam::*:role/*"),
    ),
    Row(
        "trusted",
        "PutRolePolicy_ci_deployer",
        "iam:PutRolePolicy",
        role_in(ACCOUNT_A, "GithubActionsDeployer"),
        "Allowed",
        "Roles",
    ),
]


def explain(outcome: Outcome) -> str:
    (decision,) = outcome.decisions
    reasons = "; ".join(map(str, decision.reasons)) or "no reason reported"
    request = decision.request
    return f"{outcome.scenario.name}: {request.action} on {request.resource}: {decision.result} ({reasons})"


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    """Every row, and every denied row again with its narrowing undone, in one batch."""
    policies = {world: make() for world, (make, _account) in WORLDS.items()}
    scenarios = []
    for row in ROWS:
        account = WORLDS[row.world][1]
        scenarios.append(row.scenario(execution_role(policies[row.world], account), row.key, row.expect))
        if row.undo is not None:
            undone = copy.deepcopy(policies[row.world])
            row.undo(undone)
            scenarios.append(row.scenario(execution_role(undone, account), f"{row.key}-undone", "Allowed"))
    return {outcome.scenario.name: outcome for outcome in run_scenarios(scenarios)}


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.key)
def test_execution_role_row(row: Row, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[row.key]
    assert outcome.verdict == row.expect, explain(outcome)
    (decision,) = outcome.decisions
    if row.expect == "Allowed":
        assert {reason.sid for reason in decision.granted_by} == {row.sid}, explain(outcome)


@pytest.mark.parametrize("row", [row for row in ROWS if row.expect == "Denied"], ids=lambda row: row.key)
def test_each_denied_row_flips_when_its_narrowing_is_undone(row: Row, outcomes: dict[str, Outcome]) -> None:
    assert row.undo is not None, "a denied row names the narrowing that denies it"
    outcome = outcomes[f"{row.key}-undone"]
    assert outcome.verdict == "Allowed", explain(outcome)
    (decision,) = outcome.decisions
    assert {reason.sid for reason in decision.granted_by} == {row.sid}, explain(outcome)
