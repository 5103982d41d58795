"""Issue 17 item 9: a cloned repository's ./cdk.json could silently pick the account that `exec` assumes a role in.
Now every run says which role it assumes and where the ARN came from, and the user's own config can allow-list the
accounts (allowed_accounts in ~/.config/cross-account/config.toml)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_support import ROLE_ARN, Result, StubSts, assert_one_line_error, role_lines, run_cli, said_lines
from tests.test_cli_assume import write_cdk_json

FOREIGN = "arn:aws:iam::999999999999:role/CrossAccountAccessRole"


def config(env: dict[str, str], text: str) -> Path:
    path = Path(env["HOME"]) / ".config" / "cross-account" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def cloned(tmp_path: Path) -> Path:
    """A cloned repository whose cdk.json names another account."""
    folder = tmp_path / "cloned"
    write_cdk_json(folder, trusted_account_id="111111111111", target_account_id="999999999999")
    return folder


def test_the_role_from_a_folders_cdk_json_is_said_on_stderr(
    stub_sts: StubSts, stub_env: dict[str, str], cloned: Path, cli_in_process: Callable[..., Result]
) -> None:
    """Old code: nothing on stderr; the account came from ./cdk.json unseen."""
    result = cli_in_process("assume", "--session-name", "alice", env=stub_env, cwd=cloned)
    assert result.code == 0, result.err
    assert role_lines(result.err) == [
        f"cross-account: assuming {FOREIGN} (from ./cdk.json in {cloned}, target_account_id)"
    ]
    assert said_lines(result.err) == []


@pytest.mark.parametrize(
    ("flags", "origin"),
    [
        (("--role-arn", ROLE_ARN), "--role-arn"),
        (("--from-stack-outputs", "outputs.json"), "--from-stack-outputs outputs.json"),
        (("--account", "222222222222"), "./cdk.json in {cwd}, --account"),
    ],
)
def test_every_origin_is_named(
    flags: tuple[str, ...],
    origin: str,
    stub_sts: StubSts,
    stub_env: dict[str, str],
    tmp_path: Path,
    cli_in_process: Callable[..., Result],
) -> None:
    app = tmp_path / "app"
    write_cdk_json(app, trusted_account_id="111111111111", target_account_ids=["222222222222", "333333333333"])
    outputs = {"TargetStack": {"RoleArn": ROLE_ARN, "ExternalId": "none"}}
    (app / "outputs.json").write_text(json.dumps(outputs))
    result = cli_in_process("assume", "--session-name", "alice", *flags, env=stub_env, cwd=app)
    assert result.code == 0, result.err
    [line] = role_lines(result.err)
    assert line == f"cross-account: assuming {ROLE_ARN} (from {origin.format(cwd=app)})"


def test_the_role_line_comes_once_before_the_command_runs_and_on_a_cache_hit(
    stub_sts: StubSts, stub_env: dict[str, str], cloned: Path
) -> None:
    for _ in range(2):  # a miss, then a hit
        result = run_cli("exec", "--session-name", "alice", "--", "true", env=stub_env, cwd=cloned, subprocess=True)
        assert result.code == 0, result.err
        assert len(role_lines(result.err)) == 1 and FOREIGN in result.err
    assert [r["Action"] for r in stub_sts.requests] == ["AssumeRole"]


def test_an_account_outside_allowed_accounts_is_refused_before_any_call(
    stub_sts: StubSts, stub_env: dict[str, str], cloned: Path
) -> None:
    path = config(stub_env, 'allowed_accounts = ["222222222222", "333333333333"]\n')
    result = run_cli("exec", "--session-name", "alice", "--", "true", env=stub_env, cwd=cloned, subprocess=True)
    assert_one_line_error(
        result,
        f"refusing {FOREIGN} (from ./cdk.json in {cloned}, target_account_id)",
        f"account 999999999999 is not in allowed_accounts of {path} (222222222222, 333333333333)",
        code=2,
    )
    assert role_lines(result.err) == [] and result.out == ""
    assert stub_sts.requests == []


def test_allowed_accounts_let_their_roles_through_whatever_the_origin(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    config(stub_env, '# mine\nallowed_accounts = ["222222222222"]\n')
    result = cli_in_process("assume", "--role-arn", ROLE_ARN, "--session-name", "alice", env=stub_env)
    assert result.code == 0, result.err
    refused = cli_in_process("assume", "--role-arn", FOREIGN, "--session-name", "alice", env=stub_env)
    assert_one_line_error(refused, "(from --role-arn): account 999999999999 is not in allowed_accounts", code=2)


def test_configure_profile_refuses_an_account_outside_the_list(
    stub_env: dict[str, str], cloned: Path, cli_in_process: Callable[..., Result]
) -> None:
    config(stub_env, 'allowed_accounts = ["222222222222"]\n')
    aws_config = Path(stub_env["AWS_CONFIG_FILE"])
    aws_config.write_text("[profile a]\nregion = us-east-1\n")
    flags = ("configure-profile", "b", "--source-profile", "a", "--session-name", "alice")
    result = cli_in_process(*flags, env=stub_env, cwd=cloned)
    assert_one_line_error(result, "account 999999999999 is not in allowed_accounts", code=2)
    assert aws_config.read_text() == "[profile a]\nregion = us-east-1\n", "no profile written"


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ('allowed_accounts = ["222222222222"]\nnot toml\n', ("not valid TOML", "line 2")),
        ("allowed_accounts = [222222222222]\n", ("invalid allowed_accounts[0] 222222222222", "quote it")),
        ('allowed_accounts = ["22222222222"]\n', ("invalid allowed_accounts[0] '22222222222'", "12-digit")),
        ('allowed_accounts = "222222222222"\n', ("invalid allowed_accounts:", "a list")),
        ('allowed_account = ["222222222222"]\n', ("unknown setting 'allowed_account'", "known: allowed_accounts")),
        (b"allowed_accounts = ['\xff']\n", ("not UTF-8",)),
    ],
)
def test_a_malformed_config_is_one_line_naming_the_file(
    text: str | bytes, fragments: tuple[str, ...], stub_sts: StubSts, stub_env: dict[str, str]
) -> None:
    path = config(stub_env, "")
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = run_cli("assume", "--role-arn", ROLE_ARN, "--session-name", "alice", env=stub_env)
    assert_one_line_error(result, str(path), *fragments, code=2)
    assert stub_sts.requests == [] and result.out == ""


def test_a_folder_or_a_writable_config_is_one_line(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    path = config(stub_env, 'allowed_accounts = ["222222222222"]\n')
    path.chmod(0o666)
    writable = run_cli("assume", "--role-arn", ROLE_ARN, "--session-name", "alice", env=stub_env)
    assert_one_line_error(writable, f"{path} can be changed by other users", "chmod go-w", code=2)
    path.unlink()
    path.mkdir()
    folder = run_cli("assume", "--role-arn", ROLE_ARN, "--session-name", "alice", env=stub_env)
    assert_one_line_error(folder, f"{path} is a folder, not a settings file", "CROSS_ACCOUNT_CONFIG", code=2)
    assert stub_sts.requests == []


def test_the_config_path_follows_the_override_then_xdg(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path, cloned: Path
) -> None:
    override = tmp_path / "elsewhere.toml"
    override.write_text('allowed_accounts = ["222222222222"]\n')
    xdg = tmp_path / "xdg"
    (xdg / "cross-account").mkdir(parents=True)
    (xdg / "cross-account" / "config.toml").write_text("allowed_accounts = []\n")
    for extra, where in (({"CROSS_ACCOUNT_CONFIG": str(override)}, override), ({"XDG_CONFIG_HOME": str(xdg)}, xdg)):
        result = run_cli("assume", "--session-name", "alice", env={**stub_env, **extra}, cwd=cloned)
        assert_one_line_error(result, f"allowed_accounts of {where}", code=2)
    assert "(none)" in result.err, "an empty list allows no account"


def test_a_named_role_and_the_cdk_json_variable_are_named_as_origins(
    stub_sts: StubSts, stub_env: dict[str, str], cloned: Path, cli_in_process: Callable[..., Result]
) -> None:
    aws_config = Path(stub_env["AWS_CONFIG_FILE"])
    aws_config.write_text("[profile a]\nregion = us-east-1\n")
    flags = ("configure-profile", "deploy-b", "--source-profile", "a", "--session-name", "alice")
    assert cli_in_process(*flags, "--role-arn", ROLE_ARN, "--credential-process", env=stub_env).code == 0
    Path(stub_env["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        "[a]\naws_access_key_id = AKIAPROFILEA00000001\naws_secret_access_key = profile-a-secret-0123456789\n"
    )
    named = cli_in_process("assume", "deploy-b", env=stub_env)
    assert named.code == 0, named.err
    assert role_lines(named.err) == [f"cross-account: assuming {ROLE_ARN} (from named role deploy-b in {aws_config})"]
    selected = cli_in_process(
        "assume", "--session-name", "alice", env={**stub_env, "CROSS_ACCOUNT_CDK_JSON": str(cloned / "cdk.json")}
    )
    assert selected.code == 0, selected.err
    [line] = role_lines(selected.err)
    assert line.endswith(f"(from CROSS_ACCOUNT_CDK_JSON={cloned / 'cdk.json'}, target_account_id)")
