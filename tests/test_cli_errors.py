"""Every expected failure: one line on stderr, a non-zero exit, no traceback, no secret, and no call
when the input was already wrong."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_support import (
    ACCESS_DENIED,
    EXPIRED_TOKEN,
    INVALID_TOKEN,
    MFA_REJECTED,
    OVER_CHAINING_MAX,
    OVER_ROLE_MAX,
    ROLE_ARN,
    UNAVAILABLE,
    Result,
    StubSts,
    assert_one_line_error,
    free_port,
    run_cli,
)

ASSUME = ("assume", "--role-arn", ROLE_ARN, "--session-name", "alice")
MFA_SERIAL = "arn:aws:iam::111111111111:mfa/alice"


# --- refusals from STS (the scripted stub sends AWS's own error bodies) ---------------------------


def test_access_denied_names_the_likely_causes(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    stub_sts.script["AssumeRole"] = [ACCESS_DENIED]
    result = run_cli(*ASSUME, "--external-id", "wrong-id", env=stub_env)
    assert_one_line_error(
        result,
        f"AccessDenied: cannot assume {ROLE_ARN}",
        "not in the assumers group",
        "external ID does not match",
        "'wrong-id'",
        "requires MFA (--mfa-serial)",
        "is not authorized to perform: sts:AssumeRole",
        code=1,
    )


def test_access_denied_with_the_apps_settings_names_the_group(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {"assumers_group_name": "DeployersOfB"}}))
    stub_sts.script["AssumeRole"] = [ACCESS_DENIED]
    result = run_cli("assume", "--session-name", "alice", env=stub_env, cwd=tmp_path)
    assert_one_line_error(result, "assumers group DeployersOfB", "you sent '12345678TESTID'")


def test_rejected_mfa_code_is_named(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    stub_sts.script["AssumeRole"] = [MFA_REJECTED]
    result = run_cli(*ASSUME, "--mfa-serial", MFA_SERIAL, "--mfa-token", "000000", env=stub_env)
    assert_one_line_error(result, "MFA code was rejected", MFA_SERIAL)
    assert "000000" not in result.err


@pytest.mark.parametrize("action", ["GetCallerIdentity", "AssumeRole"])
def test_expired_source_token(stub_sts: StubSts, stub_env: dict[str, str], action: str) -> None:
    stub_sts.script[action] = [EXPIRED_TOKEN]
    result = run_cli("assume", "--role-arn", ROLE_ARN, env=stub_env)
    assert_one_line_error(result, "ExpiredToken", "have expired")


def test_invalid_source_keys(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    stub_sts.script["AssumeRole"] = [INVALID_TOKEN]
    assert_one_line_error(run_cli(*ASSUME, env=stub_env), "InvalidClientTokenId", "not valid")


def test_duration_over_the_roles_maximum_reported_by_sts(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    stub_sts.script["AssumeRole"] = [OVER_ROLE_MAX]
    result = run_cli(*ASSUME, "--duration", "7200", env=stub_env)
    assert_one_line_error(result, "--duration 7200 exceeds the role's MaxSessionDuration")


def test_role_chaining_limit_reported_by_sts(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    # A caller whose identity we did not look up (explicit session name, duration <= 1 h is not checked locally).
    stub_sts.script["AssumeRole"] = [OVER_CHAINING_MAX]
    result = run_cli(*ASSUME, "--duration", "3600", env=stub_env)
    assert_one_line_error(result, "role chaining caps sessions at 3600 seconds")


def test_standard_retry_mode_retries_a_503_three_times_then_explains(
    stub_sts: StubSts, stub_env: dict[str, str]
) -> None:
    stub_sts.script["AssumeRole"] = [UNAVAILABLE] * 10
    result = run_cli(*ASSUME, env=stub_env)
    assert_one_line_error(result, "ServiceUnavailable")
    # "standard" mode: 3 attempts in all (the legacy mode would make 5).
    assert stub_sts.actions() == ["AssumeRole"] * 3


def test_a_transient_503_is_retried_to_success(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    stub_sts.script["AssumeRole"] = [UNAVAILABLE]
    result = run_cli(*ASSUME, "--format", "json", env=stub_env)
    assert result.code == 0, result.err
    assert json.loads(result.out)["AccessKeyId"] == stub_sts.issued[0]["AccessKeyId"]


# --- refusals found before any call -----------------------------------------------------------------


def test_role_chaining_over_an_hour_is_refused_before_assume_role(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    stub_sts.caller_arn = "arn:aws:sts::111111111111:assumed-role/Admin/alice"
    result = run_cli(*ASSUME, "--duration", "7200", env=stub_env)
    assert_one_line_error(result, "invalid --duration", "role chaining caps sessions at 1 hour", code=2)
    assert stub_sts.actions() == ["GetCallerIdentity"], "AssumeRole was never called"


def test_role_chaining_over_an_hour_against_moto(moto_env: dict[str, str]) -> None:
    first = run_cli("assume", "--role-arn", ROLE_ARN, "--session-name", "hop1", "--format", "json", env=moto_env)
    issued = json.loads(first.out)
    role_env = {
        **moto_env,
        "AWS_ACCESS_KEY_ID": issued["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": issued["SecretAccessKey"],
        "AWS_SESSION_TOKEN": issued["SessionToken"],
    }
    result = run_cli("assume", "--role-arn", "arn:aws:iam::333333333333:role/Next", "--duration", "3601", env=role_env)
    assert_one_line_error(result, "role chaining caps sessions at 1 hour", code=2)
    assert issued["SecretAccessKey"] not in result.err and issued["SessionToken"] not in result.err


def test_no_credentials(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    env = {k: v for k, v in stub_env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    result = run_cli(*ASSUME, env=env)
    assert_one_line_error(result, "no AWS credentials found", code=1)
    assert stub_sts.requests == []


def test_unknown_profile(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    result = run_cli(*ASSUME, "--profile", "nope", env=stub_env)
    assert_one_line_error(result, "AWS profile 'nope' not found")
    assert stub_sts.requests == []


def test_unreachable_endpoint(stub_env: dict[str, str]) -> None:
    env = {**stub_env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "AWS_MAX_ATTEMPTS": "1"}
    assert_one_line_error(run_cli(*ASSUME, env=env), "cannot reach STS")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--role-arn", "arn:aws:iam::2222:role/x"), ("invalid --role-arn", "must be a role ARN")),
        (("--role-arn", "arn:aws:iam::222222222222:user/x"), ("invalid --role-arn",)),
        ((*ASSUME[1:], "--external-id", "x"), ("invalid --external-id", "2-1224 characters")),
        ((*ASSUME[1:3], "--session-name", "a b"), ("invalid --session-name",)),
        ((*ASSUME[1:], "--source-identity", "x" * 65), ("invalid --source-identity",)),
        ((*ASSUME[1:], "--mfa-serial", "short"), ("invalid --mfa-serial",)),
        (
            (*ASSUME[1:], "--mfa-serial", MFA_SERIAL, "--mfa-token", "12345x"),
            ("invalid --mfa-token: must be exactly 6 digits",),
        ),
        ((*ASSUME[1:], "--mfa-token", "123456"), ("--mfa-token needs --mfa-serial",)),
        ((*ASSUME[1:], "--duration", "899"), ("invalid --duration", "between 900 and 43200")),
        ((*ASSUME[1:], "--duration", "43201"), ("invalid --duration",)),
        ((*ASSUME[1:], "--duration", "1h"), ("invalid --duration", "integer")),
        ((*ASSUME[1:], "--region", "mars-1"), ("invalid --region",)),
        ((*ASSUME[1:], "--external-id", "abc\n"), ("invalid --external-id: control characters",)),
        ((*ASSUME[1:], "--format", "yaml"), ("assume: argument --format: invalid choice",)),
        ((*ASSUME[1:], "--bogus"), ("unrecognized arguments: --bogus",)),
    ],
)
def test_bad_input_is_refused_before_any_call(
    stub_sts: StubSts,
    stub_env: dict[str, str],
    cli_in_process: Callable[..., Result],
    args: tuple[str, ...],
    fragments: tuple[str, ...],
) -> None:
    result = cli_in_process("assume", *args, env=stub_env)
    assert_one_line_error(result, *fragments, code=2)
    assert stub_sts.requests == []


def test_bad_mfa_token_is_not_echoed(stub_env: dict[str, str], cli_in_process: Callable[..., Result]) -> None:
    result = cli_in_process(*ASSUME, "--mfa-serial", MFA_SERIAL, "--mfa-token", "98765", env=stub_env)
    assert_one_line_error(result, "--mfa-token", code=2)
    assert "98765" not in result.err


def test_duration_over_the_apps_maximum_is_refused_before_any_call(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {"max_session_duration_seconds": 3600}}))
    result = run_cli("assume", "--duration", "7200", env=stub_env, cwd=tmp_path)
    assert_one_line_error(result, "MaxSessionDuration of 3600 seconds", code=2)
    assert stub_sts.requests == []


def test_mfa_required_by_the_app_but_no_serial(stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {"require_mfa": True}}))
    result = run_cli("assume", env=stub_env, cwd=tmp_path)
    assert_one_line_error(result, "requires MFA", "--mfa-serial arn:aws:iam::111111111111:mfa/", code=2)
    assert stub_sts.requests == []


def test_mfa_prompt_without_a_terminal(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    # A subprocess in a session of its own: really no controlling terminal (in-process, the runner only fakes one).
    result = run_cli(*ASSUME, "--mfa-serial", MFA_SERIAL, env=stub_env, subprocess=True)
    assert_one_line_error(result, "no terminal to ask on", "--mfa-token", code=2)
    assert "AssumeRole" not in stub_sts.actions()


@pytest.mark.parametrize(
    ("cdk_json", "fragments"),
    [
        (
            '{"context": {"trusted_account_id": "111111111111", "role_nme": "X"}}',
            ("invalid setting role_nme", "did you mean role_name?"),
        ),
        ('{"context": {"target_account_id": "123"}}', ("invalid setting target_account_id", "12 digits")),
        ("{not json", ("is not valid JSON",)),
    ],
)
def test_bad_cdk_json_is_named(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path, cdk_json: str, fragments: tuple[str, ...]
) -> None:
    (tmp_path / "cdk.json").write_text(cdk_json)
    result = run_cli("assume", env=stub_env, cwd=tmp_path)
    assert_one_line_error(result, "cdk.json", *fragments, code=2)
    assert stub_sts.requests == []


def test_no_role_anywhere(stub_env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli("assume", env=stub_env, cwd=tmp_path)
    assert_one_line_error(result, "no role to assume", "--role-arn", "--from-stack-outputs", code=2)


def test_missing_outputs_file(stub_env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli("assume", "--from-stack-outputs", str(tmp_path / "nope.json"), env=stub_env, cwd=tmp_path)
    assert_one_line_error(result, "cannot read", "nope.json", code=2)


# --- secrets on the success path: stdout only, in the format asked ------------------------------------


def test_verbose_log_names_steps_but_no_secret(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    first = run_cli(
        "assume", "--role-arn", ROLE_ARN, "-v", "--mfa-serial", MFA_SERIAL, "--mfa-token", "112233", env=stub_env
    )
    second = run_cli("assume", "--role-arn", ROLE_ARN, "-v", env=stub_env)
    assert first.code == second.code == 0
    mfa_session, issued = stub_sts.issued  # the MFA session (GetSessionToken), then the role session
    for result in (first, second):
        assert issued["SecretAccessKey"] in result.out  # printed where asked...
        assert issued["SecretAccessKey"] not in result.err  # ...and nowhere else
        assert issued["SessionToken"] not in result.err
        assert "112233" not in result.err + result.out
        for secret in (mfa_session["SecretAccessKey"], mfa_session["SessionToken"]):
            assert secret not in result.err + result.out, "the MFA session is never shown"
    assert "new MFA session for " + MFA_SERIAL in first.err
    assert "assuming " + ROLE_ARN + " as session alice" in first.err
    assert "cached session alice" in second.err
