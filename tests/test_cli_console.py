"""console: federation sign-in (getSigninToken) against a stub endpoint on 127.0.0.1; the URL is a secret."""

from __future__ import annotations

import html
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from cross_account.cli.console import destination, federation_endpoint
from cross_account.cli.errors import UsageError
from tests.cli_support import (
    ROLE_ARN,
    Reply,
    Result,
    StubSts,
    StubStsServer,
    assert_clean_stderr,
    assert_one_line_error,
    free_port,
    run_cli,
)
from tests.test_cli_assume import write_cdk_json

CONSOLE = ("console", "--role-arn", ROLE_ARN, "--session-name", "alice")
SERIAL = "arn:aws:iam::111111111111:mfa/alice"


@pytest.fixture
def console_env(stub_env: dict[str, str], stub_sts_server: StubStsServer) -> dict[str, str]:
    return {**stub_env, "CROSS_ACCOUNT_FEDERATION_ENDPOINT": f"{stub_sts_server.url}/federation"}


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_print_gives_the_login_url_for_the_role_session(
    stub_sts: StubSts,
    console_env: dict[str, str],
    stub_sts_server: StubStsServer,
    cli_in_process: Callable[..., Result],
) -> None:
    result = cli_in_process(*CONSOLE, "--print", "--region", "eu-west-1", "-v", env=console_env)
    assert result.code == 0, result.err
    url = result.out.strip()
    assert url.startswith(f"{stub_sts_server.url}/federation?")
    login = query_of(url)
    [token] = stub_sts.signin_tokens
    assert login == {
        "Action": "login",
        "Issuer": "cross-account",
        "Destination": "https://console.aws.amazon.com/console/home?region=eu-west-1",
        "SigninToken": token,
    }
    [asked] = stub_sts.signin_requests
    [issued] = stub_sts.issued
    assert (asked["Action"], asked["SessionDuration"]) == ("getSigninToken", "3600")
    assert json.loads(asked["Session"]) == {
        "sessionId": issued["AccessKeyId"],
        "sessionKey": issued["SecretAccessKey"],
        "sessionToken": issued["SessionToken"],
    }
    assert "got a sign-in token" in result.err
    assert_clean_stderr(result, token, issued["SecretAccessKey"], issued["SessionToken"])
    # The role session is cached as for assume: a second sign-in calls STS no more.
    assert cli_in_process(*CONSOLE, "--print", env=console_env).code == 0
    assert stub_sts.actions().count("AssumeRole") == 1 and len(stub_sts.signin_requests) == 2


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (("--service", "cloudformation", "--region", "eu-west-1"), "https://console.aws.amazon.com/cloudformation/home?region=eu-west-1"),
        (("--service", "s3"), "https://console.aws.amazon.com/s3/home"),
        (("--destination", "https://eu-west-1.console.aws.amazon.com/iam/home#/roles"), "https://eu-west-1.console.aws.amazon.com/iam/home#/roles"),
    ],
)  # fmt: skip
def test_service_and_destination_choose_the_page(
    flags: tuple[str, ...], expected: str, console_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    result = cli_in_process(*CONSOLE, "--print", *flags, env=console_env)
    assert result.code == 0, result.err
    assert query_of(result.out.strip())["Destination"] == expected


@pytest.mark.parametrize(
    ("flags", "fragments"),
    [
        (("--destination", "http://console.aws.amazon.com/"), ("invalid --destination",)),
        (("--destination", "https://console.aws.amazon.com.evil.example/"), ("invalid --destination",)),
        (("--destination", "https://evil.example/console.aws.amazon.com"), ("invalid --destination",)),
        (("--destination", "https://console.amazonaws.cn/"), ("https://console.aws.amazon.com/",)),
        (("--service", "S3 Buckets"), ("invalid --service",)),
        (("--service", "s3", "--destination", "https://console.aws.amazon.com/"), ("not allowed with argument",)),
        (("--console-duration", "899"), ("invalid --console-duration 899", "900 to 43200")),
        (("--console-duration", "43201"), ("invalid --console-duration 43201",)),
        (("--console-duration", "1h"), ("invalid --console-duration 1h",)),
    ],
)
def test_bad_console_flags_are_one_line_and_exit_2(
    flags: tuple[str, ...], fragments: tuple[str, ...], stub_sts: StubSts, console_env: dict[str, str]
) -> None:
    result = run_cli(*CONSOLE, "--print", *flags, env=console_env)
    assert_one_line_error(result, *fragments, code=2)
    assert stub_sts.requests == [] and stub_sts.signin_requests == [], "refused before any call"


@pytest.mark.parametrize(
    ("partition", "region", "endpoint", "console"),
    [
        ("aws", "us-east-1", "https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/"),
        ("aws-cn", "cn-north-1", "https://signin.amazonaws.cn/federation", "https://console.amazonaws.cn/"),
        (
            "aws-us-gov",
            "us-gov-west-1",
            "https://signin.amazonaws-us-gov.com/federation",
            "https://console.amazonaws-us-gov.com/",
        ),
    ],
)
def test_the_endpoint_and_console_follow_the_partition(
    partition: str, region: str, endpoint: str, console: str
) -> None:
    assert federation_endpoint(partition, {}) == endpoint
    assert destination(partition, region, service=None, url=None) == f"{console}console/home?region={region}"


def test_a_partition_without_a_known_endpoint_asks_for_the_override() -> None:
    with pytest.raises(UsageError, match="CROSS_ACCOUNT_FEDERATION_ENDPOINT"):
        federation_endpoint("aws-iso", {})
    assert federation_endpoint("aws-iso", {"CROSS_ACCOUNT_FEDERATION_ENDPOINT": "https://signin.example/f"})


def test_the_gov_cloud_role_of_the_app_signs_in_at_gov_cloud(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path
) -> None:
    """Without the override the real endpoint would be called: the refusal comes first, from the region's partition."""
    app = tmp_path / "app"
    write_cdk_json(app, trusted_account_id="111111111111", region="us-gov-west-1")
    found = destination("aws-us-gov", "us-gov-west-1", service="s3", url=None)
    assert found == "https://console.amazonaws-us-gov.com/s3/home?region=us-gov-west-1"
    result = run_cli("console", "--print", "--destination", "https://console.aws.amazon.com/", env=stub_env, cwd=app)
    assert_one_line_error(result, "https://console.amazonaws-us-gov.com/", code=2)


@pytest.mark.parametrize("endpoint", ["http://signin.example/federation", "ftp://127.0.0.1/federation", "signin"])
def test_the_endpoint_override_must_be_https_or_loopback(
    endpoint: str, stub_sts: StubSts, stub_env: dict[str, str]
) -> None:
    result = run_cli(*CONSOLE, "--print", env={**stub_env, "CROSS_ACCOUNT_FEDERATION_ENDPOINT": endpoint})
    assert_one_line_error(result, "CROSS_ACCOUNT_FEDERATION_ENDPOINT must be an https:// URL", code=2)
    assert stub_sts.requests == []


def test_a_longer_console_session_from_long_term_keys(
    stub_sts: StubSts, console_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    result = cli_in_process(*CONSOLE, "--print", "--console-duration", "43200", env=console_env)
    assert result.code == 0, result.err
    assert stub_sts.signin_requests[-1]["SessionDuration"] == "43200"


def test_role_chaining_caps_the_console_at_an_hour_and_says_why(
    stub_sts: StubSts, console_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    env = {**console_env, "AWS_SESSION_TOKEN": "an-sso-or-role-session"}
    result = cli_in_process(*CONSOLE, "--print", "--console-duration", "7200", env=env)
    assert_one_line_error(result, "--console-duration 7200", "role-chained", "1 hour", "3600 or less", code=2)
    assert stub_sts.requests == [] and stub_sts.signin_requests == []
    assert cli_in_process(*CONSOLE, "--print", "--console-duration", "3600", env=env).code == 0


def test_with_mfa_a_long_console_session_is_not_made_from_the_mfa_session(
    stub_sts: StubSts, console_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    """A role assumed from the (cached) MFA session is role-chained: over an hour, the code goes to AssumeRole."""
    mfa = ("--mfa-serial", SERIAL, "--mfa-token", "123456")
    assert cli_in_process(*CONSOLE, "--print", *mfa, env=console_env).code == 0
    assert stub_sts.actions().count("GetSessionToken") == 1
    long_session = ("--console-duration", "7200", "--mfa-serial", SERIAL, "--mfa-token", "654321")
    long = cli_in_process(*CONSOLE, "--print", *long_session, env=console_env)
    assert long.code == 0, long.err
    [*_, direct] = [r for r in stub_sts.requests if r["Action"] == "AssumeRole"]
    assert (direct["TokenCode"], direct["_Temporary"]) == ("654321", "0"), "not the chained session from the cache"
    assert stub_sts.signin_requests[-1]["SessionDuration"] == "7200"


@pytest.mark.parametrize(
    ("reply", "fragments"),
    [
        (Reply(400, "Bad Request: the session was rejected sessionKey=..."), ("refused the role session (HTTP 400)",)),
        (Reply(403, "<html>denied</html>"), ("HTTP 403",)),
        (Reply(200, "<html>a captive portal</html>"), ("holds no sign-in token",)),
        (Reply(200, json.dumps({"Token": "x"})), ("holds no sign-in token",)),
        (Reply(200, json.dumps({"SigninToken": "short"})), ("holds no sign-in token",)),
        (Reply(200, "", hang=True, bound=6.0), ("within 2 s",)),
    ],
)
def test_a_failing_federation_endpoint_is_one_line(
    reply: Reply, fragments: tuple[str, ...], stub_sts: StubSts, console_env: dict[str, str]
) -> None:
    stub_sts.script["getSigninToken"] = [reply]
    result = run_cli(*CONSOLE, "--print", "--sts-timeout", "2", env=console_env)
    assert_one_line_error(result, *fragments, code=1)
    assert "sessionKey" not in result.err and "captive" not in result.err, "the reply is not shown"
    assert stub_sts.issued[0]["SecretAccessKey"] not in result.err + result.out


def test_an_unreachable_federation_endpoint_is_one_line(stub_env: dict[str, str]) -> None:
    env = {**stub_env, "CROSS_ACCOUNT_FEDERATION_ENDPOINT": f"http://127.0.0.1:{free_port()}/federation"}
    result = run_cli(*CONSOLE, "--print", env=env)
    assert_one_line_error(result, "cannot reach the federation endpoint", "ConnectionRefusedError", code=1)


#: A browser that records its command line, and what it finds at the address it was given (while it exists).
FAKE_BROWSER = """\
import json, os, stat, sys, pathlib, urllib.parse, urllib.request
address = sys.argv[1]
path = pathlib.Path(urllib.request.url2pathname(urllib.parse.urlsplit(address).path))
record = {"argv": sys.argv, "path": str(path)}
if address.startswith("file://"):
    record["page"] = path.read_text()
    record["page_mode"] = stat.S_IMODE(path.stat().st_mode)
    record["folder_mode"] = stat.S_IMODE(path.parent.stat().st_mode)
    record["owner"] = path.stat().st_uid == os.getuid()
pathlib.Path(os.environ["SEEN"]).write_text(json.dumps(record))
"""


def redirect_of(page: str) -> str:
    """The URL the sign-in page sends the browser to (its meta refresh), as a browser reads it."""
    match = re.search(r'<meta http-equiv="refresh" content="0;url=([^"]+)">', page)
    assert match, page
    return html.unescape(match.group(1))


def test_the_browser_gets_a_private_page_that_redirects_and_no_token_on_its_command_line(
    stub_sts: StubSts, console_env: dict[str, str], tmp_path: Path
) -> None:
    """Issue 17 item 8: the browser's argv (ps) held the sign-in URL; now it holds a file:// address of a 0600 page
    in a 0700 folder, deleted before the command returns."""
    seen = tmp_path / "browser.json"
    browser = tmp_path / "browser"
    browser.write_text(f"#!{sys.executable}\n{FAKE_BROWSER}")
    browser.chmod(0o700)
    env = {
        **console_env,
        "BROWSER": str(browser),
        "PATH": str(tmp_path / "nothing-else"),
        "SEEN": str(seen),
        "CROSS_ACCOUNT_SIGNIN_PAGE_SECONDS": "0",
    }
    result = run_cli(*CONSOLE, "--service", "s3", env=env, subprocess=True)
    assert result.code == 0, result.err
    assert result.out == ""
    [token] = stub_sts.signin_tokens
    record = json.loads(seen.read_text())
    assert token not in " ".join(record["argv"]), "the sign-in token is on the browser's command line"
    assert record["argv"][1].startswith("file://")
    assert (record["page_mode"], record["folder_mode"], record["owner"]) == (0o600, 0o700, True)
    url = redirect_of(record["page"])
    assert query_of(url)["SigninToken"] == token and query_of(url)["Action"] == "login"
    assert 'location.replace("' + url.replace("<", "\\u003c") + '")' in record["page"]
    assert '<meta name="referrer" content="no-referrer">' in record["page"]
    assert not Path(record["path"]).exists() and not Path(record["path"]).parent.exists(), "the page is deleted"
    assert "opened the console" in result.err and "deleted in 0 s" in result.err
    assert_clean_stderr(result, token)


def test_the_page_waits_for_the_browser_then_goes(tmp_path: Path) -> None:
    """The page exists while the browser is given time to read it, and not after."""
    from cross_account.cli import console

    waited: list[float] = []
    with console.signin_page("https://signin.aws.amazon.com/federation?SigninToken=abc") as page:
        console.wait_for_browser(3, sleep=waited.append)
        assert page.exists() and waited == [3]
    assert not page.exists() and not page.parent.exists()


@pytest.mark.parametrize("value", ["-1", "301", "ten", "9" * 50])
def test_a_bad_page_wait_is_one_line_before_any_call(
    value: str, stub_sts: StubSts, console_env: dict[str, str]
) -> None:
    result = run_cli(*CONSOLE, env={**console_env, "CROSS_ACCOUNT_SIGNIN_PAGE_SECONDS": value})
    assert_one_line_error(result, "invalid CROSS_ACCOUNT_SIGNIN_PAGE_SECONDS", "from 0 to 300", code=2)
    assert stub_sts.requests == []


def test_no_browser_is_one_line(console_env: dict[str, str], tmp_path: Path) -> None:
    env = {**console_env, "BROWSER": "/bin/false", "PATH": str(tmp_path / "nothing-else")}
    result = run_cli(*CONSOLE, env=env, subprocess=True)
    assert_one_line_error(result, "no web browser could be opened", "--print", code=1)
