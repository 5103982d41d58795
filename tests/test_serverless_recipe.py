"""The README's Serverless Framework recipe takes the deploy lane: `serverless@3 package` (offline) writes
the template and state that `sls deploy` would send, and they meet the lane's rules.

`sls deploy` itself is not run: Serverless v3 uses the AWS SDK v2, which does not read AWS_ENDPOINT_URL,
so it cannot reach the emulator. The simulator decides the two requests the deploy starts with.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from cross_account.lane import LANE_TAG_KEY
from harness.node import NODE_BIN_DIR, PROJECT_ROOT
from harness.simulate import Scenario, run_scenarios, session_request
from tests.test_simulate_guard import world_model
from tests.test_simulate_lane import BOUNDARY, LANE, WORLDS, stack

RECIPE = PROJECT_ROOT / "examples" / "serverless"
SERVERLESS = RECIPE / "node_modules" / ".bin" / "serverless"
ACCOUNT = "222222222222"

pytestmark = pytest.mark.skipif(not SERVERLESS.exists(), reason="run `make test` (it installs examples/serverless)")


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The recipe packaged: the update template and the service state, as `sls deploy` would send them."""
    work = tmp_path_factory.mktemp("sls") / "service"
    shutil.copytree(RECIPE, work, ignore=shutil.ignore_patterns("node_modules", ".serverless"))
    env = {
        "PATH": f"{NODE_BIN_DIR}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(work.parent),
        "ACCOUNT": ACCOUNT,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEPACKAGE",
        "AWS_SECRET_ACCESS_KEY": "not-used-to-package",
        "SLS_TELEMETRY_DISABLED": "1",
        "SLS_NOTIFICATIONS_MODE": "off",
        "SLS_DEPRECATION_DISABLE": "*",
    }
    done = subprocess.run(
        [str(SERVERLESS), "package"], cwd=work, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = work / ".serverless"
    return {
        "template": json.loads((out / "cloudformation-template-update-stack.json").read_text()),
        "state": json.loads((out / "serverless-state.json").read_text()),
    }


def resources(packaged: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in packaged["template"]["Resources"].values() if r["Type"] == kind]


def test_the_stack_carries_the_lane_tag(packaged: dict[str, Any]) -> None:
    assert packaged["state"]["service"]["provider"]["stackTags"] == {LANE_TAG_KEY: LANE}


def test_code_goes_to_the_staging_bucket_under_the_lanes_prefix(packaged: dict[str, Any]) -> None:
    (function,) = resources(packaged, "AWS::Lambda::Function")
    code = function["Properties"]["Code"]
    assert code["S3Bucket"] == f"cross-account-deploys-{ACCOUNT}-us-east-1"
    assert str(code["S3Key"]).startswith(f"{LANE}/")
    # No bucket of its own (the framework's default deployment bucket would be one) and no SSM parameter.
    assert resources(packaged, "AWS::S3::Bucket") == []
    assert "Parameters" not in packaged["template"]


def test_the_functions_role_is_one_the_lane_may_create_and_pass(packaged: dict[str, Any]) -> None:
    (role,) = resources(packaged, "AWS::IAM::Role")
    path, boundary = role["Properties"]["Path"], role["Properties"]["PermissionsBoundary"]
    assert path == f"/cross-account-lane/{LANE}/"
    assert boundary == BOUNDARY
    lane_role = world_model("service_roles", worlds=WORLDS).role()
    created = f"arn:aws:iam::{ACCOUNT}:role{path}my-sls-service-dev-us-east-1-lambdaRole"
    tags = packaged["state"]["service"]["provider"]["stackTags"]
    requests = {
        "CreateStack": (
            "cloudformation:CreateStack",
            stack("my-sls-service-dev")(lane_role),
            {**{f"aws:RequestTag/{k}": v for k, v in tags.items()}, "aws:TagKeys": list(tags)},
        ),
        "CreateRole": ("iam:CreateRole", created, {"iam:PermissionsBoundary": boundary}),
        "PassRole": ("iam:PassRole", created, {"iam:PassedToService": "lambda.amazonaws.com"}),
    }
    scenarios = [
        Scenario(name, (session_request(lane_role, action, resource, context=context, label=name),), "Allowed")
        for name, (action, resource, context) in requests.items()
    ]
    for outcome in run_scenarios(scenarios):
        assert outcome.as_expected, (outcome.scenario.name, outcome.decisions)
