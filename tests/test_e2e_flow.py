"""End to end: real `cdk deploy` of both stacks into MiniStack, then the allowed and refused AssumeRole paths.

The same flow as `make demo` (harness/emulator/flow.py); about 20 s, most of it the two synths.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from harness.demo import table
from harness.emulator.errors import FlowError
from harness.emulator.fixtures import start_emulator
from harness.emulator.flow import GITHUB_AUDIENCE, GITHUB_ISSUER, Flow, Workspace, unsigned_token
from harness.emulator.server import EMULATOR_PYTHON, Emulator
from harness.simulate import load_synthesized
from harness.synth import synth

pytestmark = pytest.mark.skipif(
    not EMULATOR_PYTHON.exists(), reason="no emulator venv: run `make test` (it creates .venv-emulator)"
)

# Each of these must appear in a row (so a flow that silently skipped a step fails), and pass.
REQUIRED_STEPS = (
    "cdk deploy TargetStack (account B",
    "cdk deploy TrustedStack (account A",
    "-> GetCallerIdentity",
    "creates and lists a bucket",
    "iam:CreateUser in the session",
    "UpdateStack TargetStack",
    "alice, wrong external ID",
    "alice, no external ID",
    "bob (in A, not in the group)",
    "carol (third account",
    "cdk deploy TargetStack, require_mfa",
    "alice without MFA",
    "GitHub token, octo/app main",
    "GitHub token, octo/app branch dev",
    "into B with the external ID",
    "into B without external ID",
    "B's admin: cfn deploy AdminService",
    "exec -- cdk deploy MyService",
    "the stack's lane tag",
    "function's role: lane path",
    "cdk deploy again (a change)",
    "cdk diff",
    "exec -- aws cfn deploy, tagged",
    "the same without the lane tag",
    "DeleteStack AdminService",
    "lane-tagged change set",
    "exec -- cdk destroy MyService",
    "cdk destroy TrustedStack",
    "cdk destroy TargetStack",
)


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Emulator:
    return start_emulator(request, "e2e", tls=True)


@pytest.mark.e2e
def test_cross_account_flow_in_the_emulator(emulator: Emulator) -> None:
    workspace = Workspace.create()
    rows = Flow(emulator, workspace).run()
    report = table(rows) + f"\n(logs: {workspace.log})"
    for step in REQUIRED_STEPS:
        assert any(step in row.step for row in rows), f"no row for {step!r}:\n{report}"
    assert all(row.ok for row in rows), report
    refused = [row for row in rows if row.expected == "AccessDenied"]
    # iam:CreateUser, UpdateStack TargetStack, wrong/no external ID, bob, carol, no MFA, CI: branch dev, no external ID;
    # the lane: a deploy without the tag, DeleteStack and a tagged change set on B's admin's stack
    assert len(refused) == 12, report
    workspace.remove()


TRUST_ANYONE_IN_A = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "sts:AssumeRole"}
    ],
}


def test_a_trust_without_external_id_shows_as_allowed(emulator: Emulator) -> None:
    """Negative control: the refusal rows are not a constant; a trust with no condition lets both through."""
    workspace = Workspace.create()
    flow = Flow(emulator, workspace)
    root_b, root_a = emulator.root_env("222222222222"), emulator.root_env("111111111111")
    iam_b = boto3.client(
        "iam",
        endpoint_url=emulator.endpoint,
        verify=emulator.ca_bundle,
        region_name="us-east-1",
        aws_access_key_id=root_b["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=root_b["AWS_SECRET_ACCESS_KEY"],
    )
    role_arn = iam_b.create_role(RoleName="Weak", AssumeRolePolicyDocument=json.dumps(TRUST_ANYONE_IN_A))["Role"]["Arn"]
    iam_a = boto3.client(
        "iam",
        endpoint_url=emulator.endpoint,
        verify=emulator.ca_bundle,
        region_name="us-east-1",
        aws_access_key_id=root_a["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=root_a["AWS_SECRET_ACCESS_KEY"],
    )
    keys = flow.create_user("dave", "111111111111")
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}],
    }
    iam_a.put_user_policy(UserName="dave", PolicyName="AssumeWeak", PolicyDocument=json.dumps(allow))
    assert flow.assume_outcome(keys, role_arn, None) == "allowed"
    assert flow.assume_outcome(keys, role_arn, "WRONG-ID") == "allowed"
    workspace.remove()


def _client(emulator: Emulator, service: str, account: str | None = None, **keys: str) -> Any:
    """A boto3 client with `account`'s root key, or with the given keys."""
    if account is not None:
        root = emulator.root_env(account)
        keys = {"aws_access_key_id": root["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": root["AWS_SECRET_ACCESS_KEY"]}
    return boto3.client(
        service, endpoint_url=emulator.endpoint, verify=emulator.ca_bundle, region_name="us-east-1", **keys
    )


def _error_code(call: Any) -> str:
    try:
        call()
    except ClientError as error:
        return str(error.response.get("Error", {}).get("Code"))
    return "allowed"


def test_update_stack_is_refused_by_the_tamper_guard_alone(emulator: Emulator) -> None:
    """The demo's "UpdateStack TargetStack" row is the guard's doing: MiniStack enforces IAM on CloudFormation.

    One session of a role with cloudformation:* asks UpdateStack TargetStack (no such stack here) before and
    after the synthesized tamper guard is attached: first CloudFormation answers (the stack does not exist),
    then IAM refuses.
    """
    workspace = Workspace.create()
    flow = Flow(emulator, workspace)
    iam_b = _client(emulator, "iam", "222222222222")
    role_arn = iam_b.create_role(RoleName="Stacks", AssumeRolePolicyDocument=json.dumps(TRUST_ANYONE_IN_A))["Role"][
        "Arn"
    ]
    stacks = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "cloudformation:*", "Resource": "*"}],
    }
    iam_b.put_role_policy(RoleName="Stacks", PolicyName="Stacks", PolicyDocument=json.dumps(stacks))
    keys = flow.create_user("erin", "111111111111")
    flow.grant_assume_anything("erin", "111111111111")
    sts = _client(emulator, "sts", aws_access_key_id=keys.access_key_id, aws_secret_access_key=keys.secret_access_key)
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="erin")["Credentials"]
    cloudformation = _client(
        emulator,
        "cloudformation",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )

    def update() -> str:
        return _error_code(lambda: cloudformation.update_stack(StackName="TargetStack", UsePreviousTemplate=True))

    assert update() == "ValidationError"
    (guard,) = [doc for name, doc in load_synthesized(synth()).role().policies.items() if "TamperGuard" in name]
    iam_b.put_role_policy(RoleName="Stacks", PolicyName="TamperGuard", PolicyDocument=json.dumps(guard))
    assert update() == "AccessDenied"
    assert _error_code(lambda: cloudformation.describe_stacks(StackName="TargetStack")) == "ValidationError"
    workspace.remove()


def test_a_failed_deploy_is_a_clear_error(emulator: Emulator) -> None:
    workspace = Workspace.create()
    flow = Flow(emulator, workspace)
    with pytest.raises(FlowError, match=r"cdk deploy TargetStack failed \(exit 1\): .*role_name"):
        flow.deploy("TargetStack", flow.account_b, variant="bad", context={"role_name": "not a valid name!"})
    workspace.remove()


MAIN = "repo:octo/app:ref:refs/heads/main"


def test_what_ministack_checks_of_a_web_identity_token(emulator: Emulator) -> None:
    """What docs/emulator.md says: the trust decides (its Federated principal, named by the token's iss, and
    its aud/sub conditions); the signature, the expiry and the provider's registration are not checked."""
    workspace = Workspace.create()
    flow = Flow(emulator, workspace)
    trust = load_synthesized(synth(flow.oidc_context)).role("GithubActionsDeployer").trust_policy
    iam_a = _client(emulator, "iam", flow.account_a)
    role_arn = iam_a.create_role(RoleName="GithubActionsDeployer", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    github = {"iss": f"https://{GITHUB_ISSUER}", "aud": GITHUB_AUDIENCE}

    def outcome(token: str) -> str:
        return flow.assume_with_token(role_arn, token)[0]

    # No OIDC provider is registered in the account: MiniStack does not look for one.
    assert outcome(unsigned_token({**github, "sub": MAIN})) == "allowed"
    assert outcome(unsigned_token({**github, "sub": MAIN}, lifetime_seconds=-3600)) == "allowed"
    assert outcome(unsigned_token({**github, "sub": MAIN}) + "not-a-signature") == "allowed"
    assert outcome(unsigned_token({**github, "sub": "repo:octo/app:ref:refs/heads/dev"})) == "AccessDenied"
    assert outcome(unsigned_token({**github, "aud": "https://github.com/octo", "sub": MAIN})) == "AccessDenied"
    assert outcome(unsigned_token({**github, "iss": "https://gitlab.com", "sub": MAIN})) == "AccessDenied"
    # Negative control: the same trust without its sub condition lets another branch in.
    for statement in trust["Statement"]:
        del statement["Condition"]["StringLike"]
    iam_a.update_assume_role_policy(RoleName="GithubActionsDeployer", PolicyDocument=json.dumps(trust))
    assert outcome(unsigned_token({**github, "sub": "repo:octo/app:ref:refs/heads/dev"})) == "allowed"
    workspace.remove()
