"""list: the app's roles (accounts x tiers), what each requires, and the AWS config profiles that point at them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.cli_support import Result, assert_one_line_error, run_cli
from tests.test_cli_assume import write_cdk_json

APP = {
    "trusted_account_id": "111111111111",
    "target_account_id": "222222222222",
    "target_account_ids": ["222222222222", "333333333333"],
    "external_ids": ["deploy-id"],
    "roles": {
        "Deploy": {"require_mfa": True, "mfa_max_age_seconds": 3600, "allow_session_tags": True,
                   "allowed_session_tag_keys": ["team"]},
        "ReadOnly": {"external_ids": [], "require_source_identity": True, "max_session_duration_seconds": 43200},
    },
}  # fmt: skip
DEPLOY_B = "arn:aws:iam::222222222222:role/CrossAccountAccessRole-Deploy"
READ_C = "arn:aws:iam::333333333333:role/CrossAccountAccessRole-ReadOnly"
CONFIG = f"""\
[profile deploy-b]
role_arn = {DEPLOY_B}
source_profile = account-a

[profile read-c]
credential_process = /usr/bin/cross-account assume --format credential-process --role-arn {READ_C} --region eu-west-1

[profile elsewhere]
role_arn = arn:aws:iam::222222222222:role/SomethingElse
source_profile = account-a

[profile account-a]
region = eu-west-1
"""


def listed(result: Result) -> dict[str, dict[str, object]]:
    assert result.code == 0, result.err
    return {f"{role['account']}/{role['tier']}": role for role in json.loads(result.out)["roles"]}


def test_every_account_and_tier_with_its_requirements_and_profiles(
    stub_env: dict[str, str], tmp_path: Path, cli_in_process: Callable[..., Result]
) -> None:
    app = tmp_path / "app"
    write_cdk_json(app, **APP)
    Path(stub_env["AWS_CONFIG_FILE"]).write_text(CONFIG)
    roles = listed(cli_in_process("list", "--format", "json", env=stub_env, cwd=app))
    assert list(roles) == [
        "222222222222/Deploy",
        "222222222222/ReadOnly",
        "333333333333/Deploy",
        "333333333333/ReadOnly",
    ]
    deploy = roles["222222222222/Deploy"]
    assert deploy["role_arn"] == DEPLOY_B
    assert deploy["requires"] == {
        "external_id": True,
        "mfa": True,
        "mfa_max_age_seconds": 3600,
        "source_identity": False,
    }
    assert deploy["session_tags"] == {"allowed": True, "keys": ["team"]}
    assert deploy["profiles"] == ["deploy-b"]
    assert deploy["command"] == "cross-account assume --tier Deploy --mfa-serial ARN"
    read = roles["333333333333/ReadOnly"]
    assert read["requires"] == {
        "external_id": False,
        "mfa": False,
        "mfa_max_age_seconds": None,
        "source_identity": True,
    }
    assert (read["profiles"], read["max_session_duration_seconds"]) == (["read-c"], 43200)
    assert read["command"] == "cross-account assume --account 333333333333 --tier ReadOnly"
    assert roles["333333333333/Deploy"]["profiles"] == []


def test_the_text_table(stub_env: dict[str, str], tmp_path: Path, cli_in_process: Callable[..., Result]) -> None:
    app = tmp_path / "app"
    write_cdk_json(app, **APP)
    Path(stub_env["AWS_CONFIG_FILE"]).write_text(CONFIG)
    result = cli_in_process("list", env=stub_env, cwd=app)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("roles of the app in ") and "trusted account 111111111111" in lines[0]
    assert lines[1].split() == ["ACCOUNT", "TIER", "ROLE", "REQUIRES", "PROFILES"]
    assert lines[2].split()[:3] == ["222222222222", "Deploy", DEPLOY_B]
    assert "external ID, MFA at most 3600 s old, session tags allowed (team)" in lines[2]
    assert lines[2].endswith("deploy-b")
    assert "source identity" in lines[5] and lines[5].endswith("read-c")
    assert lines[-1].startswith("assume it: cross-account assume --tier Deploy --mfa-serial ARN  (--account")


def test_the_partition_follows_the_region_and_profiles_match_in_any_partition(
    stub_env: dict[str, str], tmp_path: Path, cli_in_process: Callable[..., Result]
) -> None:
    app = tmp_path / "app"
    write_cdk_json(app, trusted_account_id="111111111111", region="us-gov-west-1")
    gov = "arn:aws-us-gov:iam::222222222222:role/CrossAccountAccessRole"
    Path(stub_env["AWS_CONFIG_FILE"]).write_text(f"[profile gov]\nrole_arn = {gov}\nsource_profile = a\n")
    [role] = listed(cli_in_process("list", "--format", "json", env=stub_env, cwd=app)).values()
    assert (role["role_arn"], role["profiles"]) == (gov, ["gov"])


def test_an_organization_wide_app_lists_the_accounts_profiles_point_at(
    stub_env: dict[str, str], tmp_path: Path, cli_in_process: Callable[..., Result]
) -> None:
    app = tmp_path / "app"
    write_cdk_json(
        app,
        trusted_account_id="111111111111",
        organization_id="o-abcdefghij",
        target_organizational_unit_ids=["ou-abcd-12345678"],
    )
    other = "arn:aws:iam::444444444444:role/CrossAccountAccessRole"
    Path(stub_env["AWS_CONFIG_FILE"]).write_text(f"[profile d]\nrole_arn = {other}\nsource_profile = a\n")
    roles = listed(cli_in_process("list", "--format", "json", env=stub_env, cwd=app))
    assert list(roles) == ["222222222222/None", "444444444444/None"]
    assert roles["444444444444/None"]["profiles"] == ["d"]


def test_without_an_app_it_is_one_line(stub_env: dict[str, str], tmp_path: Path) -> None:
    assert_one_line_error(run_cli("list", env=stub_env, cwd=tmp_path), "no cdk.json", "--cdk-json", code=2)
    other = tmp_path / "other"
    write_cdk_json(other, someone_elses_setting=1)
    result = run_cli("list", "--cdk-json", str(other / "cdk.json"), env=stub_env, cwd=tmp_path)
    assert_one_line_error(result, "looks like another CDK app's", "pass --cdk-json with this app's file", code=2)


def test_an_unreadable_config_file_still_lists_the_roles(
    stub_env: dict[str, str], tmp_path: Path, cli_in_process: Callable[..., Result]
) -> None:
    app = tmp_path / "app"
    write_cdk_json(app, **APP)
    Path(stub_env["AWS_CONFIG_FILE"]).write_text("key = value outside any section\n")
    result = cli_in_process("list", "--format", "json", env=stub_env, cwd=app)
    assert result.code == 0
    assert len(json.loads(result.out)["roles"]) == 4
    [warning] = result.err.splitlines()
    assert "warning: profiles not listed" in warning and "cannot be read by the AWS SDKs" in warning


def test_list_is_offline(tmp_path: Path, stub_env: dict[str, str], cli_in_process: Callable[..., Result]) -> None:
    app = tmp_path / "app"
    write_cdk_json(app, **APP)
    env = {k: v for k, v in stub_env.items() if not k.startswith("AWS_ACCESS") and not k.startswith("AWS_SECRET")}
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"  # nothing listens: any call would fail
    assert cli_in_process("list", env=env, cwd=app).code == 0
