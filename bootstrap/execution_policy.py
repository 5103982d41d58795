"""Write the CloudFormation execution policy for ``cdk bootstrap --cloudformation-execution-policies`` from the
templates the bootstrap will deploy: every role, group, policy, OIDC provider and bucket by its exact name.

    npx cdk synth --quiet
    .venv/bin/python bootstrap/execution_policy.py cdk.out/TargetStack.template.json > policy-target.json

Several templates (``TargetStack-*``) give one policy for all of them. A resource type it does not know
stops it with a message: such a stack needs permissions written by hand, or a bootstrap of its own.

Account fields: an IAM ARN has ``*`` there (IAM changes only ever act on the caller's own account: no
policy of another account can let this role change its roles), so one policy fits every target account.
Where the account is part of a name (an S3 bucket) or compared as a string (``iam:PolicyARN`` of a policy
the template makes), it is ``${aws:PrincipalAccount}``: the account the execution role lives in. Managed
policies are attached (``iam:PolicyARN``) and boundaries set (``iam:PermissionsBoundary``) only as the
templates name them.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

PRINCIPAL_ACCOUNT: Final = "${aws:PrincipalAccount}"

#: What CloudFormation does to a role, besides attaching managed policies and setting its boundary.
ROLE_ACTIONS: Final = (
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)
ROLE_ATTACHMENTS: Final = ("iam:AttachRolePolicy", "iam:DetachRolePolicy")
GROUP_ACTIONS: Final = (
    "iam:CreateGroup",
    "iam:DeleteGroup",
    "iam:DeleteGroupPolicy",
    "iam:GetGroup",
    "iam:GetGroupPolicy",
    "iam:ListAttachedGroupPolicies",
    "iam:ListGroupPolicies",
    "iam:PutGroupPolicy",
    "iam:UpdateGroup",
)
GROUP_ATTACHMENTS: Final = ("iam:AttachGroupPolicy", "iam:DetachGroupPolicy")
POLICY_ACTIONS: Final = (
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:ListEntitiesForPolicy",
    "iam:ListPolicyVersions",
)
OIDC_PROVIDER_ACTIONS: Final = (
    "iam:AddClientIDToOpenIDConnectProvider",
    "iam:CreateOpenIDConnectProvider",
    "iam:DeleteOpenIDConnectProvider",
    "iam:GetOpenIDConnectProvider",
    "iam:ListOpenIDConnectProviderTags",
    "iam:RemoveClientIDFromOpenIDConnectProvider",
    "iam:TagOpenIDConnectProvider",
    "iam:UntagOpenIDConnectProvider",
    "iam:UpdateOpenIDConnectProviderThumbprint",
)
#: The bucket-level actions of AWS::S3::Bucket's handlers; no object action, no iam:PassRole (replication).
BUCKET_ACTIONS: Final = (
    "s3:CreateBucket",
    "s3:CreateBucketMetadataTableConfiguration",
    "s3:DeleteBucket",
    "s3:DeleteBucketMetadataTableConfiguration",
    "s3:DeleteBucketWebsite",
    "s3:GetAccelerateConfiguration",
    "s3:GetAnalyticsConfiguration",
    "s3:GetBucketAbac",
    "s3:GetBucketAcl",
    "s3:GetBucketCORS",
    "s3:GetBucketLogging",
    "s3:GetBucketMetadataTableConfiguration",
    "s3:GetBucketNotification",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketTagging",
    "s3:GetBucketVersioning",
    "s3:GetBucketWebsite",
    "s3:GetEncryptionConfiguration",
    "s3:GetIntelligentTieringConfiguration",
    "s3:GetInventoryConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetMetricsConfiguration",
    "s3:GetReplicationConfiguration",
    "s3:ListBucket",
    "s3:ListTagsForResource",
    "s3:PutAccelerateConfiguration",
    "s3:PutAnalyticsConfiguration",
    "s3:PutBucketAbac",
    "s3:PutBucketAcl",
    "s3:PutBucketCORS",
    "s3:PutBucketLogging",
    "s3:PutBucketNotification",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketTagging",
    "s3:PutBucketVersioning",
    "s3:PutBucketWebsite",
    "s3:PutEncryptionConfiguration",
    "s3:PutIntelligentTieringConfiguration",
    "s3:PutInventoryConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutMetricsConfiguration",
    "s3:PutReplicationConfiguration",
    "s3:TagResource",
    "s3:UntagResource",
    "s3:UpdateBucketMetadataInventoryTableConfiguration",
    "s3:UpdateBucketMetadataJournalTableConfiguration",
)
BUCKET_POLICY_ACTIONS: Final = ("s3:DeleteBucketPolicy", "s3:GetBucketPolicy", "s3:PutBucketPolicy")
#: Types whose permissions are the ones above (AWS::IAM::Policy writes into the roles and groups it names).
KNOWN_TYPES: Final = frozenset(
    {
        "AWS::IAM::Role",
        "AWS::IAM::Group",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Policy",
        "AWS::IAM::OIDCProvider",
        "AWS::S3::Bucket",
        "AWS::S3::BucketPolicy",
        "AWS::CDK::Metadata",
    }
)
_ACCOUNT_IN_NAME: Final = re.compile(r"(?<!\d)\d{12}(?!\d)", re.ASCII)

Resources = Mapping[str, Any]
Statement = dict[str, Any]


class TemplateError(ValueError):
    """A template holds something this policy cannot name exactly."""


def _literal(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise TemplateError(f"{where} is {json.dumps(value)}, not a literal name: name it in the settings")
    return value


def _iam_arn(kind: str, props: Mapping[str, Any], name_key: str, where: str) -> str:
    path = _literal(props.get("Path", "/"), f"{where}.Path")
    return f"arn:aws:iam::*:{kind}{path}{_literal(props.get(name_key), f'{where}.{name_key}')}"


def _attached_arn(value: Any, resources: Resources, where: str) -> str:
    """A managed policy ARN as a condition compares it: literal, or a policy of the template in this account."""
    if isinstance(value, str):
        return value
    ref = value.get("Ref") if isinstance(value, dict) else None
    policy = resources.get(ref, {}) if isinstance(ref, str) else {}
    if policy.get("Type") != "AWS::IAM::ManagedPolicy":
        raise TemplateError(f"{where} is {json.dumps(value)}: only ARNs and managed policies of the template")
    props = policy["Properties"]
    path = _literal(props.get("Path", "/"), f"{ref}.Path")
    return f"arn:aws:iam::{PRINCIPAL_ACCOUNT}:policy{path}{_literal(props.get('ManagedPolicyName'), f'{ref}.Name')}"


class _Found:
    """What the templates hold, by the statement that covers it."""

    def __init__(self) -> None:
        self.roles: set[str] = set()
        self.role_policies: set[str] = set()
        self.boundaries: set[str] = set()
        self.groups: set[str] = set()
        self.group_policies: set[str] = set()
        self.policies: set[str] = set()
        self.providers: set[str] = set()
        self.buckets: set[str] = set()
        self.bucket_policies: set[str] = set()
        self.version_parameters: set[str] = set()

    def add(self, logical_id: str, resource: Mapping[str, Any], resources: Resources) -> None:
        kind = resource.get("Type", "")
        if kind not in KNOWN_TYPES:
            raise TemplateError(f"{logical_id}: {kind} is not covered; write its permissions by hand")
        adder = getattr(self, "_" + kind.rsplit("::", 1)[-1].lower(), None)
        if adder is not None:
            adder(logical_id, resource.get("Properties", {}), resources)

    def _role(self, logical_id: str, props: Mapping[str, Any], resources: Resources) -> None:
        self.roles.add(_iam_arn("role", props, "RoleName", logical_id))
        arns = props.get("ManagedPolicyArns", [])
        self.role_policies.update(_attached_arn(a, resources, f"{logical_id}.ManagedPolicyArns") for a in arns)
        if "PermissionsBoundary" in props:
            self.boundaries.add(_attached_arn(props["PermissionsBoundary"], resources, logical_id))

    def _group(self, logical_id: str, props: Mapping[str, Any], resources: Resources) -> None:
        self.groups.add(_iam_arn("group", props, "GroupName", logical_id))
        arns = props.get("ManagedPolicyArns", [])
        self.group_policies.update(_attached_arn(a, resources, f"{logical_id}.ManagedPolicyArns") for a in arns)

    def _managedpolicy(self, logical_id: str, props: Mapping[str, Any], _resources: Resources) -> None:
        if any(key in props for key in ("Roles", "Groups", "Users")):
            raise TemplateError(f"{logical_id}: attach it from the role or group (ManagedPolicyArns)")
        self.policies.add(_iam_arn("policy", props, "ManagedPolicyName", logical_id))

    def _policy(self, logical_id: str, props: Mapping[str, Any], _resources: Resources) -> None:
        # An inline policy: its handlers write into the roles and groups it names (the statements above).
        if "Users" in props:
            raise TemplateError(f"{logical_id}: policies of IAM users are not covered")

    def _oidcprovider(self, logical_id: str, props: Mapping[str, Any], _resources: Resources) -> None:
        url = _literal(props.get("Url"), f"{logical_id}.Url")
        self.providers.add(f"arn:aws:iam::*:oidc-provider/{url.removeprefix('https://').rstrip('/')}")

    def _bucket(self, logical_id: str, props: Mapping[str, Any], _resources: Resources) -> None:
        self.buckets.add(_bucket_arn(props.get("BucketName"), logical_id))

    def _bucketpolicy(self, logical_id: str, props: Mapping[str, Any], resources: Resources) -> None:
        bucket = props.get("Bucket")
        ref = bucket.get("Ref") if isinstance(bucket, dict) else None
        named = resources.get(ref, {}).get("Properties", {}).get("BucketName") if isinstance(ref, str) else bucket
        self.bucket_policies.add(_bucket_arn(named, logical_id))


def _bucket_arn(name: Any, where: str) -> str:
    return f"arn:aws:s3:::{_ACCOUNT_IN_NAME.sub(PRINCIPAL_ACCOUNT, _literal(name, f'{where}.BucketName'))}"


def _statement(sid: str, actions: Sequence[str], resources: Iterable[str], **condition: Any) -> Statement:
    statement: Statement = {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": sorted(resources)}
    if condition:
        statement["Condition"] = condition
    return statement


def execution_policy(templates: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The policy that lets CloudFormation deploy ``templates``, and nothing else."""
    found = _Found()
    for template in templates:
        resources: Resources = template.get("Resources", {})
        for logical_id, resource in resources.items():
            found.add(logical_id, resource, resources)
        version = template.get("Parameters", {}).get("BootstrapVersion", {}).get("Default")
        if version:
            found.version_parameters.add(f"arn:aws:ssm:*:*:parameter{version}")
    candidates = [
        (found.roles, _statement("Roles", ROLE_ACTIONS, found.roles)),
        (
            found.role_policies,
            _statement(
                "RolesManagedPolicies",
                ROLE_ATTACHMENTS,
                found.roles,
                StringEquals={"iam:PolicyARN": sorted(found.role_policies)},
            ),
        ),
        (
            found.boundaries,
            _statement(
                "RolesBoundary",
                ("iam:PutRolePermissionsBoundary",),
                found.roles,
                StringEquals={"iam:PermissionsBoundary": sorted(found.boundaries)},
            ),
        ),
        (found.groups, _statement("Groups", GROUP_ACTIONS, found.groups)),
        (
            found.group_policies,
            _statement(
                "GroupsManagedPolicies",
                GROUP_ATTACHMENTS,
                found.groups,
                StringEquals={"iam:PolicyARN": sorted(found.group_policies)},
            ),
        ),
        (found.policies, _statement("ManagedPolicies", POLICY_ACTIONS, found.policies)),
        (found.providers, _statement("OidcProviders", OIDC_PROVIDER_ACTIONS, found.providers)),
        (found.buckets, _statement("Buckets", BUCKET_ACTIONS, found.buckets)),
        (found.bucket_policies, _statement("BucketPolicies", BUCKET_POLICY_ACTIONS, found.bucket_policies)),
        (found.version_parameters, _statement("CdkBootstrapVersion", ("ssm:GetParameters",), found.version_parameters)),
    ]
    return {"Version": "2012-10-17", "Statement": [statement for present, statement in candidates if present]}


def render(policy: Mapping[str, Any]) -> str:
    """The policy as the files in bootstrap/ hold it."""
    return json.dumps(policy, indent=2) + "\n"


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    try:
        policy = execution_policy(json.loads(Path(name).read_text()) for name in argv)
    except (OSError, ValueError) as error:
        print(f"execution_policy: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(render(policy))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
