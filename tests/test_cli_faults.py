"""Faults (issue 11): a misbehaving STS, huge or deeply nested inputs, no home folder, a full disk.

Every failure is one line on stderr, with no byte of a credential, and nothing hangs.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from tests.cli_support import (
    CLI,
    NOT_CACHED,
    ROLE_ARN,
    Reply,
    Result,
    StubSts,
    add_source_profile,
    assert_clean_stderr,
    assert_one_line_error,
    run_cli,
    said_lines,
    sts_error_xml,
)

ASSUME = ("assume", "--role-arn", ROLE_ARN, "--session-name", "alice", "--no-cache")
NS = "https://sts.amazonaws.com/doc/2011-06-15/"
#: Planted in every bad reply: it must never reach stderr.
LEAK = "LeakedSecretKey/0123456789abcdefghij"


def assume_reply(credentials: str) -> str:
    return (
        f'<AssumeRoleResponse xmlns="{NS}"><AssumeRoleResult>{credentials}</AssumeRoleResult>'
        "<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>"
    )


def credentials_xml(*, key: str = "ASIAEXAMPLE000000001", expiration: str = "2099-01-01T00:00:00Z") -> str:
    return (
        f"<Credentials><AccessKeyId>{key}</AccessKeyId><SecretAccessKey>{LEAK}</SecretAccessKey>"
        f"<SessionToken>token-{LEAK}</SessionToken><Expiration>{expiration}</Expiration></Credentials>"
    )


# --- secrets on stderr: whatever STS sends, one line and no credential -------------------------------

BAD_REPLIES = {
    "cut off": Reply(200, assume_reply(credentials_xml())[:190]),
    "empty 200": Reply(200, ""),
    "HTML proxy page": Reply(200, f"<html><body>Sign in to the proxy {LEAK}</body></html>"),
    "JSON": Reply(200, json.dumps({"Credentials": {"SecretAccessKey": LEAK}})),
    "HTML 403": Reply(403, f"<html><body>Forbidden {LEAK}</body></html>"),
    "no Credentials": Reply(200, assume_reply("")),
    "bad expiry": Reply(200, assume_reply(credentials_xml(expiration="tomorrow"))),
    "not credential-shaped": Reply(200, assume_reply(credentials_xml(key="not a key"))),
    "already expired": Reply(200, assume_reply(credentials_xml(expiration="2001-01-01T00:00:00Z"))),
}


@pytest.mark.parametrize("reply", BAD_REPLIES.values(), ids=BAD_REPLIES.keys())
def test_a_bad_assume_role_reply_is_one_line_without_a_credential(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], reply: Reply
) -> None:
    stub_sts.script["AssumeRole"] = [reply] * 3  # retried or not, the same reply
    for output_format in ("json", "credential-process"):
        result = cli_in_process(*ASSUME, "--format", output_format, env=stub_env)
        assert_one_line_error(result, "AssumeRole", code=1)
        assert LEAK not in result.err
        assert result.out == ""
        stub_sts.script["AssumeRole"] = [reply] * 3


def test_an_expired_session_from_sts_is_refused_with_the_reason(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    stub_sts.lifetime = -timedelta(minutes=10)  # a stale reply, or a clock far ahead
    result = cli_in_process("assume", "--role-arn", ROLE_ARN, "--session-name", "a1", "--format", "json", env=stub_env)
    assert_one_line_error(result, "expired at", "by this machine's clock", "check the system clock", code=1)
    assert result.out == ""
    assert list(Path(stub_env["CROSS_ACCOUNT_CACHE_DIR"]).glob("*.json")) == [], "nor cached"


def test_a_bad_get_caller_identity_reply_is_one_line(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    stub_sts.script["GetCallerIdentity"] = [Reply(200, f"<html>{LEAK}</html>")] * 3
    result = cli_in_process("assume", "--role-arn", ROLE_ARN, env=stub_env)
    assert_one_line_error(result, "GetCallerIdentity", code=1)
    assert LEAK not in result.err


def test_a_very_long_aws_message_is_cut_to_a_readable_line(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    stub_sts.script["AssumeRole"] = [Reply(403, sts_error_xml("AccessDenied", "because " + "x" * 20000))]
    result = cli_in_process(*ASSUME, env=stub_env)
    assert_one_line_error(result, "AccessDenied", "because xxx", "[...]", code=1)
    assert len(result.err) < 2000


# --- STS that does not answer, or answers a byte at a time ------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [Reply(200, "", hang=True), Reply(200, assume_reply(credentials_xml()), trickle=0.2)],
    ids=["hangs", "trickles"],
)
def test_sts_that_does_not_finish_answering_ends_at_the_deadline(
    stub_sts: StubSts, stub_env: dict[str, str], reply: Reply
) -> None:
    # Subprocesses: the abandoned call ends with the process, as it does for a user (in-process, it would live on
    # and retry against the next test's stub).
    stub_sts.script["AssumeRole"] = [reply] * 3
    result = run_cli(*ASSUME, "--sts-timeout", "2", env=stub_env, subprocess=True)
    assert_one_line_error(result, "AssumeRole", "--sts-timeout SECONDS or CROSS_ACCOUNT_STS_TIMEOUT", code=1)
    assert LEAK not in result.err and result.out == ""


def test_the_deadline_comes_from_the_environment_too(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    stub_sts.script["GetCallerIdentity"] = [Reply(200, "", hang=True)] * 3
    env = {**stub_env, "CROSS_ACCOUNT_STS_TIMEOUT": "1"}
    result = run_cli("assume", "--role-arn", ROLE_ARN, env=env, subprocess=True)
    assert_one_line_error(result, "GetCallerIdentity", "each STS call has 1 s", code=1)


def test_throttling_is_still_retried(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    stub_sts.script["AssumeRole"] = [Reply(400, sts_error_xml("Throttling", "Rate exceeded"))]
    result = cli_in_process(*ASSUME, "--format", "json", env=stub_env)
    assert result.code == 0, result.err
    assert stub_sts.actions() == ["AssumeRole", "AssumeRole"]


@pytest.mark.parametrize(
    ("args", "env_value", "fragment"),
    [
        (("--sts-timeout", "0"), None, "invalid --sts-timeout=0"),
        (("--sts-timeout", "1.5"), None, "invalid --sts-timeout=1.5"),
        (("--sts-timeout", "9" * 5000), None, "invalid --sts-timeout=999"),
        ((), "soon", "invalid CROSS_ACCOUNT_STS_TIMEOUT=soon"),
    ],
)
def test_bad_deadlines_are_refused(
    stub_sts: StubSts,
    stub_env: dict[str, str],
    cli_in_process: Callable[..., Result],
    args: tuple[str, ...],
    env_value: str | None,
    fragment: str,
) -> None:
    env = {**stub_env, "CROSS_ACCOUNT_STS_TIMEOUT": env_value} if env_value else stub_env
    result = cli_in_process(*ASSUME, *args, env=env)
    assert_one_line_error(result, fragment, "whole number of seconds from 1 to 3600", code=2)
    assert len(result.err) < 300
    assert stub_sts.requests == []


# --- huge numbers and deep nesting: one line, no traceback -------------------------------------------

HUGE = "9" * 5000
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    "document",
    ['{"context": {"trusted_account_id": "111111111111", "allowed_actions": ' + DEEP + "}}", DEEP],
    ids=["deep setting", "deep document"],
)
def test_cdk_json_with_deep_nesting(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path, document: str
) -> None:
    (tmp_path / "app.json").write_text(document)
    result = cli_in_process("assume", "--cdk-json", str(tmp_path / "app.json"), env=stub_env)
    assert_one_line_error(result, "app.json", "is not valid JSON", code=2)
    assert len(result.err) < 400
    outputs = cli_in_process("assume", "--from-stack-outputs", str(tmp_path / "app.json"), env=stub_env)
    assert_one_line_error(outputs, "app.json", code=2)
    assert stub_sts.requests == []


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ('"max_session_duration_seconds": ' + HUGE, "max_session_duration_seconds"),
        (
            '"roles": {"ReadOnly": {"max_session_duration_seconds": ' + HUGE + "}}",
            "roles.ReadOnly.max_session_duration_seconds",
        ),
    ],
    ids=["setting", "tier's setting"],
)
def test_cdk_json_with_a_5000_digit_number_names_the_setting(
    stub_sts: StubSts,
    stub_env: dict[str, str],
    cli_in_process: Callable[..., Result],
    tmp_path: Path,
    setting: str,
    key: str,
) -> None:
    (tmp_path / "app.json").write_text('{"context": {"trusted_account_id": "111111111111", ' + setting + "}}")
    result = cli_in_process("assume", "--cdk-json", str(tmp_path / "app.json"), env=stub_env)
    assert_one_line_error(
        result, "app.json", f'invalid setting {key}="<a number of 5000 characters>"', "out of range", code=2
    )
    assert len(result.err) < 400
    outputs = cli_in_process("assume", "--from-stack-outputs", str(tmp_path / "app.json"), env=stub_env)
    assert_one_line_error(outputs, "app.json", code=2)
    assert stub_sts.requests == []


def test_a_5000_digit_duration_flag(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    result = cli_in_process(*ASSUME, "--duration", HUGE, env=stub_env)
    assert_one_line_error(result, "invalid --duration", "5000 characters", code=2)
    assert stub_sts.requests == []


@pytest.mark.parametrize("content", [DEEP, '{"Version": ' + HUGE + "}"], ids=["deep", "5000 digits"])
def test_a_cache_file_with_deep_nesting_or_huge_numbers_is_a_miss(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], content: str
) -> None:
    args = ("assume", "--role-arn", ROLE_ARN, "--session-name", "alice", "--format", "json")
    assert cli_in_process(*args, env=stub_env).code == 0
    [entry] = Path(stub_env["CROSS_ACCOUNT_CACHE_DIR"]).glob("*.json")
    entry.write_text(content)
    again = cli_in_process(*args, env=stub_env)
    assert again.code == 0, again.err
    assert json.loads(again.out)["AccessKeyId"] == stub_sts.issued[-1]["AccessKeyId"]
    assert stub_sts.actions() == ["AssumeRole", "AssumeRole"]


# --- no usable home folder ---------------------------------------------------------------------------


@pytest.fixture
def no_passwd_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """This user ID has no passwd entry (a container's arbitrary UID), so ~ cannot be found either."""
    import pwd

    def missing(uid: int) -> pwd.struct_passwd:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(pwd, "getpwuid", missing)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty folder to run in (the test's HOME is tmp_path/home)."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def homeless(env: dict[str, str], **extra: str) -> dict[str, str]:
    gone = ("HOME", "CROSS_ACCOUNT_CACHE_DIR", "AWS_CONFIG_FILE", "XDG_CACHE_HOME")
    return {**{k: v for k, v in env.items() if k not in gone}, **extra}


@pytest.mark.usefixtures("no_passwd_entry")
def test_assume_without_a_home_folder_works_uncached_with_one_warning(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], workdir: Path
) -> None:
    result = cli_in_process(*ASSUME[:-1], "--format", "json", env=homeless(stub_env), cwd=workdir)
    assert result.code == 0, result.err
    assert json.loads(result.out)["AccessKeyId"] == stub_sts.issued[-1]["AccessKeyId"]
    [line] = said_lines(result.err)
    assert line.startswith("cross-account: warning: not caching: no home folder: HOME is unset and user ID")
    assert "CROSS_ACCOUNT_CACHE_DIR" in line
    assert list(workdir.iterdir()) == []


@pytest.mark.usefixtures("no_passwd_entry")
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("configure-profile", "p", "--source-profile", "a", "--role-arn", ROLE_ARN), "set AWS_CONFIG_FILE"),
        (("clear-cache",), "set CROSS_ACCOUNT_CACHE_DIR"),
    ],
)
def test_commands_that_need_a_home_folder_fail_in_one_line(
    stub_env: dict[str, str], cli_in_process: Callable[..., Result], workdir: Path, args: tuple[str, ...], fragment: str
) -> None:
    result = cli_in_process(*args, env=homeless(stub_env), cwd=workdir)
    assert_one_line_error(result, "no home folder", fragment, code=1)
    assert list(workdir.iterdir()) == []


def test_an_empty_home_never_puts_credentials_in_the_current_folder(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], workdir: Path
) -> None:
    result = cli_in_process(*ASSUME[:-1], env=homeless(stub_env, HOME=""), cwd=workdir)
    assert result.code == 0, result.err
    assert "not caching: no home folder: HOME='' is not an absolute path" in result.err
    assert list(workdir.iterdir()) == [], "no .cache/ with credentials here"


# --- stdout on a full disk -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("assume", "--role-arn", ROLE_ARN, "--format", "json"),
        ("configure-profile", "p", "--source-profile", "a", "--role-arn", ROLE_ARN),
    ],
    ids=["assume", "configure-profile"],
)
def test_stdout_on_a_full_disk_is_one_line(stub_sts: StubSts, stub_env: dict[str, str], args: tuple[str, ...]) -> None:
    add_source_profile(Path(stub_env["HOME"]), "a")
    # A real process: the subject is its standard output, /dev/full (every write fails with ENOSPC).
    with Path("/dev/full").open("w") as full:
        completed = subprocess.run(
            [str(CLI), *args], env=stub_env, cwd=stub_env["HOME"], stdout=full, stderr=subprocess.PIPE, text=True,
            timeout=60, check=False,
        )  # fmt: skip
    result = Result(completed.returncode, "", completed.stderr)
    assert_one_line_error(result, "cannot write to standard output: No space left on device", code=1)
    for issued in stub_sts.issued:
        assert_clean_stderr(result, issued["SecretAccessKey"], issued["SessionToken"])


# --- a folder where a cache entry should be (issue 17, item 11) ----------------------------------------------


def test_a_folder_where_a_cache_entry_should_be_is_one_warning_and_the_credentials_still_come(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    """The credentials are good; only their reuse is lost, so the run goes on (as for any cache that cannot be
    written), and the warning names the entry and what is wrong with it."""
    args = ("assume", "--role-arn", ROLE_ARN, "--session-name", "alice", "--format", "json")
    assert cli_in_process(*args, env=stub_env).code == 0
    [entry] = Path(stub_env["CROSS_ACCOUNT_CACHE_DIR"]).glob("*.json")
    entry.unlink()
    entry.mkdir()
    again = cli_in_process(*args, env=stub_env)
    assert again.code == 0, again.err
    assert json.loads(again.out)["AccessKeyId"] == stub_sts.issued[-1]["AccessKeyId"]
    [line] = said_lines(again.err)
    assert line == f"{NOT_CACHED}the cache entry {entry} is a folder; remove it"
    assert entry.is_dir()
