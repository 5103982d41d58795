"""The tamper guard, as IAM would decide: what a session of the role cannot do, and what it still can.

Requests are made with the session's credentials (every identity policy of the role, the
guard included) in account B. Each guarded row names the guard statement (Sid) that must
deny it, and :func:`test_each_guarded_row_depends_on_its_statement` proves the row is not a
constant: with that statement taken out of the template, the same request is Allowed.

The how-to's role, which has no guard, is the negative control for the CloudFormation path
(tests/test_simulate_trust.py): it can update its own stack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from harness.simulate import (
    ADMIN_POLICY,
    TRUST_POLICY,
    IamModel,
    Outcome,
    PolicyDocument,
    Role,
    Scenario,
    Verdict,
    load_synthesized,
    run_scenarios,
    session_request,
)
from harness.synth import synth
from tests.simulate_support import model_with, without_statement

ACCOUNT_B = "222222222222"
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
TEAM_POLICY_ARN = f"arn:aws:iam::{ACCOUNT_B}:policy/TeamAccess"
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT_B}:policy/Boundary"
#: AdministratorAccess is Allow * on *; so are the customer-managed policy and boundary here,
#: so that only the guard stands between the session and each request.
EXTERNAL_POLICIES: dict[str, PolicyDocument] = {arn: ADMIN_POLICY for arn in (ADMIN_ARN, TEAM_POLICY_ARN, BOUNDARY_ARN)}

WORLDS: dict[str, dict[str, Any]] = {
    "default": {},
    "admin": {"managed_policy_arns": [ADMIN_ARN]},
    "admin_policies_boundary": {
        "managed_policy_arns": [ADMIN_ARN, TEAM_POLICY_ARN],
        "permissions_boundary_arn": BOUNDARY_ARN,
        "protected_stack_names": ["shared-*"],
        "protected_bucket_names": ["my-terraform-state-*"],
    },
    "stack_names": {"cloudformation_stack_names": ["my-service-*"]},
}

STACK_ID = "11111111-2222-3333-4444-555555555555"
STACKSET = f"arn:aws:cloudformation:us-east-1:{ACCOUNT_B}:stackset/CrossAccountAccessRole:{STACK_ID}"
BOOTSTRAP = "hnb659fds"
ASSETS_BUCKET = f"cdk-{BOOTSTRAP}-assets-{ACCOUNT_B}-us-east-1"
CONTAINER_ASSETS = (
    f"arn:aws:ecr:us-east-1:{ACCOUNT_B}:repository/cdk-{BOOTSTRAP}-container-assets-{ACCOUNT_B}-us-east-1"
)
CFN_EXEC_ROLE = f"arn:aws:iam::{ACCOUNT_B}:role/cdk-{BOOTSTRAP}-cfn-exec-role-{ACCOUNT_B}-us-east-1"
DEPLOY_ROLE = f"arn:aws:iam::{ACCOUNT_B}:role/cdk-{BOOTSTRAP}-deploy-role-{ACCOUNT_B}-us-east-1"
#: The bootstrap roles trust their own account (and whatever `cdk bootstrap --trust` added).
BOOTSTRAP_TRUST: PolicyDocument = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_B}:root"}, "Action": "sts:AssumeRole"}
    ],
}
APP_BUCKET_OBJECT = "arn:aws:s3:::my-service-dev-artifacts/build/app.zip"

Target = str | Callable[[Role], str]


@dataclass(frozen=True)
class Row:
    """A request by a session of the world's role; ``guard``: the statement that must deny it."""

    world: str
    name: str
    action: str
    target: Target
    expect: Verdict
    guard: str | None = None
    resource_policy: PolicyDocument | None = None
    #: What IAM knows of the resource beyond its ARN (its tags).
    context: dict[str, str | list[str]] | None = None
    #: Other statements that deny the same request (defense in depth): the row flips without all of them.
    also: tuple[str, ...] = ()

    @property
    def denied_by(self) -> frozenset[str]:
        return frozenset({self.guard, *self.also}) if self.guard else frozenset()

    @property
    def without(self) -> str:
        return "+".join(sorted(self.denied_by))

    @property
    def key(self) -> str:
        return f"{self.world}-{self.name}"

    def scenario(self, role: Role) -> Scenario:
        resource = self.target(role) if callable(self.target) else self.target
        kwargs: dict[str, Any] = {"session_name": "alice", "label": self.key, "context": self.context}
        if self.resource_policy is not None:
            kwargs.update(resource_policy=self.resource_policy, resource_policy_name=TRUST_POLICY)
        return Scenario(self.key, (session_request(role, self.action, resource, **kwargs),), self.expect)


def own_stack(role: Role) -> str:
    return role.stack_arn()


def stack(name: str) -> Callable[[Role], str]:
    return lambda role: role.stack_arn(name)


def own_role(role: Role) -> str:
    return role.arn


STACK_WRITES = ("UpdateStack", "CreateChangeSet", "ExecuteChangeSet", "DeleteStack")
ROLE_CHANGES = (
    "UpdateAssumeRolePolicy",
    "PutRolePolicy",
    "AttachRolePolicy",
    "DeleteRolePolicy",
    "DetachRolePolicy",
    "DeleteRole",
    "PutRolePermissionsBoundary",
    "DeleteRolePermissionsBoundary",
    "UpdateRole",
    "TagRole",
)
PROTECTED = "DenyProtectedStacks"
THIS_ROLE = "DenyChangesToThisRole"
BOOTSTRAP_GUARD = "DenyCdkBootstrapRolesAndAssets"
ITS_POLICIES = "DenyChangesToItsPolicies"
ACCESS_POINTS = "DenyNewS3AccessPaths"
GUARDED_ROLES = "DenyChangesToGuardedRoles"
GUARD_TAGGED = {"aws:ResourceTag/cross-account:tamper-guard": "on"}
REGISTRY_WIDE = "DenyRegistryWideChanges"
#: With AdministratorAccess attached, every IAM write outside the lane is denied by this statement too.
IDENTITY = ("DenyIdentityChanges",)
#: A stack that carries the deploy lane's tag: rows about names hold even for such a stack.
LANE_TAGGED = {
    "aws:ResourceTag/cross-account:deploy-lane": "CrossAccountAccessRole",
    "aws:RequestTag/cross-account:deploy-lane": "CrossAccountAccessRole",
    "aws:TagKeys": ["cross-account:deploy-lane"],
}

ROWS: list[Row] = [
    # The role's own stack and CDK's bootstrap stack: no write of any kind, though the set has cloudformation:*.
    # These stacks are out of the deploy lane too (tests/test_simulate_lane.py); here they carry its tag,
    # to show that their names alone are enough.
    *(
        Row("default", f"{a}_own_stack", f"cloudformation:{a}", own_stack, "Denied", PROTECTED, context=LANE_TAGGED)
        for a in STACK_WRITES
    ),
    *(
        Row(
            "default",
            f"{a}_CDKToolkit",
            f"cloudformation:{a}",
            stack("CDKToolkit"),
            "Denied",
            PROTECTED,
            context=LANE_TAGGED,
        )
        for a in STACK_WRITES
    ),
    Row(
        "default",
        "UpdateStack_StackSet_instance",
        "cloudformation:UpdateStack",
        stack(f"StackSet-CrossAccountAccessRole-{STACK_ID}"),
        "Denied",
        PROTECTED,
        context=LANE_TAGGED,
    ),
    Row("default", "UpdateStackSet", "cloudformation:UpdateStackSet", STACKSET, "Denied", PROTECTED),
    Row("default", "DescribeStacks_own_stack", "cloudformation:DescribeStacks", own_stack, "Allowed"),
    # The how-to's flow keeps working: its own application stack (in the lane), and S3 writes.
    Row(
        "default",
        "UpdateStack_my_service_dev",
        "cloudformation:UpdateStack",
        stack("my-service-dev"),
        "Allowed",
        context=LANE_TAGGED,
    ),
    Row("default", "PutObject_application_bucket", "s3:PutObject", APP_BUCKET_OBJECT, "Allowed"),
    # s3:* does not reach the bootstrap's asset bucket, whose files the next `cdk deploy` runs.
    Row(
        "default",
        "PutObject_bootstrap_assets",
        "s3:PutObject",
        f"arn:aws:s3:::{ASSETS_BUCKET}/asset.zip",
        "Denied",
        BOOTSTRAP_GUARD,
    ),
    Row(
        "default",
        "PutBucketPolicy_bootstrap_assets",
        "s3:PutBucketPolicy",
        f"arn:aws:s3:::{ASSETS_BUCKET}",
        "Denied",
        BOOTSTRAP_GUARD,
    ),
    Row("default", "GetObject_bootstrap_assets", "s3:GetObject", f"arn:aws:s3:::{ASSETS_BUCKET}/asset.zip", "Allowed"),
    # An access point on the asset bucket would be a way around the bucket's ARN.
    Row(
        "default",
        "CreateAccessPoint",
        "s3:CreateAccessPoint",
        f"arn:aws:s3:us-east-1:{ACCOUNT_B}:accesspoint/around-the-guard",
        "Denied",
        ACCESS_POINTS,
    ),
    # AdministratorAccess attached through managed_policy_arns does not lift the guard.
    *(Row("admin", f"{a}_own_role", f"iam:{a}", own_role, "Denied", THIS_ROLE, also=IDENTITY) for a in ROLE_CHANGES),
    Row("admin", "GetRole_own_role", "iam:GetRole", own_role, "Allowed"),
    # IAM role names are one whatever their case: a request may spell the role otherwise than the ARN
    # above. The tag, read from the role itself, still matches; so does another tier's role.
    *(
        Row(
            "admin",
            f"{a}_own_role_spelled_otherwise",
            f"iam:{a}",
            lambda role: role.arn.lower(),
            "Denied",
            GUARDED_ROLES,
            context=GUARD_TAGGED,
            also=IDENTITY,
        )
        for a in ("UpdateAssumeRolePolicy", "AttachRolePolicy", "DeleteRole")
    ),
    Row(
        "admin",
        "PutRolePolicy_another_tiers_role",
        "iam:PutRolePolicy",
        f"arn:aws:iam::{ACCOUNT_B}:role/CrossAccountAccessRole-Admin",
        "Denied",
        GUARDED_ROLES,
        context=GUARD_TAGGED,
        also=IDENTITY,
    ),
    # With AdministratorAccess attached: no IAM write outside the lane, no other role to act through.
    *(
        Row("admin", f"{a}_another_role", f"iam:{a}", f"arn:aws:iam::{ACCOUNT_B}:role/another", "Denied", IDENTITY[0])
        for a in ("CreateRole", "PutRolePolicy", "AttachRolePolicy", "UpdateAssumeRolePolicy", "PassRole")
    ),
    *(
        Row("admin", f"{a}_user", f"iam:{a}", f"arn:aws:iam::{ACCOUNT_B}:user/backdoor", "Denied", IDENTITY[0])
        for a in ("CreateUser", "CreateAccessKey", "CreateLoginProfile", "AttachUserPolicy")
    ),
    Row(
        "admin",
        "AddUserToGroup_admins",
        "iam:AddUserToGroup",
        f"arn:aws:iam::{ACCOUNT_B}:group/Administrators",
        "Denied",
        IDENTITY[0],
    ),
    Row(
        "admin",
        "AssumeRole_another_role",
        "sts:AssumeRole",
        f"arn:aws:iam::{ACCOUNT_B}:role/Administrator",
        "Denied",
        "DenyAssumingOtherRoles",
        BOOTSTRAP_TRUST,
    ),
    Row(
        "admin",
        "CreateServiceLinkedRole",
        "iam:CreateServiceLinkedRole",
        f"arn:aws:iam::{ACCOUNT_B}:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing",
        "Allowed",
    ),
    # What an administrator session can still do (the README says so): run code that a privileged role runs.
    Row(
        "admin",
        "UpdateFunctionCode_privileged_function",
        "lambda:UpdateFunctionCode",
        f"arn:aws:lambda:us-east-1:{ACCOUNT_B}:function:ops-automation",
        "Allowed",
    ),
    Row(
        "admin",
        "StartBuild_with_buildspec_override",
        "codebuild:StartBuild",
        f"arn:aws:codebuild:us-east-1:{ACCOUNT_B}:project/release",
        "Allowed",
    ),
    # Deploy tools' artifact buckets: what is written there runs in the next deploy.
    *(
        Row(
            "default",
            f"PutObject_{name}",
            "s3:PutObject",
            f"arn:aws:s3:::{bucket}/artifact.zip",
            "Denied",
            "DenyArtifactBuckets",
        )
        for name, bucket in (
            ("sam", "aws-sam-cli-managed-default-samclisourcebucket-1a2b3c4d5e6f"),
            ("codepipeline", f"codepipeline-us-east-1-{ACCOUNT_B}"),
            ("serverless_v3", "my-service-dev-serverlessdeploymentbucke-1abcdef2ghij"),
            ("serverless_v4", "serverless-framework-deployments-us-east-1-1a2b3c4d-5e6f"),
            ("cdk_other_qualifier", f"cdk-xacctb-assets-{ACCOUNT_B}-us-east-1"),
        )
        if name != "cdk_other_qualifier"
    ),
    Row(
        "default",
        "PutObject_cdk_other_qualifier",
        "s3:PutObject",
        f"arn:aws:s3:::cdk-xacctb-assets-{ACCOUNT_B}-us-east-1/asset.zip",
        "Denied",
        BOOTSTRAP_GUARD,
    ),
    Row(
        "default",
        "PutBucketPolicy_codepipeline",
        "s3:PutBucketPolicy",
        f"arn:aws:s3:::codepipeline-us-east-1-{ACCOUNT_B}",
        "Denied",
        "DenyArtifactBuckets",
    ),
    Row(
        "default",
        "GetObject_sam",
        "s3:GetObject",
        "arn:aws:s3:::aws-sam-cli-managed-default-samclisourcebucket-1a2b/a.zip",
        "Allowed",
    ),
    Row(
        "admin_policies_boundary",
        "PutObject_protected_bucket",
        "s3:PutObject",
        "arn:aws:s3:::my-terraform-state-prod/terraform.tfstate",
        "Denied",
        "DenyArtifactBuckets",
    ),
    *(
        Row("default", a.replace(":", "_"), a, "*", "Denied", "DenyAccountWideS3Settings")
        for a in ("s3:PutAccountPublicAccessBlock", "s3:PutStorageLensConfiguration")
    ),
    Row(
        "admin",
        "UpdateStack_own_stack",
        "cloudformation:UpdateStack",
        own_stack,
        "Denied",
        PROTECTED,
        context=LANE_TAGGED,
    ),
    Row("admin", "PassRole_cfn_exec_role", "iam:PassRole", CFN_EXEC_ROLE, "Denied", BOOTSTRAP_GUARD, also=IDENTITY),
    Row(
        "admin",
        "AssumeRole_deploy_role",
        "sts:AssumeRole",
        DEPLOY_ROLE,
        "Denied",
        BOOTSTRAP_GUARD,
        BOOTSTRAP_TRUST,
        also=("DenyAssumingOtherRoles",),
    ),
    # CDK's Docker assets: pulling stays allowed, pushing or changing the repository does not.
    *(
        Row("admin", f"{a}_container_assets", f"ecr:{a}", CONTAINER_ASSETS, "Denied", BOOTSTRAP_GUARD)
        for a in ("PutImage", "InitiateLayerUpload", "BatchDeleteImage", "SetRepositoryPolicy", "DeleteRepository")
    ),
    Row("admin", "BatchGetImage_container_assets", "ecr:BatchGetImage", CONTAINER_ASSETS, "Allowed"),
    Row(
        "admin",
        "PutImage_application_repository",
        "ecr:PutImage",
        f"arn:aws:ecr:us-east-1:{ACCOUNT_B}:repository/my-service",
        "Allowed",
    ),
    # The bootstrap roles themselves: a changed trust or policy would be a lasting way in.
    Row(
        "admin",
        "UpdateAssumeRolePolicy_deploy_role",
        "iam:UpdateAssumeRolePolicy",
        DEPLOY_ROLE,
        "Denied",
        BOOTSTRAP_GUARD,
        also=IDENTITY,
    ),
    Row(
        "admin",
        "PutRolePolicy_cfn_exec_role",
        "iam:PutRolePolicy",
        CFN_EXEC_ROLE,
        "Denied",
        BOOTSTRAP_GUARD,
        also=IDENTITY,
    ),
    Row("admin", "GetRole_cfn_exec_role", "iam:GetRole", CFN_EXEC_ROLE, "Allowed"),
    Row(
        "admin",
        "ReplicateObject_bootstrap_assets",
        "s3:ReplicateObject",
        f"arn:aws:s3:::{ASSETS_BUCKET}/asset.zip",
        "Denied",
        BOOTSTRAP_GUARD,
    ),
    # Account-wide settings around those ARNs: a registry policy or replication rule would let another
    # account write the asset repository; a CloudFormation hook acts on every stack.
    *(
        Row("admin", a.replace(":", "_"), a, "*", "Denied", REGISTRY_WIDE)
        for a in ("ecr:PutRegistryPolicy", "ecr:PutReplicationConfiguration", "ecr:CreatePullThroughCacheRule")
    ),
    *(
        Row("default", a.replace(":", "_"), a, "*", "Denied", REGISTRY_WIDE)
        for a in ("cloudformation:RegisterType", "cloudformation:ActivateType", "cloudformation:SetTypeConfiguration")
    ),
    Row("admin", "DescribeRegistry", "ecr:DescribeRegistry", "*", "Allowed"),
    # An access grant on the asset bucket would hand out a location role's credentials for it.
    Row(
        "default",
        "CreateAccessGrant",
        "s3:CreateAccessGrant",
        f"arn:aws:s3:us-east-1:{ACCOUNT_B}:access-grants/default/grant/to-the-assets",
        "Denied",
        ACCESS_POINTS,
    ),
    # CDK's customer-managed policies (a bootstrap boundary, custom execution policies).
    Row(
        "admin",
        "CreatePolicyVersion_cdk_policy",
        "iam:CreatePolicyVersion",
        f"arn:aws:iam::{ACCOUNT_B}:policy/cdk-{BOOTSTRAP}-permissions-boundary-{ACCOUNT_B}-us-east-1",
        "Denied",
        BOOTSTRAP_GUARD,
        also=IDENTITY,
    ),
    Row(
        "admin",
        "CreateGroup_elsewhere",
        "iam:CreateGroup",
        f"arn:aws:iam::{ACCOUNT_B}:group/new-group",
        "Denied",
        IDENTITY[0],
    ),
    Row(
        "admin",
        "UpdateStack_my_service_dev",
        "cloudformation:UpdateStack",
        stack("my-service-dev"),
        "Allowed",
        context=LANE_TAGGED,
    ),
    # Customer-managed policies and a boundary attached: their documents are frozen too; more protected stacks.
    *(
        Row("admin_policies_boundary", f"{a}_{name}", f"iam:{a}", arn, "Denied", ITS_POLICIES, also=IDENTITY)
        for a in ("CreatePolicyVersion", "SetDefaultPolicyVersion", "DeletePolicy")
        for name, arn in (("team_policy", TEAM_POLICY_ARN), ("boundary", BOUNDARY_ARN))
    ),
    Row(
        "admin_policies_boundary",
        "DeleteRolePermissionsBoundary",
        "iam:DeleteRolePermissionsBoundary",
        own_role,
        "Denied",
        THIS_ROLE,
        also=IDENTITY,
    ),
    Row(
        "admin_policies_boundary",
        "UpdateStack_protected_name",
        "cloudformation:UpdateStack",
        stack("shared-network"),
        "Denied",
        PROTECTED,
        context=LANE_TAGGED,
    ),
    Row(
        "admin_policies_boundary",
        "CreatePolicyVersion_other_policy",
        "iam:CreatePolicyVersion",
        f"arn:aws:iam::{ACCOUNT_B}:policy/Other",
        "Denied",
        IDENTITY[0],
    ),
    # cloudformation_stack_names scopes stack writes to the named stacks.
    Row(
        "stack_names",
        "UpdateStack_my_service_dev",
        "cloudformation:UpdateStack",
        stack("my-service-dev"),
        "Allowed",
        context=LANE_TAGGED,
    ),
    Row(
        "stack_names",
        "UpdateStack_other_stack",
        "cloudformation:UpdateStack",
        stack("other-app"),
        "Denied",
        context=LANE_TAGGED,
    ),
    Row("stack_names", "PutObject_application_bucket", "s3:PutObject", APP_BUCKET_OBJECT, "Allowed"),
]


def world_model(
    world: str, edit: Callable[[dict[str, Any]], None] | None = None, *, worlds: dict[str, dict[str, Any]] = WORLDS
) -> IamModel:
    overrides = worlds[world]
    if edit is None:
        return load_synthesized(synth(overrides), external_policies=EXTERNAL_POLICIES)
    return model_with(overrides, edit, external_policies=EXTERNAL_POLICIES)


def explain(outcome: Outcome) -> str:
    (decision,) = outcome.decisions
    reasons = "; ".join(map(str, decision.reasons)) or "no reason reported"
    request = decision.request
    return f"{outcome.scenario.name}: {request.action} on {request.resource}: {decision.result} ({reasons})"


def outcomes_of(rows: list[Row], worlds: dict[str, dict[str, Any]]) -> dict[str, Outcome]:
    """Every row, and every guarded row again without its statement, in one batch."""
    roles = {world: world_model(world, worlds=worlds).role() for world in worlds}
    scenarios = [row.scenario(roles[row.world]) for row in rows]
    for world, without in sorted({(row.world, row.without) for row in rows if row.guard}):
        role = world_model(world, without_statement(*without.split("+")), worlds=worlds).role()
        for row in rows:
            if (row.world, row.without) == (world, without):
                scenario = row.scenario(role)
                scenarios.append(Scenario(f"{row.key}-without-{without}", scenario.requests, "Allowed"))
    return {outcome.scenario.name: outcome for outcome in run_scenarios(scenarios)}


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    return outcomes_of(ROWS, WORLDS)


def check_row(row: Row, outcomes: dict[str, Outcome]) -> None:
    """The row's verdict; a guarded row is denied explicitly, by exactly its statements."""
    outcome = outcomes[row.key]
    assert outcome.verdict == row.expect, explain(outcome)
    if row.guard:
        (decision,) = outcome.decisions
        assert decision.result == "ExplicitlyDenied", explain(outcome)
        assert {reason.sid for reason in decision.denied_by} == row.denied_by, explain(outcome)


def check_flip(row: Row, outcomes: dict[str, Outcome]) -> None:
    """Without its statements, the guarded row's request is Allowed: the row is not a constant."""
    outcome = outcomes[f"{row.key}-without-{row.without}"]
    assert outcome.verdict == "Allowed", explain(outcome)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.key)
def test_guard_row(row: Row, outcomes: dict[str, Outcome]) -> None:
    check_row(row, outcomes)


@pytest.mark.parametrize("row", [row for row in ROWS if row.guard], ids=lambda row: row.key)
def test_each_guarded_row_depends_on_its_statement(row: Row, outcomes: dict[str, Outcome]) -> None:
    check_flip(row, outcomes)


def guard_statements(worlds: dict[str, dict[str, Any]]) -> set[str]:
    return {
        statement["Sid"]
        for world in worlds
        for name, document in world_model(world, worlds=worlds).role().policies.items()
        if name.startswith("CrossAccountRoleTamperGuard")
        for statement in document["Statement"]
    }


def test_every_guard_statement_is_tested() -> None:
    # The deploy lane's statements have rows of their own (tests/test_simulate_lane.py).
    from tests.test_simulate_lane import LANE_STATEMENTS

    assert guard_statements(WORLDS) - LANE_STATEMENTS == {row.guard for row in ROWS if row.guard}
