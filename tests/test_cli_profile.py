"""configure-profile: the text edit, the file handling, and the SDKs reading what was written."""

from __future__ import annotations

import configparser
import errno
import json
import os
import random
import secrets
import shlex
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cross_account.cli.errors import CliError
from cross_account.cli.profile import OWNED_KEYS, _replace_atomically, update_profile, write_profile
from tests.cli_support import (
    CLI,
    ROLE_ARN,
    SOURCE_ACCESS_KEY,
    SOURCE_SECRET,
    Result,
    StubSts,
    add_source_profile,
    assert_one_line_error,
    run_cli,
)

BEFORE = """\
# AWS config, written by hand.
[default]
region = us-east-1
output = json

; the trusted account
[profile account-a]
region = eu-west-1
cli_pager =

[profile deploy-b]
# written long ago
role_arn = arn:aws:iam::222222222222:role/Old
source_profile = account-a
mfa_serial = arn:aws:iam::111111111111:mfa/old
output = text
s3 =
    max_concurrent_requests = 20

# the next one is SSO
[sso-session corp]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1
"""

AFTER = """\
# AWS config, written by hand.
[default]
region = us-east-1
output = json

; the trusted account
[profile account-a]
region = eu-west-1
cli_pager =

[profile deploy-b]
# written long ago
role_arn = arn:aws:iam::222222222222:role/CrossAccountAccessRole
source_profile = account-a
output = text
s3 =
    max_concurrent_requests = 20
external_id = 12345678TESTID
duration_seconds = 3600
role_session_name = alice
region = eu-west-1
cross_account_version = 1

# the next one is SSO
[sso-session corp]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1
"""

CONFIGURE = (
    "configure-profile", "deploy-b", "--source-profile", "account-a", "--role-arn", ROLE_ARN,
    "--external-id", "12345678TESTID", "--session-name", "alice", "--duration", "3600", "--region", "eu-west-1",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _source_profile(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """account-a exists (configure-profile refuses a --source-profile that does not), in base_environment's home."""
    if {"stub_env", "moto_env"} & set(request.fixturenames):
        add_source_profile(tmp_path / "home")


def config_file(env: dict[str, str]) -> Path:
    return Path(env["AWS_CONFIG_FILE"])


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.*.bak"))


def write_source_credentials(env: dict[str, str]) -> dict[str, str]:
    """account-a's keys in the credentials file; none in the environment."""
    Path(env["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        f"[account-a]\naws_access_key_id = {SOURCE_ACCESS_KEY}\naws_secret_access_key = {SOURCE_SECRET}\n"
    )
    return {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}


def as_profile(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    """Run Python code in a fresh process whose only credentials are the config files."""
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=env["HOME"], capture_output=True, text=True, timeout=60, check=False
    )


# --- the edit ---------------------------------------------------------------------------------------


def test_update_keeps_every_other_byte(stub_env: dict[str, str], cli_in_process: Callable[..., Result]) -> None:
    path = config_file(stub_env)
    path.write_text(BEFORE)
    result = cli_in_process(*CONFIGURE, env=stub_env)
    assert result.code == 0, result.err
    assert path.read_text() == AFTER
    assert result.out.startswith(f"wrote profile deploy-b to {path} (previous version: ")


def test_backup_mode_and_idempotence(stub_env: dict[str, str], cli_in_process: Callable[..., Result]) -> None:
    path = config_file(stub_env)
    path.write_text(BEFORE)
    path.chmod(0o640)
    assert cli_in_process(*CONFIGURE, env=stub_env).code == 0
    [backup] = backups(path)
    assert backup.read_text() == BEFORE
    assert stat.S_IMODE(path.stat().st_mode) == 0o640, "the file keeps its mode"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o640
    written = path.stat()

    again = cli_in_process(*CONFIGURE, env=stub_env)
    assert again.code == 0
    assert again.out.startswith(f"profile deploy-b in {path} is already up to date")
    assert backups(path) == [backup], "no second backup when nothing changed"
    assert path.read_text() == AFTER
    assert path.stat().st_mtime_ns == written.st_mtime_ns and path.stat().st_ino == written.st_ino, "not rewritten"
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_a_change_makes_a_second_backup(stub_env: dict[str, str], cli_in_process: Callable[..., Result]) -> None:
    path = config_file(stub_env)
    path.write_text(BEFORE)
    assert cli_in_process(*CONFIGURE, env=stub_env).code == 0
    assert cli_in_process(*CONFIGURE[:-2], "--region", "eu-central-1", env=stub_env).code == 0
    assert [b.read_text() for b in backups(path)] == [BEFORE, AFTER]
    assert path.read_text() == AFTER.replace(
        "region = eu-west-1\ncross_account_version = 1\n\n# the next",
        "region = eu-central-1\ncross_account_version = 1\n\n# the next",
    )


def test_new_file_in_a_new_folder_is_private(tmp_path: Path, stub_env: dict[str, str]) -> None:
    path = tmp_path / "new" / "aws" / "config"
    env = {**stub_env, "AWS_CONFIG_FILE": str(path)}
    result = run_cli(*CONFIGURE, env=env)
    assert result.code == 0, result.err
    assert "(new file)" in result.out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text().startswith("[profile deploy-b]\nrole_arn = ")
    assert backups(path) == []


def test_symlinked_config_is_edited_through_the_link(stub_env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "aws-config"
    target.parent.mkdir()
    target.write_text(BEFORE)
    link = config_file(stub_env)
    link.symlink_to(target)
    assert run_cli(*CONFIGURE, env=stub_env).code == 0
    assert link.is_symlink() and target.read_text() == AFTER


def test_unit_append_new_section_and_missing_final_newline() -> None:
    text = "[profile a]\nregion = us-east-1"
    assert update_profile(text, "b", {"role_arn": "R", "source_profile": "a", "external_id": None}) == (
        "[profile a]\nregion = us-east-1\n\n[profile b]\nrole_arn = R\nsource_profile = a\n"
    )
    assert update_profile("", "default", {"role_arn": "R"}) == "[default]\nrole_arn = R\n"


def test_unit_default_profile_uses_its_existing_section() -> None:
    text = "[default]\nregion = us-east-1\n[profile x]\nregion = us-west-2\n"
    assert update_profile(text, "default", {"role_arn": "R"}) == (
        "[default]\nregion = us-east-1\nrole_arn = R\n[profile x]\nregion = us-west-2\n"
    )


def test_unit_crlf_and_spacing_are_kept() -> None:
    text = "[profile p]\r\nROLE_ARN=R\r\nregion: eu-west-1\r\n[x]\r\n"
    same = {"role_arn": "R", "region": "eu-west-1"}
    assert update_profile(text, "p", same) == text, "an unchanged key keeps its own spelling"
    assert update_profile(text, "p", {"role_arn": "S", "mfa_serial": "M"}) == (
        "[profile p]\r\nrole_arn = S\r\nregion: eu-west-1\r\nmfa_serial = M\r\n[x]\r\n"
    )


def test_unit_region_stays_when_not_given_and_header_without_keys() -> None:
    text = "[profile p]\nregion = eu-west-1\n"
    assert update_profile(text, "p", {"role_arn": "R"}) == "[profile p]\nregion = eu-west-1\nrole_arn = R\n"
    assert update_profile("[profile p]", "p", {"role_arn": "R"}) == "[profile p]\nrole_arn = R\n"
    assert update_profile('[profile  "p"]\n', "p", {"role_arn": "R"}) == '[profile  "p"]\nrole_arn = R\n'


def test_unit_concurrent_change_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("[profile other]\n")
    with pytest.raises(CliError, match="changed while it was being edited"):
        _replace_atomically(path, b"new", 0o600, expected=b"what we read earlier")
    assert path.read_text() == "[profile other]\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config"]


# --- the SDKs read what was written -------------------------------------------------------------------


def test_boto3_assumes_the_role_from_the_written_profile(moto_env: dict[str, str]) -> None:
    env = write_source_credentials(moto_env)
    result = run_cli(*CONFIGURE, env=env)
    assert result.code == 0, result.err
    probe = as_profile(
        env,
        "import boto3; s = boto3.Session(profile_name='deploy-b'); "
        "print(s.region_name, s.client('sts').get_caller_identity()['Arn'])",
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["eu-west-1", "arn:aws:sts::222222222222:assumed-role/CrossAccountAccessRole/alice"]


def test_boto3_sends_every_field_of_the_profile(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    env = write_source_credentials(stub_env)
    assert run_cli(*CONFIGURE, env=env).code == 0
    probe = as_profile(env, "import boto3; boto3.Session(profile_name='deploy-b').client('sts').get_caller_identity()")
    assert probe.returncode == 0, probe.stderr
    [assume] = [r for r in stub_sts.requests if r["Action"] == "AssumeRole"]
    assert {k: assume[k] for k in ("RoleArn", "ExternalId", "RoleSessionName", "DurationSeconds")} == {
        "RoleArn": ROLE_ARN,
        "ExternalId": "12345678TESTID",
        "RoleSessionName": "alice",
        "DurationSeconds": "3600",
    }


def test_configure_profile_with_a_session_name_or_credential_process_is_offline(
    stub_sts: StubSts, stub_env: dict[str, str]
) -> None:
    # Issue 10: with --session-name (or --credential-process) writing a config file is an offline act.
    offline = {k: v for k, v in stub_env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    args = ("configure-profile", "deploy-b", "--source-profile", "account-a", "--role-arn", ROLE_ARN)
    named = run_cli(*args, "--session-name", "alice", env=offline)
    assert named.code == 0, named.err
    assert "sessions will be named alice (--session-name)" in named.out
    assert "role_session_name = alice\n" in config_file(offline).read_text()
    process = run_cli(*args[:2], "--credential-process", *args[2:], env=offline)
    assert "sessions will be named after the caller" in process.out
    assert stub_sts.requests == [], "no call to AWS"


def test_configure_profile_names_sessions_after_the_caller_as_botocore_uses_it(moto_env: dict[str, str]) -> None:
    # Issue 18: a profile the AWS CLI and boto3 use names its sessions after the IAM user, as exec does, so the
    # target account's CloudTrail shows who acted (not botocore-session-<time>).
    import boto3

    iam = boto3.client("iam", endpoint_url=moto_env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                       aws_access_key_id=SOURCE_ACCESS_KEY, aws_secret_access_key=SOURCE_SECRET)  # fmt: skip
    user = f"alice-{secrets.token_hex(4)}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    env = {k: v for k, v in moto_env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    Path(env["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        f"[account-a]\naws_access_key_id = {key['AccessKeyId']}\naws_secret_access_key = {key['SecretAccessKey']}\n"
    )
    args = ("configure-profile", "deploy-b", "--source-profile", "account-a", "--role-arn", ROLE_ARN)
    result = run_cli(*args, "--region", "us-east-1", env=env, check_leaks=False)
    assert result.code == 0, result.err
    assert key["SecretAccessKey"] not in result.out + result.err
    assert f"sessions will be named {user} (your name, looked up with profile account-a)" in result.out
    assert f"role_session_name = {user}\n" in config_file(env).read_text()
    # botocore reads the profile as the AWS CLI does, assumes the role, and the session carries the user's name.
    probe = as_profile(
        env, "import boto3; print(boto3.Session(profile_name='deploy-b').client('sts').get_caller_identity()['Arn'])"
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == f"arn:aws:sts::222222222222:assumed-role/CrossAccountAccessRole/{user}"
    aws = subprocess.run(
        [str(Path(sys.executable).parent / "aws"), "sts", "get-caller-identity", "--profile", "deploy-b"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert aws.returncode == 0, aws.stderr
    assert json.loads(aws.stdout)["Arn"].endswith(f"assumed-role/CrossAccountAccessRole/{user}")


def test_configure_profile_without_a_usable_source_refuses_and_names_session_name(
    stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    # A source profile without credentials: the name cannot be looked up, and nothing is written.
    env = {k: v for k, v in stub_env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    config_file(env).write_text("[profile keyless]\nregion = us-east-1\n")
    result = cli_in_process("configure-profile", "deploy-b", "--source-profile", "keyless", "--role-arn", ROLE_ARN,
                            env=env)  # fmt: skip
    assert_one_line_error(result, "cannot look up your name with --source-profile keyless", "--session-name", code=1)
    assert config_file(env).read_text() == "[profile keyless]\nregion = us-east-1\n"


def test_a_source_profile_that_does_not_exist_is_refused_offline(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    # Issue 18: a typo in --source-profile is refused before anything is called or written, naming the known ones.
    config_file(stub_env).write_text(BEFORE)
    result = cli_in_process("configure-profile", "deploy-b", "--source-profile", "acount-a", "--role-arn", ROLE_ARN,
                            env=stub_env)  # fmt: skip
    assert_one_line_error(result, "--source-profile acount-a: no such profile", "account-a, default", code=2)
    assert config_file(stub_env).read_text() == BEFORE
    assert stub_sts.requests == []
    # One in the shared credentials file only (as aws configure writes it) is found.
    ok = cli_in_process(*CONFIGURE, env=stub_env)
    assert ok.code == 0, ok.err


def test_credential_process_profile_works_with_boto3_and_the_aws_cli(moto_env: dict[str, str]) -> None:
    env = write_source_credentials(moto_env)
    path = config_file(env)
    path.write_text(BEFORE)
    # Subprocesses: the credential_process line names the interpreter of the client that wrote it (the installed
    # script's), and the session it serves to boto3 and the AWS CLI is one another process put in the cache.
    result = run_cli(
        *CONFIGURE,
        "--credential-process",
        "--mfa-serial",
        "arn:aws:iam::111111111111:mfa/alice",
        env=env,
        subprocess=True,
    )
    assert result.code == 0, result.err
    section = path.read_text().split("[profile deploy-b]\n", 1)[1].split("\n\n", 1)[0]
    assert "role_arn" not in section and "source_profile" not in section and "mfa_serial =" not in section
    [line] = [line for line in section.splitlines() if line.startswith("credential_process = ")]
    command = shlex.split(line.removeprefix("credential_process = "))
    assert command[:6] == [str(CLI), "assume", "--format", "credential-process", "--profile", "account-a"]
    assert command[6:] == [
        "--role-arn", ROLE_ARN, "--external-id", "12345678TESTID", "--session-name", "alice",
        "--mfa-serial", "arn:aws:iam::111111111111:mfa/alice", "--duration", "3600", "--region", "eu-west-1",
    ]  # fmt: skip
    assert SOURCE_SECRET not in path.read_text()

    # A token can only come from a prompt; give one through a pre-filled cache instead of MFA hardware:
    # first assume directly (with a token), so credential_process finds the session cached.
    primed = run_cli(*command[1:], "--mfa-token", "123456", env=env, subprocess=True)
    assert primed.code == 0, primed.err
    probe = as_profile(
        {**env, "AWS_PROFILE": "deploy-b"},  # the profile itself in AWS_PROFILE must not recurse
        "import boto3; print(boto3.Session().client('sts').get_caller_identity()['Arn'])",
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "arn:aws:sts::222222222222:assumed-role/CrossAccountAccessRole/alice"
    aws = subprocess.run(
        [
            str(Path(sys.executable).parent / "aws"),
            "sts",
            "get-caller-identity",
            "--profile",
            "deploy-b",
            "--output",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert aws.returncode == 0, aws.stderr
    assert json.loads(aws.stdout)["Arn"].endswith("assumed-role/CrossAccountAccessRole/alice")


def test_credential_process_profile_without_mfa_assumes_on_demand(moto_env: dict[str, str]) -> None:
    env = write_source_credentials(moto_env)
    # A subprocess: the credential_process line names the interpreter of the client that wrote it.
    assert run_cli(*CONFIGURE, "--credential-process", env=env, subprocess=True).code == 0
    probe = as_profile(
        env, "import boto3; print(boto3.Session(profile_name='deploy-b').client('sts').get_caller_identity()['Arn'])"
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip().endswith("assumed-role/CrossAccountAccessRole/alice")
    assert len(list(Path(env["CROSS_ACCOUNT_CACHE_DIR"]).iterdir())) == 1, "the session was cached"


def test_switching_back_from_credential_process_to_a_role_profile(stub_env: dict[str, str]) -> None:
    assert run_cli(*CONFIGURE, "--credential-process", env=stub_env).code == 0
    assert run_cli(*CONFIGURE, env=stub_env).code == 0
    text = config_file(stub_env).read_text()
    assert "credential_process" not in text and f"role_arn = {ROLE_ARN}\n" in text


# --- refusals ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("configure-profile", "a", "--source-profile", "a", "--role-arn", ROLE_ARN), ("must differ",)),
        (("configure-profile", "a b", "--source-profile", "x", "--role-arn", ROLE_ARN), ("invalid NAME",)),
        (("configure-profile", "a]\n[x", "--source-profile", "x", "--role-arn", ROLE_ARN), ("invalid NAME",)),
        (("configure-profile", "a", "--source-profile", "x y", "--role-arn", ROLE_ARN), ("invalid --source-profile",)),
        ((*CONFIGURE, "--mfa-token", "123456"), ("--mfa-token is not stored",)),
        ((*CONFIGURE, "--source-identity", "alice"), ("cannot send a source identity", "--credential-process")),
        ((*CONFIGURE[:4], "--role-arn", "nope"), ("invalid --role-arn",)),
        (("configure-profile", "a", "--role-arn", ROLE_ARN), ("required: --source-profile",)),
    ],
)
def test_bad_requests_write_nothing(
    stub_sts: StubSts,
    stub_env: dict[str, str],
    cli_in_process: Callable[..., Result],
    args: tuple[str, ...],
    fragments: tuple[str, ...],
) -> None:
    path = config_file(stub_env)
    path.write_text(BEFORE)
    assert_one_line_error(cli_in_process(*args, env=stub_env), *fragments, code=2)
    assert path.read_text() == BEFORE and backups(path) == []
    assert stub_sts.requests == []


def test_duplicate_sections_are_refused(stub_env: dict[str, str], cli_in_process: Callable[..., Result]) -> None:
    path = config_file(stub_env)
    path.write_text("[profile deploy-b]\nregion = x\n[profile deploy-b]\nregion = y\n")
    result = cli_in_process(*CONFIGURE, env=stub_env)
    assert_one_line_error(
        result, "cannot be read by the AWS SDKs", "line 3: section [profile deploy-b] appears a second"
    )
    assert path.read_text() == "[profile deploy-b]\nregion = x\n[profile deploy-b]\nregion = y\n"


def test_two_sections_botocore_reads_as_one_profile_are_refused(
    stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    path = config_file(stub_env)
    path.write_text('[profile deploy-b]\nregion = x\n[profile "deploy-b"]\nregion = y\n')
    result = cli_in_process(*CONFIGURE, env=stub_env)
    assert_one_line_error(result, "has 2 sections", "(lines 1, 3)", "reads only the last", code=1)


def test_non_utf8_config_is_refused(stub_env: dict[str, str], cli_in_process: Callable[..., Result]) -> None:
    path = config_file(stub_env)
    path.write_bytes(b"[profile x]\nregion = \xff\n")
    assert_one_line_error(cli_in_process(*CONFIGURE, env=stub_env), "not UTF-8", code=1)
    assert path.read_bytes() == b"[profile x]\nregion = \xff\n"


def test_source_identity_goes_into_credential_process(stub_env: dict[str, str]) -> None:
    assert run_cli(*CONFIGURE, "--credential-process", "--source-identity", "alice", env=stub_env).code == 0
    assert "--source-identity alice" in config_file(stub_env).read_text()


def test_config_written_by_cwd_settings_not_by_shell_region(
    stub_env: dict[str, str], tmp_path: Path, cli_in_process: Callable[..., Result]
) -> None:
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {"region": "eu-north-1", "external_ids": ["app-id"]}}))
    env = {**stub_env, "AWS_REGION": "ap-south-1"}
    args = ("configure-profile", "b", "--source-profile", "account-a", "--session-name", "s1")
    assert cli_in_process(*args, env=env, cwd=tmp_path).code == 0
    text = config_file(env).read_text()
    assert "region = eu-north-1\n" in text and "external_id = app-id\n" in text
    assert os.environ.get("AWS_REGION") == "ap-south-1"  # the shell's value was there, and not used


def test_an_indented_bracket_line_is_a_value_not_a_section() -> None:
    # configparser reads an indented line as the continuation of the value above it.
    before = "[profile other]\ns3 =\n    [profile b]\n    max_concurrent_requests = 5\n"
    after = update_profile(before, "b", {"role_arn": ROLE_ARN, "source_profile": "other"})
    assert after.startswith(before)
    assert after[len(before) :].lstrip("\n").startswith("[profile b]\n")


# --- the caller lookup (shared with assume) ----------------------------------------------------------


def test_credential_process_sends_the_callers_source_identity_looked_up_when_used(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "cdk.json").write_text(json.dumps({"context": {"require_source_identity": True}}))
    env = write_source_credentials(stub_env)
    args = ("configure-profile", "b", "--source-profile", "account-a", "--credential-process")
    result = cli_in_process(*args, env=env, cwd=app)
    assert result.code == 0, result.err
    assert stub_sts.requests == [], "written offline"
    [line] = [line for line in config_file(env).read_text().splitlines() if line.startswith("credential_process")]
    command = shlex.split(line.removeprefix("credential_process = "))
    assert "--source-identity-from-caller" in command
    assert "--session-name" not in command and "--source-identity" not in command, "both follow the caller"

    # Used, in any folder: the caller's name is looked up and sent.
    stub_sts.caller_arn = "arn:aws:iam::111111111111:user/bob"
    used = run_cli(*command[1:], env=env)
    assert used.code == 0, used.err
    assert stub_sts.requests[-1]["SourceIdentity"] == "bob"
    assert stub_sts.requests[-1]["RoleSessionName"] == "bob"


# --- indented keys and continuation lines (issue 11): read the way botocore reads them ------------------


def botocore_profiles(tmp_path: Path, text: str) -> dict[str, dict[str, Any]]:
    from botocore.configloader import load_config

    path = tmp_path / "botocore-reads-this"
    path.write_text(text)
    profiles: dict[str, dict[str, Any]] = load_config(str(path))["profiles"]
    return profiles


def test_tab_indented_keys_are_keys_and_none_is_lost(tmp_path: Path) -> None:
    before = "[profile p]\n\tregion = eu-west-1\n\toutput = json\n"
    assert botocore_profiles(tmp_path, before) == {"p": {"region": "eu-west-1", "output": "json"}}
    after = update_profile(before, "p", {"role_arn": "R", "region": "us-east-1"})
    assert after == "[profile p]\n\tregion = us-east-1\n\toutput = json\n\trole_arn = R\n"
    assert botocore_profiles(tmp_path, after) == {"p": {"region": "us-east-1", "output": "json", "role_arn": "R"}}


def test_a_deeper_line_continues_the_indented_key_above_it(tmp_path: Path) -> None:
    before = (
        "[profile p]\n"
        "  role_arn = old\n"
        "  s3 =\n"
        "      max_concurrent_requests = 20\n"
        "\n"
        "      max_queue_size = 100\n"
        "  mfa_serial = M\n"
        "    M2\n"
        "  output = json\n"
        "[profile q]\n"
        "region = x\n"
    )
    nested = {"max_concurrent_requests": "20", "max_queue_size": "100"}  # botocore parses an s3 block
    assert botocore_profiles(tmp_path, before)["p"] == {
        "role_arn": "old",
        "s3": nested,
        "mfa_serial": "M\nM2",
        "output": "json",
    }
    after = update_profile(before, "p", {"role_arn": "R", "mfa_serial": None, "external_id": "E"})
    assert after == (
        "[profile p]\n"
        "  role_arn = R\n"
        "  s3 =\n"
        "      max_concurrent_requests = 20\n"
        "\n"
        "      max_queue_size = 100\n"
        "  output = json\n"
        "  external_id = E\n"
        "[profile q]\n"
        "region = x\n"
    )
    assert botocore_profiles(tmp_path, after) == {
        "p": {
            "role_arn": "R",
            "s3": nested,
            "output": "json",
            "external_id": "E",
        },
        "q": {"region": "x"},
    }


def test_an_indented_header_that_continues_nothing_is_a_section(tmp_path: Path) -> None:
    before = "[profile a]\n  [profile p]\n  region = y\n"
    assert botocore_profiles(tmp_path, before) == {"a": {}, "p": {"region": "y"}}
    after = update_profile(before, "p", {"role_arn": "R"})
    assert after == "[profile a]\n  [profile p]\n  region = y\n  role_arn = R\n"
    assert botocore_profiles(tmp_path, after) == {"a": {}, "p": {"region": "y", "role_arn": "R"}}


def test_a_key_added_to_a_section_without_keys_does_not_swallow_an_indented_header(tmp_path: Path) -> None:
    before = "[profile p]\n  [profile q]\n  region = y\n"
    after = update_profile(before, "p", {"role_arn": "R"})
    assert botocore_profiles(tmp_path, after) == {"p": {"role_arn": "R"}, "q": {"region": "y"}}


def random_config(rng: random.Random) -> str:
    """Sections with keys, comments, blank and continuation lines, each indented at random."""
    lines: list[str] = []
    for section in rng.sample(["profile p", "profile q", "default", "sso-session x"], rng.randint(1, 3)):
        lines.append(rng.choice(["", " ", "\t"]) + f"[{section}]")
        for _ in range(rng.randint(0, 4)):
            indent = rng.choice(["", "", " ", "  ", "\t", "    "])
            kind = rng.random()
            if kind < 0.6:
                lines.append(f"{indent}{rng.choice([*OWNED_KEYS[:4], 'output', 's3'])} = v{rng.randint(0, 9)}")
            elif kind < 0.85:
                lines.append(rng.choice(["", f"{indent}# note"]))
            else:
                lines.append(f"{indent}    nested = {rng.randint(0, 9)}")
    return "\n".join(lines) + rng.choice(["", "\n"])


def test_random_configs_read_back_with_only_the_owned_keys_changed() -> None:
    def read(text: str) -> dict[str, dict[str, str]]:
        parser = configparser.RawConfigParser()  # botocore's reader, with its defaults
        parser.read_string(text)
        return {name: dict(parser.items(name)) for name in parser.sections()}

    rng = random.Random(11)  # noqa: S311 (a fixed seed: the same configs every run)
    checked = 0
    for _ in range(3000):
        text = random_config(rng)
        try:
            expected = read(text)
        except configparser.Error:
            continue  # botocore refuses it too (a repeated key): not the writer's business
        profile = rng.choice(["p", "q", "default"])
        values = {key: rng.choice([None, "NEW", "v1"]) for key in rng.sample(OWNED_KEYS, rng.randint(1, 4))}
        try:
            after = update_profile(text, profile, values)
        except CliError:
            continue  # the same profile twice
        section = expected.setdefault("default" if profile == "default" else f"profile {profile}", {})
        for key, value in values.items():
            if value is None:
                section.pop(key, None)
            else:
                section[key] = value
        assert read(after) == expected, (text, profile, values, after)
        checked += 1
    assert checked > 2000


# --- lost updates, ownership, special files (issue 11) ---------------------------------------------------

ROLE_VALUES = {"role_arn": ROLE_ARN, "source_profile": "account-a"}


def test_concurrent_writers_in_one_process_all_land(tmp_path: Path) -> None:
    """Threads released together: each re-reads the file under the lock, so none fails and none is lost."""
    path = tmp_path / "config"
    path.write_text(BEFORE)
    start = threading.Barrier(16)
    failures: list[BaseException] = []

    def write(number: int) -> None:
        start.wait()
        try:
            write_profile(path, f"writer-{number}", ROLE_VALUES)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=write, args=(number,)) for number in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    profiles = botocore_profiles(tmp_path, path.read_text())
    assert {f"writer-{number}" for number in range(16)} <= set(profiles)
    assert profiles["deploy-b"]["output"] == "text", "what was there stays"


def test_concurrent_configure_profile_processes_all_land(stub_env: dict[str, str]) -> None:
    path = config_file(stub_env)
    path.write_text(BEFORE)
    runs = [
        subprocess.Popen(
            [str(CLI), "configure-profile", f"p{number}", "--source-profile", "account-a", "--role-arn", ROLE_ARN],
            env=stub_env,
            cwd=stub_env["HOME"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for number in range(8)
    ]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert out.startswith("wrote profile p")
    profiles = botocore_profiles(path.parent, path.read_text())
    assert {f"p{number}" for number in range(8)} <= set(profiles)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="files of another user (sudo) need root")
USER = (54321, 54322)


@needs_root
def test_under_sudo_the_config_keeps_its_owner_and_group(stub_env: dict[str, str]) -> None:
    path = config_file(stub_env)
    path.write_text(BEFORE)
    os.chown(path.parent, *USER)
    os.chown(path, *USER)
    assert run_cli(*CONFIGURE, env=stub_env).code == 0
    assert path.read_text() == AFTER
    for written in [path, *backups(path), path.with_name(".config.lock")]:
        info = written.stat()
        assert (info.st_uid, info.st_gid) == USER, written


@needs_root
def test_under_sudo_a_new_config_belongs_to_the_owner_of_home(stub_env: dict[str, str], tmp_path: Path) -> None:
    home = tmp_path / "user-home"
    home.mkdir()
    os.chown(home, *USER)
    env = {**stub_env, "HOME": str(home)}
    del env["AWS_CONFIG_FILE"]
    assert run_cli(*CONFIGURE, env=env).code == 0
    for made in (home / ".aws", home / ".aws" / "config"):
        assert (made.stat().st_uid, made.stat().st_gid) == USER, made


@needs_root
def test_an_owner_that_cannot_be_kept_is_a_refusal(
    stub_env: dict[str, str], cli_in_process: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a user who may write the file but not give it away (fchown fails), the file stays as it was.
    path = config_file(stub_env)
    path.write_text(BEFORE)
    os.chown(path, *USER)

    def not_permitted(fd: int, uid: int, gid: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "fchown", not_permitted)
    result = cli_in_process(*CONFIGURE, env=stub_env)
    assert_one_line_error(result, f"{path} belongs to user {USER[0]}, group {USER[1]}", "run this as its owner", code=1)
    assert path.read_text() == BEFORE and backups(path) == []


@needs_root
def test_a_device_is_never_replaced(stub_env: dict[str, str], tmp_path: Path) -> None:
    device = tmp_path / "null"  # a private copy of /dev/null: the real one is shared by everything on the machine
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    for target in (device, tmp_path / "link-to-null"):
        if target != device:
            target.symlink_to(device)
        result = run_cli(*CONFIGURE, env={**stub_env, "AWS_CONFIG_FILE": str(target)})
        assert_one_line_error(result, "is a character device, not a regular file", code=1)
        assert stat.S_ISCHR(device.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "link-to-null", "null"], "nothing made beside it"


def test_a_fifo_is_refused_without_hanging(stub_env: dict[str, str], tmp_path: Path) -> None:
    fifo = tmp_path / "config-fifo"
    os.mkfifo(fifo)
    # A subprocess with a time-out: a client that opened the FIFO to read it would wait for a writer forever.
    try:
        result = run_cli(*CONFIGURE, env={**stub_env, "AWS_CONFIG_FILE": str(fifo)}, subprocess=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("configure-profile hung on a FIFO")
    assert_one_line_error(result, "is a FIFO, not a regular file", code=1)
    assert stat.S_ISFIFO(fifo.stat().st_mode)


# --- config files botocore cannot read (issue 11) -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("region = us-east-1\n[profile a]\nregion = x\n", "line 1: text before the first [section] header"),
        ("[profile a]\nregion = x\n[profile b\noutput = json\n", "line 3: neither key = value"),
        ("\ufeff[default]\nregion = x\n", "line 1: it starts with a byte-order mark (BOM)"),
        ('{"profiles": {"a": {"region": "x"}}}\n', "line 1: text before the first [section] header"),
        ("[profile a]\nregion = x\nregion = y\n", "line 3: key region appears twice in section [profile a]"),
        ("[default]\naws_secret_access_key = SECRETLINE\n  [oops\n[x]\n[x]\n", "line 5: section [x] appears"),
    ],
    ids=["key before any section", "unterminated header", "BOM", "JSON", "duplicate key", "duplicate section"],
)
def test_a_config_botocore_cannot_read_is_refused_by_line(
    stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path, text: str, fragment: str
) -> None:
    from botocore.exceptions import ConfigParseError

    with pytest.raises(ConfigParseError):
        botocore_profiles(tmp_path, text)  # botocore itself refuses it
    path = config_file(stub_env)
    path.write_text(text, encoding="utf-8")
    result = cli_in_process(*CONFIGURE, env=stub_env)
    assert_one_line_error(result, "cannot be read by the AWS SDKs", fragment, "nothing was written", code=1)
    assert "SECRETLINE" not in result.err, "the text of a line is never shown"
    assert path.read_text(encoding="utf-8") == text and backups(path) == []


@pytest.mark.parametrize("header", ["profilex deploy-b", 'profile "deploy-b"', "profile\tdeploy-b"])
def test_a_section_botocore_reads_as_the_profile_is_the_profile(
    stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path, header: str
) -> None:
    before = f"[{header}]\noutput = json\nregion = x\n"
    assert botocore_profiles(tmp_path, before) == {"deploy-b": {"output": "json", "region": "x"}}
    path = config_file(stub_env)
    path.write_text(before)
    assert cli_in_process(*CONFIGURE, env=stub_env).code == 0
    after = path.read_text()
    assert after.count("[") == 1, "no second section"
    profile = botocore_profiles(tmp_path, after)["deploy-b"]
    assert profile["output"] == "json" and profile["role_arn"] == ROLE_ARN and profile["region"] == "eu-west-1"


# --- a full disk (issue 17, item 11) ------------------------------------------------------------------------


class _FullDisk:
    """`os.fdopen` whose `failing`-th file opened for writing refuses its write: no space left on the device."""

    def __init__(self, failing: int) -> None:
        self.failing, self.opened = failing, 0
        self.real = os.fdopen

    def __call__(self, fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = self.real(fd, mode, *args, **kwargs)
        if "w" not in mode:
            return handle
        self.opened += 1
        if self.opened != self.failing:
            return handle
        return _Refusing(handle)


class _Refusing:
    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def __enter__(self) -> _Refusing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.handle, name)

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("failing", [1, 2], ids=["writing the backup", "writing the new file"])
def test_a_full_disk_leaves_the_config_as_it_was_and_nothing_beside_it(
    stub_env: dict[str, str], cli_in_process: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, failing: int
) -> None:
    path = config_file(stub_env)
    path.write_text(BEFORE)
    before = {entry.name for entry in path.parent.iterdir()}
    monkeypatch.setattr(os, "fdopen", _FullDisk(failing))
    result = cli_in_process(*CONFIGURE, env=stub_env)
    monkeypatch.undo()
    assert_one_line_error(result, f"cannot write {path}", "No space left on device", code=1)
    assert path.read_text() == BEFORE
    left = {entry.name for entry in path.parent.iterdir()} - {f".{path.name}.lock"}
    assert left == before, "no backup and no temporary file left behind"
