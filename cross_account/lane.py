"""The deploy lane: which stacks, buckets and roles a session of the role may deploy with, by provenance.

A session may create a stack only with the lane's tag, and may change or delete only stacks that
carry it; it never names a service role, so every lane stack runs with the session's own
permissions. CloudFormation authorizes ``aws:RequestTag`` at create and ``aws:ResourceTag``
afterwards (IAM's service reference), so the tag is the provenance: the session cannot put it on a
stack it did not create (that write is itself refused), and removing it only takes a stack out of
the lane.

This module has no CDK import: the statements are plain JSON, read by the role's guard, the
service roles' boundary and the synthesizer alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

#: The stack tag that marks a stack as made by a session of one role; its value names the role.
LANE_TAG_KEY: Final = "cross-account:deploy-lane"
#: The staging bucket of an account and region (templates and file assets): ``<prefix><account>-<region>``.
STAGING_BUCKET_PREFIX: Final = "cross-account-deploys-"
#: What a session does in the staging bucket: read, and write objects under its lane's prefix.
STAGING_BUCKET_ACTIONS: Final = ("s3:Get*", "s3:List*", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")
#: What a lane may do only under its own prefix: read an object (another lane's template or code), or write one.
STAGING_OBJECT_ACCESS: Final = (
    "s3:GetObject*",
    "s3:PutObject*",
    "s3:DeleteObject*",
    "s3:RestoreObject",
    "s3:ReplicateObject",
)

STACK_READS: Final = ("cloudformation:Describe*", "cloudformation:Get*", "cloudformation:List*")
#: The writes that make a stack (or may): the stack does not exist yet, so only the request's tags tell.
STACK_CREATION: Final = ("cloudformation:CreateStack", "cloudformation:CreateChangeSet")
#: Tagging is authorized on its own, and (``cloudformation:CreateAction``) as part of a create.
STACK_TAGGING: Final = ("cloudformation:TagResource", "cloudformation:UntagResource")
#: The writes that take ``cloudformation:RoleArn``: present only when the request names a service role.
NAMES_A_SERVICE_ROLE: Final = (
    "cloudformation:CreateStack",
    "cloudformation:UpdateStack",
    "cloudformation:CreateChangeSet",
    "cloudformation:DeleteStack",
    "cloudformation:ContinueUpdateRollback",
    "cloudformation:RollbackStack",
)
#: Account-level StackSet actions: they take no resource, so no stack or StackSet ARN can deny them.
ACCOUNT_WIDE_STACKSETS: Final = (
    "cloudformation:CreateStackSet",
    "cloudformation:ActivateOrganizationsAccess",
    "cloudformation:DeactivateOrganizationsAccess",
)
#: What a session may do to the roles it creates, under the lane's path and with the lane's boundary
#: (each takes ``iam:PermissionsBoundary``, the boundary of the role it acts on).
SERVICE_ROLE_WRITES: Final = (
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
)
#: Their upkeep, under the path: IAM lists no ``iam:PermissionsBoundary`` for these, so a condition on it
#: would always refuse (CloudFormation tags a role it creates with the stack's tags: CreateRole needs TagRole).
SERVICE_ROLE_UPKEEP: Final = ("iam:TagRole", "iam:UntagRole", "iam:UpdateRole", "iam:UpdateRoleDescription")
SERVICE_ROLE_READS: Final = ("iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies")


def staging_bucket_name(account: str, region: str) -> str:
    """The staging bucket's name; ``account`` and ``region`` may be CDK tokens or ``${AWS::…}`` placeholders."""
    return f"{STAGING_BUCKET_PREFIX}{account}-{region}"


def boundary_policy_name(lane: str) -> str:
    """The name of the lane's permissions boundary, under its service-role path."""
    return f"{lane}-ServiceRoleBoundary"


def default_service_role_path(lane: str) -> str:
    """Where a lane's service roles live, apart from every other role: ``/cross-account-lane/<lane>/``."""
    return f"/cross-account-lane/{lane}/"


Statement = dict[str, Any]


def lane_statements(*, lane: str, stack_arns: str, account: str, staging: str) -> list[Statement]:
    """The lane's Deny statements, for the role's guard (and the service roles' boundary).

    ``lane``: the tag value; ``stack_arns``: every stack of the account (``…:stack/*``); ``account``: the
    account the role lives in; ``staging``: the staging buckets' ARN pattern (``arn:…:s3:::<prefix>*``).
    """
    not_this_lane = {"StringNotEquals": {f"aws:ResourceTag/{LANE_TAG_KEY}": lane}}
    return [
        # Every stack write but creation needs the lane's tag on the stack itself: another's stack
        # (an administrator's, with a stored service role) is out of reach, whatever its name.
        {
            "Sid": "DenyStacksOutsideTheLane",
            "Effect": "Deny",
            "NotAction": [*STACK_READS, *STACK_CREATION, *STACK_TAGGING],
            "Resource": stack_arns,
            "Condition": not_this_lane,
        },
        {
            "Sid": "DenyStackCreationOutsideTheLane",
            "Effect": "Deny",
            "Action": list(STACK_CREATION),
            "Resource": "*",
            "Condition": {"StringNotEquals": {f"aws:RequestTag/{LANE_TAG_KEY}": lane}},
        },
        # Tagging another's stack would bring it into the lane; tagging as part of a create is the create's.
        {
            "Sid": "DenyTaggingOutsideTheLane",
            "Effect": "Deny",
            "Action": list(STACK_TAGGING),
            "Resource": stack_arns,
            "Condition": {**not_this_lane, "Null": {"cloudformation:CreateAction": "true"}},
        },
        # A stack of the lane may not be handed to another lane either: the tag says which lane made it.
        {
            "Sid": "DenyOtherLanesTag",
            "Effect": "Deny",
            "Action": [*STACK_CREATION, *STACK_TAGGING, "cloudformation:UpdateStack"],
            "Resource": "*",
            "Condition": {
                "Null": {f"aws:RequestTag/{LANE_TAG_KEY}": "false"},
                "StringNotEquals": {f"aws:RequestTag/{LANE_TAG_KEY}": lane},
            },
        },
        {
            "Sid": "DenyServiceRoles",
            "Effect": "Deny",
            "Action": list(NAMES_A_SERVICE_ROLE),
            "Resource": "*",
            "Condition": {"Null": {"cloudformation:RoleArn": "false"}},
        },
        {"Sid": "DenyAccountWideStackSets", "Effect": "Deny", "Action": list(ACCOUNT_WIDE_STACKSETS), "Resource": "*"},
        # The staging buckets: objects only (their policy keeps each lane to its prefix), and only this
        # account's: a bucket of the same name in another account would hand it the next template.
        {
            "Sid": "DenyStagingBucketSettings",
            "Effect": "Deny",
            "NotAction": list(STAGING_BUCKET_ACTIONS),
            "Resource": [staging, f"{staging}/*"],
        },
        {
            "Sid": "DenyStagingBucketsElsewhere",
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": [staging, f"{staging}/*"],
            "Condition": {"StringNotEquals": {"aws:ResourceAccount": account}},
        },
    ]


def service_role_statements(
    *, path_arn: str, role_arns: str, boundary_arn: str, services: Sequence[str]
) -> tuple[list[Statement], list[Statement]]:
    """(allows, denies) of AWS's permissions-boundary delegation, for roles under ``path_arn`` (``…:role/<path>*``).

    The denies go in the guard, so they hold whatever else is attached; ``role_arns`` is every role of the account.
    Outside the path, the guard's ``DenyIdentityChanges`` refuses every IAM write, passing a role included.
    """
    with_boundary = {"StringEquals": {"iam:PermissionsBoundary": boundary_arn}}
    allows: list[Statement] = [
        {
            "Sid": "ServiceRolesWithTheBoundary",
            "Effect": "Allow",
            "Action": list(SERVICE_ROLE_WRITES),
            "Resource": path_arn,
            "Condition": with_boundary,
        },
        {
            "Sid": "ServiceRoleUpkeep",
            "Effect": "Allow",
            "Action": [*SERVICE_ROLE_UPKEEP, *SERVICE_ROLE_READS],
            "Resource": path_arn,
        },
        {
            "Sid": "PassServiceRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": path_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": list(services)}},
        },
    ]
    denies: list[Statement] = [
        {
            "Sid": "DenyServiceRolesWithoutTheBoundary",
            "Effect": "Deny",
            "Action": [a for a in SERVICE_ROLE_WRITES if a != "iam:DeleteRole"],
            "Resource": path_arn,
            "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": boundary_arn}},
        },
        {
            "Sid": "DenyBoundaryRemoval",
            "Effect": "Deny",
            "Action": ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"],
            "Resource": "*",
        },
        {
            "Sid": "DenyChangesToTheBoundary",
            "Effect": "Deny",
            "NotAction": ["iam:Get*", "iam:List*"],
            "Resource": boundary_arn,
        },
        # Trust is the one thing IAM cannot condition at CreateRole; it can keep it from changing later.
        {
            "Sid": "DenyServiceRoleTrustChanges",
            "Effect": "Deny",
            "Action": "iam:UpdateAssumeRolePolicy",
            "Resource": path_arn,
        },
        {
            "Sid": "DenyPassingToOtherServices",
            "Effect": "Deny",
            "Action": "iam:PassRole",
            "Resource": role_arns,
            "Condition": {"StringNotEquals": {"iam:PassedToService": list(services)}},
        },
    ]
    return allows, denies
