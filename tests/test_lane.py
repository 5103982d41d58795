"""The deploy lane's parts: the synthesizer a service app uses, TargetStack's staging bucket, and the settings.

What IAM decides about the lane is in tests/test_simulate_lane.py; the emulator flow deploys through it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

from cross_account.declaration import SettingsError
from cross_account.settings import Settings
from cross_account.synthesizer import ROLE_ARN_VARIABLE, DeployLaneSynthesizer
from harness.simulate import Request, Scenario, StackEnv, load_synthesized, resolve_intrinsics, run_scenarios
from harness.synth import cdk_json_context, synth
from tests.cdk_support import messages

ACCOUNT_B = "222222222222"
ENV = Environment(account=ACCOUNT_B, region="us-east-1")
LANE_TAG = "cross-account:deploy-lane"
BUCKET = f"cross-account-deploys-{ACCOUNT_B}-us-east-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_B}:role/CrossAccountAccessRole"


def service_stack(tmp_path: Path, build: Any = None, **synthesizer: Any) -> tuple[Stack, dict[str, Any]]:
    """A service app's stack with the lane's synthesizer, synthesized; (stack, its manifest artifact)."""
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "MyService", env=ENV, synthesizer=DeployLaneSynthesizer(**synthesizer))
    sqs.Queue(stack, "Queue")
    if build:
        build(stack)
    app.synth()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    return stack, manifest["artifacts"]["MyService"]


def errors(stack: Stack) -> list[str]:
    return messages(stack, "error")


@pytest.fixture(autouse=True)
def _no_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ROLE_ARN_VARIABLE, raising=False)


def test_the_stack_carries_the_lane_tag_and_stages_in_the_lanes_prefix(tmp_path: Path) -> None:
    stack, artifact = service_stack(tmp_path)
    assert artifact["properties"]["tags"] == {LANE_TAG: "CrossAccountAccessRole"}
    assert "assumeRoleArn" not in artifact["properties"]
    assert artifact["properties"]["stackTemplateAssetObjectUrl"].startswith(f"s3://{BUCKET}/CrossAccountAccessRole/")
    template = json.loads((tmp_path / "MyService.template.json").read_text())
    # No BootstrapVersion parameter for CloudFormation to resolve with the caller's (missing) SSM access.
    assert "Parameters" not in template and "Rules" not in template
    assert errors(stack) == []


def test_file_assets_go_to_the_staging_bucket_and_roles_get_the_lanes_path_and_boundary(tmp_path: Path) -> None:
    def build(stack: Stack) -> None:
        lambda_.Function(
            stack,
            "Fn",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(Path(__file__).parent / "snapshots")),
        )

    _, _ = service_stack(tmp_path, build)
    resources = json.loads((tmp_path / "MyService.template.json").read_text())["Resources"]
    (function,) = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert function["Properties"]["Code"]["S3Bucket"] == BUCKET
    assert function["Properties"]["Code"]["S3Key"].startswith("CrossAccountAccessRole/")
    (role,) = [r for r in resources.values() if r["Type"] == "AWS::IAM::Role"]
    assert role["Properties"]["Path"] == "/cross-account-lane/CrossAccountAccessRole/"
    boundary = "".join(
        p if isinstance(p, str) else "<>" for p in role["Properties"]["PermissionsBoundary"]["Fn::Join"][1]
    )
    assert boundary.endswith(
        ":policy/cross-account-lane/CrossAccountAccessRole/CrossAccountAccessRole-ServiceRoleBoundary"
    )


def test_a_role_elsewhere_is_one_error_at_synth(tmp_path: Path) -> None:
    def build(stack: Stack) -> None:
        iam.Role(stack, "Elsewhere", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), path="/ops/")

    stack, _ = service_stack(tmp_path, build)
    (error,) = errors(stack)
    assert "path is /ops/" in error and "/cross-account-lane/CrossAccountAccessRole/" in error


def test_the_lane_follows_the_session_that_cross_account_exec_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ROLE_ARN_VARIABLE, f"arn:aws:iam::{ACCOUNT_B}:role/CrossAccountAccessRole-Deploy")
    stack, artifact = service_stack(tmp_path)
    assert artifact["properties"]["tags"] == {LANE_TAG: "CrossAccountAccessRole-Deploy"}
    assert "/CrossAccountAccessRole-Deploy/" in artifact["properties"]["stackTemplateAssetObjectUrl"]
    assert errors(stack) == []


def test_a_session_of_another_account_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ROLE_ARN_VARIABLE, "arn:aws:iam::333333333333:role/CrossAccountAccessRole")
    stack, _ = service_stack(tmp_path)
    (error,) = errors(stack)
    assert "for account 222222222222" in error and "of account 333333333333" in error
    assert "\n" not in error


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ({ROLE_ARN_VARIABLE: "not-an-arn"}, "CROSS_ACCOUNT_ROLE_ARN"),
        ({}, "role_name"),
    ],
)
def test_a_bad_lane_is_one_error_naming_where_it_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setup: dict[str, str], expected: str
) -> None:
    for key, value in setup.items():
        monkeypatch.setenv(key, value)
    stack, _ = service_stack(tmp_path, role_name=None if setup else "bad name")
    (error,) = errors(stack)
    assert error.startswith("DeployLaneSynthesizer: invalid setting") and expected in error


def test_container_images_are_refused_at_synth(tmp_path: Path) -> None:
    (tmp_path / "image").mkdir()
    (tmp_path / "image" / "Dockerfile").write_text("FROM scratch\n")

    def build(stack: Stack) -> None:
        ecr_assets.DockerImageAsset(stack, "Image", directory=str(tmp_path / "image"))

    stack, _ = service_stack(tmp_path / "out", build)
    (error,) = errors(stack)
    assert "container image assets are not supported" in error


# --- TargetStack's staging bucket ----------------------------------------------------------------


def staging_resources(overrides: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    resources = synth(overrides).template("TargetStack")["Resources"]
    (bucket,) = [r for r in resources.values() if r["Type"] == "AWS::S3::Bucket"]
    (policy,) = [r for r in resources.values() if r["Type"] == "AWS::S3::BucketPolicy"]
    return bucket, policy["Properties"]["PolicyDocument"]


def test_the_staging_bucket_is_private_encrypted_tls_only_and_expires_objects() -> None:
    bucket, policy = staging_resources()
    properties = bucket["Properties"]
    assert properties["BucketName"] == BUCKET
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 30 and rule["Status"] == "Enabled"
    assert bucket["DeletionPolicy"] == "Retain"
    tls = [s for s in policy["Statement"] if s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")]
    assert tls and all(s["Effect"] == "Deny" for s in tls)


def bucket_request(overrides: dict[str, Any] | None, role: str, key: str, action: str = "s3:PutObject") -> Request:
    """alice's ``action`` on an object of the staging bucket as a session of ``role``, with the bucket's policy."""
    access = load_synthesized(synth(overrides)).role(role)
    resolved = model_bucket_policy(overrides)
    return Request(
        principal=access.session_arn("alice"),
        action=action,
        resource=f"arn:aws:s3:::{BUCKET}/{key}",
        identity_policies=access.policies,
        resource_policy=resolved,
        context={"aws:PrincipalArn": access.arn, "aws:SecureTransport": "true", "aws:ResourceAccount": ACCOUNT_B},
        resource_account=ACCOUNT_B,
        label=key,
    )


def model_bucket_policy(overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The staging bucket's policy with its intrinsics resolved as IAM would see them."""
    app = synth(overrides)
    template = app.template("TargetStack")
    (policy,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::S3::BucketPolicy"]
    (bucket_id,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::S3::Bucket"]
    # The bridge resolves principals' ARNs only; the bucket's is known from its name.
    text = json.dumps(policy).replace(
        json.dumps({"Fn::GetAtt": [bucket_id, "Arn"]}), json.dumps(f"arn:aws:s3:::{BUCKET}")
    )
    policy = json.loads(text)
    env = StackEnv(stack_name="TargetStack", account=ACCOUNT_B, region="us-east-1", partition="aws")
    document: dict[str, Any] = resolve_intrinsics(
        policy["Properties"]["PolicyDocument"], env=env, where="bucket policy", resources=template["Resources"]
    )
    return document


TIERS = {"roles": json.dumps({"ReadOnly": {"allowed_actions": ["s3:*"]}, "Deploy": {}})}


@pytest.mark.parametrize(
    ("role", "key", "expect"),
    [
        ("CrossAccountAccessRole-Deploy", "CrossAccountAccessRole-Deploy/template.json", "Allowed"),
        # s3:* elsewhere does not reach another lane's prefix: its next template would be someone else's.
        ("CrossAccountAccessRole-ReadOnly", "CrossAccountAccessRole-Deploy/template.json", "Denied"),
        ("CrossAccountAccessRole-ReadOnly", "CrossAccountAccessRole-ReadOnly/template.json", "Allowed"),
    ],
)
def test_each_lane_writes_its_own_prefix_only(role: str, key: str, expect: str) -> None:
    (outcome,) = run_scenarios([Scenario(key, (bucket_request(TIERS, role, key),), expect)])  # type: ignore[arg-type]
    assert outcome.as_expected, outcome.decisions


@pytest.mark.parametrize(
    ("role", "key", "expect"),
    [
        # Another lane's template and code are its own to read too.
        ("CrossAccountAccessRole-ReadOnly", "CrossAccountAccessRole-Deploy/template.json", "Denied"),
        ("CrossAccountAccessRole-ReadOnly", "CrossAccountAccessRole-ReadOnly/template.json", "Allowed"),
    ],
)
def test_each_lane_reads_its_own_prefix_only(role: str, key: str, expect: str) -> None:
    request = bucket_request(TIERS, role, key, action="s3:GetObject")
    (outcome,) = run_scenarios([Scenario(key, (request,), expect)])  # type: ignore[arg-type]
    assert outcome.as_expected, outcome.decisions


def test_without_the_bucket_policys_deny_the_other_lane_could_write() -> None:
    request = bucket_request(TIERS, "CrossAccountAccessRole-ReadOnly", "CrossAccountAccessRole-Deploy/template.json")
    assert request.resource_policy is not None
    kept = [s for s in request.resource_policy["Statement"] if "NotResource" not in s]
    edited = Request(**{**request.__dict__, "resource_policy": {**request.resource_policy, "Statement": kept}})
    (outcome,) = run_scenarios([Scenario("without", (edited,), "Allowed")])
    assert outcome.as_expected, outcome.decisions


# --- the settings the lane adds -------------------------------------------------------------------


def settings_error(**overrides: Any) -> SettingsError:
    context = {
        **cdk_json_context(),
        **{k: json.dumps(v) if not isinstance(v, str) else v for k, v in overrides.items()},
    }
    with pytest.raises(SettingsError) as raised:
        Settings.from_context(context)
    return raised.value


@pytest.mark.parametrize(
    ("overrides", "key", "rule"),
    [
        ({"cloudformation_stack_names": ["*"]}, "cloudformation_stack_names[0]", "needs a literal part"),
        ({"cloudformation_stack_names": ["?*"]}, "cloudformation_stack_names[0]", "needs a literal part"),
        ({"service_role_path": "/lane/"}, "service_role_path", "only applies with service_role_services"),
        (
            {"service_role_services": ["lambda.amazonaws.com"], "service_role_path": "/"},
            "service_role_path",
            "must not be '/'",
        ),
        (
            {"service_role_services": ["lambda.amazonaws.com"], "role_path": "/team/x/", "service_role_path": "/team/"},
            "service_role_path",
            "collides with role_path",
        ),
        ({"service_role_services": ["cloudformation.amazonaws.com"]}, "service_role_services[0]", "run stacks"),
        ({"service_role_services": ["lambda"]}, "service_role_services[0]", "service principal"),
    ],
)
def test_bad_lane_settings_are_one_line_naming_the_setting(overrides: dict[str, Any], key: str, rule: str) -> None:
    error = settings_error(**overrides)
    text = str(error)
    assert f"invalid setting {key}=" in text and rule in text and "\n" not in text


def test_a_lane_pattern_with_a_literal_part_narrows_it() -> None:
    context = {**cdk_json_context(), "cloudformation_stack_names": json.dumps(["my-service-*"])}
    assert Settings.from_context(context).role.cloudformation_stack_names == ("my-service-*",)


def test_service_roles_of_an_unnamed_role_need_their_path() -> None:
    from aws_cdk import Stack as CdkStack

    from cross_account.role import CrossAccountRole

    stack = CdkStack(App(), "Deployments", env=ENV)
    with pytest.raises(SettingsError) as raised:
        CrossAccountRole(
            stack,
            "Access",
            trusted_account_id="111111111111",
            external_ids=[],
            service_role_services=["lambda.amazonaws.com"],
        )
    assert raised.value.key == "service_role_path"
    CrossAccountRole(
        stack,
        "Named",
        trusted_account_id="111111111111",
        external_ids=[],
        service_role_services=["lambda.amazonaws.com"],
        service_role_path="/lane/team-a/",
    )


@pytest.mark.parametrize("days", [0, 3651, 1.5, "30", True])
def test_object_expiration_days_is_a_whole_number_of_days_in_range(days: Any) -> None:
    from aws_cdk import Stack as CdkStack

    from cross_account.staging import DeployStagingBucket

    stack = CdkStack(App(), "Deployments", env=ENV)
    with pytest.raises(SettingsError) as raised:
        DeployStagingBucket(stack, "Staging", object_expiration_days=days)
    assert str(raised.value).startswith("Deployments/Staging (DeployStagingBucket): invalid object_expiration_days=")
    assert "1 to 3650" in raised.value.rule
