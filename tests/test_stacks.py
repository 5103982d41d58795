"""The stacks: IDs, environments, outputs, cdk-nag and cfn-lint on the synthesized templates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from harness.synth import synth


def outputs(stack_id: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = synth(overrides).template(stack_id)["Outputs"]
    return result


def role_logical_id(overrides: dict[str, Any] | None = None) -> str:
    resources = synth(overrides).template("TargetStack")["Resources"]
    (logical_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
    return logical_id


def test_stack_ids_and_environments() -> None:
    app = synth()
    manifest = json.loads((app.outdir / "manifest.json").read_text())
    environments = {k: v["environment"] for k, v in manifest["artifacts"].items() if "environment" in v}
    assert environments == {
        "TargetStack": "aws://222222222222/us-east-1",
        "TrustedStack": "aws://111111111111/us-east-1",
    }


def test_target_outputs() -> None:
    role_arn = {"Fn::GetAtt": [role_logical_id(), "Arn"]}
    out = outputs("TargetStack")
    # The default trust requires an external ID, which the console's switch-role cannot send: no link.
    assert sorted(out) == ["AssumeRoleCommand", "ExternalId", "RoleArn", "StagingBucket"]
    assert out["RoleArn"]["Value"] == role_arn
    assert out["ExternalId"]["Value"] == "12345678TESTID"
    assert out["AssumeRoleCommand"]["Value"] == {
        "Fn::Join": [
            "",
            [
                "aws sts assume-role --role-arn ",
                role_arn,
                " --role-session-name $USER --external-id 12345678TESTID",
            ],
        ]
    }


def test_switch_role_url_only_where_the_console_can_switch() -> None:
    # Issue 18: the console's switch-role sends neither an external ID nor a source identity.
    out = outputs("TargetStack", {"external_ids": "[]"})
    assert out["SwitchRoleUrl"]["Value"] == (
        "https://signin.aws.amazon.com/switchrole?roleName=CrossAccountAccessRole"
        "&account=222222222222&displayName=CrossAccountAccessRole"
    )
    assert "SwitchRoleUrl" in outputs("TargetStack", {"external_ids": "[]", "require_mfa": "true"})
    assert "SwitchRoleUrl" not in outputs("TargetStack", {"external_ids": "[]", "require_source_identity": "true"})
    assert "SwitchRoleUrl" not in outputs("TargetStack", {"external_ids": '["a-1234567890", "b-1234567890"]'})


def test_target_outputs_follow_the_options() -> None:
    overrides = {"external_ids": "[]", "require_mfa": "true", "require_source_identity": "true", "role_path": "/ops/"}
    out = outputs("TargetStack", overrides)
    assert out["ExternalId"]["Value"] == "none"
    command = "".join(p if isinstance(p, str) else "<arn>" for p in out["AssumeRoleCommand"]["Value"]["Fn::Join"][1])
    assert command == (
        "aws sts assume-role --role-arn <arn> --role-session-name $USER"
        " --serial-number <your-mfa-device-arn> --token-code <6-digit-code> --source-identity $USER"
    )
    assert "SwitchRoleUrl" not in out  # the source identity: the console cannot send one
    assert (
        "roleName=ops%2FCrossAccountAccessRole"
        in outputs("TargetStack", {**overrides, "require_source_identity": "false"})["SwitchRoleUrl"]["Value"]
    )


def test_no_switch_role_url_beyond_the_consoles_limit() -> None:
    out = outputs("TargetStack", {"role_path": "/" + "p" * 50 + "/", "external_ids": "[]"})
    assert "SwitchRoleUrl" not in out
    assert "RoleArn" in out


def test_trusted_outputs() -> None:
    out = outputs("TrustedStack")
    assert sorted(out) == ["GroupName", "ManagedPolicyArn", "TargetRoleArn"]
    resources = synth().template("TrustedStack")["Resources"]
    group_id = next(k for k, r in resources.items() if r["Type"] == "AWS::IAM::Group")
    policy_id = next(k for k, r in resources.items() if r["Type"] == "AWS::IAM::ManagedPolicy")
    assert out["GroupName"]["Value"] == {"Ref": group_id}
    assert out["ManagedPolicyArn"]["Value"] == {"Ref": policy_id}
    assert out["TargetRoleArn"]["Value"] == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::222222222222:role/CrossAccountAccessRole"]]
    }


def test_assertions_library_agrees() -> None:
    # The same facts through aws_cdk.assertions, as CDK users write them.
    target = Template.from_json(synth().template("TargetStack"))
    target.resource_count_is("AWS::IAM::Role", 1)
    target.has_resource_properties(
        "AWS::IAM::Role",
        {"RoleName": "CrossAccountAccessRole", "MaxSessionDuration": 3600},
    )
    trusted = Template.from_json(synth().template("TrustedStack"))
    trusted.resource_count_is("AWS::IAM::Group", 1)
    trusted.resource_count_is("AWS::IAM::ManagedPolicy", 1)
    trusted.resource_count_is("AWS::IAM::Policy", 0)
    trusted.resource_count_is("AWS::IAM::User", 0)


NAG_VARIANTS = [
    {},
    {"allowed_actions": '["s3:Get*", "ec2:Describe*"]', "allowed_resources": '["arn:aws:s3:::bucket/*"]'},
    {"managed_policy_arns": '["arn:aws:iam::aws:policy/ReadOnlyAccess"]', "allowed_actions": "[]"},
    {"require_mfa": "true", "require_source_identity": "true", "principal_org_id": "o-abcdefghij"},
    {"cloudformation_stack_names": '["my-service-*", "shared"]'},
    {"cloudformation_stack_names": '["my-service"]', "allowed_resources": '["arn:aws:s3:::bucket/*"]'},
    {"github_oidc": '{"repositories": [{"repository": "octo/app", "branches": ["main"]}]}'},
]


@pytest.mark.parametrize(
    "overrides", NAG_VARIANTS, ids=["default", "wildcards", "aws-managed", "guards", "stacks", "stacks-only", "ci"]
)
def test_cdk_nag_passes_with_acknowledged_findings_only(overrides: dict[str, Any]) -> None:
    app = synth(overrides, nag=True)
    report = json.loads((app.outdir / "validation-report.json").read_text())
    # cdk-nag's report has a summary; our own warnings come as "Construct Annotations" (a success).
    assert all(r.get("summary", {}).get("status", r.get("conclusion")) == "success" for r in report["pluginReports"])


def test_several_target_accounts_get_predictable_stack_ids() -> None:
    accounts = ["222222222222", "333333333333", "044444444444"]
    app = synth({"target_account_ids": json.dumps(accounts)})
    assert set(app.templates) == {f"TargetStack-{a}" for a in accounts} | {"TrustedStack"}
    manifest = json.loads((app.outdir / "manifest.json").read_text())
    for account in accounts:
        assert manifest["artifacts"][f"TargetStack-{account}"]["environment"] == f"aws://{account}/us-east-1"


def test_tiers_give_each_role_its_outputs_and_group() -> None:
    overrides = {"roles": '{"ReadOnly": {"allowed_actions": ["s3:Get*"]}, "Deploy": {"require_mfa": true}}'}
    target = synth(overrides).template("TargetStack")
    roles = {r["Properties"]["RoleName"] for r in target["Resources"].values() if r["Type"] == "AWS::IAM::Role"}
    assert roles == {"CrossAccountAccessRole-ReadOnly", "CrossAccountAccessRole-Deploy"}
    assert sorted(target["Outputs"]) == sorted(
        [
            "StagingBucket",
            *(
                f"{tier}{name}"
                for tier in ("ReadOnly", "Deploy")
                for name in ("RoleArn", "ExternalId", "AssumeRoleCommand")
            ),
        ]
    )
    trusted = synth(overrides).template("TrustedStack")
    groups = {r["Properties"]["GroupName"] for r in trusted["Resources"].values() if r["Type"] == "AWS::IAM::Group"}
    assert groups == {"CrossAccountAssumers-ReadOnly", "CrossAccountAssumers-Deploy"}
    assert sorted(trusted["Outputs"]) == sorted(
        f"{tier}{name}"
        for tier in ("ReadOnly", "Deploy")
        for name in ("GroupName", "ManagedPolicyArn", "TargetRoleArn")
    )


def test_cfn_lint_passes_on_the_synthesized_templates(tmp_path: Path) -> None:
    # One cfn-lint run (about 1 s to start) over the default app, and the scale-out app with the
    # StackSet's own template body.
    default = synth()
    scaled = synth(
        {
            "organization_id": "o-abcdefghij",
            "target_organizational_unit_ids": '["ou-ab12-abcdefgh"]',
            "roles": '{"ReadOnly": {"allowed_actions": ["s3:Get*"]}, "Deploy": {}}',
            "target_account_ids": '["222222222222", "333333333333"]',
        }
    )
    templates = [*default.outdir.glob("*.template.json"), *scaled.outdir.glob("*.template.json")]
    assert len(templates) == 2 + 4
    body = scaled.template("TargetStackSet")["Resources"]["StackSet"]["Properties"]["TemplateBody"]
    (tmp_path / "stackset-body.json").write_text(body)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), *map(str, templates), str(tmp_path / "stackset-body.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
