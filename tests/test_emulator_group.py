"""The AWS::IAM::Group provisioner, through MiniStack's real CloudFormation API: create, update, replace, delete."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, WaiterError

from harness.emulator.fixtures import start_emulator
from harness.emulator.server import EMULATOR_PYTHON, Emulator

pytestmark = pytest.mark.skipif(
    not EMULATOR_PYTHON.exists(), reason="no emulator venv: run `make test` (it creates .venv-emulator)"
)
ACCOUNT = "111111111111"
DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}


@pytest.fixture(scope="module")
def emulator(request: pytest.FixtureRequest) -> Emulator:
    return start_emulator(request, "group")


@pytest.fixture(scope="module")
def aws(emulator: Emulator) -> Any:
    session = boto3.session.Session(aws_access_key_id=ACCOUNT, aws_secret_access_key="test", region_name="us-east-1")
    return lambda service: session.client(service, endpoint_url=emulator.endpoint)


def template(group: dict[str, Any], *, extra: dict[str, Any] | None = None) -> str:
    resources = {"Group": {"Type": "AWS::IAM::Group", "Properties": group}, **(extra or {})}
    outputs = {"Name": {"Value": {"Ref": "Group"}}, "Arn": {"Value": {"Fn::GetAtt": ["Group", "Arn"]}}}
    return json.dumps({"Resources": resources, "Outputs": outputs})


def apply(aws: Any, stack: str, body: str, *, update: bool = False) -> dict[str, str]:
    cfn = aws("cloudformation")
    call = cfn.update_stack if update else cfn.create_stack
    call(StackName=stack, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"])
    waiter = cfn.get_waiter("stack_update_complete" if update else "stack_create_complete")
    waiter.wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    return {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}


def delete(aws: Any, stack: str) -> str:
    cfn = aws("cloudformation")
    cfn.delete_stack(StackName=stack)
    try:
        cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    except WaiterError:  # the failed delete is the result under test
        return str(cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"])
    return "DELETE_COMPLETE"


def group_state(aws: Any, name: str) -> dict[str, Any]:
    iam = aws("iam")
    group = iam.get_group(GroupName=name)
    return {
        "arn": group["Group"]["Arn"],
        "path": group["Group"]["Path"],
        "users": [u["UserName"] for u in group["Users"]],
        "inline": sorted(iam.list_group_policies(GroupName=name)["PolicyNames"]),
        "managed": sorted(p["PolicyArn"] for p in iam.list_attached_group_policies(GroupName=name)["AttachedPolicies"]),
    }


def test_create_update_and_delete_with_inline_and_managed_policies(aws: Any) -> None:
    iam = aws("iam")
    managed = iam.create_policy(PolicyName="ListBuckets", PolicyDocument=json.dumps(DOC))["Policy"]["Arn"]
    out = apply(
        aws,
        "group-life",
        template(
            {"Path": "/team/", "ManagedPolicyArns": [managed], "Policies": [{"PolicyName": "a", "PolicyDocument": DOC}]}
        ),
    )
    name = out["Name"]
    assert name.startswith("group-life-Group-")  # a generated name, as CloudFormation gives
    assert out["Arn"] == f"arn:aws:iam::{ACCOUNT}:group/team/{name}"
    assert group_state(aws, name) == {
        "arn": out["Arn"],
        "path": "/team/",
        "users": [],
        "inline": ["a"],
        "managed": [managed],
    }

    # In place: a new path, one inline policy swapped for another, the managed policy detached.
    iam.put_group_policy(GroupName=name, PolicyName="outside", PolicyDocument=json.dumps(DOC))
    out = apply(
        aws,
        "group-life",
        template({"Path": "/ops/", "Policies": [{"PolicyName": "b", "PolicyDocument": DOC}]}),
        update=True,
    )
    assert out["Name"] == name
    state = group_state(aws, name)
    # A policy put from outside the stack survives the update, as on AWS.
    assert state == {
        "arn": f"arn:aws:iam::{ACCOUNT}:group/ops/{name}",
        "path": "/ops/",
        "users": [],
        "inline": ["b", "outside"],
        "managed": [],
    }
    assert iam.get_policy(PolicyArn=managed)["Policy"]["AttachmentCount"] == 0

    # IAM refuses to delete a group with a policy from outside; CloudFormation reports DELETE_FAILED.
    assert delete(aws, "group-life") == "DELETE_FAILED"
    iam.delete_group_policy(GroupName=name, PolicyName="outside")
    assert delete(aws, "group-life") == "DELETE_COMPLETE"
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.get_group(GroupName=name)


def test_group_name_change_replaces_the_group(aws: Any) -> None:
    out = apply(aws, "group-rename", template({"GroupName": "Before"}))
    assert out == {"Name": "Before", "Arn": f"arn:aws:iam::{ACCOUNT}:group/Before"}
    out = apply(aws, "group-rename", template({"GroupName": "After"}), update=True)
    assert out["Name"] == "After"
    names = {g["GroupName"] for g in aws("iam").list_groups()["Groups"]}
    assert "After" in names and "Before" not in names
    assert delete(aws, "group-rename") == "DELETE_COMPLETE"


def test_members_block_delete_like_iam(aws: Any) -> None:
    iam = aws("iam")
    apply(aws, "group-members", template({"GroupName": "WithMember"}))
    iam.create_user(UserName="member")
    iam.add_user_to_group(GroupName="WithMember", UserName="member")
    assert delete(aws, "group-members") == "DELETE_FAILED"
    events = aws("cloudformation").describe_stack_events(StackName="group-members")["StackEvents"]
    assert any("must remove users from group first" in e.get("ResourceStatusReason", "") for e in events)
    iam.remove_user_from_group(GroupName="WithMember", UserName="member")
    assert delete(aws, "group-members") == "DELETE_COMPLETE"


def test_managed_policy_resource_attaches_to_the_group_and_ref_works(aws: Any) -> None:
    """The CDK shape: an AWS::IAM::ManagedPolicy whose ARN the group lists in ManagedPolicyArns."""
    policy = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": DOC}}
    out = apply(aws, "group-cdk-shape", template({"ManagedPolicyArns": [{"Ref": "Policy"}]}, extra={"Policy": policy}))
    (attached,) = group_state(aws, out["Name"])["managed"]
    assert attached.startswith(f"arn:aws:iam::{ACCOUNT}:policy/")
    assert delete(aws, "group-cdk-shape") == "DELETE_COMPLETE"


def test_invalid_path_fails_the_resource(aws: Any) -> None:
    cfn = aws("cloudformation")
    cfn.create_stack(
        StackName="group-bad", TemplateBody=template({"Path": "no-slashes"}), Capabilities=["CAPABILITY_IAM"]
    )
    with pytest.raises(WaiterError):
        cfn.get_waiter("stack_create_complete").wait(
            StackName="group-bad", WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
    events = cfn.describe_stack_events(StackName="group-bad")["StackEvents"]
    assert any("must be '/' or start and end with '/'" in e.get("ResourceStatusReason", "") for e in events)
