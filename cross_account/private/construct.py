"""How the constructs name themselves in errors, and set what ``aws-iam`` would check too eagerly."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import IConstruct


def construct_label(scope: IConstruct, construct_id: str, kind: str) -> str:
    """How errors name a construct: its path and class, as CDK's validation errors do."""
    parent = scope.node.path
    return f"{parent}/{construct_id} ({kind})" if parent else f"{construct_id} ({kind})"


def set_max_session_duration(role: iam.Role, seconds: float) -> None:
    """On the resource itself: iam.Role range-checks a ``Duration`` even when it is a token (the rules have
    checked a known value already)."""
    cfn_role = role.node.default_child
    assert isinstance(cfn_role, iam.CfnRole)
    cfn_role.max_session_duration = seconds
