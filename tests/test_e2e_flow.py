"""End to end: real `cdk deploy` of both stacks into MiniStack, then the allowed and refused AssumeRole paths.

The same flow as `make demo` (harness/emulator/flow.py); about 20 s, most of it the two synths.
"""

from __future__ import annotations

import pytest

from harness.demo import table
from harness.emulator.fixtures import start_emulator
from harness.emulator.flow import Flow, Row, Workspace
from harness.emulator.server import EMULATOR_PYTHON, Emulator

pytestmark = pytest.mark.skipif(
    not EMULATOR_PYTHON.exists(), reason="no emulator venv: run `make test` (it creates .venv-emulator)"
)

# Each of these must appear in a row (so a flow that silently skipped a step fails), and pass.
REQUIRED_STEPS = (
    "cdk deploy TargetStack (account B",
    "cdk deploy TrustedStack (account A",
    "-> GetCallerIdentity",
    "creates and lists an S3 bucket in B",
    "iam:CreateUser inside the session",
    "alice, wrong external ID",
    "alice, no external ID",
    "bob (in A, not in the group)",
    "carol (third account",
    "cdk deploy TargetStack -c require_mfa=true",
    "alice without MFA",
    "cdk destroy TrustedStack",
    "cdk destroy TargetStack",
)


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Emulator:
    return start_emulator(request, "e2e")


@pytest.mark.e2e
def test_cross_account_flow_in_the_emulator(emulator: Emulator) -> None:
    workspace = Workspace.create()
    rows = Flow(emulator, workspace).run()
    report = table(rows) + f"\n(logs: {workspace.log})"
    for step in REQUIRED_STEPS:
        assert any(step in row.step for row in rows), f"no row for {step!r}:\n{report}"
    assert all(row.ok for row in rows), report
    refused = [row for row in rows if row.expected == "AccessDenied"]
    assert len(refused) == 6, report  # iam:CreateUser, wrong/no external ID, bob, carol, no MFA
    workspace.remove()


def test_table_marks_rows_that_differ() -> None:
    text = table([Row("same", "a", "a"), Row("other", "AccessDenied", "allowed")])
    lines = text.splitlines()
    assert lines[0].split(" | ") == ["step ", "expected    ", "got"]
    assert lines[2].endswith("| a")
    assert lines[3].endswith("| allowed  <-- DIFFERS")
