"""`cross-account console`: sign in to the role's account in the AWS console."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from cross_account.cli.commands.common import Shared, Subparsers, role_session
from cross_account.cli.output import PROG, emit, logger

NAME: Final = "console"


def add_parser(commands: Subparsers, shared: Shared) -> None:
    parser = shared.add_role_command(
        commands, run, name=NAME, named=True, help="sign in to the role's account in the AWS console"
    )
    parser.add_argument(
        "--print",
        action="store_true",
        help="print the sign-in URL instead of opening it: it holds a sign-in token valid 15 minutes, so whatever "
        "reads stdout (a terminal's scrollback, a log) can sign in as the role",
    )
    page = parser.add_mutually_exclusive_group()
    page.add_argument("--service", metavar="NAME", help="the console page of a service: s3, cloudformation, iam, ...")
    page.add_argument("--destination", metavar="URL", help="a console URL to land on")
    parser.add_argument(
        "--console-duration",
        metavar="SECONDS",
        help="the console session's length, 900-43200 (default 3600; 3600 at most from temporary credentials)",
    )


def run(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> int:
    """Assume the role (flags, cache and MFA as for assume) and sign in to its account's AWS console through the
    federation endpoint (getSigninToken), which takes roles that require an external ID; the console's own
    switch-role cannot send one. Opens the browser (webbrowser, $BROWSER) on a 0600 page in a private folder that
    redirects to the sign-in URL, so the URL is never on the browser's command line (ps), and deletes the page
    after CROSS_ACCOUNT_SIGNIN_PAGE_SECONDS (default 10); or prints the URL with --print: it holds a sign-in
    token, valid 15 minutes, so treat it as a secret. The endpoint follows the role's partition;
    CROSS_ACCOUNT_FEDERATION_ENDPOINT overrides it. --console-duration sets the console session's length
    (900-43200 s, default 3600); from temporary credentials (SSO, a role, an MFA session) the session is
    role-chained and AWS allows 1 hour at most."""
    from cross_account.cli import console

    seconds = console.console_duration(args.console_duration)
    page_wait = None if args.print else console.page_seconds(environ)
    session = role_session(args, environ=environ, cwd=cwd, unchained=seconds > console.DEFAULT_CONSOLE_SECONDS)
    request = session.request
    partition = request.role_arn.split(":")[1]
    target = console.Console(
        endpoint=console.federation_endpoint(partition, environ),
        destination=console.destination(partition, request.region, service=args.service, url=args.destination),
    )
    console.check_not_chained(seconds, chained=seconds > console.DEFAULT_CONSOLE_SECONDS and session.chained())
    credentials = session.credentials()
    token = console.signin_token(target, credentials, session_duration=seconds, deadline=session.sts.deadline)
    logger(args.verbose)(f"got a sign-in token for {credentials.role_arn} (valid 15 minutes; not shown)")
    url = console.login_url(target, token)
    if args.print:
        emit(url + "\n")
        return 0
    assert page_wait is not None
    with console.signin_page(url) as page:
        console.open_in_browser(page)
        print(
            f"{PROG}: opened the console for {request.role_arn} in the browser (its sign-in page is deleted in "
            f"{page_wait} s)",
            file=sys.stderr,
        )
        console.wait_for_browser(page_wait)
    return 0
