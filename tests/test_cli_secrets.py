"""Issue 17 item 7 and the MFA half of item 8: the client's secrets live in the OS keychain (keyring), never in
plaintext under HOME by default; the file cache is opt-in, one hour, and says so; source access keys are added to
the keychain from the terminal or stdin (never argv) and rotated there; MFA codes come from the terminal or stdin.

Keychains are keyring test backends (tests/keychain_support.py); keyring's "no keychain" backend is what a headless
CI machine gets.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from keyring.testing.backend import BackendBasicTests

from cross_account.cli.credentials import iso8601
from tests.cli_support import (
    ROLE_ARN,
    SOURCE_SECRET,
    Result,
    StubSts,
    assert_one_line_error,
    run_cli,
    said_lines,
)
from tests.keychain_support import FILE, FILE_VARIABLE, MEMORY, FileKeyring, MemoryKeyring
from tests.test_cli_assume import caller

SERIAL = "arn:aws:iam::111111111111:mfa/alice"
OTHER_ROLE = "arn:aws:iam::333333333333:role/Other"
NO_KEYCHAIN = "keyring.backends.fail.Keyring"


def assume(role: str, *flags: str) -> tuple[str, ...]:
    return ("assume", "--role-arn", role, "--session-name", "alice", "--format", "json", "--mfa-serial", SERIAL, *flags)


def defaults(env: dict[str, str], backend: str) -> dict[str, str]:
    """The client's default settings (no file cache, the default cache folder under HOME) with this keychain."""
    kept = {
        key: value
        for key, value in env.items()
        if key not in ("CROSS_ACCOUNT_FILE_CACHE", "CROSS_ACCOUNT_FILE_CACHE_SECONDS", "CROSS_ACCOUNT_CACHE_DIR")
    }
    return {**kept, "PYTHON_KEYRING_BACKEND": backend}


def files_holding(home: Path, secrets: list[str]) -> list[str]:
    """Every file under `home` (any depth, hidden ones too) that contains one of `secrets`."""
    assert secrets and all(len(secret) >= 16 for secret in secrets), "the scan must look for real secrets"
    found = []
    for path in home.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{path}: {secret[:8]}..." for secret in secrets if secret.encode() in data]
    return found


@pytest.fixture(autouse=True)
def memory_keychain() -> Iterator[None]:
    MemoryKeyring.reset()
    yield
    MemoryKeyring.reset()


# --- keyring's own backend tests, on the test keychains ---------------------------------------------------------


class TestMemoryKeyringIsAKeyring(BackendBasicTests):  # type: ignore[misc]
    def init_keyring(self) -> MemoryKeyring:
        return MemoryKeyring()


class TestFileKeyringIsAKeyring(BackendBasicTests):  # type: ignore[misc]
    @pytest.fixture(autouse=True)
    def _file(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(FILE_VARIABLE, str(tmp_path / "keychain.json"))

    def init_keyring(self) -> FileKeyring:
        return FileKeyring()


# --- item 7: no secret under HOME with the default settings ----------------------------------------------------


def test_no_secret_is_anywhere_under_home_after_an_mfa_session_run_with_the_default_settings(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path
) -> None:
    """Old code: the MFA session (12 h) and the role sessions were 0600 JSON files under ~/.cache/cross-account.
    Now they are in the keychain (here a file outside HOME); separate processes, as a user runs them."""
    keychain = tmp_path / "keychain.json"  # outside HOME
    env = {**defaults(stub_env, FILE), FILE_VARIABLE: str(keychain), "PYTHONPATH": str(Path(__file__).parent.parent)}
    first = run_cli(*assume(ROLE_ARN, "--mfa-token", "123456"), env=env, subprocess=True)
    assert first.code == 0, first.err
    # No code, no terminal, nothing on stdin: only the MFA session kept in the keychain can serve the second role.
    second = run_cli(*assume(OTHER_ROLE), env=env, subprocess=True)
    assert second.code == 0, second.err
    assert [r["Action"] for r in stub_sts.requests].count("GetSessionToken") == 1
    secrets = [c[k] for c in stub_sts.issued for k in ("SecretAccessKey", "SessionToken")] + [SOURCE_SECRET]
    assert files_holding(Path(env["HOME"]), secrets) == []
    held = keychain.read_text()
    assert stub_sts.issued[0]["SessionToken"] in held, "the MFA session is in the keychain"
    assert said_lines(first.err) == [] and said_lines(second.err) == [], "nothing said about plaintext"


def test_the_scan_finds_what_the_old_file_cache_wrote(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    """The scan above can fail: with the file cache (the old default) it finds the MFA session under HOME."""
    env = {**defaults(stub_env, NO_KEYCHAIN), "CROSS_ACCOUNT_FILE_CACHE": "1"}
    assert cli_in_process(*assume(ROLE_ARN, "--mfa-token", "123456"), env=env).code == 0
    found = files_holding(Path(env["HOME"]), [stub_sts.issued[0]["SecretAccessKey"]])
    assert len(found) == 1 and "/.cache/cross-account/" in found[0]


def test_without_a_keychain_nothing_is_kept_unless_the_user_opts_in(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    env = defaults(stub_env, NO_KEYCHAIN)
    first = cli_in_process(*assume(ROLE_ARN, "--mfa-token", "123456"), env=env)
    assert first.code == 0, first.err
    [note] = said_lines(first.err)
    assert "no keychain" in note and "CROSS_ACCOUNT_FILE_CACHE=1" in note and "1 hour" in note
    assert list(Path(env["HOME"]).rglob("*.json")) == []
    again = cli_in_process(*assume(ROLE_ARN), env=env)
    assert "an MFA code is needed" in said_lines(again.err)[-1] and again.code == 2
    assert [r["Action"] for r in stub_sts.requests] == ["AssumeRole"], "the code went to AssumeRole: nothing kept"


def test_the_opt_in_file_cache_keeps_an_hour_and_says_so_when_written(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    env = {**defaults(stub_env, NO_KEYCHAIN), "CROSS_ACCOUNT_FILE_CACHE": "1"}
    result = cli_in_process(*assume(ROLE_ARN, "--mfa-token", "123456"), env=env)
    assert result.code == 0, result.err
    [session] = [r for r in stub_sts.requests if r["Action"] == "GetSessionToken"]
    assert session["DurationSeconds"] == "3600", "what is on disk is never valid longer than the cache keeps it"
    notes = [line for line in result.err.splitlines() if "in plaintext" in line]
    assert len(notes) == 2 and "the MFA session" in notes[0] and ROLE_ARN in notes[1]
    assert all("0600; there is no keychain and CROSS_ACCOUNT_FILE_CACHE is on" in line for line in notes)

    # An entry issued over an hour ago is not used (and goes): the MFA code is needed again.
    cache = Path(env["HOME"]) / ".cache" / "cross-account"
    for entry in cache.glob("*.json"):
        document = json.loads(entry.read_text())
        document["Issued"] = iso8601(datetime.now(UTC) - timedelta(minutes=61))
        entry.write_text(json.dumps(document))
    stale = cli_in_process(*assume(ROLE_ARN), env=env)
    assert stale.code == 2 and "an MFA code is needed" in stale.err
    assert list(cache.glob("*.json")) == [], "entries past their hour are deleted"


def test_the_file_cache_never_writes_a_session_valid_longer_than_it_keeps_one(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    env = {**defaults(stub_env, NO_KEYCHAIN), "CROSS_ACCOUNT_FILE_CACHE": "1"}
    flags = ("assume", "--role-arn", ROLE_ARN, "--session-name", "alice", "--duration", "7200")
    result = cli_in_process(*flags, env=env)
    assert result.code == 0, result.err
    [warning] = said_lines(result.err)
    assert "is not cached: the session is valid for 7" in warning  # 7200 s, less the time since STS issued it
    assert "longer than the file cache keeps entries (3600 s, CROSS_ACCOUNT_FILE_CACHE_SECONDS)" in warning
    assert list(Path(env["HOME"]).rglob("*.json")) == []


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("CROSS_ACCOUNT_FILE_CACHE", "maybe", "must be 1 (use the file cache) or 0"),
        ("CROSS_ACCOUNT_FILE_CACHE_SECONDS", "60", "from 900 to 43200"),
        ("CROSS_ACCOUNT_FILE_CACHE_SECONDS", "9" * 5000, "from 900 to 43200"),
    ],
)
def test_bad_file_cache_settings_are_one_line(
    variable: str, value: str, fragment: str, stub_sts: StubSts, stub_env: dict[str, str]
) -> None:
    env = {**defaults(stub_env, NO_KEYCHAIN), "CROSS_ACCOUNT_FILE_CACHE": "1", variable: value}
    result = run_cli("assume", "--role-arn", ROLE_ARN, "--session-name", "alice", env=env)
    assert_one_line_error(result, f"invalid {variable}=", fragment, code=2)
    assert result.out == ""


def test_with_a_keychain_sessions_go_there_and_clear_cache_empties_it(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    env = {**defaults(stub_env, MEMORY), "CROSS_ACCOUNT_FILE_CACHE": "1"}  # opting in changes nothing here
    assert cli_in_process(*assume(ROLE_ARN, "--mfa-token", "123456"), env=env).code == 0
    assert cli_in_process(*assume(ROLE_ARN), env=env).code == 0, "the role session comes from the keychain"
    assert [r["Action"] for r in stub_sts.requests] == ["GetSessionToken", "AssumeRole"]
    names = sorted(name for service, name in MemoryKeyring.items if service == "cross-account")
    assert names[0] == "cache-index" and len(names) == 3 and all(n.startswith("session:") for n in names[1:])
    assert list(Path(env["HOME"]).rglob("*.json")) == []
    cleared = cli_in_process("clear-cache", env=env)
    assert cleared.code == 0 and "removed 2 cached sessions from the keychain" in cleared.out
    assert MemoryKeyring.items == {}


def test_expired_keychain_entries_are_deleted_when_another_is_written(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    env = defaults(stub_env, MEMORY)
    plain = ("assume", "--session-name", "alice", "--role-arn")
    assert cli_in_process(*plain, ROLE_ARN, env=env).code == 0
    index = json.loads(MemoryKeyring.items[("cross-account", "cache-index")])
    [first] = index
    index[first] = iso8601(datetime.now(UTC) - timedelta(seconds=1))
    MemoryKeyring.items[("cross-account", "cache-index")] = json.dumps(index)
    assert cli_in_process(*plain, OTHER_ROLE, env=env).code == 0
    assert ("cross-account", f"session:{first}") not in MemoryKeyring.items
    assert first not in json.loads(MemoryKeyring.items[("cross-account", "cache-index")])


def test_a_keychain_that_refuses_is_a_warning_and_the_credentials_still_come(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    MemoryKeyring.refuse_writes = True
    env = defaults(stub_env, MEMORY)
    result = cli_in_process("assume", "--role-arn", ROLE_ARN, "--session-name", "alice", "--format", "json", env=env)
    assert result.code == 0, result.err
    assert json.loads(result.out)["AccessKeyId"] == stub_sts.issued[-1]["AccessKeyId"]
    [warning] = said_lines(result.err)
    assert "is not cached: the keychain (" in warning and "refused to write cross-account/session:" in warning
    assert list(Path(env["HOME"]).rglob("*.json")) == [], "no fallback to plaintext"


def test_a_backend_that_cannot_be_loaded_is_one_line(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    env = defaults(stub_env, "no.such.Backend")
    result = run_cli("assume", "--role-arn", ROLE_ARN, "--session-name", "alice", env=env)
    assert_one_line_error(result, "cannot load the keychain backend no.such.Backend", code=1)
    assert stub_sts.requests == []


# --- MFA codes from the terminal or stdin (item 8) -------------------------------------------------------------


def test_the_mfa_code_is_read_from_stdin_without_a_terminal(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    """Old code: without a terminal the only way was --mfa-token, on the command line (ps)."""
    result = run_cli(*assume(ROLE_ARN), env=stub_env, stdin="654321\n", subprocess=True)
    assert result.code == 0, result.err
    [session] = [r for r in stub_sts.requests if r["Action"] == "GetSessionToken"]
    assert session["TokenCode"] == "654321"


def test_a_bad_code_on_stdin_is_one_line_that_does_not_repeat_it(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    result = run_cli(*assume(ROLE_ARN), env=stub_env, stdin="12345x\n")
    assert_one_line_error(result, "invalid MFA code: must be exactly 6 digits", code=2)
    assert "12345x" not in result.err and stub_sts.requests == []


def test_no_terminal_and_nothing_on_stdin_says_both_ways_and_what_the_flag_exposes(
    stub_sts: StubSts, stub_env: dict[str, str]
) -> None:
    result = run_cli(*assume(ROLE_ARN), env=stub_env)
    assert_one_line_error(result, "an MFA code is needed for", "no terminal", "standard input gave none", code=2)
    assert "--mfa-token (visible to local users in ps)" in result.err


def test_the_help_says_what_mfa_token_and_print_expose(stub_env: dict[str, str]) -> None:
    assume_help = " ".join(run_cli("assume", "--help", env=stub_env).out.split())
    assert "--mfa-token CODE the 6-digit MFA code, visible to every local user in ps" in assume_help
    console_help = " ".join(run_cli("console", "--help", env=stub_env).out.split())
    assert "whatever reads stdout" in console_help


# --- source keys: add and rotate -------------------------------------------------------------------------------

KEY_ID = "AKIAADDEDEXAMPLE0001"
KEY_SECRET = "AddedSecretKey/0123456789abcdefABCDEF0123"


def source_of_keychain(profile: str) -> dict[str, str]:
    item: dict[str, str] = json.loads(MemoryKeyring.items[("cross-account", f"source:{profile}")])
    return item


def test_add_reads_the_keys_from_stdin_and_profile_uses_them_first(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    env = {k: v for k, v in defaults(stub_env, MEMORY).items() if not k.startswith("AWS_SECRET")}
    added = cli_in_process("add", "alice", env=env, stdin=f"{KEY_ID}\n{KEY_SECRET}\n")
    assert added.code == 0, added.err
    assert f"stored access key {KEY_ID} for profile alice in the keychain" in added.out
    assert source_of_keychain("alice") == {"Version": 1, "AccessKeyId": KEY_ID, "SecretAccessKey": KEY_SECRET}
    assert KEY_SECRET not in added.out + added.err
    # No such profile in ~/.aws at all: the keychain's keys sign the calls.
    result = cli_in_process("assume", "--role-arn", ROLE_ARN, "--profile", "alice", env=env)
    assert result.code == 0, result.err
    assert {r["_KeyId"] for r in stub_sts.requests} == {KEY_ID}
    assert files_holding(Path(env["HOME"]), [KEY_SECRET]) == []


def test_add_warns_while_the_credentials_file_still_holds_the_profiles_secret(
    stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    env = defaults(stub_env, MEMORY)
    Path(env["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        f"[alice]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {KEY_SECRET}\n"
    )
    added = cli_in_process("add", "alice", env=env, stdin=f"{KEY_ID}\n{KEY_SECRET}\n")
    assert added.code == 0
    [warning] = said_lines(added.err)
    assert "still holds a secret key for [alice]" in warning and KEY_SECRET not in warning


@pytest.mark.parametrize(
    ("stdin", "fragment"),
    [
        (f"ASIATEMPORARY0000001\n{KEY_SECRET}\n", "starts with ASIA: a temporary key"),
        (f"akia-lower\n{KEY_SECRET}\n", "invalid access key ID"),
        (f"{KEY_ID}\nshort\n", "invalid secret access key"),
        (f"{KEY_ID}\n", "a secret access key is needed and there is no terminal"),
        ("", "an access key ID is needed and there is no terminal"),
    ],
)
def test_add_refuses_what_is_not_a_long_term_key_in_one_line(
    stdin: str, fragment: str, stub_env: dict[str, str]
) -> None:
    result = run_cli("add", "alice", env=defaults(stub_env, MEMORY), stdin=stdin)
    assert_one_line_error(result, fragment, code=2)
    assert MemoryKeyring.items == {} and result.out == ""
    assert "short" not in result.err


def test_add_keeps_what_is_there_without_replace_and_needs_a_keychain(
    stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    env = defaults(stub_env, MEMORY)
    assert cli_in_process("add", "alice", env=env, stdin=f"{KEY_ID}\n{KEY_SECRET}\n").code == 0
    again = cli_in_process("add", "alice", env=env, stdin="AKIAOTHEREXAMPLE0002\nOtherSecretKey/0123456789\n")
    assert_one_line_error(again, "already holds an access key for profile alice", "--replace", code=2)
    assert source_of_keychain("alice")["AccessKeyId"] == KEY_ID
    replaced = cli_in_process(
        "add", "alice", "--replace", env=env, stdin="AKIAOTHEREXAMPLE0002\nOtherSecretKey/0123456789\n"
    )
    assert replaced.code == 0 and source_of_keychain("alice")["AccessKeyId"] == "AKIAOTHEREXAMPLE0002"
    none = cli_in_process("add", "bob", env=defaults(stub_env, NO_KEYCHAIN), stdin=f"{KEY_ID}\n{KEY_SECRET}\n")
    assert_one_line_error(none, "there is no OS keychain", "never writes access keys in plaintext", code=1)
    assert list(Path(env["HOME"]).rglob("*")) == [Path(env["HOME"]) / ".aws"]


@pytest.fixture
def iam_user(moto_env: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A fresh IAM user in moto with one access key: (user name, its key)."""
    iam = moto_iam(moto_env)
    name = f"rotating-{secrets.token_hex(6)}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, key


def moto_iam(env: dict[str, str]) -> Any:
    """IAM in moto, as its administrator."""
    return boto3.client(
        "iam",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="AKIAADMINEXAMPLE0001",
        aws_secret_access_key="admin-secret",
    )


def stored_as_me(moto_env: dict[str, str], key: dict[str, str], cli: Callable[..., Result]) -> dict[str, str]:
    """The client's defaults with the test keychain, after `cross-account add me` stored `key`."""
    env = defaults(moto_env, MEMORY)
    assert cli("add", "me", env=env, stdin=f"{key['AccessKeyId']}\n{key['SecretAccessKey']}\n").code == 0
    return env


def access_keys(env: dict[str, str], user: str) -> list[str]:
    return [k["AccessKeyId"] for k in moto_iam(env).list_access_keys(UserName=user)["AccessKeyMetadata"]]


def test_rotate_against_moto_makes_checks_stores_and_deletes(
    moto_env: dict[str, str], iam_user: tuple[str, dict[str, str]], cli_in_process: Callable[..., Result]
) -> None:
    name, key = iam_user
    env = stored_as_me(moto_env, key, cli_in_process)
    result = cli_in_process("rotate", "me", env=env)
    assert result.code == 0, result.err
    stored = source_of_keychain("me")
    keys = access_keys(env, name)
    assert keys == [stored["AccessKeyId"]] != [key["AccessKeyId"]], "the old key is deleted, the new one stored"
    assert f"{stored['AccessKeyId']} is in the keychain, {key['AccessKeyId']} is deleted" in result.out
    assert stored["SecretAccessKey"] not in result.out + result.err
    new_keys = {"AWS_ACCESS_KEY_ID": stored["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": stored["SecretAccessKey"]}
    assert caller(env, {**new_keys, "AWS_SESSION_TOKEN": ""}).endswith(f":user/{name}"), "the new key works"


def test_rotate_undoes_the_new_key_when_the_keychain_refuses_it(
    moto_env: dict[str, str], iam_user: tuple[str, dict[str, str]], cli_in_process: Callable[..., Result]
) -> None:
    name, key = iam_user
    env = stored_as_me(moto_env, key, cli_in_process)
    MemoryKeyring.refuse_writes = True
    result = cli_in_process("rotate", "me", env=env)
    assert_one_line_error(result, "rotation stopped: the keychain (", "was deleted", code=1)
    assert f"the old key {key['AccessKeyId']} is unchanged, in the keychain and active" in result.err
    assert access_keys(env, name) == [key["AccessKeyId"]]
    assert source_of_keychain("me")["AccessKeyId"] == key["AccessKeyId"]


def test_rotate_with_two_keys_already_changes_nothing_and_says_so(
    moto_env: dict[str, str], iam_user: tuple[str, dict[str, str]], cli_in_process: Callable[..., Result]
) -> None:
    name, key = iam_user
    moto_iam(moto_env).create_access_key(UserName=name)
    env = stored_as_me(moto_env, key, cli_in_process)
    result = cli_in_process("rotate", "me", env=env)
    assert_one_line_error(result, "rotation stopped before any change", "CreateAccessKey", code=1)
    assert source_of_keychain("me")["AccessKeyId"] == key["AccessKeyId"]


def test_rotate_without_stored_keys_is_one_line(stub_env: dict[str, str]) -> None:
    result = run_cli("rotate", "nobody", env=defaults(stub_env, MEMORY))
    assert_one_line_error(result, "the keychain has no access key for profile nobody", "cross-account add nobody")


def test_rotate_takes_the_shared_sts_timeout_and_its_rule(stub_env: dict[str, str]) -> None:
    result = run_cli("rotate", "nobody", "--sts-timeout", "0", env=defaults(stub_env, MEMORY))
    assert_one_line_error(result, "invalid --sts-timeout=0: must be a whole number of seconds", code=2)
