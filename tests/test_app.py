"""app.py through the real CDK CLI, as `cdk synth` in CI runs it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness.node import NPM_BIN_DIR, PROJECT_ROOT

NOISE = ("end-of-life", "NOTICES", "feature flags", "telemetry", "Traceback")


def cdk_synth(outdir: Path, *args: str, ci: bool = False, merged: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `cdk synth`; `ci` sets CI=true (the CLI then logs to stdout), `merged` keeps both streams in order."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDK_", "JSII_")) and k != "CI"}
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [str(NPM_BIN_DIR / "cdk"), "synth", "--quiet", "--output", str(outdir), *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merged else subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("ci", [False, True], ids=["terminal", "ci"])
def test_cdk_synth_writes_both_templates_and_prints_only_our_warnings(tmp_path: Path, ci: bool) -> None:
    # CI=true moves the CLI's messages from stderr to stdout, so the two streams are read in the order written.
    result = cdk_synth(tmp_path, ci=ci, merged=True)
    output = result.stdout
    assert result.returncode == 0, output
    assert sorted(p.name for p in tmp_path.glob("*.template.json")) == [
        "TargetStack.template.json",
        "TrustedStack.template.json",
    ]
    assert not [word for word in NOISE if word.lower() in output.lower()], output
    lines = output.strip().splitlines()
    assert lines[-2:] == [
        f"Successfully synthesized to {tmp_path}",
        "Supply a stack id (TargetStack, TrustedStack) to display its template.",
    ]
    # The defaults are the how-to's: the warnings say so, and what the CloudFormation grant reaches.
    warnings = [line for line in lines if line.startswith("WARNING")]
    assert len(warnings) == 2, output
    assert "12345678TESTID" in warnings[0] and "111111111111" in warnings[0]
    assert "cloudformation_stack_names" in warnings[1]
    acknowledged = [line.strip() for line in lines if "Acknowledge with" in line]
    assert acknowledged == [
        "Acknowledge with 'Annotation::cross-account:example-values'",
        "Acknowledge with 'Annotation::cross-account:acts-as-another-principal:cloudformation'",
    ]


def test_a_bad_setting_fails_the_synth_and_writes_no_templates(tmp_path: Path) -> None:
    # One case through the CLI (each costs a CLI start); every rule is covered in-process in test_settings.
    result = cdk_synth(tmp_path, "-c", 'external_ids=["x"]')
    assert result.returncode != 0
    assert (
        'cross-account app: invalid setting external_ids[0]="x": '
        "must be 2-1224 characters of letters, digits and +=,.@:/_-"
    ) in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.glob("*.template.json")) == []
