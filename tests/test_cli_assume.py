"""`assume`: which role, with which options, against moto (real STS protocol) and the scripted stub."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from cross_account.cli.assume import session_name_from_arn
from cross_account.cli.errors import CliError
from cross_account.cli.request import RoleOptions, resolve_request
from tests.cli_support import (
    ACCESS_DENIED,
    CLI,
    ROLE_ARN,
    SOURCE_ACCESS_KEY,
    Result,
    StubSts,
    assert_clean_stderr,
    assert_one_line_error,
    free_port,
    run_cli,
)


def write_cdk_json(folder: Path, **context: Any) -> Path:
    """A cdk.json like the app's: our settings plus a CDK feature flag the parser must skip."""
    folder.mkdir(parents=True, exist_ok=True)
    document = {"app": "python app.py", "context": {"@aws-cdk/core:someFlag": True, **context}}
    (folder / "cdk.json").write_text(json.dumps(document))
    return folder / "cdk.json"


def parse_env_output(text: str) -> dict[str, str]:
    completed = subprocess.run(
        ["/bin/sh", "-c", 'eval "$1"; env -0', "sh", text],
        capture_output=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    pairs = (item.split("=", 1) for item in completed.stdout.decode().split("\0") if "=" in item)
    return {k: v for k, v in pairs if k.startswith("AWS_")}


def caller(env: dict[str, str], credentials: dict[str, str]) -> str:
    """Who moto says these credentials are: the proof that they work."""
    session = boto3.Session(
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        region_name="us-east-1",
    )
    return str(session.client("sts", endpoint_url=env["AWS_ENDPOINT_URL"]).get_caller_identity()["Arn"])


# --- every format, against moto, parsed back and used -------------------------------------------------


@pytest.mark.parametrize("output_format", ["env", "json", "credential-process"])
def test_each_format_against_moto_gives_working_role_credentials(
    output_format: str, moto_env: dict[str, str], tmp_path: Path
) -> None:
    result = run_cli(
        "assume", "--role-arn", ROLE_ARN, "--session-name", "deployer", "--format", output_format, env=moto_env
    )
    assert result.code == 0, result.err
    assert result.err == ""
    if output_format == "env":
        values = parse_env_output(result.out)
    else:
        document = json.loads(result.out)
        values = {
            "AWS_ACCESS_KEY_ID": document["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": document["SecretAccessKey"],
            "AWS_SESSION_TOKEN": document["SessionToken"],
        }
        assert document["Expiration"].endswith("Z")
        if output_format == "credential-process":
            assert document["Version"] == 1
            assert set(document) == {"Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}
    assert values["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert caller(moto_env, values) == "arn:aws:sts::222222222222:assumed-role/CrossAccountAccessRole/deployer"


def test_default_session_name_is_the_callers_iam_user_name(moto_env: dict[str, str]) -> None:
    iam = boto3.client(
        "iam",
        endpoint_url=moto_env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id=moto_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=moto_env["AWS_SECRET_ACCESS_KEY"],
    )
    user = f"alice.{os.getpid()}@example.com"
    iam.create_user(UserName=user, Path="/team/")
    key = iam.create_access_key(UserName=user)["AccessKey"]
    env = {**moto_env, "AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    result = run_cli("assume", "--role-arn", ROLE_ARN, "--format", "json", env=env)
    assert result.code == 0, result.err
    assert json.loads(result.out)["RoleSessionName"] == user
    assert json.loads(result.out)["AssumedRoleArn"].endswith(f"/CrossAccountAccessRole/{user}")
    assert key["SecretAccessKey"] not in result.err + result.out


@pytest.mark.parametrize(
    ("caller_arn", "expected"),
    [
        ("arn:aws:iam::111111111111:user/alice", "alice"),
        ("arn:aws:iam::111111111111:user/path/to/bob", "bob"),
        ("arn:aws:sts::111111111111:assumed-role/Admin/carol@example.com", "carol@example.com"),
        ("arn:aws:sts::111111111111:federated-user/dave:x", "dave-x"),
        ("arn:aws:iam::111111111111:root", "root"),
        ("arn:aws:iam::111111111111:user/é", "--cross-account"),
        ("arn:aws:iam::111111111111:user/x", "x-cross-account"),
        ("arn:aws:iam::111111111111:user/" + "n" * 80, "n" * 64),
    ],
)
def test_session_name_is_sanitized_to_the_sts_rule(caller_arn: str, expected: str) -> None:
    assert session_name_from_arn(caller_arn) == expected


# --- where the role comes from ------------------------------------------------------------------------


def test_role_external_id_and_region_come_from_cdk_json(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path
) -> None:
    app = tmp_path / "app"
    write_cdk_json(
        app, target_account_id="333333333333", role_name="Deployer", role_path="/ci/", external_ids=["ext-1", "ext-2"]
    )
    result = cli_in_process("assume", "--format", "json", env=stub_env, cwd=app)
    assert result.code == 0, result.err
    [request] = [r for r in stub_sts.requests if r["Action"] == "AssumeRole"]
    assert request["RoleArn"] == "arn:aws:iam::333333333333:role/ci/Deployer"
    assert request["ExternalId"] == "ext-1"
    assert request["RoleSessionName"] == "alice"
    assert json.loads(result.out)["Region"] == "us-east-1"


def test_explicit_flags_win_over_cdk_json(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path
) -> None:
    app = tmp_path / "app"
    write_cdk_json(app, external_ids=["from-settings"], region="eu-west-1")
    result = cli_in_process(
        "assume", "--external-id", "from-flag", "--region", "eu-central-1", "--format", "json", env=stub_env, cwd=app
    )
    assert result.code == 0, result.err
    assert stub_sts.requests[-1]["ExternalId"] == "from-flag"
    assert json.loads(result.out)["Region"] == "eu-central-1"


def test_role_arn_of_another_role_ignores_the_apps_external_id(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path
) -> None:
    app = tmp_path / "app"
    write_cdk_json(app, external_ids=["from-settings"])
    other = "arn:aws:iam::444444444444:role/Elsewhere"
    assert cli_in_process("assume", "--role-arn", other, "--session-name", "s1", env=stub_env, cwd=app).code == 0
    assert "ExternalId" not in stub_sts.requests[-1]
    # The app's own role, named explicitly, still gets the app's external ID.
    assert cli_in_process("assume", "--role-arn", ROLE_ARN, "--session-name", "s1", env=stub_env, cwd=app).code == 0
    assert stub_sts.requests[-1]["ExternalId"] == "from-settings"


def test_a_foreign_cdk_json_does_not_break_an_explicit_role_arn(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path
) -> None:
    other_app = tmp_path / "other"
    write_cdk_json(other_app, someoneElsesSetting=1)
    result = cli_in_process("assume", "--role-arn", ROLE_ARN, "--session-name", "s1", env=stub_env, cwd=other_app)
    assert result.code == 0, result.err


def test_role_and_external_id_from_cdk_outputs_file(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "TrustedStack": {"GroupName": "CrossAccountAssumers", "TargetRoleArn": ROLE_ARN},
                "TargetStack": {"RoleArn": ROLE_ARN, "ExternalId": "out-1,out-2", "SwitchRoleUrl": "https://x"},
            }
        )
    )
    result = cli_in_process("assume", "--from-stack-outputs", str(outputs), env=stub_env, cwd=tmp_path)
    assert result.code == 0, result.err
    assert stub_sts.requests[-1]["RoleArn"] == ROLE_ARN
    assert stub_sts.requests[-1]["ExternalId"] == "out-1"


def test_outputs_file_with_no_external_id(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"TargetStack": {"RoleArn": ROLE_ARN, "ExternalId": "none"}}))
    assert cli_in_process("assume", "--from-stack-outputs", str(outputs), env=stub_env, cwd=tmp_path).code == 0
    assert "ExternalId" not in stub_sts.requests[-1]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"TargetStack": {"GroupName": "x"}}, "no RoleArn output"),
        (
            {"A": {"RoleArn": ROLE_ARN}, "B": {"RoleArn": "arn:aws:iam::222222222222:role/Other"}},
            "several roles",
        ),
        ({"TargetStack": {"RoleArn": "arn:aws:iam::2222:role/x"}}, "must be a role ARN"),
        ([], "no RoleArn output"),
    ],
)
def test_bad_outputs_file_is_one_clear_error(tmp_path: Path, document: object, message: str) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(document))
    with pytest.raises(CliError, match=message):
        resolve_request(RoleOptions(from_stack_outputs=str(outputs)), cwd=tmp_path, environ={})


def test_source_identity_flag_and_required_by_settings(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path
) -> None:
    assert cli_in_process("assume", "--role-arn", ROLE_ARN, "--source-identity", "alice", env=stub_env).code == 0
    assert stub_sts.requests[-1]["SourceIdentity"] == "alice"

    app = tmp_path / "app"
    write_cdk_json(app, require_source_identity=True)
    stub_sts.caller_arn = "arn:aws:iam::111111111111:user/bob"
    assert cli_in_process("assume", "--session-name", "ci-run-7", env=stub_env, cwd=app).code == 0
    # The trust requires sts:SourceIdentity = ${aws:username}: the caller's name is sent without asking.
    assert stub_sts.requests[-1]["SourceIdentity"] == "bob"
    assert stub_sts.requests[-1]["RoleSessionName"] == "ci-run-7"


def test_duration_is_sent_and_bounded_by_the_apps_maximum(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path
) -> None:
    app = tmp_path / "app"
    write_cdk_json(app, max_session_duration_seconds=14400)
    result = cli_in_process("assume", "--duration", "14400", "--format", "json", env=stub_env, cwd=app)
    assert result.code == 0, result.err
    assert stub_sts.requests[-1]["DurationSeconds"] == "14400"
    over = cli_in_process("assume", "--duration", "14401", env=stub_env, cwd=app)
    assert over.code == 2 and "MaxSessionDuration of 14400" in over.err


def test_mfa_token_flag_is_sent_with_the_serial(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    """With the cache, the code goes to GetSessionToken (the MFA session); without it, to AssumeRole."""
    serial = "arn:aws:iam::111111111111:mfa/alice"
    args = ("assume", "--role-arn", ROLE_ARN, "--mfa-serial", serial, "--mfa-token", "123456")
    assert cli_in_process(*args, env=stub_env).code == 0
    session, assume = (r for r in stub_sts.requests if r["Action"] != "GetCallerIdentity")
    assert (session["Action"], session["SerialNumber"], session["TokenCode"]) == ("GetSessionToken", serial, "123456")
    assert "TokenCode" not in assume and assume["_KeyId"] == stub_sts.issued[0]["AccessKeyId"]
    stub_sts.requests.clear()
    assert cli_in_process(*args, "--no-cache", env=stub_env).code == 0
    assert stub_sts.requests[-1]["SerialNumber"] == serial
    assert stub_sts.requests[-1]["TokenCode"] == "123456"


def test_mfa_code_is_prompted_on_the_terminal_without_echo(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    serial = "arn:aws:iam::111111111111:mfa/alice"
    args = [str(CLI), "assume", "--role-arn", ROLE_ARN, "--mfa-serial", serial, "--format", "json"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: a fresh session whose controlling terminal is the pty
        os.execve(args[0], args, stub_env)  # noqa: S606 (no shell wanted)
    output = b""
    try:
        output += _read_until(fd, b"MFA code for " + serial.encode() + b": ")
        os.write(fd, b"654321\n")
        output += _read_until(fd, None)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, output
    assert b"654321" not in output, "the code was echoed"
    [session] = [r for r in stub_sts.requests if r["Action"] == "GetSessionToken"]
    assert session["TokenCode"] == "654321"
    assert b'"AccessKeyId"' in output


def _read_until(fd: int, marker: bytes | None, timeout: float = 30.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker is not None and marker in data:
            return data
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            return data
        if not chunk:
            return data
        data += chunk
    if marker is None:
        return data
    raise AssertionError(f"{marker!r} never came; got {data!r}")


def test_exported_credentials_as_source_are_role_chaining_within_an_hour(
    moto_env: dict[str, str], tmp_path: Path
) -> None:
    first = run_cli("assume", "--role-arn", ROLE_ARN, "--session-name", "hop1", env=moto_env)
    role_env = {**moto_env, **parse_env_output(first.out)}
    second = run_cli("assume", "--role-arn", "arn:aws:iam::333333333333:role/Next", "--format", "json", env=role_env)
    assert second.code == 0, second.err
    # The caller was the first role session: its session name carries over as the default.
    assert json.loads(second.out)["RoleSessionName"] == "hop1"
    assert_clean_stderr(second, role_env["AWS_SECRET_ACCESS_KEY"])
    assert role_env["AWS_ACCESS_KEY_ID"] != SOURCE_ACCESS_KEY


# --- several target accounts and role tiers (the app's scale-out settings) ---------------------------

TIERS = {
    "target_account_id": "222222222222",
    "target_account_ids": ["222222222222", "333333333333"],
    "external_ids": ["base-id"],
    "roles": {
        "ReadOnly": {"external_ids": ["ro-id"]},
        "Deploy": {"external_ids": ["deploy-id"], "max_session_duration_seconds": 7200, "require_mfa": True},
    },
}
DEPLOY_333 = "arn:aws:iam::333333333333:role/CrossAccountAccessRole-Deploy"
MFA = ("--mfa-serial", "arn:aws:iam::111111111111:mfa/alice", "--mfa-token", "123456")


def test_default_role_is_the_first_tier_in_target_account_id(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path
) -> None:
    write_cdk_json(tmp_path, **TIERS)
    assert cli_in_process("assume", "--session-name", "s1", env=stub_env, cwd=tmp_path).code == 0
    request = stub_sts.requests[-1]
    assert (request["RoleArn"], request["ExternalId"]) == (
        "arn:aws:iam::222222222222:role/CrossAccountAccessRole-ReadOnly",
        "ro-id",
    )


def test_account_and_tier_pick_the_role_and_its_rules(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path
) -> None:
    write_cdk_json(tmp_path, **TIERS)
    pick = ("assume", "--account", "333333333333", "--tier", "Deploy", "--session-name", "s1")
    # The Deploy tier requires MFA and allows 2 h: both rules come from its own settings.
    assert_one_line_error(cli_in_process(*pick, env=stub_env, cwd=tmp_path), "requires MFA", code=2)
    assert cli_in_process(*pick, *MFA, "--duration", "7200", env=stub_env, cwd=tmp_path).code == 0
    request = stub_sts.requests[-1]
    assert (request["RoleArn"], request["ExternalId"], request["DurationSeconds"]) == (DEPLOY_333, "deploy-id", "7200")
    over = cli_in_process(*pick, *MFA, "--duration", "7201", env=stub_env, cwd=tmp_path)
    assert_one_line_error(over, "MaxSessionDuration of 7200", code=2)


def test_explicit_role_arn_of_a_tier_gets_that_tiers_rules(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path
) -> None:
    write_cdk_json(tmp_path, **TIERS)
    assert cli_in_process("assume", "--role-arn", DEPLOY_333, *MFA, env=stub_env, cwd=tmp_path).code == 0
    assert stub_sts.requests[-1]["ExternalId"] == "deploy-id"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--account", "444444444444"), "account 444444444444 is not a target of the app"),
        (("--tier", "Admin"), "no tier 'Admin' in the app's settings (tiers: ReadOnly, Deploy)"),
        (("--account", "4444"), "invalid --account"),
        (("--role-arn", DEPLOY_333, "--tier", "Deploy"), "--role-arn names one already"),
    ],
)
def test_bad_account_or_tier(
    stub_sts: StubSts,
    stub_env: dict[str, str],
    cli_in_process: Callable[..., Result],
    tmp_path: Path,
    args: tuple[str, ...],
    fragment: str,
) -> None:
    write_cdk_json(tmp_path, **TIERS)
    assert_one_line_error(cli_in_process("assume", *args, env=stub_env, cwd=tmp_path), fragment, code=2)
    assert stub_sts.requests == []


def test_outputs_of_several_accounts_and_tiers(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path
) -> None:
    def target(account: str) -> dict[str, str]:
        return {
            "ReadOnlyRoleArn": f"arn:aws:iam::{account}:role/CrossAccountAccessRole-ReadOnly",
            "ReadOnlyExternalId": "ro-id",
            "DeployRoleArn": f"arn:aws:iam::{account}:role/CrossAccountAccessRole-Deploy",
            "DeployExternalId": "deploy-id,deploy-id-2",
        }

    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "TargetStack-222222222222": target("222222222222"),
                "TargetStack-333333333333": target("333333333333"),
                "TrustedStack": {"ReadOnlyGroupName": "CrossAccountAssumers-ReadOnly"},
            }
        )
    )
    base = ("assume", "--from-stack-outputs", str(outputs), "--session-name", "s1")
    assert_one_line_error(cli_in_process(*base, env=stub_env), "several roles", "--account, --tier", code=2)
    assert cli_in_process(*base, "--account", "333333333333", "--tier", "Deploy", env=stub_env).code == 0
    assert (stub_sts.requests[-1]["RoleArn"], stub_sts.requests[-1]["ExternalId"]) == (DEPLOY_333, "deploy-id")


def test_sts_specific_endpoint_variable_wins(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    env = {
        **stub_env,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "AWS_ENDPOINT_URL_STS": stub_env["AWS_ENDPOINT_URL"],
    }
    assert cli_in_process("assume", "--role-arn", ROLE_ARN, "--session-name", "s1", env=env).code == 0
    assert stub_sts.actions() == ["AssumeRole"]


# --- issue 10: partition, another CDK app's folder, source identity for role callers ---------------------

APP = {"trusted_account_id": "111111111111", "target_account_id": "222222222222", "external_ids": ["app-id"]}


@pytest.mark.parametrize(
    ("region", "partition"), [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("eu-west-1", "aws")]
)
def test_the_apps_role_arn_follows_the_partition_of_the_region(
    moto_env: dict[str, str], tmp_path: Path, region: str, partition: str
) -> None:
    write_cdk_json(tmp_path, **APP, region=region)
    result = run_cli("assume", "--session-name", "s1", "--format", "json", env=moto_env, cwd=tmp_path)
    assert result.code == 0, result.err
    issued = json.loads(result.out)
    assert issued["RoleArn"] == f"arn:{partition}:iam::222222222222:role/CrossAccountAccessRole"
    assert issued["Region"] == region
    # The flag's region decides as well.
    flag = run_cli("assume", "--region", "cn-northwest-1", "--session-name", "s1", "--format", "json", env=moto_env,
                   cwd=tmp_path)  # fmt: skip
    assert json.loads(flag.out)["RoleArn"].startswith("arn:aws-cn:iam::222222222222:role/")


def test_a_role_arn_in_another_partition_picks_its_region_or_refuses_a_mismatch(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    gov = "arn:aws-us-gov:iam::222222222222:role/CrossAccountAccessRole"
    result = cli_in_process("assume", "--role-arn", gov, "--session-name", "s1", "--format", "json", env=stub_env)
    assert result.code == 0, result.err
    assert json.loads(result.out)["Region"] == "us-gov-west-1"
    assert stub_sts.requests[-1]["RoleArn"] == gov
    mismatch = cli_in_process("assume", "--role-arn", gov, "--region", "eu-west-1", env=stub_env)
    assert_one_line_error(mismatch, "--region eu-west-1 is in partition aws", "is in aws-us-gov", code=2)
    shell = cli_in_process("assume", "--role-arn", gov, env={**stub_env, "AWS_REGION": "us-east-1"})
    assert_one_line_error(shell, "AWS_REGION us-east-1 is in partition aws", code=2)


OTHER_APP = {"app": "npx ts-node --prefer-ts-exts bin/shop.ts", "context": {"@aws-cdk/core:stackRelativeExports": True}}


@pytest.mark.parametrize(
    "extra", [{}, {"region": "eu-west-1"}, {"environment": "prod"}], ids=["flags", "region", "own"]
)
def test_another_cdk_apps_folder_asks_for_a_role_arn(
    moto_env: dict[str, str], tmp_path: Path, extra: dict[str, str]
) -> None:
    (tmp_path / "cdk.json").write_text(json.dumps({**OTHER_APP, "context": {**OTHER_APP["context"], **extra}}))
    result = run_cli("assume", env=moto_env, cwd=tmp_path)
    assert_one_line_error(result, "cdk.json holds none of this app's settings", "pass --role-arn ARN", code=2)
    works = run_cli("assume", "--role-arn", ROLE_ARN, "--session-name", "s1", "--format", "json", env=moto_env,
                    cwd=tmp_path)  # fmt: skip
    assert works.code == 0, works.err
    assert json.loads(works.out)["AssumedRoleArn"].endswith("assumed-role/CrossAccountAccessRole/s1")


def test_another_cdk_apps_folder_adds_none_of_the_example_defaults(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path
) -> None:
    (tmp_path / "cdk.json").write_text(json.dumps(OTHER_APP))
    assert (
        cli_in_process("assume", "--role-arn", ROLE_ARN, "--session-name", "s1", env=stub_env, cwd=tmp_path).code == 0
    )
    assert "ExternalId" not in stub_sts.requests[-1], "not the how-to's 12345678TESTID"
    explicit = cli_in_process("assume", "--cdk-json", str(tmp_path / "cdk.json"), env=stub_env)
    assert_one_line_error(explicit, "holds none of this app's settings", code=2)


SSO_CALLER = "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Deploy_0123456789abcdef/alice@example.com"


def test_a_role_caller_sends_its_session_name_as_source_identity_and_a_refusal_says_why(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path
) -> None:
    write_cdk_json(tmp_path, **APP, require_source_identity=True)
    stub_sts.caller_arn = SSO_CALLER
    assert cli_in_process("assume", "--session-name", "deploy-7", env=stub_env, cwd=tmp_path).code == 0
    assert stub_sts.requests[-1]["SourceIdentity"] == "alice@example.com"
    assert stub_sts.requests[-1]["RoleSessionName"] == "deploy-7"

    stub_sts.script["AssumeRole"] = [ACCESS_DENIED]
    denied = cli_in_process("assume", "--session-name", "deploy-7", "--no-cache", env=stub_env, cwd=tmp_path)
    assert_one_line_error(
        denied,
        "(4) you sent source identity 'alice@example.com' (your role session name)",
        "as a role session you may set any",
        "must send that same one (--source-identity)",
        code=1,
    )


def test_an_iam_user_is_told_the_source_identity_must_be_the_user_name(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path
) -> None:
    write_cdk_json(tmp_path, **APP, require_source_identity=True)
    stub_sts.caller_arn = "arn:aws:iam::111111111111:user/bob"
    stub_sts.script["AssumeRole"] = [ACCESS_DENIED]
    denied = cli_in_process("assume", "--no-cache", env=stub_env, cwd=tmp_path)
    assert_one_line_error(denied, "you sent source identity 'bob' (your IAM user name)", "exactly their user name")


def test_source_identity_from_caller_flag_without_the_apps_settings(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    stub_sts.caller_arn = "arn:aws:sts::111111111111:assumed-role/CiRole/ci-run-7"
    args = ("assume", "--role-arn", "arn:aws:iam::333333333333:role/Next", "--source-identity-from-caller")
    assert cli_in_process(*args, env=stub_env).code == 0
    assert (stub_sts.requests[-1]["SourceIdentity"], stub_sts.requests[-1]["RoleSessionName"]) == ("ci-run-7",) * 2
    conflict = cli_in_process(*args, "--source-identity", "x1", env=stub_env)
    assert_one_line_error(conflict, "exclude each other", code=2)
