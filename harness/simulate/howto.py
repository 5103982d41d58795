"""Negative control: the original how-to's policies, verbatim, as templates the simulator bridge reads.

Source: ../shared/reference/original-howto-cross-account-assumerole.txt (steps 1-3).
Its flaws, which the decision matrix must catch:

- the trust policy has no ``sts:ExternalId`` condition, although its CLI call passes one;
- the account-A policy adds ``iam:PassRole`` (for handing a role of *your own* account to
  a service) and ``iam:ListRoles`` (which only accepts ``Resource: "*"``) on the role ARN:
  neither grant does anything.
"""

from __future__ import annotations

import json
from typing import Any, Final

from harness.simulate.model import IamModel, PolicyDocument, StackEnv, load_templates

ACCOUNT_A: Final = "111111111111"
ACCOUNT_B: Final = "222222222222"
ROLE_NAME: Final = "CrossAccountAccessRole"
#: The external ID the how-to's `aws sts assume-role` call passes (and its trust never checks).
HOWTO_EXTERNAL_ID: Final = "12345678TESTID"

# Copied character for character from the how-to; only the placeholders are substituted.
HOWTO_PERMISSIONS_JSON: Final = (
    '{ "Version": "2012-10-17", "Statement": [ { "Sid": "CrossAccountPermissions", "Effect": "Allow", '
    '"Action": [ "s3:*", "cloudwatch:*", "cloudformation:*", "sqs:*", "events:*" ], "Resource": "*" } ] }'
)
HOWTO_TRUST_JSON: Final = (
    '{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", '
    '"Principal": { "AWS": "arn:aws:iam::[AccountA-ID]:root" }, "Action": "sts:AssumeRole" } ] }'
)
HOWTO_ACCOUNT_A_JSON: Final = (
    '{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", '
    '"Action": [ "sts:AssumeRole", "iam:PassRole", "iam:ListRoles" ], '
    '"Resource": "arn:aws:iam::[AccountB-ID]:role/CrossAccountAccessRole" } ] }'
)
#: The how-to's extra account-A grants, which the matrix shows change nothing.
HOWTO_EXTRA_ACTIONS: Final = ("iam:PassRole", "iam:ListRoles")


def _policy(text: str, *, account_a: str, account_b: str) -> PolicyDocument:
    document: PolicyDocument = json.loads(text.replace("[AccountA-ID]", account_a).replace("[AccountB-ID]", account_b))
    return document


def howto_trust_policy(*, account_a: str = ACCOUNT_A) -> PolicyDocument:
    """Step 2's trust relationship."""
    return _policy(HOWTO_TRUST_JSON, account_a=account_a, account_b="")


def howto_account_a_policy(*, account_b: str = ACCOUNT_B, extra_grants: bool = True) -> PolicyDocument:
    """Step 3's policy for the account-A user or group; ``extra_grants=False`` keeps only sts:AssumeRole."""
    document = _policy(HOWTO_ACCOUNT_A_JSON, account_a="", account_b=account_b)
    if not extra_grants:
        for statement in document["Statement"]:
            statement["Action"] = [a for a in statement["Action"] if a not in HOWTO_EXTRA_ACTIONS]
    return document


def howto_templates(
    *, account_a: str = ACCOUNT_A, account_b: str = ACCOUNT_B, extra_grants: bool = True
) -> tuple[dict[str, dict[str, Any]], dict[str, StackEnv]]:
    """The how-to's console steps as two CloudFormation templates (role in B; group + policy in A)."""
    target = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": ROLE_NAME,
                    "AssumeRolePolicyDocument": howto_trust_policy(account_a=account_a),
                    "Policies": [
                        {
                            "PolicyName": "CrossAccountPermissions",
                            "PolicyDocument": _policy(HOWTO_PERMISSIONS_JSON, account_a=account_a, account_b=account_b),
                        }
                    ],
                },
            }
        }
    }
    trusted = {
        "Resources": {
            "AssumePolicy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "ManagedPolicyName": "HowToAssumeCrossAccountRole",
                    "PolicyDocument": howto_account_a_policy(account_b=account_b, extra_grants=extra_grants),
                },
            },
            "Group": {
                "Type": "AWS::IAM::Group",
                "Properties": {"GroupName": "HowToAssumers", "ManagedPolicyArns": [{"Ref": "AssumePolicy"}]},
            },
        }
    }
    environments = {
        "HowToTarget": StackEnv(account=account_b, region="us-east-1"),
        "HowToTrusted": StackEnv(account=account_a, region="us-east-1"),
    }
    return {"HowToTarget": target, "HowToTrusted": trusted}, environments


def howto_model(*, extra_grants: bool = True) -> IamModel:
    """The how-to's role, group and policies, loaded through the same path as a synthesized app."""
    templates, environments = howto_templates(extra_grants=extra_grants)
    return load_templates(templates, environments)
