"""app.py through the real CDK CLI, as `cdk synth` in CI runs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cross_account.declaration import SettingsError
from cross_account.settings import check_numbers_reach_the_app
from harness.node import NPM_BIN_DIR, PROJECT_ROOT

NOISE = ("end-of-life", "NOTICES", "feature flags", "telemetry", "Traceback")


def cdk_synth(
    outdir: Path, *args: str, ci: bool = False, merged: bool = False, cwd: Path = PROJECT_ROOT
) -> subprocess.CompletedProcess[str]:
    """Run `cdk synth` in `cwd` (default: this project); `ci` sets CI=true (the CLI then logs to stdout),
    `merged` keeps both streams in order."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDK_", "JSII_")) and k != "CI"}
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [str(NPM_BIN_DIR / "cdk"), "synth", "--quiet", "--output", str(outdir), *args],
        cwd=cwd,
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
    # The defaults are the how-to's: the warnings say so, and that its s3:*, sqs:* and events:* write resource
    # policies (grants that outlive group membership). Its cloudformation:* is kept to the deploy lane.
    warnings = [line for line in lines if line.startswith("WARNING")]
    assert len(warnings) == 2, output
    assert "12345678TESTID" in warnings[0] and "111111111111" in warnings[0]
    assert "s3:PutBucketPolicy" in warnings[1] and "outlives the session" in warnings[1]
    acknowledged = [line.strip() for line in lines if "Acknowledge with" in line]
    assert acknowledged == [
        "Acknowledge with 'Annotation::cross-account:example-values'",
        "Acknowledge with 'Annotation::cross-account:resource-policy-writes'",
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


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        # The CLI reads numbers as doubles and passes no value for one out of their range: without the
        # app's own look at cdk.json, the default session duration would apply without a word.
        (
            lambda text: text.replace(
                '"max_session_duration_seconds": 3600', '"max_session_duration_seconds": ' + "9" * 401
            ),
            'invalid setting max_session_duration_seconds="<a number of 401 characters>": '
            "out of range in cdk.json; the CDK CLI drops such a number and a default would apply",
        ),
        # Deeper than jsii's reading of the context goes (a key the CDK owns counts too).
        (
            lambda text: text.replace(
                '"context": {', '"context": {"@example/deep": ' + "[" * 1000 + "]" * 1000 + ", ", 1
            ),
            "the context (cdk.json, cdk.context.json or -c) is nested too deeply to read",
        ),
    ],
    ids=["number-the-cli-drops", "nested-too-deep"],
)
def test_a_context_the_app_cannot_read_fails_the_synth_in_one_line(
    tmp_path: Path, edit: Callable[[str], str], message: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("app.py", "cross_account", "stacks"):
        source = PROJECT_ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, project / name)
    cdk_json = json.loads((PROJECT_ROOT / "cdk.json").read_text())
    cdk_json["app"] = f"{sys.executable} app.py"
    text = json.dumps(cdk_json)
    assert edit(text) != text
    (project / "cdk.json").write_text(edit(text))
    result = cdk_synth(tmp_path / "out", cwd=project)
    assert result.returncode != 0, result.stdout
    assert f"cross-account app: {message}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list((tmp_path / "out").glob("*.template.json"))


@pytest.mark.parametrize(
    ("content", "source", "key"),
    [
        (b'{"context": {"max_session_duration_seconds": 1e999}}', "cdk.json", "max_session_duration_seconds"),
        (b'{"context": {"max_session_duration_seconds": -1e999}}', "cdk.json", "max_session_duration_seconds"),
        (
            b'{"context": {"max_session_duration_seconds": ' + b"9" * 5000 + b"}}",
            "cdk.json",
            "max_session_duration_seconds",
        ),
        # The CLI skips a byte-order mark and replaces bytes that are not UTF-8; so does the check.
        (b'\xef\xbb\xbf{"context": {"mfa_max_age_seconds": 1e999}}', "cdk.json", "mfa_max_age_seconds"),
        (b'{"context": {"role_description": "\xff", "trust_policy_quota": 1e999}}', "cdk.json", "trust_policy_quota"),
        # Inside an object the CLI passes null, which a tier or the CI setting reads as unset.
        (
            b'{"context": {"roles": {"Admin": {"max_session_duration_seconds": 1e999}}}}',
            "cdk.json",
            "roles.Admin.max_session_duration_seconds",
        ),
        (
            b'{"context": {"github_oidc": {"repositories": [{"repository_id": 1e999}]}}}',
            "cdk.json",
            "github_oidc.repositories[0].repository_id",
        ),
        (b'{"max_session_duration_seconds": 1e999}', "cdk.context.json", "max_session_duration_seconds"),
    ],
    ids=["huge", "negative", "5000-digits", "bom", "not-utf-8", "tier", "ci-setting", "cdk.context.json"],
)
def test_numbers_out_of_a_doubles_range_are_refused(content: bytes, source: str, key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        check_numbers_reach_the_app(content, source=source)
    assert caught.value.key == key
    assert f"out of range in {source}" in caught.value.rule


@pytest.mark.parametrize(
    "content",
    [
        b'{"context": {"max_session_duration_seconds": 1e300}}',
        b'{"context": {"not_ours": 1e999}}',
        b"{",
        b"[]",
        b'{"context": []}',
    ],
)
def test_other_numbers_and_shapes_are_left_to_the_rules(content: bytes) -> None:
    check_numbers_reach_the_app(content)
