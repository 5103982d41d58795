"""`make demo`'s table fits 100 columns, with the flow's own row texts (no emulator: its calls are scripted)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from harness.demo import WIDTH, _wrap, table
from harness.emulator.flow import ACCESS_DENIED, Flow, Keys, Row, Workspace
from harness.emulator.lane_flow import LaneSteps


class ScriptedLane(LaneSteps):
    """The lane's rows, each command and call answered as on a clean run."""

    def synth_in_background(self) -> None:
        pass

    def admin_deploy(self) -> str:
        return "CREATE_COMPLETE"

    def cdk_deploy(self, *, first: bool) -> str:
        return "CREATE_COMPLETE" if first else "UPDATE_COMPLETE"

    def lane_tag(self, stack: str) -> str:
        return self.lane

    def function_role_path(self) -> str:
        return f"/cross-account-lane/{self.lane}/"

    def diff(self) -> str:
        return "1 stack differs"

    def cfn_deploy(self, stack: str, *, tagged: bool) -> str:
        return "CREATE_COMPLETE" if tagged else ACCESS_DENIED

    def delete_admin_stack(self) -> str:
        return ACCESS_DENIED

    def hijack(self) -> str:
        return ACCESS_DENIED

    def cdk_destroy(self) -> str:
        return "deleted"


class ScriptedFlow(Flow):
    """The flow's steps, each AWS call and command answered as on a clean run."""

    def deploy(self, stack: str, account: str, *, variant: str, context: Mapping[str, str]) -> str:
        return "CREATE_COMPLETE" if variant == "default" else "UPDATE_COMPLETE"

    def synth_in_background(self, variant: str, context: Mapping[str, str]) -> None:
        pass

    def _outputs(self, stack: str, account: str) -> dict[str, str]:
        role_arn = f"arn:aws:iam::{self.account_b}:role/{self.context['role_name']}"
        if stack == "TargetStack":
            return {"RoleArn": role_arn, "ExternalId": ",".join(self.context["external_ids"])}
        deployer = f"arn:aws:iam::{self.account_a}:role/GithubActionsDeployer"
        return {
            "TargetRoleArn": role_arn,
            "GroupName": str(self.context["assumers_group_name"]),
            "GithubActionsDeployerRoleArn": deployer,
        }

    def create_user(self, name: str, account: str, *, group: str | None = None) -> Keys:
        return Keys(f"AKIA{name.upper()}", "secret")

    def grant_assume_anything(self, name: str, account: str) -> None:
        pass

    def exec_probe(self, keys: Keys, role_arn: str, external_id: str) -> dict[str, str]:
        session = f"arn:aws:sts::{self.account_b}:assumed-role/{role_arn.rsplit('/', 1)[1]}/alice"
        return {
            "arn": session,
            "bucket": "created",
            "iam_create_user": ACCESS_DENIED,
            "cfn_update_protected_stack": ACCESS_DENIED,
        }

    def bucket_owner_sees(self, account: str) -> bool:
        return True

    def assume_outcome(self, keys: Keys, role_arn: str, external_id: str | None) -> str:
        return ACCESS_DENIED

    def trust_requires_mfa(self, role_name: str) -> bool:
        return True

    def register_oidc_provider(self) -> None:
        pass

    def web_identity(self, role_arn: str, sub: str) -> tuple[str, Keys | None]:
        return ("allowed", Keys("ASIACI", "secret", "token")) if sub.endswith("/main") else (ACCESS_DENIED, None)

    def lane_steps(self) -> LaneSteps:
        return ScriptedLane(self)

    def chain_outcome(self, keys: Keys, role_arn: str, external_id: str | None) -> str:
        session = f"arn:aws:sts::{self.account_b}:assumed-role/{role_arn.rsplit('/', 1)[1]}/ci"
        return session if external_id else ACCESS_DENIED


@pytest.fixture
def flow_rows(tmp_path: Path) -> list[Row]:
    flow = ScriptedFlow(emulator=None, workspace=Workspace(tmp_path), presynth=False)
    flow._main()
    assert len(flow.rows) == 30, "the scripted flow lost a step"
    return flow.rows


def lines_of(text: str) -> list[str]:
    too_wide = [line for line in text.splitlines() if len(line) > WIDTH]
    assert not too_wide, f"lines over {WIDTH} columns:\n" + "\n".join(too_wide)
    return text.splitlines()


def test_the_demo_table_fits_100_columns(flow_rows: list[Row]) -> None:
    error = "error: cdk deploy TargetStack failed (exit 1): " + "the CLI's last lines | " * 8
    rows = [
        *flow_rows,
        Row("flow stopped early", "no error", error[:207]),
        Row("cdk destroy TrustedStack", "deleted", "deleted"),
        Row("emulator stopped (PID 4194304)", "stopped", "running"),
    ]
    lines = lines_of(table(rows))
    step_width = lines[1].index("-+-")
    steps = [line[:step_width].rstrip() for line in lines]
    # Steps never wrap: a row's first line holds its whole step, the lines below it a blank step cell.
    assert [step for step in steps if step][2:] == [row.step for row in rows]
    # The long ARN wraps inside its column: its pieces, read down the column, are the ARN.
    start = steps.index("alice: exec -> GetCallerIdentity")
    end = next(i for i in range(start + 1, len(lines)) if steps[i])
    got_column = lines[1].rindex("-+-") + len("-+-")
    assert "".join(line[got_column:] for line in lines[start:end]) == flow_rows[3].got
    assert end - start > 1
    assert lines[-1].endswith("| running  <-- DIFFERS")


def test_a_table_that_fits_is_not_wrapped() -> None:
    text = table([Row("same", "a", "a"), Row("other", "AccessDenied", "allowed")])
    lines = lines_of(text)
    assert lines[0].split(" | ") == ["step ", "expected    ", "got"]
    assert lines[2].endswith("| a")
    assert lines[3].endswith("| allowed  <-- DIFFERS")
    assert len(lines) == 4


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        (
            "arn:aws:sts::222222222222:assumed-role/Role/alice",
            30,
            ["arn:aws:sts::222222222222:", "assumed-role/Role/alice"],
        ),
        ("two words", 4, ["two", "word", "s"]),
        ("", 5, [""]),
        ("fits as it is", 13, ["fits as it is"]),
    ],
)
def test_wrap_keeps_every_character(text: str, width: int, expected: list[str]) -> None:
    assert _wrap(text, width) == expected
