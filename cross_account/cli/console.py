"""console: sign in to the target account's AWS console through the federation endpoint.

The console's own switch-role cannot send an external ID, so a role whose trust requires one is reachable in the
console only this way: assume the role, exchange the session for a sign-in token (``getSigninToken``), and open
the login URL. The URL holds the token (valid 15 minutes, a secret): it is printed only with --print, and never
logged, nor put on the browser's command line (``ps`` shows every process's argv to every local user): the
browser is given a 0600 page in a private 0700 folder that redirects to it, deleted a few seconds later.
"""

from __future__ import annotations

import contextlib
import html
import http.client
import ipaddress
import json
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cross_account.cli.credentials import Credentials
from cross_account.cli.errors import CallContext, CliError, UsageError, cut, whole_seconds
from cross_account.cli.sts import within
from cross_account.rules import MAX_SESSION_SECONDS, MIN_SESSION_SECONDS, ROLE_CHAINING_MAX_SECONDS

ENDPOINT_VARIABLE: Final = "CROSS_ACCOUNT_FEDERATION_ENDPOINT"
#: How long the sign-in page stays for the browser to read it.
PAGE_SECONDS_VARIABLE: Final = "CROSS_ACCOUNT_SIGNIN_PAGE_SECONDS"
DEFAULT_PAGE_SECONDS: Final = 10
MAX_PAGE_SECONDS: Final = 300
#: The console session's length when --console-duration is not given.
DEFAULT_CONSOLE_SECONDS: Final = 3600
#: Per partition: the federation endpoint, and the console's host.
_PARTITIONS: Final = {
    "aws": ("https://signin.aws.amazon.com/federation", "console.aws.amazon.com"),
    "aws-cn": ("https://signin.amazonaws.cn/federation", "console.amazonaws.cn"),
    "aws-us-gov": ("https://signin.amazonaws-us-gov.com/federation", "console.amazonaws-us-gov.com"),
}
_SERVICE: Final = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\Z", re.ASCII)
#: A sign-in token is a few hundred URL-safe characters; the reply is a small JSON object.
_TOKEN: Final = re.compile(r"^[A-Za-z0-9_\-.~+/=]{16,8192}\Z", re.ASCII)
_MAX_REPLY: Final = 65536
_LOOPBACK_NAMES: Final = frozenset({"localhost"})


@dataclass(frozen=True)
class Console:
    """Where to sign in (the federation endpoint) and which console page to land on."""

    endpoint: str
    destination: str


def console_duration(text: str | None) -> int:
    """--console-duration: the endpoint's SessionDuration, 900-43200 seconds (default 3600)."""
    if text is None:
        return DEFAULT_CONSOLE_SECONDS
    return whole_seconds("--console-duration ", text, MIN_SESSION_SECONDS, MAX_SESSION_SECONDS, digits=6)


def check_not_chained(seconds: int, *, chained: bool) -> None:
    """A console session made from role-chained credentials lasts 1 hour at most: say so before any call."""
    if chained and seconds > ROLE_CHAINING_MAX_SECONDS:
        raise UsageError(
            f"--console-duration {seconds}: your source credentials are temporary (SSO, a role session, or an MFA "
            "session), so the role session is role-chained, and AWS caps a console session made from role-chained "
            "credentials at 1 hour; use --console-duration 3600 or less, or sign in from an IAM user's long-term keys"
        )


def federation_endpoint(partition: str, environ: Mapping[str, str]) -> str:
    """The partition's federation endpoint, or $CROSS_ACCOUNT_FEDERATION_ENDPOINT (https, or http on loopback)."""
    override = environ.get(ENDPOINT_VARIABLE)
    if override:
        return _checked_override(override)
    if partition not in _PARTITIONS:
        raise UsageError(
            f"no console federation endpoint is known for partition {partition}: set {ENDPOINT_VARIABLE} to it"
        )
    return _PARTITIONS[partition][0]


def _checked_override(url: str) -> str:
    """The session's keys go to this URL: refuse plain HTTP anywhere but this machine."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and _is_loopback(host):
        return url
    raise UsageError(
        f"{ENDPOINT_VARIABLE} must be an https:// URL (or http:// on 127.0.0.1 for tests): the session's keys are sent "
        "to it"
    )


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def destination(partition: str, region: str | None, *, service: str | None, url: str | None) -> str:
    """The console page to land on: --destination (a page of this partition's console), --service, or the home
    page; in `region` when it is known."""
    host = _PARTITIONS.get(partition, _PARTITIONS["aws"])[1]
    if url is not None:
        return _checked_destination(url, host)
    query = f"?region={region}" if region else ""
    if service is not None:
        if not _SERVICE.match(service):
            raise UsageError(
                "invalid --service: must be a console path such as s3, cloudformation or iam (lowercase letters, "
                "digits, -)"
            )
        return f"https://{host}/{service}/home{query}"
    return f"https://{host}/console/home{query}"


def _checked_destination(url: str, host: str) -> str:
    """--destination must be a page of the partition's console (the login would otherwise send the session's
    cookies nowhere useful, or be an open redirect)."""
    parts = urllib.parse.urlsplit(url)
    name = parts.hostname or ""
    if parts.scheme != "https" or not (name == host or name.endswith(f".{host}")) or len(url) > 2048:
        raise UsageError(f"invalid --destination: must be an https:// page of the console, https://{host}/...")
    return url


def signin_token(console: Console, credentials: Credentials, *, session_duration: int, deadline: float) -> str:
    """getSigninToken for the role session; one line on any failure, the reply never shown."""
    session = json.dumps(
        {
            "sessionId": credentials.access_key_id,
            "sessionKey": credentials.secret_access_key,
            "sessionToken": credentials.session_token,
        }
    )
    query = urllib.parse.urlencode(
        {"Action": "getSigninToken", "SessionDuration": str(session_duration), "Session": session}
    )
    context = CallContext(
        role_arn=credentials.role_arn, external_id=None, mfa_serial=None, operation="getSigninToken", deadline=deadline
    )
    body = within(
        deadline,
        "getSigninToken",
        lambda: _get(f"{console.endpoint}?{query}", deadline, session_duration),
        context,
        service="the federation endpoint",
    )
    return _token_of(body)


def _get(url: str, deadline: float, session_duration: int) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - https, or loopback
    try:
        with urllib.request.urlopen(request, timeout=deadline) as reply:  # noqa: S310
            data: bytes = reply.read(_MAX_REPLY + 1)
            return data
    except urllib.error.HTTPError as error:
        error.close()
        raise CliError(_refusal(error.code, session_duration)) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, TimeoutError):
            raise CliError(f"the federation endpoint did not answer within {deadline:g} s (--sts-timeout)") from None
        # Only a socket error's own text is shown: other messages may quote the URL, which holds the session's keys.
        detail = f": {cut(str(reason), 120)}" if isinstance(reason, OSError) else ""
        raise CliError(f"cannot reach the federation endpoint ({type(reason).__name__}{detail})") from None


def _refusal(status: int, session_duration: int) -> str:
    longer = (
        f", or the session is role-chained and --console-duration {session_duration} is over 3600"
        if session_duration > ROLE_CHAINING_MAX_SECONDS
        else ""
    )
    return (
        f"the federation endpoint refused the role session (HTTP {status}): the credentials are expired or not a "
        f"role session{longer}; the reply is not shown"
    )


def _token_of(body: bytes) -> str:
    unusable = CliError(
        "the federation endpoint's reply holds no sign-in token (a proxy, or a wrong "
        f"{ENDPOINT_VARIABLE}?); it is not shown"
    )
    if len(body) > _MAX_REPLY:
        raise unusable
    try:
        document: Any = json.loads(body)
    except (ValueError, RecursionError):
        raise unusable from None
    token = document.get("SigninToken") if isinstance(document, dict) else None
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise unusable
    return token


def login_url(console: Console, token: str) -> str:
    """The URL that signs the browser in (valid 15 minutes): a secret."""
    query = urllib.parse.urlencode(
        {"Action": "login", "Issuer": "cross-account", "Destination": console.destination, "SigninToken": token}
    )
    return f"{console.endpoint}?{query}"


def page_seconds(environ: Mapping[str, str]) -> int:
    """$CROSS_ACCOUNT_SIGNIN_PAGE_SECONDS: how long the sign-in page stays (0-300, default 10)."""
    text = environ.get(PAGE_SECONDS_VARIABLE)
    if not text:
        return DEFAULT_PAGE_SECONDS
    return whole_seconds(f"{PAGE_SECONDS_VARIABLE}=", text, 0, MAX_PAGE_SECONDS, digits=3)


def signin_html(url: str) -> str:
    """A page that sends the browser on to `url` at once (meta refresh, and location.replace where scripts run, so
    the page itself leaves no entry in the tab's history), and sends no Referer."""
    in_attribute = html.escape(f"0;url={url}", quote=True)
    in_script = json.dumps(url).replace("<", "\\u003c")
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">\n'
        f'<meta http-equiv="refresh" content="{in_attribute}">\n'
        f"<script>window.location.replace({in_script});</script>\n"
        "<title>Signing in to the AWS console</title></head>\n"
        "<body><p>Signing in to the AWS console&hellip;</p></body></html>\n"
    )


@contextlib.contextmanager
def signin_page(url: str) -> Iterator[Path]:
    """A 0600 HTML page that redirects to `url`, in a fresh 0700 folder; both are deleted on leaving."""
    folder = Path(tempfile.mkdtemp(prefix="cross-account-signin-"))
    try:
        page = folder / "signin.html"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(page, flags, 0o600), "w", encoding="utf-8") as handle:
            handle.write(signin_html(url))
        yield page
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def open_in_browser(page: Path) -> None:
    """Open the sign-in page (its file:// address: no secret on the browser's command line) with the standard
    webbrowser module (it honours $BROWSER); one line when there is no browser to open."""
    import webbrowser

    try:
        opened = webbrowser.open(page.as_uri(), new=2)
    except webbrowser.Error:
        opened = False
    if not opened:
        raise CliError("no web browser could be opened: pass --print and open the URL yourself")


def wait_for_browser(seconds: int, sleep: Callable[[float], None] = time.sleep) -> None:
    """Give the browser (started, or told by the running one) the time to read the page before it is deleted."""
    if seconds:
        sleep(seconds)
