"""Named roles (issue 18): configure-profile NAME once, then exec NAME -- CMD, assume NAME and console NAME from any
folder; $CROSS_ACCOUNT_CDK_JSON; list shows the names; a nested exec and an exec without -- get one line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_support import (
    ACCESS_DENIED,
    ROLE_ARN,
    SOURCE_ACCESS_KEY,
    Result,
    StubSts,
    StubStsServer,
    add_source_profile,
    assert_one_line_error,
    run_cli,
    said_lines,
)
from tests.test_cli_assume import write_cdk_json

DEVICE = "arn:aws:iam::111111111111:mfa/alice"
#: The source profile's own key: the named role's source is the profile, not the AWS_* variables.
PROFILE_KEY = "AKIAPROFILEEXAMPLE01"


@pytest.fixture
def named_env(stub_env: dict[str, str]) -> dict[str, str]:
    """account-a has keys of its own (the AWS_* keys of the shell are another identity); deploy-b is written."""
    home = Path(stub_env["HOME"])
    (home / ".aws" / "credentials").write_text(
        f"[account-a]\naws_access_key_id = {PROFILE_KEY}\naws_secret_access_key = profile/secret/0123456789\n"
    )
    written = run_cli(
        "configure-profile", "deploy-b", "--source-profile", "account-a", "--role-arn", ROLE_ARN,
        "--external-id", "named-id", "--session-name", "alice", "--duration", "1800", "--region", "eu-west-1",
        env=stub_env,
    )  # fmt: skip
    assert written.code == 0, written.err
    return stub_env


@pytest.fixture
def foreign_app(tmp_path: Path) -> Path:
    """Another CDK app's folder: a cdk.json with none of this app's settings."""
    folder = tmp_path / "my-service"
    write_cdk_json(folder, someone_elses_setting=1)
    return folder


def assumed(stub_sts: StubSts) -> list[dict[str, str]]:
    return [request for request in stub_sts.requests if request["Action"] == "AssumeRole"]


def test_assume_name_from_another_apps_folder_uses_the_profile(
    stub_sts: StubSts, named_env: dict[str, str], foreign_app: Path, cli_in_process: Callable[..., Result]
) -> None:
    result = cli_in_process("assume", "deploy-b", "--format", "json", env=named_env, cwd=foreign_app)
    assert result.code == 0, result.err
    [request] = assumed(stub_sts)
    assert {k: request[k] for k in ("RoleArn", "ExternalId", "RoleSessionName", "DurationSeconds", "_KeyId")} == {
        "RoleArn": ROLE_ARN,
        "ExternalId": "named-id",
        "RoleSessionName": "alice",
        "DurationSeconds": "1800",
        "_KeyId": PROFILE_KEY,  # the profile's source_profile, not the shell's keys
    }
    assert json.loads(result.out)["AccessKeyId"].startswith("ASIASTUB")
    # A flag given on the command line wins over the profile's value.
    again = cli_in_process(
        "assume", "deploy-b", "--external-id", "other-id", "--no-cache", env=named_env, cwd=foreign_app
    )
    assert again.code == 0, again.err
    assert assumed(stub_sts)[-1]["ExternalId"] == "other-id"


def test_exec_name_runs_the_command_in_the_role_from_an_empty_folder(
    stub_sts: StubSts, named_env: dict[str, str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code = "import os; print(os.environ['CROSS_ACCOUNT_ROLE_ARN'], os.environ['AWS_REGION'])"
    result = run_cli("exec", "deploy-b", "--", sys.executable, "-c", code, env=named_env, cwd=empty, subprocess=True)
    assert result.code == 0, result.err
    assert result.out.split() == [ROLE_ARN, "eu-west-1"]
    assert assumed(stub_sts)[0]["_KeyId"] == PROFILE_KEY


def test_console_name_signs_in_to_the_named_role(
    stub_sts: StubSts, named_env: dict[str, str], stub_sts_server: StubStsServer, tmp_path: Path
) -> None:
    env = {**named_env, "CROSS_ACCOUNT_FEDERATION_ENDPOINT": f"{stub_sts_server.url}/federation"}
    result = run_cli("console", "deploy-b", "--print", env=env, cwd=tmp_path)
    assert result.code == 0, result.err
    assert stub_sts.signin_tokens[0] in result.out
    assert assumed(stub_sts)[0]["RoleArn"] == ROLE_ARN


def test_a_credential_process_profile_is_a_name_too(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    add_source_profile(Path(stub_env["HOME"]))
    written = cli_in_process(
        "configure-profile", "tagged", "--source-profile", "account-a", "--role-arn", ROLE_ARN, "--credential-process",
        "--source-identity-from-caller", "--tag", "team=a b", "--mfa-serial", DEVICE, env=stub_env,
    )  # fmt: skip
    assert written.code == 0, written.err
    result = cli_in_process("assume", "tagged", "--mfa-token", "123456", "--no-cache", env=stub_env)
    assert result.code == 0, result.err
    request = assumed(stub_sts)[-1]
    assert (request["SourceIdentity"], request["Tags.member.1.Value"]) == ("alice", "a b")
    listed = json.loads(cli_in_process("list", "--format", "json", env=stub_env).out)["named_roles"]
    assert listed == [
        {
            "name": "tagged",
            "role_arn": ROLE_ARN,
            "source_profile": "account-a",
            "kind": "credential_process",
            "sends": ["MFA", "source identity", "session tags"],
        }
    ]


def test_in_another_apps_folder_the_refusal_says_name_or_arn(
    stub_sts: StubSts, stub_env: dict[str, str], foreign_app: Path, cli_in_process: Callable[..., Result]
) -> None:
    result = cli_in_process("assume", env=stub_env, cwd=foreign_app)
    assert_one_line_error(
        result, "looks like another CDK app's", "a NAME written by cross-account configure-profile NAME",
        "--role-arn ARN", "CROSS_ACCOUNT_CDK_JSON", code=2,
    )  # fmt: skip
    nowhere = cli_in_process("assume", env=stub_env)
    assert_one_line_error(nowhere, "no role to assume: name one", "--role-arn ARN", code=2)
    assert stub_sts.requests == []
    # An explicit ARN is enough there.
    assert cli_in_process("assume", "--role-arn", ROLE_ARN, env=stub_env, cwd=foreign_app).code == 0


def test_the_app_cdk_json_is_selected_once_by_the_environment(
    stub_sts: StubSts,
    stub_env: dict[str, str],
    tmp_path: Path,
    foreign_app: Path,
    cli_in_process: Callable[..., Result],
) -> None:
    app = write_cdk_json(tmp_path / "the-app", external_ids=["app-id"], region="eu-north-1")
    env = {**stub_env, "CROSS_ACCOUNT_CDK_JSON": str(app)}
    result = cli_in_process("assume", "--format", "json", env=env, cwd=foreign_app)
    assert result.code == 0, result.err
    [request] = assumed(stub_sts)
    assert (request["RoleArn"], request["ExternalId"]) == (ROLE_ARN, "app-id")
    listed = cli_in_process("list", env=env, cwd=foreign_app)
    assert listed.code == 0, listed.err
    assert f"roles of the app in {app}" in listed.out
    missing = cli_in_process("assume", env={**stub_env, "CROSS_ACCOUNT_CDK_JSON": str(tmp_path / "nope.json")})
    assert_one_line_error(missing, f"CROSS_ACCOUNT_CDK_JSON={tmp_path / 'nope.json'}: no such file", code=2)


def test_list_shows_the_names_from_any_folder(named_env: dict[str, str], tmp_path: Path) -> None:
    text = run_cli("list", env=named_env, cwd=tmp_path)
    assert text.code == 0, text.err
    lines = text.out.splitlines()
    assert lines[0].startswith("named roles in ") and "cross-account exec NAME -- CMD" in lines[0]
    assert lines[1].split() == ["NAME", "ROLE", "SOURCE", "SENDS"]
    assert lines[2].split(None, 3) == ["deploy-b", ROLE_ARN, "account-a", "external ID, session name"]
    document = json.loads(run_cli("list", "--format", "json", env=named_env, cwd=tmp_path).out)
    assert document["roles"] == [] and [role["name"] for role in document["named_roles"]] == ["deploy-b"]
    # Beside the app's roles, in the app's folder.
    write_cdk_json(tmp_path / "app", external_ids=["named-id"])
    both = run_cli("list", env=named_env, cwd=tmp_path / "app")
    assert both.out.index("roles of the app") < both.out.index("named roles in ")


def test_odd_names_are_one_line(
    stub_sts: StubSts, named_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    unknown = cli_in_process("assume", "deploy-c", env=named_env)
    assert_one_line_error(unknown, "no role named 'deploy-c'", "named roles: deploy-b", code=2)
    # A profile that configure-profile did not write is not a name (its source may be anything).
    config = Path(named_env["AWS_CONFIG_FILE"])
    config.write_text(config.read_text() + f"\n[profile hand-made]\nrole_arn = {ROLE_ARN}\nsource_profile = x\n")
    assert_one_line_error(cli_in_process("assume", "hand-made", env=named_env), "no role named 'hand-made'", code=2)
    both = cli_in_process("assume", "deploy-b", "--role-arn", ROLE_ARN, env=named_env)
    assert_one_line_error(both, "NAME deploy-b picks the role already; drop --role-arn", code=2)
    config.write_text(config.read_text() + "[profile broken\n")
    broken = cli_in_process("exec", "deploy-b", "--", "true", env=named_env)
    assert_one_line_error(broken, f"{config} cannot be read by the AWS SDKs (line", code=2)
    assert stub_sts.requests == []


def test_a_nested_exec_is_told_so_in_one_line(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    # The inner exec's source is the outer role's session, which the role's trust does not let in.
    stub_sts.script["AssumeRole"] = [None, ACCESS_DENIED]
    inner = [sys.executable, "-m", "cross_account.cli", "exec", "--role-arn", ROLE_ARN, "--", "true"]
    result = run_cli("exec", "--role-arn", ROLE_ARN, "--", *inner, env=stub_env, subprocess=True)
    assert result.code == 1
    lines = said_lines(result.err)  # besides the two role lines (outer, inner) and the file cache's note
    assert lines == [
        f"cross-account: AccessDenied: this command already runs in a session of {ROLE_ARN} (CROSS_ACCOUNT_ROLE_ARN "
        f"is set by an outer cross-account exec), which may not assume {ROLE_ARN}: run the command without "
        "cross-account exec, or leave the outer one first"
    ]
    outer, nested = assumed(stub_sts)
    assert (outer["_KeyId"], nested["_KeyId"][:8], nested["_Temporary"]) == (SOURCE_ACCESS_KEY, "ASIASTUB", "1")
    # Outside an exec, the same refusal lists the likely causes.
    stub_sts.script["AssumeRole"] = [ACCESS_DENIED]
    plain = cli_in_process("exec", "--role-arn", ROLE_ARN, "--no-cache", "--", "true", env=stub_env)
    assert_one_line_error(plain, "Likely causes: (1) you are not in the assumers group", code=1)


def test_exec_without_the_double_dash_gets_a_hint(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    many = run_cli("exec", "--role-arn", ROLE_ARN, "aws", "s3", "ls", env=stub_env)
    assert_one_line_error(many, "unrecognized arguments: s3 ls", "exec runs the command after --", code=2)
    one = run_cli("exec", "--role-arn", ROLE_ARN, "whoami", env=stub_env)
    assert_one_line_error(one, "exec needs a command after --", "cross-account exec [NAME] -- whoami", code=2)
    # Other commands keep argparse's own message.
    other = run_cli("assume", "deploy-b", "extra", env=stub_env)
    assert_one_line_error(other, "unrecognized arguments: extra (see --help)", code=2)
    assert stub_sts.requests == []
