"""The simulator bridge itself: intrinsic resolution, loud failures, batching, the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness import simulate
from harness.node import PROJECT_ROOT
from harness.simulate import (
    Request,
    SimulationError,
    StackEnv,
    UnresolvedIntrinsicError,
    assume_role_requests,
    load_assembly,
    load_synthesized,
    load_templates,
    principal_context,
    resolve_intrinsics,
    run_scenarios,
    standard_scenarios,
    web_identity_request,
)
from harness.simulate.howto import howto_model, howto_templates
from harness.synth import synth

ENV = StackEnv(account="111111111111", region="eu-west-1", partition="aws-cn")
POLICY_RESOURCES = {
    "Named": {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {"ManagedPolicyName": "Assume", "Path": "/team/", "PolicyDocument": {}},
    },
    "Unnamed": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {}}},
    "Group": {"Type": "AWS::IAM::Group", "Properties": {}},
}


def test_resolves_pseudo_parameters_and_joins() -> None:
    value = {
        "Resource": {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":role/R"],
            ]
        },
        "Region": [{"Ref": "AWS::Region"}, {"Ref": "AWS::URLSuffix"}],
        "Condition": {"StringEquals": {"sts:ExternalId": ["x"]}},
    }
    assert resolve_intrinsics(value, env=ENV, where="here") == {
        "Resource": "arn:aws-cn:iam::111111111111:role/R",
        "Region": ["eu-west-1", "amazonaws.com.cn"],
        "Condition": {"StringEquals": {"sts:ExternalId": ["x"]}},
    }


def test_ref_to_a_named_managed_policy_is_its_arn() -> None:
    resolved = resolve_intrinsics({"Ref": "Named"}, env=ENV, where="here", resources=POLICY_RESOURCES)
    assert resolved == "arn:aws-cn:iam::111111111111:policy/team/Assume"


OIDC_RESOURCES = {
    "GitHub": {"Type": "AWS::IAM::OIDCProvider", "Properties": {"Url": "https://token.actions.githubusercontent.com"}},
    "NoUrl": {"Type": "AWS::IAM::OIDCProvider", "Properties": {}},
}


def test_ref_to_an_oidc_provider_is_its_arn_named_by_its_host() -> None:
    resolved = resolve_intrinsics({"Federated": {"Ref": "GitHub"}}, env=ENV, where="here", resources=OIDC_RESOURCES)
    assert resolved == {"Federated": "arn:aws-cn:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"}
    with pytest.raises(UnresolvedIntrinsicError, match="Ref NoUrl at here: the OIDC provider has no https:// Url"):
        resolve_intrinsics({"Ref": "NoUrl"}, env=ENV, where="here", resources=OIDC_RESOURCES)


PRINCIPAL_RESOURCES = {
    "Named": {
        "Type": "AWS::IAM::Role",
        "Properties": {"RoleName": "Deployer", "Path": "/ci/", "AssumeRolePolicyDocument": {}},
    },
    "Unnamed": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
    "Person": {"Type": "AWS::IAM::User", "Properties": {"UserName": "carol"}},
    "Team": {"Type": "AWS::IAM::Group", "Properties": {"GroupName": {"Fn::Join": ["-", ["team", "a"]]}}},
}
NAMED_ENV = replace(ENV, stack_name="Target")


@pytest.mark.parametrize(
    ("get_att", "arn"),
    [
        (["Named", "Arn"], "arn:aws-cn:iam::111111111111:role/ci/Deployer"),
        ("Named.Arn", "arn:aws-cn:iam::111111111111:role/ci/Deployer"),
        # CloudFormation would add a random suffix; the bridge makes up a stable one.
        (["Unnamed", "Arn"], "arn:aws-cn:iam::111111111111:role/Target-Unnamed-SIMULATED"),
        (["Person", "Arn"], "arn:aws-cn:iam::111111111111:user/carol"),
        (["Team", "Arn"], "arn:aws-cn:iam::111111111111:group/team-a"),
    ],
)
def test_get_att_arn_of_a_principal_is_built_from_its_name_and_path(get_att: Any, arn: str) -> None:
    value = {"Fn::GetAtt": get_att}
    assert resolve_intrinsics(value, env=NAMED_ENV, where="here", resources=PRINCIPAL_RESOURCES) == arn


def test_ref_stack_name_is_the_stacks_name() -> None:
    value = {"Fn::Join": ["", ["stack/", {"Ref": "AWS::StackName"}, "/*"]]}
    assert resolve_intrinsics(value, env=NAMED_ENV, where="here") == "stack/Target/*"


@pytest.mark.parametrize(
    ("value", "intrinsic", "where"),
    [
        ({"Ref": "AWS::StackName"}, "Ref AWS::StackName", "Stack/Policy.Statement[0]"),
        ({"Ref": "AWS::StackId"}, "Ref AWS::StackId", "Stack/Policy.Statement[0]"),
        ({"Fn::GetAtt": ["Group", "GroupId"]}, "Fn::GetAtt", "Stack/Policy.Statement[0]"),
        ({"Fn::GetAtt": ["Named", "Arn"]}, "Fn::GetAtt", "Stack/Policy.Statement[0]"),
        ({"Fn::GetAtt": "Role"}, "Fn::GetAtt", "Stack/Policy.Statement[0]"),
        ({"Fn::GetAtt": ["Role", "Arn"]}, "Fn::GetAtt", "Stack/Policy.Statement[0]"),
        ({"Fn::Sub": "arn:${AWS::Partition}:s3:::b"}, "Fn::Sub", "Stack/Policy.Statement[0]"),
        ({"Fn::ImportValue": "Export"}, "Fn::ImportValue", "Stack/Policy.Statement[0]"),
        ({"Ref": "Missing"}, "Ref Missing", "Stack/Policy.Statement[0]"),
        ({"Ref": "Group"}, "Ref Group", "Stack/Policy.Statement[0]"),
        ({"Ref": "Unnamed"}, "Ref Unnamed", "Stack/Policy.Statement[0]"),
        ({"Fn::Join": ["", "not-a-list"]}, "Fn::Join", "Stack/Policy.Statement[0]"),
        ({"Fn::Join": ["", [{"Fn::GetAtt": ["R", "Arn"]}]]}, "Fn::GetAtt", "Stack/Policy.Statement[0].Fn::Join[0]"),
    ],
)
def test_unresolvable_intrinsics_fail_loudly_naming_what_and_where(value: Any, intrinsic: str, where: str) -> None:
    with pytest.raises(UnresolvedIntrinsicError) as caught:
        resolve_intrinsics([value], env=ENV, where="Stack/Policy.Statement", resources=POLICY_RESOURCES)
    assert caught.value.intrinsic == intrinsic
    assert caught.value.where == where
    assert intrinsic in str(caught.value) and where in str(caught.value)


def test_account_of_an_environment_agnostic_stack_is_unresolvable() -> None:
    agnostic = StackEnv(account=None, region=None)
    with pytest.raises(UnresolvedIntrinsicError, match="Ref AWS::AccountId at T/R: the stack is environment-agnostic"):
        resolve_intrinsics({"Ref": "AWS::AccountId"}, env=agnostic, where="T/R")


def test_in_memory_and_cdk_out_give_the_same_model() -> None:
    app = synth()
    from_memory = load_synthesized(app)
    assert load_assembly(app.outdir) == from_memory
    role, group = from_memory.role(), from_memory.group()
    assert role.arn == "arn:aws:iam::222222222222:role/CrossAccountAccessRole"
    assert (
        role.trust_policy
        == app.template("TargetStack")["Resources"][_logical_id(app, "AWS::IAM::Role")]["Properties"][
            "AssumeRolePolicyDocument"
        ]
    )
    assert group.arn == "arn:aws:iam::111111111111:group/CrossAccountAssumers"
    (policy,) = group.policies.values()
    # Fn::Join of Ref AWS::Partition, resolved.
    assert policy["Statement"][0]["Resource"] == role.arn
    assert list(from_memory.managed_policies) == ["arn:aws:iam::111111111111:policy/AssumeCrossAccountAccessRole"]


def _logical_id(app: Any, kind: str) -> str:
    resources = app.template("TargetStack")["Resources"]
    (logical_id,) = [k for k, v in resources.items() if v["Type"] == kind]
    return str(logical_id)


def test_a_managed_policy_known_only_by_arn_fails_loudly_until_given() -> None:
    arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    app = synth({"managed_policy_arns": [arn]})
    with pytest.raises(SimulationError, match=rf"managed policy {arn} is not in the templates"):
        load_synthesized(app)
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}
    role = load_synthesized(app, external_policies={arn: document}).role()
    assert role.policies["ReadOnlyAccess"] == document
    guard = next(name for name in role.policies if name.startswith("CrossAccountRoleTamperGuard"))
    assert set(role.policies) == {"ReadOnlyAccess", "CrossAccountPermissions", guard}


def test_the_tamper_guard_is_an_identity_policy_of_its_role() -> None:
    role = load_synthesized(synth()).role()
    (guard,) = [doc for name, doc in role.policies.items() if name.startswith("CrossAccountRoleTamperGuard")]
    by_sid = {statement["Sid"]: statement for statement in guard["Statement"]}
    # Fn::GetAtt [Role, Arn] and Ref AWS::StackName, resolved.
    assert by_sid["DenyChangesToThisRole"]["Resource"] == role.arn
    assert "arn:aws:cloudformation:*:222222222222:stack/TargetStack/*" in by_sid["DenyProtectedStacks"]["Resource"]
    assert all(statement["Effect"] == "Deny" for statement in guard["Statement"])


def test_an_unnamed_role_gets_a_stable_made_up_name() -> None:
    templates, envs = howto_templates()
    del templates["HowToTarget"]["Resources"]["Role"]["Properties"]["RoleName"]
    first, second = load_templates(templates, envs).role(), load_templates(templates, envs).role()
    assert first.arn == second.arn == "arn:aws:iam::222222222222:role/HowToTarget-Role-SIMULATED"


def test_standalone_policies_attach_to_their_role_and_group() -> None:
    templates, envs = howto_templates()
    statement = {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}
    templates["HowToTrusted"]["Resources"]["Extra"] = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "Extra",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            "Groups": [{"Ref": "Group"}],
        },
    }
    group = load_templates(templates, envs).group()
    assert set(group.policies) == {"HowToAssumeCrossAccountRole", "Extra"}


def _statement_policy(name: str, **attach: Any) -> dict[str, Any]:
    statement = {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}
    document = {"Version": "2012-10-17", "Statement": [statement]}
    return {"Type": "AWS::IAM::Policy", "Properties": {"PolicyName": name, "PolicyDocument": document, **attach}}


def test_policies_attach_to_roles_and_users_from_either_side() -> None:
    templates, envs = howto_templates()
    resources = templates["HowToTarget"]["Resources"]
    resources["Person"] = {"Type": "AWS::IAM::User", "Properties": {"UserName": "carol", "Path": "/ops/"}}
    resources["Inline"] = _statement_policy("Inline", Roles=[{"Ref": "Role"}], Users=[{"Ref": "Person"}])
    resources["Managed"] = {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            "ManagedPolicyName": "Shared",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": []},
            "Roles": [{"Ref": "Role"}],
        },
    }
    model = load_templates(templates, envs)
    assert set(model.role().policies) == {"CrossAccountPermissions", "Inline", "Shared"}
    user = model.user()
    assert user.arn == "arn:aws:iam::222222222222:user/ops/carol"
    assert set(user.policies) == {"Inline"}
    assert model.role().stack_name == "HowToTarget"
    assert model.role().stack_arn("other").startswith("arn:aws:cloudformation:us-east-1:222222222222:stack/other/")


@pytest.mark.parametrize(
    ("resource", "error"),
    [
        ({"Type": "AWS::IAM::RolePolicy", "Properties": {}}, "AWS::IAM::RolePolicy is not modelled"),
        ({"Type": "AWS::IAM::UserToGroupAddition", "Properties": {}}, "UserToGroupAddition is not modelled"),
        (
            {"Type": "AWS::IAM::User", "Properties": {"Groups": ["HowToAssumers"]}},
            "group membership of an IAM user .Groups. is not modelled",
        ),
        (_statement_policy("P", Roles=["CrossAccountAccessRole"]), "expected a Ref to a AWS::IAM::Role"),
        (_statement_policy("P", Users=[{"Ref": "Role"}]), "expected a Ref to a AWS::IAM::User"),
    ],
)
def test_what_the_bridge_does_not_model_fails_loudly(resource: dict[str, Any], error: str) -> None:
    templates, envs = howto_templates()
    templates["HowToTarget"]["Resources"]["Extra"] = resource
    with pytest.raises(SimulationError, match=f"HowToTarget/Extra.*{error}"):
        load_templates(templates, envs)


def test_principal_context_is_what_aws_derives_from_the_caller() -> None:
    assert principal_context("arn:aws:iam::111111111111:user/path/alice") == {
        "aws:PrincipalAccount": "111111111111",
        "aws:PrincipalArn": "arn:aws:iam::111111111111:user/path/alice",
        "aws:PrincipalType": "User",
        "aws:username": "alice",
    }
    # A session's aws:PrincipalArn is its role, so ArnEquals on the role survives new sessions.
    session = principal_context("arn:aws:sts::111111111111:assumed-role/Deployer/ci")
    assert session["aws:PrincipalArn"] == "arn:aws:iam::111111111111:role/Deployer"
    # aws:PrincipalType tells a role session from an IAM user (the source-identity trust relies on it).
    assert session["aws:PrincipalType"] == "AssumedRole"
    assert principal_context("arn:aws:iam::111111111111:root")["aws:PrincipalType"] == "Account"
    # A web identity token's holder is no AWS principal.
    assert principal_context("arn:aws:iam::111111111111:oidc-provider/gitlab.com") == {}


def _member_attempts(count: int) -> list[Request]:
    model = howto_model()
    role, group = model.role(), model.group()
    requests: list[Request] = []
    for i in range(count):
        requests += assume_role_requests(
            role, principal=group.user_arn(f"user{i}"), identity_policies=group.policies, external_id=f"id-{i}0"
        )
    return requests


def test_a_batch_runs_in_one_node_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    real_run = subprocess.run

    def counting_run(args: list[str], **kwargs: Any) -> Any:
        calls.append(args)
        return real_run(args, **kwargs)

    monkeypatch.setattr(subprocess, "run", counting_run)
    decisions = simulate.simulate(_member_attempts(25))
    assert len(calls) == 1
    assert len(decisions) == 25
    assert all(d.allowed for d in decisions)
    assert simulate.simulate([]) == []
    assert len(calls) == 1


def test_a_request_the_simulator_rejects_is_named_in_the_error() -> None:
    (request,) = _member_attempts(1)
    bad = Request(request.principal, "sts:AssumeRol", request.resource, request.identity_policies, label="typo")
    with pytest.raises(SimulationError, match="typo: rejected by the simulator"):
        simulate.simulate([request, bad])


def test_a_dropped_context_key_fails_loudly() -> None:
    (request,) = _member_attempts(1)
    # The service reference lists no sts:ExternalId for sts:SetSourceIdentity.
    dropped = Request(
        request.principal,
        "sts:SetSourceIdentity",
        request.resource,
        request.identity_policies,
        context={"sts:ExternalId": "x"},
        label="set source identity",
    )
    with pytest.raises(
        SimulationError, match=r"set source identity: the simulator dropped context keys \['sts:ExternalId'\]"
    ):
        simulate.simulate([dropped])


# --- the standard set and the command line -------------------------------------------------

VARIANTS: list[dict[str, Any]] = [
    {},
    {"require_mfa": True, "mfa_max_age_seconds": 900},
    {"trusted_principal_arns": ["arn:aws:iam::111111111111:user/carol"]},
    # A listed role asks through a session; aws:PrincipalArn keeps the role's path.
    {"trusted_principal_arns": ["arn:aws:iam::111111111111:role/ci/Deployer"]},
    {"principal_org_id": "o-abcdefghij"},
    {"require_source_identity": True},
    {"external_ids": ["first-id-1234", "second-id-5678"]},
]


def test_standard_scenarios_are_as_expected_for_every_variant() -> None:
    scenarios = []
    for overrides in VARIANTS:
        scenarios += standard_scenarios(load_synthesized(synth(overrides)))
    outcomes = run_scenarios(scenarios)
    unexpected = [(o.scenario.name, o.result) for o in outcomes if not o.as_expected]
    assert unexpected == []
    names = {o.scenario.name for o in outcomes}
    assert {
        "member of CrossAccountAssumers, no MFA",
        "member of CrossAccountAssumers, MFA too old",
        "admin in 111111111111 not in trusted_principal_arns",
        "member of CrossAccountAssumers, outside the organization",
        "member of CrossAccountAssumers, source identity of someone else",
    } <= names


def test_cli_prints_the_decision_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert simulate.main([str(synth().outdir)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("IAM simulation of ")
    assert lines[1].split() == ["scenario", "expected", "decision", "decided", "by"]
    row = next(line for line in lines if "wrong external ID" in line)
    assert row.startswith("ok") and "Denied    ImplicitlyDenied  trust policy: no statement allows" in row
    guarded = next(line for line in lines if "UpdateStack on its own stack" in line)
    assert "ExplicitlyDenied" in guarded and "(DenyProtectedStacks) denies" in guarded
    assert lines[-1] == "11 scenarios, 0 unexpected"


def test_cli_flags_the_howto_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert simulate.main(["--howto"]) == 1
    flagged = [line for line in capsys.readouterr().out.splitlines() if line.startswith("!!")]
    # The missing external-ID check (3 rows), and the CloudFormation path to its own trust.
    assert len(flagged) == 4
    assert all("Denied    Allowed" in line for line in flagged)
    assert any("session: cloudformation:UpdateStack on its own stack" in line for line in flagged)


def test_cli_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert simulate.main([str(tmp_path)]) == 2
    assert "is not a cloud assembly" in capsys.readouterr().err
    manifest = json.loads((synth().outdir / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    template = synth().template("TargetStack")
    bad = json.loads(json.dumps(template).replace('"Resource": "*"', '"Resource": {"Fn::GetAtt": ["X", "Arn"]}'))
    (tmp_path / "TargetStack.template.json").write_text(json.dumps(bad))
    (tmp_path / "TrustedStack.template.json").write_text(json.dumps(synth().template("TrustedStack")))
    assert simulate.main([str(tmp_path)]) == 2
    assert "cannot resolve Fn::GetAtt at TargetStack/" in capsys.readouterr().err


def test_module_runs_from_the_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness.simulate", str(synth().outdir)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "member of CrossAccountAssumers, right external ID" in result.stdout


def test_roles_and_groups_are_picked_by_name_or_arn() -> None:
    model = howto_model()
    role = model.role()
    assert model.role("CrossAccountAccessRole") == model.role(role.arn) == role
    assert model.group("HowToAssumers").arn == "arn:aws:iam::111111111111:group/HowToAssumers"
    with pytest.raises(
        SimulationError, match=r"expected exactly one role called Nope, found 0 among \['CrossAccountAccessRole'\]"
    ):
        model.role("Nope")


PROVIDER = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"


def test_claim_keys_are_only_for_web_identity_requests() -> None:
    role = howto_model().role()
    with pytest.raises(SimulationError, match="OIDC claim keys are for sts:AssumeRoleWithWebIdentity only"):
        Request(PROVIDER, "sts:AssumeRole", role.arn, oidc_claims=True)
    with pytest.raises(SimulationError, match="not an OIDC provider ARN"):
        web_identity_request(role, provider="arn:aws:iam::111111111111:root", claims={})


def test_a_claim_iam_does_not_check_fails_loudly() -> None:
    """Only aud, sub and amr may be dropped by the checked mode; a made-up claim is reported, not ignored."""
    role = howto_model().role()
    request = web_identity_request(role, provider=PROVIDER, claims={"aud": "sts.amazonaws.com", "branch": "main"})
    with pytest.raises(SimulationError, match=r"dropped context keys \['token.actions.githubusercontent.com:branch'\]"):
        simulate.simulate([request])
