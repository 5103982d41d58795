"""bootstrap/execution-policy-*.json, for `cdk bootstrap --cloudformation-execution-policies`, let
CloudFormation create, update, read and delete our stacks' resources, by their exact names, and nothing else.

What CloudFormation needs per resource type is the handler permissions of its resource schema (cfn-lint
bundles the schemas); the resources are the committed snapshots of the synthesized stacks, and the deploy
lane's TargetStack (synthesized here until a snapshot has it). The committed files are what
bootstrap/execution_policy.py writes for the default settings with every optional resource of their side;
every other case is checked with the policy the script writes for it, as a user with those settings would.

A change that alters them on purpose rewrites the files in the same commit:
    UPDATE_BOOTSTRAP_POLICIES=1 .venv/bin/python -m pytest tests/test_bootstrap_policies.py -o addopts=""
"""

from __future__ import annotations

import json
import os
import re
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from policy_sentry.querying.actions import get_action_data

from bootstrap.execution_policy import PRINCIPAL_ACCOUNT, TemplateError, execution_policy, render
from harness.node import PROJECT_ROOT
from harness.synth import synth
from tests.test_snapshots import CASES

SNAPSHOTS = PROJECT_ROOT / "tests" / "snapshots"
POLICY_OF = {
    "TargetStack": PROJECT_ROOT / "bootstrap" / "execution-policy-target.json",
    "TrustedStack": PROJECT_ROOT / "bootstrap" / "execution-policy-trusted.json",
}
#: The deploy lane's extra resources (the boundary policy and the service-role policy) need this setting.
LANE = {"service_role_services": '["lambda.amazonaws.com"]'}
#: The settings each committed file is written from: the default app with every optional resource of its side.
COMMITTED_FROM: dict[str, dict[str, Any]] = {"TargetStack": LANE, "TrustedStack": CASES["ci"]}
ACCOUNT = "222222222222"
HANDLERS = ("create", "read", "update", "delete")
#: Handler permissions left out on purpose: (resource type, action) -> why.
NOT_NEEDED = {
    **{
        ("AWS::IAM::Policy", action): "the app's inline policies (the tamper guard) attach to roles and groups only"
        for action in ("iam:PutUserPolicy", "iam:GetUserPolicy", "iam:DeleteUserPolicy")
    },
    ("AWS::S3::Bucket", "iam:PassRole"): "no replication or inventory role: passing a role is how a stack escalates",
    ("AWS::S3::Bucket", "s3:PutObjectAcl"): "object ACLs are off (BucketOwnerEnforced) and the stack writes no object",
    ("AWS::S3::Bucket", "s3:DeleteObject"): "the staged objects are the lane's templates: not the stack's to delete",
}
#: Actions of a service other than the resource's own that a handler lists for features the app does not use.
NOT_NEEDED_SERVICES = {"s3tables": "no S3 metadata table configuration (it writes into S3 Tables buckets)"}
COMMAND = "the templates changed: rerun with UPDATE_BOOTSTRAP_POLICIES=1 (and review the diff)"


# --- what a policy allows: Allow statements, resource wildcards, StringEquals conditions -------------


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(s) for s in policy["Statement"]]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _in_account(text: str, account: str) -> str:
    return text.replace(PRINCIPAL_ACCOUNT, account)


def _condition_holds(condition: dict[str, Any], context: dict[str, str], account: str) -> bool:
    for operator, block in condition.items():
        assert operator == "StringEquals", f"{operator}: the files compare exact values only"
        for key, values in block.items():
            if key not in context or context[key] not in [_in_account(v, account) for v in _as_list(values)]:
                return False
    return True


def allows(
    policy: dict[str, Any], action: str, arn: str, context: dict[str, str] | None = None, account: str = ACCOUNT
) -> bool:
    """Whether ``policy``, as the policy of an execution role in ``account``, allows the request."""
    return any(
        s["Effect"] == "Allow"
        and action.lower() in {a.lower() for a in _as_list(s["Action"])}
        and any(fnmatchcase(arn, _in_account(pattern, account)) for pattern in _as_list(s["Resource"]))
        and _condition_holds(s.get("Condition", {}), context or {}, account)
        for s in statements(policy)
    )


# --- what each handler permission acts on ---------------------------------------------------------------------


def iam_arn(kind: str, props: dict[str, Any], name_key: str, account: str) -> str:
    return f"arn:aws:iam::{account}:{kind}{props.get('Path', '/')}{props[name_key]}"


def policy_arn(value: Any, resources: dict[str, Any], account: str) -> str:
    """A ManagedPolicyArns entry: an ARN, or a Ref to a managed policy of the template."""
    if isinstance(value, str):
        return value
    return iam_arn("policy", resources[value["Ref"]]["Properties"], "ManagedPolicyName", account)


Request = tuple[str, dict[str, str]]


def entity_requests(resources: dict[str, Any], account: str) -> dict[str, list[Request]]:
    """(ARN, request context) of every IAM entity and bucket, by the kind an action names ("role", "bucket"...).

    An attachment is a request per managed policy (``iam:PolicyARN``), a boundary one with ``iam:PermissionsBoundary``.
    """
    found: dict[str, list[Request]] = {}
    for resource in resources.values():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind in ("AWS::IAM::Role", "AWS::IAM::Group"):
            entity = "role" if kind == "AWS::IAM::Role" else "group"
            arn = iam_arn(entity, props, "RoleName" if entity == "role" else "GroupName", account)
            found.setdefault(entity, []).append((arn, {}))
            for attached in props.get("ManagedPolicyArns", []):
                found.setdefault(f"{entity}-attachment", []).append(
                    (arn, {"iam:PolicyARN": policy_arn(attached, resources, account)})
                )
            if "PermissionsBoundary" in props:
                found.setdefault("role-boundary", []).append(
                    (arn, {"iam:PermissionsBoundary": props["PermissionsBoundary"]})
                )
        elif kind == "AWS::IAM::ManagedPolicy":
            found.setdefault("policy", []).append((iam_arn("policy", props, "ManagedPolicyName", account), {}))
        elif kind == "AWS::IAM::OIDCProvider":
            host = props["Url"].removeprefix("https://")
            found.setdefault("oidc-provider", []).append((f"arn:aws:iam::{account}:oidc-provider/{host}", {}))
        elif kind == "AWS::S3::Bucket":
            found.setdefault("bucket", []).append((f"arn:aws:s3:::{props['BucketName']}", {}))
    return found


def target_kind(resource_type: str, action: str) -> str:
    """What an action acts on: iam:AttachGroupPolicy on a group's attachments, iam:CreatePolicy on a policy."""
    service, name = action.split(":", 1)
    if service == "s3":
        return "bucket"
    if "OpenIDConnectProvider" in name:
        return "oidc-provider"
    entity = next((kind.lower() for kind in ("Role", "Group", "User") if kind in name), "policy")
    if name.startswith(("Attach", "Detach")):
        # A managed policy's own handlers attach it to what its Roles/Groups/Users name (the app names none).
        return "nothing" if resource_type == "AWS::IAM::ManagedPolicy" else f"{entity}-attachment"
    return "role-boundary" if name == "PutRolePermissionsBoundary" else entity


def handler_permissions(resource_type: str) -> set[str]:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    # AWS::IAM::Policy has no read handler: CloudFormation reads it through create's Get*Policy.
    return {a for h in HANDLERS for a in schema["handlers"].get(h, {"permissions": []})["permissions"]}


def needed(resource_type: str, action: str) -> bool:
    if (resource_type, action) in NOT_NEEDED or action.split(":")[0] in NOT_NEEDED_SERVICES:
        return False
    # An API name that is no IAM action (s3:DeleteBucketCors): IAM authorizes it as another action (PutBucketCORS).
    return bool(get_action_data(*action.split(":", 1)))


def missing_permissions(policy: dict[str, Any], template: dict[str, Any], account: str) -> list[str]:
    resources = {k: v for k, v in template["Resources"].items() if v["Type"] != "AWS::CDK::Metadata"}
    requests = entity_requests(resources, account)
    missing = []
    for resource in resources.values():
        kind = resource["Type"]
        for action in sorted(a for a in handler_permissions(kind) if needed(kind, a)):
            for arn, context in requests.get(target_kind(kind, action), []):
                if not allows(policy, action, arn, context, account):
                    missing.append(f"{kind}: {action} on {arn} {context or ''}")
    version = template["Parameters"]["BootstrapVersion"]["Default"]
    if not allows(policy, "ssm:GetParameters", f"arn:aws:ssm:us-east-1:{account}:parameter{version}", {}, account):
        missing.append(f"ssm:GetParameters on {version}")
    return missing


# --- the cases: every snapshot, and the lane's TargetStack --------------------------------------------------


#: The account each stack deploys into with the default settings; TargetStack-<account> names its own.
ACCOUNT_OF = {"TargetStack": ACCOUNT, "TrustedStack": "111111111111"}


def snapshot_templates(case: str, stack: str) -> list[tuple[str, dict[str, Any]]]:
    """(account, template) of each snapshot of ``stack`` in ``case``."""
    files = [SNAPSHOTS / case / f"{stack}.json", *sorted((SNAPSHOTS / case).glob(f"{stack}-*.json"))]
    return [
        (f.stem.rpartition("-")[2] if "-" in f.stem else ACCOUNT_OF[stack], json.loads(f.read_text()))
        for f in files
        if f.exists()
    ]


def case_templates(case: str, stack: str) -> list[tuple[str, dict[str, Any]]]:
    if case == "lane":
        return [(ACCOUNT_OF[stack], synth(LANE).template(stack))]
    return snapshot_templates(case, stack)


def cases() -> list[tuple[str, str]]:
    return [
        (case, stack)
        for case in [*sorted(p.name for p in SNAPSHOTS.iterdir()), "lane"]
        for stack in POLICY_OF
        if case == "lane" or snapshot_templates(case, stack)
    ]


def committed(stack: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(POLICY_OF[stack].read_text())
    return document


@pytest.mark.parametrize("stack", POLICY_OF)
def test_the_committed_policy_is_what_the_script_writes(stack: str) -> None:
    written = render(execution_policy([synth(COMMITTED_FROM[stack]).template(stack)]))
    if os.environ.get("UPDATE_BOOTSTRAP_POLICIES") == "1":
        POLICY_OF[stack].write_text(written)
    assert POLICY_OF[stack].read_text() == written, f"{POLICY_OF[stack].name}: {COMMAND}"


@pytest.mark.parametrize(("case", "stack"), cases())
def test_the_execution_policy_covers_every_handler_permission(case: str, stack: str) -> None:
    templates = case_templates(case, stack)
    assert any(r["Type"].startswith("AWS::IAM::") for _, t in templates for r in t["Resources"].values()), (
        f"{case}/{stack} has no IAM resource: the snapshots changed shape"
    )
    policy = execution_policy(t for _, t in templates)
    missing = [m for account, template in templates for m in missing_permissions(policy, template, account)]
    assert not missing, f"the policy written for {case}/{stack} lacks:\n" + "\n".join(sorted(set(missing)))
    if case in ("default", "ci", "lane"):
        missing = [m for account, t in templates for m in missing_permissions(committed(stack), t, account)]
        assert not missing, f"{POLICY_OF[stack].name} lacks, for {case}:\n" + "\n".join(sorted(set(missing)))


def test_the_policy_of_the_everything_case_attaches_and_bounds_only_what_it_names() -> None:
    """Tiers with a managed policy and a boundary: the attachment and boundary statements carry their condition."""
    policy = execution_policy(t for _, t in snapshot_templates("everything", "TargetStack"))
    role = f"arn:aws:iam::{ACCOUNT}:role/cross/CrossAccountAccessRole-Deploy"
    read_only = {"iam:PolicyARN": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
    admin = {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}
    assert allows(policy, "iam:AttachRolePolicy", role, read_only)
    assert not allows(policy, "iam:AttachRolePolicy", role, admin)
    assert not allows(policy, "iam:AttachRolePolicy", role)
    boundary = {"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/Boundary"}
    assert allows(policy, "iam:PutRolePermissionsBoundary", role, boundary)
    assert not allows(policy, "iam:PutRolePermissionsBoundary", role, {"iam:PermissionsBoundary": "x"})


#: An IAM ARN's name part (after role/, policy/, group/, oidc-provider/), a bucket's name, a parameter's path.
_NAME_PART = re.compile(r"^arn:aws:(?:iam::[^:]*:[a-z-]+/|s3:::|ssm:[^:]*:[^:]*:parameter/)(?P<name>.*)$")


def wildcard_names(policy: dict[str, Any]) -> list[str]:
    """Every Resource or condition ARN of ``policy`` with a wildcard in its name, or of an unknown shape."""
    found = []
    for statement in statements(policy):
        values = _as_list(statement["Resource"])
        values += [
            v for block in statement.get("Condition", {}).values() for vs in block.values() for v in _as_list(vs)
        ]
        for value in values:
            match = _NAME_PART.match(value.replace(PRINCIPAL_ACCOUNT, ""))
            if match is None or re.search(r"[*?]", match["name"]):
                found.append(value)
    return found


def policies_to_check() -> list[tuple[str, dict[str, Any]]]:
    committed_files = [(path.name, committed(stack)) for stack, path in POLICY_OF.items()]
    return committed_files + [
        (f"{case}-{stack}", execution_policy(t for _, t in case_templates(case, stack))) for case, stack in cases()
    ]


def test_no_resource_names_a_wildcard() -> None:
    checked = policies_to_check()
    assert len(checked) > len(POLICY_OF)
    for name, policy in checked:
        assert not wildcard_names(policy), f"{name}: {wildcard_names(policy)}"


def test_the_wildcard_check_can_fail() -> None:
    """The old policy's pattern, a bucket pattern and an attached-policy pattern are each caught."""
    old = {"Statement": [{"Resource": "arn:aws:iam::*:role/*CrossAccountAccessRole*"}]}
    bucket = {"Statement": [{"Resource": f"arn:aws:s3:::cross-account-deploys-{PRINCIPAL_ACCOUNT}-*"}]}
    attached = {
        "Statement": [
            {
                "Resource": "arn:aws:iam::*:role/R",
                "Condition": {"ArnEquals": {"iam:PolicyARN": "arn:aws:iam::aws:policy/*"}},
            }
        ]
    }
    assert all(wildcard_names(policy) for policy in (old, bucket, attached))
    assert not wildcard_names({"Statement": [{"Resource": "arn:aws:iam::*:role/path/R"}]})


@pytest.mark.parametrize("stack", POLICY_OF)
def test_the_execution_policy_is_narrow(stack: str) -> None:
    policy = committed(stack)
    for statement in statements(policy):
        assert statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"]):
            assert "*" not in action, action
            service, name = action.split(":")
            assert get_action_data(service, name), f"unknown action {action}"
    # The point of narrowing: no other role, group, policy or bucket of the account, and no user.
    admin = {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}
    for action, arn, context in [
        ("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/PwnCrossAccountAccessRole", {}),
        ("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/Admin", {}),
        ("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/team/CrossAccountAccessRole", {}),
        ("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/cdk-xacctb-cfn-exec-role-{ACCOUNT}-us-east-1", {}),
        ("iam:AttachRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/CrossAccountAccessRole", admin),
        ("iam:AttachGroupPolicy", f"arn:aws:iam::{ACCOUNT}:group/CrossAccountAssumers", admin),
        ("iam:AttachGroupPolicy", f"arn:aws:iam::{ACCOUNT}:group/Admins", {}),
        ("iam:CreatePolicyVersion", f"arn:aws:iam::{ACCOUNT}:policy/AdminPolicy", {}),
        ("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/mallory", {}),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/CrossAccountAccessRole", {}),
        ("s3:PutBucketPolicy", "arn:aws:s3:::my-service-artifacts", {}),
        ("s3:PutObject", f"arn:aws:s3:::cross-account-deploys-{ACCOUNT}-us-east-1/CrossAccountAccessRole/t.json", {}),
    ]:
        assert not allows(policy, action, arn, context), f"{POLICY_OF[stack].name} allows {action} on {arn}"


@pytest.mark.parametrize(
    ("resource", "why"),
    [
        ({"Type": "AWS::Lambda::Function", "Properties": {}}, "not covered"),
        ({"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}, "not a literal name"),
        ({"Type": "AWS::IAM::Role", "Properties": {"RoleName": {"Fn::Join": ["", ["a", "b"]]}}}, "not a literal name"),
        ({"Type": "AWS::IAM::ManagedPolicy", "Properties": {"ManagedPolicyName": "P", "Roles": []}}, "attach it from"),
    ],
)
def test_the_script_refuses_what_it_cannot_name(resource: dict[str, Any], why: str) -> None:
    with pytest.raises(TemplateError, match=why):
        execution_policy([{"Resources": {"Thing": resource}}])


def test_the_script_prints_the_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bootstrap.execution_policy import main

    template = tmp_path / "TargetStack.template.json"
    template.write_text(json.dumps(synth(LANE).template("TargetStack")))
    assert main([str(template)]) == 0
    assert capsys.readouterr().out == POLICY_OF["TargetStack"].read_text()
    assert main([str(tmp_path / "missing.json")]) == 1


def test_the_bootstrap_qualifier_comes_from_the_context() -> None:
    """`-c @aws-cdk/core:bootstrapQualifier=xacctb`, or the same key in cdk.json: every stack of the app deploys
    with that bootstrap's roles, and the policy written for it reads that bootstrap's version parameter."""
    app = synth({"@aws-cdk/core:bootstrapQualifier": "xacctb"})
    manifest = json.loads((app.outdir / "manifest.json").read_text())["artifacts"]
    for stack, account in ACCOUNT_OF.items():
        properties = manifest[stack]["properties"]
        assert properties["cloudFormationExecutionRoleArn"].endswith(
            f":role/cdk-xacctb-cfn-exec-role-{account}-us-east-1"
        )
        assert properties["assumeRoleArn"].endswith(f":role/cdk-xacctb-deploy-role-{account}-us-east-1")
        (parameter,) = _statement_of(execution_policy([app.template(stack)]), "CdkBootstrapVersion")["Resource"]
        assert parameter == "arn:aws:ssm:*:*:parameter/cdk-bootstrap/xacctb/version"


def _statement_of(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    (statement,) = [s for s in statements(policy) if s["Sid"] == sid]
    return statement
