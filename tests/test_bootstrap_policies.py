"""bootstrap/execution-policy-*.json, for `cdk bootstrap --cloudformation-execution-policies`, let
CloudFormation create, update, read and delete our stacks' resources, and nothing else.

What CloudFormation needs per resource type is the handler permissions of its resource schema (cfn-lint
bundles the schemas); the resources are the committed snapshots of the synthesized stacks.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from policy_sentry.querying.actions import get_action_data

from harness.node import PROJECT_ROOT

SNAPSHOTS = PROJECT_ROOT / "tests" / "snapshots"
POLICY_OF = {
    "TargetStack": PROJECT_ROOT / "bootstrap" / "execution-policy-target.json",
    "TrustedStack": PROJECT_ROOT / "bootstrap" / "execution-policy-trusted.json",
}
ACCOUNT = "222222222222"
HANDLERS = ("create", "read", "update", "delete")
#: Handler permissions left out on purpose: (resource type, action) -> why.
NOT_NEEDED = {
    ("AWS::IAM::ManagedPolicy", "iam:AttachRolePolicy"): "the app attaches its managed policies to its groups only",
    ("AWS::IAM::ManagedPolicy", "iam:AttachUserPolicy"): "the same",
    ("AWS::IAM::ManagedPolicy", "iam:DetachRolePolicy"): (
        "the same; a policy attached by hand to a user or role must be detached before the stack is deleted"
    ),
    ("AWS::IAM::ManagedPolicy", "iam:DetachUserPolicy"): "the same",
    **{
        ("AWS::IAM::Policy", action): "the app's inline policies (the tamper guard) attach to its roles only"
        for action in (
            "iam:PutUserPolicy",
            "iam:GetUserPolicy",
            "iam:DeleteUserPolicy",
            "iam:PutGroupPolicy",
            "iam:GetGroupPolicy",
            "iam:DeleteGroupPolicy",
        )
    },
}


def statements(path: Path) -> list[dict[str, Any]]:
    document = json.loads(path.read_text())
    return [dict(s) for s in document["Statement"]]


def allows(path: Path, action: str, arn: str) -> bool:
    return any(
        s["Effect"] == "Allow"
        and action.lower() in {a.lower() for a in _as_list(s["Action"])}
        and any(fnmatchcase(arn, pattern) for pattern in _as_list(s["Resource"]))
        for s in statements(path)
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def iam_arns(resource_type: str, props: dict[str, Any]) -> dict[str, str]:
    """The ARN of an IAM resource of the template, under the kind of entity it is ("role", "group", "policy")."""
    if resource_type == "AWS::IAM::Policy":
        return {}  # an inline policy: its handlers act on the roles it is attached to
    if resource_type == "AWS::IAM::OIDCProvider":
        return {"oidc-provider": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{props['Url'].removeprefix('https://')}"}
    name_key, kind = {
        "AWS::IAM::Role": ("RoleName", "role"),
        "AWS::IAM::Group": ("GroupName", "group"),
        "AWS::IAM::ManagedPolicy": ("ManagedPolicyName", "policy"),
    }[resource_type]
    return {kind: f"arn:aws:iam::{ACCOUNT}:{kind}{props.get('Path', '/')}{props[name_key]}"}


def arns_by_kind(resources: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Every IAM entity of the template by kind: two roles or two OIDC providers are each checked."""
    arns: dict[str, list[str]] = {}
    for resource in resources:
        for kind, arn in iam_arns(resource["Type"], resource.get("Properties", {})).items():
            arns.setdefault(kind, []).append(arn)
    return arns


def target_kind(action: str) -> str:
    """The entity an IAM action acts on: iam:AttachGroupPolicy on a group, iam:CreatePolicy on a policy."""
    name = action.split(":", 1)[1]
    if "OpenIDConnectProvider" in name:
        return "oidc-provider"
    return next((kind.lower() for kind in ("Role", "Group", "User") if kind in name), "policy")


def cases() -> list[tuple[str, str]]:
    return [
        (case.name, stack)
        for case in sorted(SNAPSHOTS.iterdir())
        for stack in POLICY_OF
        if (case / f"{stack}.json").exists() or (stack == "TargetStack" and any(case.glob("TargetStack-*.json")))
    ]


def templates(case: str, stack: str) -> list[dict[str, Any]]:
    files = [SNAPSHOTS / case / f"{stack}.json", *sorted((SNAPSHOTS / case).glob(f"{stack}-*.json"))]
    return [json.loads(f.read_text()) for f in files if f.exists()]


@pytest.mark.parametrize(("case", "stack"), cases())
def test_the_execution_policy_covers_every_handler_permission(case: str, stack: str) -> None:
    policy = POLICY_OF[stack]
    missing = []
    for template in templates(case, stack):
        resources = [r for r in template["Resources"].values() if r["Type"].startswith("AWS::IAM::")]
        assert resources, f"{case}/{stack} has no IAM resource: the snapshots changed shape"
        arns = arns_by_kind(resources)
        for resource in resources:
            schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource["Type"]).schema
            for handler in HANDLERS:
                # AWS::IAM::Policy has no read handler: CloudFormation reads it through create's Get*Policy.
                for action in schema["handlers"].get(handler, {"permissions": []})["permissions"]:
                    if (resource["Type"], action) in NOT_NEEDED:
                        continue
                    for arn in arns.get(target_kind(action), [f"<no {target_kind(action)} in the stack>"]):
                        if not allows(policy, action, arn):
                            missing.append(f"{resource['Type']} {handler}: {action} on {arn}")
        version = template["Parameters"]["BootstrapVersion"]["Default"]
        if not allows(policy, "ssm:GetParameters", f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter{version}"):
            missing.append(f"ssm:GetParameters on {version}")
    assert not missing, f"{policy.name} lacks:\n" + "\n".join(sorted(set(missing)))


@pytest.mark.parametrize("policy", POLICY_OF.values(), ids=POLICY_OF.keys())
def test_the_execution_policy_is_narrow(policy: Path) -> None:
    for statement in statements(policy):
        assert statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"]):
            assert "*" not in action, action
            service, name = action.split(":")
            assert get_action_data(service, name), f"unknown action {action}"
        for resource in _as_list(statement["Resource"]):
            assert resource.split(":")[5].split("/")[0] in ("role", "group", "policy", "parameter", "oidc-provider")
    # The point of narrowing: no other role, group or policy of the account, and no user.
    for action, arn in [
        ("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/Admin"),
        ("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-{ACCOUNT}-us-east-1"),
        ("iam:AttachGroupPolicy", f"arn:aws:iam::{ACCOUNT}:group/Admins"),
        ("iam:CreatePolicyVersion", f"arn:aws:iam::{ACCOUNT}:policy/AdminPolicy"),
        ("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/mallory"),
    ]:
        assert not allows(policy, action, arn), f"{policy.name} allows {action} on {arn}"
