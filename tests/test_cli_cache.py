"""The credential cache: hits, expiry (fake clock and crafted files), file modes, keys, clear-cache."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cross_account.cli.cache import CREDENTIAL_PROCESS_MARGIN, CredentialCache, cache_key, default_directory
from cross_account.cli.credentials import Credentials
from tests.cli_support import (
    NOT_CACHED,
    ROLE_ARN,
    Result,
    StubSts,
    assert_clean_stderr,
    assert_one_line_error,
    run_cli,
    said_lines,
)

NOW = datetime(2030, 6, 1, 12, 0, 0, tzinfo=UTC)
FIELDS = {"role_arn": ROLE_ARN, "session_name": "alice", "external_id": "12345678TESTID"}


def session(expires_in: timedelta, *, now: datetime = NOW, key_id: str = "ASIACACHED0000000001") -> Credentials:
    return Credentials(
        access_key_id=key_id,
        secret_access_key="cached-secret",
        session_token="cached-token",
        expiration=now + expires_in,
        role_arn=ROLE_ARN,
        session_name="alice",
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# --- the cache module, with a fake clock -----------------------------------------------------------


def test_entry_is_reused_until_five_minutes_before_expiry(tmp_path: Path) -> None:
    clock = Clock(NOW)
    cache = CredentialCache(tmp_path / "cache", clock=clock)
    key = cache_key(FIELDS)
    cache.put(key, session(timedelta(minutes=30)), fields=FIELDS)

    clock.now = NOW + timedelta(minutes=24, seconds=59)  # 5 min 1 s left
    hit = cache.get(key, fields=FIELDS)
    assert hit is not None and hit.access_key_id == "ASIACACHED0000000001"

    clock.now = NOW + timedelta(minutes=25)  # exactly 5 min left: no longer good enough
    assert cache.get(key, fields=FIELDS) is None
    assert not (tmp_path / "cache" / f"{key}.json").exists(), "an expired entry is deleted"


def test_files_are_0600_in_a_0700_folder_even_with_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        cache = CredentialCache(tmp_path / "deep" / "cache")
        path = cache.put(cache_key(FIELDS), session(timedelta(hours=1), now=datetime.now(UTC)), fields=FIELDS)
    finally:
        os.umask(previous)
    assert mode(tmp_path / "deep" / "cache") == 0o700
    assert mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no temporary file left behind"


def test_existing_wider_folder_is_tightened_to_0700(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    CredentialCache(folder).put(cache_key(FIELDS), session(timedelta(hours=1), now=datetime.now(UTC)), fields=FIELDS)
    assert mode(folder) == 0o700


def test_file_others_can_read_is_not_trusted(tmp_path: Path) -> None:
    cache = CredentialCache(tmp_path / "cache", clock=Clock(NOW))
    key = cache_key(FIELDS)
    path = cache.put(key, session(timedelta(hours=1)), fields=FIELDS)
    assert cache.get(key, fields=FIELDS) is not None
    path.chmod(0o644)
    assert cache.get(key, fields=FIELDS) is None


@pytest.mark.parametrize(
    "content",
    ["not json", "{}", '{"Version": 1, "Credentials": {"AccessKeyId": ""}}', '{"Version": 99, "Credentials": {}}'],
)
def test_damaged_entry_is_a_miss(tmp_path: Path, content: str) -> None:
    cache = CredentialCache(tmp_path, clock=Clock(NOW))
    key = cache_key(FIELDS)
    (tmp_path / f"{key}.json").write_text(content)
    (tmp_path / f"{key}.json").chmod(0o600)
    assert cache.get(key, fields=FIELDS) is None


def test_key_changes_with_every_identifying_field() -> None:
    base = {**FIELDS, "source_identity": None, "duration": None, "source_profile": None}
    keys = {cache_key(base)}
    for field, other in [
        ("role_arn", "arn:aws:iam::222222222222:role/Other"),
        ("session_name", "bob"),
        ("external_id", "other-id"),
        ("source_identity", "alice"),
        ("duration", 7200),
        ("source_profile", "account-a"),
    ]:
        keys.add(cache_key({**base, field: other}))
    assert len(keys) == 7
    assert cache_key(dict(reversed(list(base.items())))) == cache_key(base), "order does not matter"


def test_default_directory_follows_override_then_xdg_then_home() -> None:
    assert default_directory({"CROSS_ACCOUNT_CACHE_DIR": "/x/c", "XDG_CACHE_HOME": "/x/xdg"}) == Path("/x/c")
    assert default_directory({"XDG_CACHE_HOME": "/x/xdg"}) == Path("/x/xdg/cross-account")
    assert default_directory({}) == Path.home() / ".cache" / "cross-account"


def test_clear_removes_entries_only(tmp_path: Path) -> None:
    cache = CredentialCache(tmp_path / "cache", clock=Clock(NOW))
    cache.put(cache_key(FIELDS), session(timedelta(hours=1)), fields=FIELDS)
    cache.put(cache_key({**FIELDS, "session_name": "bob"}), session(timedelta(hours=1)), fields=FIELDS)
    (tmp_path / "cache" / "notes.txt").write_text("mine")
    assert cache.clear() == 2
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["notes.txt"]


def test_cache_entry_holds_no_source_access_key(tmp_path: Path) -> None:
    from cross_account.cli.assume import source_of
    from cross_account.cli.request import RoleRequest
    from cross_account.cli.sts import Sts

    request = RoleRequest(role_arn=ROLE_ARN, origin="--role-arn")
    sts = Sts(profile=None, region=None, deadline=1)  # not called: the keys are in the environment

    def fields_for(key_id: str) -> dict[str, object]:
        environ = {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": "x" * 40}
        return request.cache_fields(source_of(request, environ, sts).fingerprint)

    fields = fields_for("AKIASOURCEEXAMPLE0001")
    assert "AKIASOURCEEXAMPLE0001" not in json.dumps(fields)
    assert fields["source_access_key"] is not None
    other = fields_for("AKIASOURCEEXAMPLE0002")
    assert cache_key(fields) != cache_key(other), "other source credentials, other entry"


# --- through the command line ----------------------------------------------------------------------

ASSUME = ("assume", "--role-arn", ROLE_ARN, "--session-name", "alice", "--format", "json")


def test_credential_process_gets_a_fresh_session_in_botocores_refresh_window(tmp_path: Path) -> None:
    # botocore asks a credential_process again from 15 minutes before expiry; handing back the same
    # session then would make it ask again on every call.
    clock = Clock(NOW)
    cache = CredentialCache(tmp_path / "cache", clock=clock)
    key = cache_key(FIELDS)
    cache.put(key, session(timedelta(minutes=30)), fields=FIELDS)
    clock.now = NOW + timedelta(minutes=16)  # 14 min left
    assert cache.get(key, fields=FIELDS) is not None  # assume / exec: still good for 9 more minutes
    assert cache.get(key, fields=FIELDS, margin=CREDENTIAL_PROCESS_MARGIN) is None


def test_a_request_with_mfa_never_gets_a_session_made_without(tmp_path: Path) -> None:
    cache = CredentialCache(tmp_path / "cache", clock=Clock(NOW))
    key = cache_key(FIELDS)
    cache.put(key, session(timedelta(hours=1)), fields=FIELDS, mfa=False)
    assert cache.get(key, fields=FIELDS, need_mfa=True) is None
    assert cache.get(key, fields=FIELDS) is not None
    cache.put(key, session(timedelta(hours=1), key_id="ASIAWITHMFA000000001"), fields=FIELDS, mfa=True)
    for need_mfa in (True, False):  # a session made with MFA serves both
        hit = cache.get(key, fields=FIELDS, need_mfa=need_mfa)
        assert hit is not None and hit.access_key_id == "ASIAWITHMFA000000001"


def test_second_assume_is_served_from_the_cache_without_any_call(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    first = cli_in_process(*ASSUME, env=stub_env)
    assert first.code == 0, first.err
    assert stub_sts.actions() == ["AssumeRole"]
    second = cli_in_process(*ASSUME, env=stub_env)
    assert second.code == 0
    assert json.loads(second.out)["AccessKeyId"] == json.loads(first.out)["AccessKeyId"]
    assert stub_sts.actions() == ["AssumeRole"], "a hit calls nothing"
    cache_dir = Path(stub_env["CROSS_ACCOUNT_CACHE_DIR"])
    [entry] = cache_dir.iterdir()
    assert mode(cache_dir) == 0o700 and mode(entry) == 0o600


def test_default_session_name_hit_needs_no_call_either(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    args = ("assume", "--role-arn", ROLE_ARN, "--format", "json")
    assert cli_in_process(*args, env=stub_env).code == 0
    assert stub_sts.actions() == ["GetCallerIdentity", "AssumeRole"]
    assert json.loads(cli_in_process(*args, env=stub_env).out)["RoleSessionName"] == "alice"
    assert stub_sts.actions() == ["GetCallerIdentity", "AssumeRole"]


def test_crafted_entry_near_expiry_is_replaced(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    assert cli_in_process(*ASSUME, env=stub_env).code == 0
    [entry] = Path(stub_env["CROSS_ACCOUNT_CACHE_DIR"]).iterdir()
    document = json.loads(entry.read_text())
    document["Credentials"]["AccessKeyId"] = "ASIACRAFTED000000001"
    document["Credentials"]["Expiration"] = (datetime.now(UTC) + timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    entry.write_text(json.dumps(document))

    fresh = cli_in_process(*ASSUME, env=stub_env)
    assert json.loads(fresh.out)["AccessKeyId"] == stub_sts.issued[-1]["AccessKeyId"] != "ASIACRAFTED000000001"
    assert stub_sts.actions() == ["AssumeRole", "AssumeRole"]

    # And the same file with 20 minutes left is reused as is.
    document["Credentials"]["Expiration"] = (datetime.now(UTC) + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    entry.write_text(json.dumps(document))
    assert json.loads(cli_in_process(*ASSUME, env=stub_env).out)["AccessKeyId"] == "ASIACRAFTED000000001"


def test_no_cache_neither_reads_nor_writes(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    assert cli_in_process(*ASSUME, env=stub_env).code == 0
    cache_dir = Path(stub_env["CROSS_ACCOUNT_CACHE_DIR"])
    before = {p.name: p.read_bytes() for p in cache_dir.iterdir()}
    out = cli_in_process(*ASSUME, "--no-cache", env=stub_env).out
    assert json.loads(out)["AccessKeyId"] == stub_sts.issued[-1]["AccessKeyId"]
    assert stub_sts.actions() == ["AssumeRole", "AssumeRole"]
    assert {p.name: p.read_bytes() for p in cache_dir.iterdir()} == before


def test_other_external_id_or_source_profile_is_another_entry(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    assert cli_in_process(*ASSUME, env=stub_env).code == 0
    assert cli_in_process(*ASSUME, "--external-id", "another-id", env=stub_env).code == 0
    assert cli_in_process(*ASSUME, env={**stub_env, "AWS_ACCESS_KEY_ID": "AKIASOURCEEXAMPLE0002"}).code == 0
    assert stub_sts.actions() == ["AssumeRole"] * 3
    assert len(list(Path(stub_env["CROSS_ACCOUNT_CACHE_DIR"]).iterdir())) == 3


def test_clear_cache_command(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    assert cli_in_process(*ASSUME, env=stub_env).code == 0
    cleared = cli_in_process("clear-cache", env=stub_env)
    assert cleared.code == 0 and cleared.out.startswith("removed 1 cached session from ")
    assert list(Path(stub_env["CROSS_ACCOUNT_CACHE_DIR"]).iterdir()) == []
    assert cli_in_process(*ASSUME, env=stub_env).code == 0
    assert stub_sts.actions() == ["AssumeRole", "AssumeRole"]


def test_unusable_cache_folder_warns_and_still_prints_credentials(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], tmp_path: Path
) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    result = cli_in_process(*ASSUME, env={**stub_env, "CROSS_ACCOUNT_CACHE_DIR": str(not_a_folder / "cache")})
    assert result.code == 0
    assert json.loads(result.out)["AccessKeyId"] == stub_sts.issued[-1]["AccessKeyId"]
    assert said_lines(result.err)[0].startswith(NOT_CACHED)
    assert stub_sts.issued[-1]["SecretAccessKey"] not in result.err


def test_cache_hit_loads_neither_boto3_nor_aws_cdk(stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path) -> None:
    # Subprocesses only: the subject is what a fresh process imports, on an entry another process wrote.
    assert run_cli(*ASSUME, env=stub_env, subprocess=True).code == 0
    probe = (
        "import sys; from cross_account.cli import main; code = main(sys.argv[1:]); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'aws_cdk'}), file=sys.stderr); "
        "sys.exit(code)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe, *ASSUME],
        env=stub_env,
        cwd=stub_env["HOME"],  # the same folder as the first run: no cdk.json adding an external ID
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert said_lines(completed.stderr) == ["[]"]
    assert stub_sts.actions() == ["AssumeRole"]
    assert_clean_stderr(
        Result(completed.returncode, completed.stdout, completed.stderr), stub_sts.issued[0]["SecretAccessKey"]
    )


# --- entries are checked against the request on read (issue 11) -------------------------------------


def _entries(env: dict[str, str]) -> list[Path]:
    return sorted(Path(env["CROSS_ACCOUNT_CACHE_DIR"]).glob("*.json"))


def test_an_entry_for_another_role_is_not_served(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    other = ("assume", "--role-arn", "arn:aws:iam::333333333333:role/Other", "--session-name", "alice")
    assert cli_in_process(*ASSUME, env=stub_env).code == 0
    assert cli_in_process(*other, "--format", "json", env=stub_env).code == 0
    first, second = _entries(stub_env)
    # Swap the two files: each name now holds the other request's session.
    first_bytes, second_bytes = first.read_bytes(), second.read_bytes()
    first.write_bytes(second_bytes)
    second.write_bytes(first_bytes)
    result = cli_in_process(*ASSUME, env=stub_env)
    assert json.loads(result.out)["RoleArn"] == ROLE_ARN
    assert json.loads(result.out)["AccessKeyId"] == stub_sts.issued[-1]["AccessKeyId"]
    assert stub_sts.actions() == ["AssumeRole"] * 3, "a fresh session instead"


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ("Expiration", lambda: (datetime.now(UTC) + timedelta(hours=13)).strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("Expiration", lambda: "9999-12-31T23:59:59+00:00"),
        ("AccessKeyId", lambda: "not a key"),
        ("SessionToken", lambda: "two\nlines"),
        ("SecretAccessKey", lambda: 42),
    ],
    ids=["13 hours", "year 9999", "access key", "token", "secret"],
)
def test_an_entry_sts_could_not_have_issued_is_not_served(
    stub_sts: StubSts,
    stub_env: dict[str, str],
    cli_in_process: Callable[..., Result],
    change: str,
    value: Callable[[], object],
) -> None:
    assert cli_in_process(*ASSUME, env=stub_env).code == 0
    [entry] = _entries(stub_env)
    document = json.loads(entry.read_text())
    document["Credentials"][change] = value()
    entry.write_text(json.dumps(document))
    result = cli_in_process(*ASSUME, env=stub_env)
    assert result.code == 0, result.err
    assert json.loads(result.out)["AccessKeyId"] == stub_sts.issued[-1]["AccessKeyId"]
    assert stub_sts.actions() == ["AssumeRole", "AssumeRole"]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_cache_folder_owned_by_another_user_is_not_read(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    assert cli_in_process(*ASSUME, env=stub_env).code == 0
    folder = Path(stub_env["CROSS_ACCOUNT_CACHE_DIR"])
    os.chown(folder, 54321, 54321)
    result = cli_in_process(*ASSUME, env=stub_env)
    assert result.code == 0
    assert json.loads(result.out)["AccessKeyId"] == stub_sts.issued[-1]["AccessKeyId"], "not the planted entry"
    assert said_lines(result.err)[0].startswith(NOT_CACHED)
    assert "belongs to another user" in result.err


def test_a_folder_others_can_write_to_is_not_read(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    assert cli_in_process(*ASSUME, env=stub_env).code == 0
    folder = Path(stub_env["CROSS_ACCOUNT_CACHE_DIR"])
    folder.chmod(0o777)
    assert cli_in_process(*ASSUME, env=stub_env).code == 0
    assert stub_sts.actions() == ["AssumeRole", "AssumeRole"]
    assert mode(folder) == 0o700, "tightened again when the new session was written"


# --- two callers with other credentials from the default chain (issue 10) -----------------------------


def test_two_callers_from_the_default_chain_get_two_sessions(moto_env: dict[str, str], tmp_path: Path) -> None:
    """Each caller's keys are in their own credentials file (default profile); the cache folder is shared."""
    results = []
    for number in (1, 2):
        credentials = tmp_path / f"credentials-{number}"
        credentials.write_text(
            f"[default]\naws_access_key_id = AKIACALLER{number:010d}\n"
            f"aws_secret_access_key = secret-of-caller-{number}\n"
        )
        env = {k: v for k, v in moto_env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        env["AWS_SHARED_CREDENTIALS_FILE"] = str(credentials)
        results.append(run_cli(*ASSUME, env=env))
        assert results[-1].code == 0, results[-1].err
        assert f"secret-of-caller-{number}" not in results[-1].err + results[-1].out
    first, second = (json.loads(result.out)["AccessKeyId"] for result in results)
    assert first != second, "the second caller did not get the first caller's session"
    entries = _entries(moto_env)
    assert len(entries) == 2
    for entry in entries:
        text = entry.read_text()
        assert "AKIACALLER" not in text and "secret-of-caller" not in text, "a hash of the key ID only"


# --- clear-cache run in parallel, or over entries it cannot delete (issue 11) -----------------------------


def test_clear_cache_counts_what_is_already_gone_as_deleted(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli_in_process(*ASSUME, env=stub_env).code == 0
    real_unlink = Path.unlink

    def another_clear_cache_got_there_first(self: Path, missing_ok: bool = False) -> None:
        real_unlink(self)
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", another_clear_cache_got_there_first)
    result = cli_in_process("clear-cache", env=stub_env)
    assert result.code == 0, result.err
    assert result.out.startswith("removed 0 cached sessions from ")
    assert _entries(stub_env) == []


def test_clear_cache_names_what_it_cannot_delete_and_deletes_the_rest(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    assert cli_in_process(*ASSUME, env=stub_env).code == 0
    blocker = Path(stub_env["CROSS_ACCOUNT_CACHE_DIR"]) / f"{'0' * 64}.json"
    blocker.mkdir()
    result = cli_in_process("clear-cache", env=stub_env)
    assert_one_line_error(
        result, "removed 1 cached session from", f"could not delete {blocker.name} (Is a directory)", code=1
    )
    assert _entries(stub_env) == [blocker]
