"""One MFA prompt for many roles: the MFA session (GetSessionToken), cached 0600, keyed by source and device."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cross_account.cli.credentials import iso8601
from tests.cli_support import (
    MFA_REJECTED,
    ROLE_ARN,
    SOURCE_ACCESS_KEY,
    Reply,
    Result,
    StubSts,
    assert_clean_stderr,
    assert_one_line_error,
)
from tests.test_cli_assume import write_cdk_json

SERIAL = "arn:aws:iam::111111111111:mfa/alice"
OTHER_ROLE = "arn:aws:iam::333333333333:role/Other"
MFA = ("--mfa-serial", SERIAL)


def assume(role: str, *flags: str) -> tuple[str, ...]:
    return ("assume", "--role-arn", role, "--session-name", "alice", "--format", "json", *MFA, *flags)


def calls(stub: StubSts, action: str) -> list[dict[str, str]]:
    return [request for request in stub.requests if request["Action"] == action]


def mfa_entries(cache: Path) -> list[Path]:
    return [path for path in cache.glob("*.json") if json.loads(path.read_text())["Key"].get("kind") == "mfa-session"]


def test_one_code_for_many_roles(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    first = cli_in_process(*assume(ROLE_ARN, "--mfa-token", "123456"), env=stub_env)
    assert first.code == 0, first.err
    # No code and no terminal: only the cached MFA session can serve the second role.
    second = cli_in_process(*assume(OTHER_ROLE), env=stub_env)
    assert second.code == 0, second.err
    [session] = calls(stub_sts, "GetSessionToken")
    assert (session["SerialNumber"], session["TokenCode"], session["DurationSeconds"]) == (SERIAL, "123456", "43200")
    mfa_key = stub_sts.issued[0]["AccessKeyId"]
    assumed = calls(stub_sts, "AssumeRole")
    assert [r["RoleArn"] for r in assumed] == [ROLE_ARN, OTHER_ROLE]
    assert all(r["_KeyId"] == mfa_key and "TokenCode" not in r for r in assumed), "assumed from the MFA session"
    assert json.loads(second.out)["AccessKeyId"] == stub_sts.issued[-1]["AccessKeyId"]
    for result in (first, second):
        assert_clean_stderr(result, stub_sts.issued[0]["SecretAccessKey"], stub_sts.issued[0]["SessionToken"])
        assert stub_sts.issued[0]["SecretAccessKey"] not in result.out, "the MFA session is never printed"


def test_the_mfa_session_is_a_private_cache_entry_and_clear_cache_drops_it(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    cache = Path(stub_env["CROSS_ACCOUNT_CACHE_DIR"])
    assert cli_in_process(*assume(ROLE_ARN, "--mfa-token", "123456"), env=stub_env).code == 0
    [entry] = mfa_entries(cache)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    document = json.loads(entry.read_text())
    assert document["Mfa"] is True and document["Key"]["role_arn"] == SERIAL
    assert "AKIASOURCE" not in entry.read_text(), "keyed by a hash of the source key, not the key"

    cleared = cli_in_process("clear-cache", env=stub_env)
    assert cleared.code == 0 and "removed 2 cached sessions" in cleared.out
    assert list(cache.glob("*.json")) == []
    again = cli_in_process(*assume(OTHER_ROLE), env=stub_env)
    assert_one_line_error(again, "an MFA code is needed", "no terminal", code=2)


@pytest.mark.parametrize(
    "change",
    [
        {"AWS_ACCESS_KEY_ID": "AKIAOTHERSOURCE00002"},  # other source credentials
        {"serial": "arn:aws:iam::111111111111:mfa/bob"},  # another MFA device
    ],
)
def test_the_mfa_session_is_keyed_by_source_and_device(
    change: dict[str, str], stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    assert cli_in_process(*assume(ROLE_ARN, "--mfa-token", "123456"), env=stub_env).code == 0
    serial = change.pop("serial", SERIAL)
    flags = ("assume", "--role-arn", OTHER_ROLE, "--session-name", "alice", "--mfa-serial", serial)
    result = cli_in_process(*flags, env={**stub_env, **change})
    assert_one_line_error(result, "an MFA code is needed", code=2)
    assert len(calls(stub_sts, "GetSessionToken")) == 1


def test_an_mfa_session_entry_made_without_mfa_is_never_used(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    cache = Path(stub_env["CROSS_ACCOUNT_CACHE_DIR"])
    assert cli_in_process(*assume(ROLE_ARN, "--mfa-token", "123456"), env=stub_env).code == 0
    [entry] = mfa_entries(cache)
    document = json.loads(entry.read_text())
    entry.write_text(json.dumps({**document, "Mfa": False}))
    result = cli_in_process(*assume(OTHER_ROLE), env=stub_env)
    assert_one_line_error(result, "an MFA code is needed", code=2)


def test_the_roles_mfa_age_limit_caps_the_session_and_is_said(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path, cli_in_process: Callable[..., Result]
) -> None:
    app = tmp_path / "app"
    write_cdk_json(
        app,
        trusted_account_id="111111111111",
        require_mfa=True,
        roles={"Admin": {"mfa_max_age_seconds": 1800}, "Deploy": {}},
    )
    first = cli_in_process("assume", "--tier", "Admin", *MFA, "--mfa-token", "123456", env=stub_env, cwd=app)
    assert first.code == 0, first.err
    [session] = calls(stub_sts, "GetSessionToken")
    assert session["DurationSeconds"] == "1800"
    assert "note: the MFA session lasts 1800 s" in first.err and "at most 1800 s old" in first.err
    # A tier without an age limit uses it too.
    assert cli_in_process("assume", "--tier", "Deploy", *MFA, env=stub_env, cwd=app).code == 0

    # 30 minutes later (the entry's issue time moved back): too old for Admin, still good for Deploy.
    [entry] = mfa_entries(Path(stub_env["CROSS_ACCOUNT_CACHE_DIR"]))
    document = json.loads(entry.read_text())
    document["Issued"] = iso8601(datetime.now(UTC) - timedelta(seconds=1750))
    entry.write_text(json.dumps(document))
    cli_in_process("clear-cache", env=stub_env)  # only role sessions would remain; rewrite the MFA session
    entry.write_text(json.dumps(document))
    entry.chmod(0o600)
    assert cli_in_process("assume", "--tier", "Deploy", *MFA, env=stub_env, cwd=app).code == 0
    too_old = cli_in_process("assume", "--tier", "Admin", *MFA, env=stub_env, cwd=app)
    assert_one_line_error(too_old, "an MFA code is needed", code=2)
    assert len(calls(stub_sts, "GetSessionToken")) == 1


def test_a_session_longer_than_an_hour_gets_the_code_directly(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    """STS caps a role assumed from an MFA session at 1 hour (role chaining; the stub enforces it as STS does)."""
    result = cli_in_process(*assume(ROLE_ARN, "--duration", "7200", "--mfa-token", "123456", "-v"), env=stub_env)
    assert result.code == 0, result.err
    assert calls(stub_sts, "GetSessionToken") == []
    [request] = calls(stub_sts, "AssumeRole")
    assert (request["DurationSeconds"], request["TokenCode"], request["_Temporary"]) == ("7200", "123456", "0")
    assert "caps a role session assumed from an MFA session at 1 hour" in result.err
    # An hour or less goes through the MFA session, which the chaining rule allows.
    assert cli_in_process(*assume(OTHER_ROLE, "--duration", "3600", "--mfa-token", "654321"), env=stub_env).code == 0
    assert calls(stub_sts, "AssumeRole")[-1]["_Temporary"] == "1"


def test_temporary_source_credentials_send_the_code_to_assume_role(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    """GetSessionToken takes an IAM user's long-term keys only."""
    env = {**stub_env, "AWS_SESSION_TOKEN": "source-session-token"}
    assert cli_in_process(*assume(ROLE_ARN, "--mfa-token", "123456"), env=env).code == 0
    assert calls(stub_sts, "GetSessionToken") == []
    assert calls(stub_sts, "AssumeRole")[-1]["TokenCode"] == "123456"


def test_a_rejected_code_is_one_line_and_nothing_is_cached(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    stub_sts.script["GetSessionToken"] = [MFA_REJECTED]
    result = cli_in_process(*assume(ROLE_ARN, "--mfa-token", "123456"), env=stub_env)
    assert_one_line_error(result, "MFA code was rejected", SERIAL, code=1)
    assert calls(stub_sts, "AssumeRole") == []
    assert mfa_entries(Path(stub_env["CROSS_ACCOUNT_CACHE_DIR"])) == []


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        (Reply(200, "<GetSessionTokenResponse><nope"), "not valid STS XML"),
        (
            Reply(200, '<GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"/>'),
            "GetSessionToken: the reply could not be read",
        ),
        (Reply(200, "", hang=True, bound=6.0), "did not finish GetSessionToken within 2 s"),
    ],
)
def test_a_broken_get_session_token_reply_is_one_line(
    reply: Reply, fragment: str, stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    stub_sts.script["GetSessionToken"] = [reply] * 3
    result = cli_in_process(*assume(ROLE_ARN, "--mfa-token", "123456", "--sts-timeout", "2"), env=stub_env)
    assert_one_line_error(result, fragment, code=1)


def test_mfa_session_against_moto(moto_env: dict[str, str], cli_in_process: Callable[..., Result]) -> None:
    first = cli_in_process(*assume(ROLE_ARN, "--mfa-token", "123456"), env=moto_env)
    second = cli_in_process(*assume(OTHER_ROLE), env=moto_env)
    assert first.code == second.code == 0, first.err + second.err
    assert json.loads(second.out)["RoleArn"] == OTHER_ROLE


def test_through_the_mfa_session_the_callers_name_is_still_asked_with_the_source_keys(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    flags = ("assume", "--role-arn", ROLE_ARN, "--format", "json", *MFA, "--mfa-token", "123456")
    result = cli_in_process(*flags, env=stub_env)
    assert result.code == 0, result.err
    [session] = calls(stub_sts, "GetSessionToken")
    [caller] = calls(stub_sts, "GetCallerIdentity")
    [assumed] = calls(stub_sts, "AssumeRole")
    mfa_key = stub_sts.issued[0]["AccessKeyId"]
    assert (session["_KeyId"], caller["_KeyId"]) == (SOURCE_ACCESS_KEY, SOURCE_ACCESS_KEY)
    assert assumed["_KeyId"] == mfa_key and "TokenCode" not in assumed
