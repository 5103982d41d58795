"""The deploy lane, as IAM would decide: a session changes only the stacks its role's sessions created,
never with a service role, and creates only roles that its lane's boundary holds.

Each Denied row names the guard statement (Sid) that must deny it, and is run again without that
statement, where it must be Allowed: a row that cannot flip proves nothing. Worlds with
AdministratorAccess attached show that the lane holds whatever else the role is granted.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.simulate import ADMIN_POLICY, Outcome, Role, Scenario, run_scenarios, session_request
from tests.test_simulate_guard import (
    ACCOUNT_B,
    ADMIN_ARN,
    LANE_TAGGED,
    Row,
    check_flip,
    check_row,
    explain,
    guard_statements,
    outcomes_of,
    stack,
    world_model,
)

LANE = "CrossAccountAccessRole"
TAG = "cross-account:deploy-lane"
SERVICE_ROLES = {"service_role_services": ["lambda.amazonaws.com"]}
WORLDS: dict[str, dict[str, Any]] = {
    "default": {},
    "admin": {"managed_policy_arns": [ADMIN_ARN]},
    "stack_names": {"cloudformation_stack_names": ["my-service-*"]},
    "service_roles": {**SERVICE_ROLES, "allowed_actions": ["lambda:*", "logs:*", "cloudformation:*", "s3:*"]},
    "service_roles_admin": {**SERVICE_ROLES, "managed_policy_arns": [ADMIN_ARN]},
}
#: The guard's statements that this file proves (tests/test_simulate_guard.py proves the others).
LANE_STATEMENTS = {
    "DenyStacksOutsideTheLane",
    "DenyStackCreationOutsideTheLane",
    "DenyTaggingOutsideTheLane",
    "DenyServiceRoles",
    "DenyOtherLanesTag",
    "DenyAccountWideStackSets",
    "DenyStagingBucketSettings",
    "DenyStagingBucketsElsewhere",
    "DenyServiceRolesWithoutTheBoundary",
    "DenyBoundaryRemoval",
    "DenyChangesToTheBoundary",
    "DenyServiceRoleTrustChanges",
    "DenyPassingToOtherServices",
}

OUTSIDE = "DenyStacksOutsideTheLane"
OTHER_LANES_TAG = "DenyOtherLanesTag"
CREATION = "DenyStackCreationOutsideTheLane"
TAGGING = "DenyTaggingOutsideTheLane"
SERVICE_ROLE = "DenyServiceRoles"
LANE_REQUEST = {f"aws:RequestTag/{TAG}": LANE, "aws:TagKeys": [TAG]}
OTHER_LANE = {f"aws:ResourceTag/{TAG}": "CrossAccountAccessRole-Admin"}
A_SERVICE_ROLE = {"cloudformation:RoleArn": f"arn:aws:iam::{ACCOUNT_B}:role/cdk-hnb659fds-cfn-exec-role"}
STAGING = f"arn:aws:s3:::cross-account-deploys-{ACCOUNT_B}-us-east-1"
PATH = f"arn:aws:iam::{ACCOUNT_B}:role/cross-account-lane/{LANE}"
BOUNDARY = f"arn:aws:iam::{ACCOUNT_B}:policy/cross-account-lane/{LANE}/{LANE}-ServiceRoleBoundary"
WITH_BOUNDARY = {"iam:PermissionsBoundary": BOUNDARY}
OTHER_BOUNDARY = {"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT_B}:policy/Wide"}
ADMIN_STACK = stack("my-service-dev")  # deployed by B's administrator: no lane tag
#: Stack writes other than creation; each needs the lane's tag on the stack.
LATER_WRITES = (
    "UpdateStack",
    "ExecuteChangeSet",
    "DeleteStack",
    "DeleteChangeSet",
    "ContinueUpdateRollback",
    "RollbackStack",
    "CancelUpdateStack",
    "SetStackPolicy",
    "UpdateTerminationProtection",
    "SignalResource",
    "CreateStackRefactor",
    "ExecuteStackRefactor",
)


def _stack_rows(world: str) -> list[Row]:
    def row(name: str, action: str, target: Any, expect: str, guard: str | None = None, **context: Any) -> Row:
        return Row(world, name, f"cloudformation:{action}", target, expect, guard, context=context or None)  # type: ignore[arg-type]

    return [
        # A new stack, with the lane's tag and no service role: the flow the lane exists for.
        row("CreateStack_in_the_lane", "CreateStack", stack("my-service"), "Allowed", **LANE_REQUEST),
        row("CreateChangeSet_in_the_lane", "CreateChangeSet", stack("my-service"), "Allowed", **LANE_REQUEST),
        row("CreateStack_untagged", "CreateStack", stack("my-service"), "Denied", CREATION),
        Row(
            world,
            "CreateStack_other_lanes_tag",
            "cloudformation:CreateStack",
            stack("my-service"),
            "Denied",
            CREATION,
            context={f"aws:RequestTag/{TAG}": "CrossAccountAccessRole-Admin"},
            also=(OTHER_LANES_TAG,),
        ),
        # Its own stack may not be handed to another lane: the tag says which lane made it.
        *(
            row(
                f"{a}_lane_stack_to_another_lane",
                a,
                stack("my-service"),
                "Denied",
                OTHER_LANES_TAG,
                **{**LANE_TAGGED, f"aws:RequestTag/{TAG}": "CrossAccountAccessRole-Admin"},
            )
            for a in ("TagResource", "UpdateStack")
        ),
        row("CreateChangeSet_untagged", "CreateChangeSet", stack("my-service"), "Denied", CREATION),
        # Later writes: on a stack of the lane, yes; on the administrator's, whatever its name, no.
        *(row(f"{a}_lane_stack", a, stack("my-service"), "Allowed", **LANE_TAGGED) for a in LATER_WRITES),
        *(row(f"{a}_administrators_stack", a, ADMIN_STACK, "Denied", OUTSIDE) for a in LATER_WRITES),
        row("UpdateStack_other_lanes_stack", "UpdateStack", ADMIN_STACK, "Denied", OUTSIDE, **OTHER_LANE),
        # CreateChangeSet cannot tell a new stack from an existing one: a change set on another's stack can be
        # made (the README says so), never executed (ExecuteChangeSet_administrators_stack above).
        row("CreateChangeSet_administrators_stack", "CreateChangeSet", ADMIN_STACK, "Allowed", **LANE_REQUEST),
        # Putting the tag on the administrator's stack would bring it into the lane.
        row("TagResource_administrators_stack", "TagResource", ADMIN_STACK, "Denied", TAGGING, **LANE_REQUEST),
        row("UntagResource_other_lanes_stack", "UntagResource", ADMIN_STACK, "Denied", TAGGING, **OTHER_LANE),
        row(
            "TagResource_while_creating",
            "TagResource",
            stack("my-service"),
            "Allowed",
            **LANE_REQUEST,
            **{"cloudformation:CreateAction": "CreateStack"},
        ),
        row("TagResource_lane_stack", "TagResource", stack("my-service"), "Allowed", **LANE_TAGGED),
        # No request names a service role, even on the lane's own stacks.
        row(
            "CreateStack_with_a_service_role",
            "CreateStack",
            stack("my-service"),
            "Denied",
            SERVICE_ROLE,
            **LANE_REQUEST,
            **A_SERVICE_ROLE,
        ),
        *(
            row(
                f"{a}_lane_stack_with_a_service_role",
                a,
                stack("my-service"),
                "Denied",
                SERVICE_ROLE,
                **LANE_TAGGED,
                **A_SERVICE_ROLE,
            )
            for a in ("UpdateStack", "DeleteStack", "ContinueUpdateRollback", "RollbackStack")
        ),
        row(
            "CreateChangeSet_with_a_service_role",
            "CreateChangeSet",
            stack("my-service"),
            "Denied",
            SERVICE_ROLE,
            **LANE_REQUEST,
            **A_SERVICE_ROLE,
        ),
        # StackSet actions that take no resource, so no StackSet ARN can deny them.
        *(
            Row(world, a, f"cloudformation:{a}", "*", "Denied", "DenyAccountWideStackSets")
            for a in ("CreateStackSet", "ActivateOrganizationsAccess", "DeactivateOrganizationsAccess")
        ),
    ]


def _staging_rows(world: str) -> list[Row]:
    here = {"aws:ResourceAccount": ACCOUNT_B}
    return [
        Row(world, "PutObject_staging_own_prefix", "s3:PutObject", f"{STAGING}/{LANE}/t.json", "Allowed", context=here),
        Row(world, "GetObject_staging", "s3:GetObject", f"{STAGING}/{LANE}/t.json", "Allowed", context=here),
        *(
            Row(world, f"{a}_staging", f"s3:{a}", STAGING, "Denied", "DenyStagingBucketSettings", context=here)
            for a in (
                "PutBucketPolicy",
                "DeleteBucketPolicy",
                "PutLifecycleConfiguration",
                "PutBucketAcl",
                "DeleteBucket",
            )
        ),
        Row(
            world,
            "PutObjectAcl_staging",
            "s3:PutObjectAcl",
            f"{STAGING}/{LANE}/t.json",
            "Denied",
            "DenyStagingBucketSettings",
            context=here,
        ),
        # A bucket of the same name in another account would receive the next template.
        Row(
            world,
            "PutObject_staging_name_elsewhere",
            "s3:PutObject",
            f"{STAGING}/{LANE}/t.json",
            "Denied",
            "DenyStagingBucketsElsewhere",
            context={"aws:ResourceAccount": "333333333333"},
        ),
    ]


def _role(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_B}:role/{name}"


def _service_role_rows(world: str) -> list[Row]:
    mine = f"{PATH}/MyService-FnRole"

    def iam_row(name: str, action: str, target: Any, expect: str, guard: str | None = None, **context: Any) -> Row:
        return Row(world, name, f"iam:{action}", target, expect, guard, context=context or None)  # type: ignore[arg-type]

    without = "DenyServiceRolesWithoutTheBoundary"
    return [
        iam_row("CreateRole_with_the_boundary", "CreateRole", mine, "Allowed", **WITH_BOUNDARY),
        iam_row("AttachRolePolicy_with_the_boundary", "AttachRolePolicy", mine, "Allowed", **WITH_BOUNDARY),
        # Tagging (CloudFormation tags the roles it creates) and upkeep take no boundary key: the path decides.
        *(iam_row(f"{a}_lane_role", a, mine, "Allowed") for a in ("TagRole", "UntagRole", "UpdateRoleDescription")),
        iam_row("CreateRole_without_a_boundary", "CreateRole", mine, "Denied", without),
        iam_row("CreateRole_with_another_boundary", "CreateRole", mine, "Denied", without, **OTHER_BOUNDARY),
        iam_row("PutRolePolicy_without_the_boundary", "PutRolePolicy", mine, "Denied", without),
        iam_row(
            "PutRolePermissionsBoundary_another",
            "PutRolePermissionsBoundary",
            mine,
            "Denied",
            without,
            **OTHER_BOUNDARY,
        ),
        iam_row(
            "DeleteRolePermissionsBoundary", "DeleteRolePermissionsBoundary", mine, "Denied", "DenyBoundaryRemoval"
        ),
        *(
            iam_row(f"{a}_boundary", a, BOUNDARY, "Denied", "DenyChangesToTheBoundary")
            for a in ("CreatePolicyVersion", "SetDefaultPolicyVersion", "DeletePolicy", "DeletePolicyVersion")
        ),
        iam_row(
            "UpdateAssumeRolePolicy_lane_role", "UpdateAssumeRolePolicy", mine, "Denied", "DenyServiceRoleTrustChanges"
        ),
        iam_row("PassRole_to_lambda", "PassRole", mine, "Allowed", **{"iam:PassedToService": "lambda.amazonaws.com"}),
        iam_row(
            "PassRole_to_another_service",
            "PassRole",
            mine,
            "Denied",
            "DenyPassingToOtherServices",
            **{"iam:PassedToService": "ec2.amazonaws.com"},
        ),
        iam_row(
            "PassRole_outside_the_path",
            "PassRole",
            _role("Administrator"),
            "Denied",
            **{"iam:PassedToService": "lambda.amazonaws.com"},
        ),
    ]


ROWS: list[Row] = [
    *_stack_rows("default"),
    *_stack_rows("admin"),
    *_staging_rows("default"),
    *_staging_rows("admin"),
    *_service_role_rows("service_roles_admin"),
    # With the how-to's permissions and the setting on: the same rules, without AdministratorAccess.
    Row(
        "service_roles",
        "CreateRole_with_the_boundary",
        "iam:CreateRole",
        f"{PATH}/Fn",
        "Allowed",
        context=WITH_BOUNDARY,
    ),
    Row("service_roles", "CreateRole_without_a_boundary", "iam:CreateRole", f"{PATH}/Fn", "Denied"),
    Row(
        "service_roles",
        "CreateRole_outside_the_path",
        "iam:CreateRole",
        _role("Fn"),
        "Denied",
        context=WITH_BOUNDARY,
    ),
    Row("service_roles", "CreateUser", "iam:CreateUser", f"arn:aws:iam::{ACCOUNT_B}:user/backdoor", "Denied"),
    Row(
        "service_roles",
        "PassRole_to_lambda",
        "iam:PassRole",
        f"{PATH}/Fn",
        "Allowed",
        context={"iam:PassedToService": "lambda.amazonaws.com"},
    ),
    # cloudformation_stack_names narrows the lane by name; it never widens it to the administrator's stacks.
    Row(
        "stack_names",
        "UpdateStack_lane_stack",
        "cloudformation:UpdateStack",
        stack("my-service-dev"),
        "Allowed",
        context=LANE_TAGGED,
    ),
    Row(
        "stack_names", "UpdateStack_administrators_stack", "cloudformation:UpdateStack", ADMIN_STACK, "Denied", OUTSIDE
    ),
    Row(
        "stack_names",
        "CreateStack_other_name",
        "cloudformation:CreateStack",
        stack("other-app"),
        "Denied",
        context=LANE_REQUEST,
    ),
    Row("stack_names", "CreateStackSet", "cloudformation:CreateStackSet", "*", "Denied"),
]


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    return outcomes_of(ROWS, WORLDS)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.key)
def test_lane_row(row: Row, outcomes: dict[str, Outcome]) -> None:
    check_row(row, outcomes)


@pytest.mark.parametrize("row", [row for row in ROWS if row.guard], ids=lambda row: row.key)
def test_each_lane_row_depends_on_its_statement(row: Row, outcomes: dict[str, Outcome]) -> None:
    check_flip(row, outcomes)


def test_every_lane_statement_is_tested() -> None:
    assert guard_statements(WORLDS) & LANE_STATEMENTS == LANE_STATEMENTS
    # Rows here may also show a general guard statement (DenyIdentityChanges) at work.
    assert {row.guard for row in ROWS if row.guard} >= LANE_STATEMENTS


def test_a_created_role_is_held_to_the_boundary_whatever_its_trust() -> None:
    """IAM has no condition key for the trust a CreateRole sends, so the session can create a role that
    account A may assume. What holds: such a role's sessions get no more than the boundary, even with
    AdministratorAccess attached (the session may attach it: the boundary caps it)."""
    model = world_model("service_roles", worlds=WORLDS)
    boundary = model.managed_policies[BOUNDARY]
    created = Role(
        arn=f"{PATH}/Escape",
        name="Escape",
        account=ACCOUNT_B,
        partition="aws",
        policies={"AdministratorAccess": ADMIN_POLICY},
        trust_policy={},
        permissions_boundary=boundary,
    )
    access = model.role()
    attempts = {
        "UpdateAssumeRolePolicy_of_the_role": ("iam:UpdateAssumeRolePolicy", access.arn, "Denied"),
        "CreateUser": ("iam:CreateUser", f"arn:aws:iam::{ACCOUNT_B}:user/backdoor", "Denied"),
        "CreateRole_elsewhere": ("iam:CreateRole", f"arn:aws:iam::{ACCOUNT_B}:role/Pwn", "Denied"),
        "UpdateStack_administrators_stack": (
            "cloudformation:UpdateStack",
            access.stack_arn("my-service-dev"),
            "Denied",
        ),
        "PutBucketPolicy_staging": ("s3:PutBucketPolicy", STAGING, "Denied"),
        "PutObject_application_bucket": ("s3:PutObject", "arn:aws:s3:::my-service-data/x", "Allowed"),
    }
    scenarios = [
        Scenario(name, (session_request(created, action, resource, label=name),), expect)
        for name, (action, resource, expect) in attempts.items()
    ]
    for outcome in run_scenarios(scenarios):
        assert outcome.as_expected, explain(outcome)
    # Without the boundary, the same role would do each of them: the boundary is what holds.
    unbounded = Role(**{**created.__dict__, "permissions_boundary": None})
    free = run_scenarios(
        [Scenario(n, (session_request(unbounded, a, r, label=n),), "Allowed") for n, (a, r, _) in attempts.items()]
    )
    assert all(outcome.verdict == "Allowed" for outcome in free), [explain(o) for o in free if o.verdict != "Allowed"]


def test_the_boundary_fits_a_managed_policy() -> None:
    from cross_account.private.policy_size import iam_length

    for world in ("service_roles", "service_roles_admin"):
        boundary = world_model(world, worlds=WORLDS).managed_policies[BOUNDARY]
        assert iam_length(boundary) <= 6144
