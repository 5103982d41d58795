"""The tamper guard's statements that hold whatever is attached to the role: identities, other roles,
deploy tools' artifact buckets and account-wide S3 settings.

Plain JSON, no CDK import: the role's guard (cross_account.role) and the service roles' boundary read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

#: Every IAM action that is not a read, by its verb (IAM's service reference; a test keeps it complete).
IAM_WRITES: Final = tuple(
    f"iam:{verb}"
    for verb in (
        "Accept*",
        "Add*",
        "Associate*",
        "Attach*",
        "Change*",
        "Create*",
        "Deactivate*",
        "Delete*",
        "Detach*",
        "Disable*",
        "Enable*",
        "PassRole",
        "Put*",
        "Reject*",
        "Remove*",
        "Reset*",
        "Resync*",
        "Send*",
        "Set*",
        "Tag*",
        "Untag*",
        "Update*",
        "Upload*",
    )
)
#: Deploy tools' artifact buckets: an object written there runs in the next deploy, with that tool's
#: permissions. SAM's managed bucket, CodePipeline's artifact stores, the Serverless Framework's
#: deployment buckets (v3's, whose generated names CloudFormation may cut short, and v4's). CDK's
#: asset buckets, every qualifier, are guarded with its bootstrap.
ARTIFACT_BUCKETS: Final = (
    "aws-sam-cli-managed-default-samclisourcebucket-*",
    "codepipeline-*",
    "*-serverlessdeploymentbuck*",
    "serverless-framework-deployments-*",
)
#: S3 settings of the whole account (they take no bucket).
ACCOUNT_WIDE_S3: Final = (
    "s3:PutAccountPublicAccessBlock",
    "s3:PutAccessPointPublicAccessBlock",
    "s3:PutStorageLensConfiguration",
    "s3:DeleteStorageLensConfiguration",
    "s3:CreateStorageLensGroup",
    "s3:CreateJob",
)

Statement = dict[str, Any]


def identity_statements(*, partition: str, account: str, lane_path: str | None) -> list[Statement]:
    """No IAM write outside the lane's service roles (and AWS's service-linked roles), and no other role of the
    account to assume: with AdministratorAccess attached, these are what a session would act through."""
    iam_arn = f"arn:{partition}:iam::{account}"
    outside = [f"{iam_arn}:role/aws-service-role/*"]
    if lane_path:
        outside += [f"{iam_arn}:role{lane_path}*", f"{iam_arn}:policy{lane_path}*"]
    return [
        {"Sid": "DenyIdentityChanges", "Effect": "Deny", "Action": list(IAM_WRITES), "NotResource": outside},
        {
            "Sid": "DenyAssumingOtherRoles",
            "Effect": "Deny",
            "Action": "sts:AssumeRole",
            "Resource": f"{iam_arn}:role/*",
        },
    ]


def bucket_statements(*, partition: str, protected_buckets: Sequence[str]) -> list[Statement]:
    """Deploy tools' artifact buckets (and ``protected_buckets``) read-only; no account-wide S3 setting."""
    buckets = [f"arn:{partition}:s3:::{name}" for name in (*ARTIFACT_BUCKETS, *protected_buckets)]
    return [
        {
            "Sid": "DenyArtifactBuckets",
            "Effect": "Deny",
            "NotAction": ["s3:Get*", "s3:List*"],
            "Resource": [*buckets, *(f"{arn}/*" for arn in buckets)],
        },
        {"Sid": "DenyAccountWideS3Settings", "Effect": "Deny", "Action": list(ACCOUNT_WIDE_S3), "Resource": "*"},
    ]
