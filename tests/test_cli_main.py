"""The command surface: help with examples, version, the flag-name contract, usage errors, import weight."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable

import pytest

from cross_account import __version__
from cross_account.cli import build_parser
from tests.cli_support import CLI, ROLE_ARN, Result, StubSts, assert_one_line_error, run_cli

#: The issue's flag names are a contract.
ROLE_FLAGS = (
    "--role-arn",
    "--external-id",
    "--session-name",
    "--mfa-serial",
    "--mfa-token",
    "--duration",
    "--source-identity",
)


def option_strings(command: str) -> set[str]:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    sub = subparsers.choices[command]  # type: ignore[index]
    return {flag for action in sub._actions for flag in action.option_strings}


COMMANDS = ("assume", "exec", "configure-profile", "clear-cache", "console", "list")


@pytest.mark.parametrize("command", ["assume", "exec", "configure-profile", "console"])
def test_every_command_takes_the_role_flags(command: str) -> None:
    assert set(ROLE_FLAGS) <= option_strings(command)


def test_command_specific_flags() -> None:
    assert {"--format", "--no-cache", "--profile"} <= option_strings("assume")
    assert {"--no-cache", "--profile"} <= option_strings("exec")
    assert {"--source-profile", "--region", "--credential-process"} <= option_strings("configure-profile")
    assert {"--server", "--tag", "--transitive-tag"} <= option_strings("exec")
    assert {"--print", "--service", "--destination", "--console-duration", "--no-cache"} <= option_strings("console")
    assert {"--cdk-json", "--format"} <= option_strings("list")


def test_help_has_examples(cli_in_process: Callable[..., Result], tmp_path: object) -> None:
    result = cli_in_process("--help", env={"HOME": str(tmp_path)})
    assert result.code == 0
    assert "examples:" in result.out
    assert 'eval "$(cross-account assume)"' in result.out
    assert "cross-account exec -- npx cdk deploy MyService" in result.out
    commands = result.out.split("positional arguments:")[1].split("options:")[0]
    for command in COMMANDS:
        assert re.search(rf"^    {command}(\s|$)", commands, re.MULTILINE), f"--help lists {command}"
    for example in ("exec --server", "console --service", "assume --mfa-serial", "--tag team=platform", "list"):
        assert f"cross-account {example}" in result.out or example in result.out


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(cli_in_process: Callable[..., Result], tmp_path: object, command: str) -> None:
    result = cli_in_process(command, "--help", env={"HOME": str(tmp_path)})
    assert result.code == 0
    assert f"usage: cross-account {command}" in result.out


def test_version(cli_in_process: Callable[..., Result], tmp_path: object) -> None:
    result = cli_in_process("--version", env={"HOME": str(tmp_path)})
    assert (result.code, result.out) == (0, f"cross-account {__version__}\n")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((), "the following arguments are required: COMMAND"),
        (("bogus",), "invalid choice: 'bogus'"),
        (("assume", "--duration"), "argument --duration: expected one argument"),
        (("clear-cache", "--role-arn", ROLE_ARN), "unrecognized arguments"),
    ],
)
def test_usage_errors_are_one_line(
    cli_in_process: Callable[..., Result], tmp_path: object, args: tuple[str, ...], fragment: str
) -> None:
    assert_one_line_error(cli_in_process(*args, env={"HOME": str(tmp_path)}), fragment, "(see --help)", code=2)


def test_python_dash_m_and_no_aws_cdk_import(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    """A full assume (STS calls included) never imports aws_cdk: its jsii start-up costs about a second."""
    probe = (
        "import runpy, sys; sys.argv = ['cross-account', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('cross_account.cli', run_name='__main__')\n"
        "except SystemExit as done:\n    code = done.code\n"
        "print('aws_cdk' in sys.modules, 'jsii' in sys.modules, file=sys.stderr); sys.exit(code)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe, "assume", "--role-arn", ROLE_ARN, "--no-cache"],
        env=stub_env,
        cwd=stub_env["HOME"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.strip() == "False False"
    assert "export AWS_ACCESS_KEY_ID=" in completed.stdout
    assert stub_sts.actions() == ["GetCallerIdentity", "AssumeRole"]


def test_console_script_is_installed(stub_env: dict[str, str]) -> None:
    # A subprocess: the subject is the installed entry point itself (its shebang, its import of main).
    result = run_cli("--version", env=stub_env, subprocess=True)
    assert (result.code, result.out.strip()) == (0, f"cross-account {__version__}")


def test_closed_stdout_is_not_a_traceback(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    # The reader closes the pipe at once (long before our first write): the write gets EPIPE.
    script = '"$0" assume --role-arn "$1" --format json | { exec 0<&-; }'
    completed = subprocess.run(
        ["/bin/bash", "-c", f"set -o pipefail; {script}", str(CLI), ROLE_ARN],
        env=stub_env,
        cwd=stub_env["HOME"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stderr == ""
    assert stub_sts.actions() == ["GetCallerIdentity", "AssumeRole"]
