"""The size of a policy as IAM counts it, before deploy: a deploy-time value counts as the longest it can be."""

from __future__ import annotations

import json
from typing import Any, Final

from cross_account import quotas


def trust_size_error(
    size: int, quota: int, *, parts: str = "external IDs or principals", quota_setting: str = "trust_policy_quota"
) -> str | None:
    """Why a trust policy of ``size`` characters cannot deploy under ``quota``, or None; ``parts``: what to cut."""
    if size <= quota:
        return None
    if size <= quotas.MAX_TRUST_POLICY_QUOTA:
        remedy = (
            f"request an IAM quota increase (role trust policy length, up to {quotas.MAX_TRUST_POLICY_QUOTA}) "
            f"and set {quota_setting}, or use fewer {parts}"
        )
    else:
        remedy = f"over the most IAM allows; use fewer or shorter {parts}"
    return f"the trust policy is about {size} characters, over the quota of {quota}: {remedy}"


def _intrinsic_length(intrinsic: Any) -> int:
    if isinstance(intrinsic, dict) and "Ref" in intrinsic:
        return _PSEUDO_PARAMETER_LENGTHS.get(intrinsic["Ref"], 64)
    attribute = intrinsic.get("Fn::GetAtt") if isinstance(intrinsic, dict) else None
    return 128 if isinstance(attribute, list) and attribute[-1] == "Arn" else 64


#: The longest each pseudo parameter can be, for a size known before deploy.
_PSEUDO_PARAMETER_LENGTHS: Final = {
    "AWS::StackName": 128,
    "AWS::AccountId": 12,
    "AWS::Region": 16,
    "AWS::Partition": 10,
    "AWS::URLSuffix": 20,
}


def iam_length(document: Any) -> int:
    """The policy's length as IAM counts it (no whitespace); an intrinsic counts as the longest a pseudo
    parameter can be, or as a resource's name (64) or ARN (128)."""
    if isinstance(document, dict) and list(document) == ["Fn::Join"]:
        _separator, parts = document["Fn::Join"]
        return 2 + sum(len(part) if isinstance(part, str) else _intrinsic_length(part) for part in parts)
    if isinstance(document, dict) and len(document) == 1 and next(iter(document)).startswith(("Fn::", "Ref")):
        return 2 + _intrinsic_length(document)
    if isinstance(document, dict):
        return 2 + sum(len(json.dumps(k)) + 1 + iam_length(v) + 1 for k, v in document.items())
    if isinstance(document, list):
        return 2 + sum(iam_length(v) + 1 for v in document)
    return len(json.dumps(document))
