"""`exec`: the command's environment, its exit code, and signals passed on to it."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from cross_account.cli.run import FORWARDED, exit_status
from harness.emulator.server import alive
from tests.cli_support import (
    CLI,
    ROLE_ARN,
    SOURCE_ACCESS_KEY,
    SOURCE_SECRET,
    StubSts,
    assert_one_line_error,
    run_cli,
    said_lines,
)

DUMP_ENV = "import json, os, sys; print(json.dumps({'argv': sys.argv, 'env': dict(os.environ)}))"

# Every exec that gets as far as starting the command runs the installed script (subprocess=True): the subject is
# a real process, whose command inherits its stdout and environment, whose exit code is the command's, and whose
# signal handlers forward to it. In pytest the command would write past the captured stdout and the handlers would
# be pytest's; the in-process runner refuses to start a command. Usage errors (no command) run in-process.


def test_command_gets_the_role_credentials_and_region_and_no_profile(moto_env: dict[str, str], tmp_path: Path) -> None:
    home = Path(moto_env["HOME"])
    # The source credentials come from a profile: it must not reach the command.
    (home / ".aws" / "credentials").write_text(
        f"[account-a]\naws_access_key_id = {SOURCE_ACCESS_KEY}\naws_secret_access_key = {SOURCE_SECRET}\n"
    )
    env = {k: v for k, v in moto_env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env |= {"AWS_PROFILE": "account-a", "AWS_SECURITY_TOKEN": "stale", "AWS_DEFAULT_REGION": "ap-south-1"}
    result = run_cli(
        "exec", "--role-arn", ROLE_ARN, "--session-name", "deployer", "--region", "eu-west-1", "--",
        sys.executable, "-c", DUMP_ENV, "extra arg",
        env=env, subprocess=True,
    )  # fmt: skip
    assert result.code == 0, result.err
    seen = json.loads(result.out)
    child = seen["env"]
    assert seen["argv"] == ["-c", "extra arg"]
    assert "AWS_PROFILE" not in child and "AWS_SECURITY_TOKEN" not in child
    assert child["AWS_REGION"] == child["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert child["AWS_ACCESS_KEY_ID"].startswith("ASIA") and child["AWS_ACCESS_KEY_ID"] != SOURCE_ACCESS_KEY
    assert child["AWS_CREDENTIAL_EXPIRATION"].endswith("Z")
    assert child["CROSS_ACCOUNT_ROLE_ARN"] == ROLE_ARN
    assert child["AWS_ENDPOINT_URL"] == moto_env["AWS_ENDPOINT_URL"], "unrelated settings stay"
    assert SOURCE_SECRET not in result.out
    # No secret in the command's argv, and none on our stderr.
    assert child["AWS_SECRET_ACCESS_KEY"] not in json.dumps(seen["argv"])
    assert child["AWS_SECRET_ACCESS_KEY"] not in result.err and child["AWS_SESSION_TOKEN"] not in result.err
    # The credentials work: moto sees the role session.
    sts = boto3.Session(
        aws_access_key_id=child["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=child["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=child["AWS_SESSION_TOKEN"],
        region_name="eu-west-1",
    ).client("sts", endpoint_url=moto_env["AWS_ENDPOINT_URL"])
    assert sts.get_caller_identity()["Arn"].endswith("assumed-role/CrossAccountAccessRole/deployer")


def test_an_aws_cli_in_the_command_uses_the_role(moto_env: dict[str, str]) -> None:
    """The how-to's flow: the AWS CLI inside exec acts as the role (awscli is in requirements-dev)."""
    aws = Path(sys.executable).parent / "aws"
    result = run_cli(
        "exec", "--role-arn", ROLE_ARN, "--session-name", "deployer", "--region", "us-east-1", "--",
        str(aws), "sts", "get-caller-identity", "--output", "json",
        env=moto_env, subprocess=True,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert json.loads(result.out)["Arn"] == "arn:aws:sts::222222222222:assumed-role/CrossAccountAccessRole/deployer"


@pytest.mark.parametrize("code", [0, 3, 255])
def test_exit_code_is_the_commands(stub_sts: StubSts, stub_env: dict[str, str], code: int) -> None:
    result = run_cli("exec", "--role-arn", ROLE_ARN, "--", "sh", "-c", f"exit {code}", env=stub_env, subprocess=True)
    assert result.code == code
    assert said_lines(result.err) == []


def test_exec_reuses_the_cache(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    for _ in range(2):
        assert run_cli("exec", "--role-arn", ROLE_ARN, "--", "true", env=stub_env, subprocess=True).code == 0
    assert stub_sts.actions() == ["GetCallerIdentity", "AssumeRole"]


def test_command_not_found_is_127(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    result = run_cli("exec", "--role-arn", ROLE_ARN, "--", "no-such-command-xyz", env=stub_env, subprocess=True)
    assert_one_line_error(result, "command not found: no-such-command-xyz", code=127)


def test_command_not_executable_is_126(stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)
    result = run_cli("exec", "--role-arn", ROLE_ARN, "--", str(script), env=stub_env, subprocess=True)
    assert_one_line_error(result, "permission denied", code=126)


def test_exec_needs_a_command_after_the_separator(stub_sts: StubSts, stub_env: dict[str, str]) -> None:
    assert_one_line_error(run_cli("exec", "--role-arn", ROLE_ARN, env=stub_env), "needs a command after --", code=2)
    assert_one_line_error(run_cli("exec", "--role-arn", ROLE_ARN, "--", env=stub_env), "needs a command", code=2)
    assert_one_line_error(run_cli("assume", "--", "ls", env=stub_env), "assume takes no command after --", code=2)
    assert stub_sts.requests == []


def test_command_arguments_that_look_like_our_flags_are_the_commands(
    stub_sts: StubSts, stub_env: dict[str, str]
) -> None:
    result = run_cli(
        "exec", "--role-arn", ROLE_ARN, "--", sys.executable, "-c", DUMP_ENV, "--role-arn", "x", "--", "--help",
        env=stub_env, subprocess=True,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert json.loads(result.out)["argv"] == ["-c", "--role-arn", "x", "--", "--help"]


# --- signals ------------------------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    ready, report, mode = sys.argv[1:4]
    def handler(signum, frame):
        with open(report, "a") as f:
            f.write(f"{signum}\\n")
        sys.exit(40 + signum)
    def count(signum, frame):
        with open(report, "a") as f:
            f.write(f"{signum}\\n")
    if mode == "handle":
        for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1"):
            signal.signal(getattr(signal, name), handler)
    if mode == "count":  # record every SIGINT for a while, then leave
        signal.signal(signal.SIGINT, count)
    open(ready, "w").close()
    deadline = time.monotonic() + 20  # bounded: a failing test must not leave it behind for long
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if mode == "count" and os.path.exists(report):
            time.sleep(1)
            sys.exit(3)
    sys.exit(0)
    """
)


def default_signal_dispositions() -> None:
    """Start the client as an interactive shell would: with no signal ignored.

    Whoever runs the tests may ignore some (`nohup` ignores SIGHUP; a background job of a
    non-interactive shell ignores SIGINT), and the client rightly leaves ignored signals alone.
    """
    for signum in FORWARDED:
        signal.signal(signum, signal.SIG_DFL)


def start_exec(env: dict[str, str], tmp_path: Path, mode: str, *flags: str) -> tuple[subprocess.Popen[str], Path]:
    ready, report = tmp_path / "ready", tmp_path / "report"
    command = [sys.executable, "-c", CHILD, str(ready), str(report), mode]
    process = subprocess.Popen(
        [str(CLI), "exec", "--role-arn", ROLE_ARN, *flags, "--", *command],
        env=env,
        cwd=env["HOME"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # no terminal: nothing but our forwarding can reach the child
        preexec_fn=default_signal_dispositions,
    )
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.05)
    return process, report


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1])
def test_signal_is_passed_to_the_command(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path, signum: signal.Signals
) -> None:
    process, report = start_exec(stub_env, tmp_path, "handle")
    os.kill(process.pid, signum)  # to cross-account only, by its PID
    _, err = process.communicate(timeout=30)
    assert report.read_text() == f"{int(signum)}\n", "the command received the signal once"
    assert process.returncode == 40 + signum
    assert said_lines(err) == []


def test_command_killed_by_a_signal_gives_128_plus_n(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path
) -> None:
    process, _ = start_exec(stub_env, tmp_path, "default")
    os.kill(process.pid, signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM


def test_exit_status_convention() -> None:
    assert exit_status(0) == 0
    assert exit_status(7) == 7
    assert exit_status(-signal.SIGKILL) == 137


def test_ctrl_c_on_a_terminal_reaches_the_command_once(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path
) -> None:
    """The terminal sends Ctrl-C to the whole foreground group, the command included: no second copy from us."""
    ready, report = tmp_path / "ready", tmp_path / "report"
    args = [
        str(CLI),
        "exec",
        "--role-arn",
        ROLE_ARN,
        "--",
        sys.executable,
        "-c",
        CHILD,
        str(ready),
        str(report),
        "count",
    ]
    pid, fd = pty.fork()
    if pid == 0:  # a new session whose controlling terminal is the pty; we are its foreground group
        os.chdir(stub_env["HOME"])
        default_signal_dispositions()
        os.execve(args[0], args, stub_env)  # noqa: S606 (no shell wanted)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert time.monotonic() < deadline, "the child never started"
            _drain(fd)
        os.write(fd, b"\x03")  # Ctrl-C, as typed
        while True:
            waited, status = os.waitpid(pid, os.WNOHANG)
            if waited:
                break
            assert time.monotonic() < deadline + 30, "exec did not finish"
            _drain(fd)
    finally:
        os.close(fd)
    assert report.read_text() == f"{int(signal.SIGINT)}\n"
    assert os.waitstatus_to_exitcode(status) == 3


def _drain(fd: int) -> None:
    ready, _, _ = select.select([fd], [], [], 0.05)
    if ready:
        with contextlib.suppress(OSError):
            os.read(fd, 4096)


# --- exec faults (issue 11) ------------------------------------------------------------------------------


def test_a_script_whose_interpreter_is_missing_is_126_bad_interpreter(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path
) -> None:
    script = tmp_path / "deploy.sh"
    script.write_text("#!/nonexistent/bin/interpreter -e\necho hi\n")
    script.chmod(0o755)
    result = run_cli("exec", "--role-arn", ROLE_ARN, "--", str(script), env=stub_env, subprocess=True)
    assert_one_line_error(result, f"{script}: /nonexistent/bin/interpreter: bad interpreter", code=126)
    on_path = run_cli(
        "exec", "--role-arn", ROLE_ARN, "--", "deploy.sh",
        env={**stub_env, "PATH": f"{tmp_path}:{stub_env['PATH']}"}, subprocess=True,
    )  # fmt: skip
    assert_one_line_error(on_path, "deploy.sh: /nonexistent/bin/interpreter: bad interpreter", code=126)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_command_dies_with_a_wrapper_killed_by_sigkill(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path
) -> None:
    ready, report = tmp_path / "ready", tmp_path / "pid"
    child = (
        "import os, sys, time; open(sys.argv[2], 'w').write(str(os.getpid())); open(sys.argv[1], 'w'); time.sleep(30)"
    )
    process = subprocess.Popen(
        [str(CLI), "exec", "--role-arn", ROLE_ARN, "--", sys.executable, "-c", child, str(ready), str(report)],
        env=stub_env, cwd=stub_env["HOME"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # only the wrapper is killed below, never a group
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert process.poll() is None and time.monotonic() < deadline, "the command never started"
        time.sleep(0.05)
    pid = int(report.read_text())
    process.kill()  # SIGKILL: no handler runs, nothing is forwarded
    process.wait(timeout=30)
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)  # the test's own clean-up, by its PID
        pytest.fail("the command kept running with the role's keys after its wrapper was killed")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_command_whose_wrapper_died_before_prctl_kills_itself() -> None:
    """The race: the wrapper dies between fork and prctl, so the child already has another parent."""
    from cross_account.cli.run import _die_with_parent

    step = _die_with_parent()  # made for this process as the parent
    assert step is not None
    middle = os.fork()
    if middle == 0:  # pragma: no cover (a forked child)
        grandchild = os.fork()
        if grandchild == 0:
            step()  # its parent is `middle`, not the process the step was made for
            os._exit(0)
        _, status = os.waitpid(grandchild, 0)
        os._exit(9 if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL else 1)
    _, status = os.waitpid(middle, 0)
    assert os.waitstatus_to_exitcode(status) == 9


# --- the command's background processes (issue 17, item 10) ---------------------------------------------

#: A command that starts a background process that ignores SIGINT (as sh's `&` does without job control), writes
#: its PID, then runs in the foreground for a while or not at all.
LEAVES_A_BACKGROUND_PROCESS = 'sleep 31 >/dev/null 2>&1 & echo $! > "$1"; exec sleep "$2"'


def _background_pid(path: Path, deadline: float) -> int:
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, "the command never started its background process"
        time.sleep(0.05)
    return int(path.read_text())


def _gone_soon(pid: int, seconds: float = 10.0) -> bool:
    """Whether `pid` is gone (or a zombie) within `seconds`; the test's own clean-up kills it by PID otherwise."""
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
        return False
    return True


def _exec_leaving(env: dict[str, str], pid_file: Path, foreground: str, *flags: str) -> list[str]:
    return [
        str(CLI), "exec", "--role-arn", ROLE_ARN, *flags, "--",
        "sh", "-c", LEAVES_A_BACKGROUND_PROCESS, "sh", str(pid_file), foreground,
    ]  # fmt: skip


def test_what_the_command_left_in_the_background_ends_when_it_exits(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path
) -> None:
    pid_file = tmp_path / "background.pid"
    result = subprocess.run(
        _exec_leaving(stub_env, pid_file, "0"), env=stub_env, cwd=stub_env["HOME"], capture_output=True, text=True,
        timeout=60, start_new_session=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    background = _background_pid(pid_file, time.monotonic() + 1)
    assert _gone_soon(background, 0.5), "a background process kept running with the role's keys after exec returned"
    [line] = said_lines(result.stderr)
    assert line.startswith("cross-account: warning: exec: ending what the command left running"), line
    assert "--keep-background" in line


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_background_process_that_ignores_sigint_ends_with_the_command(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path, signum: signal.Signals
) -> None:
    pid_file = tmp_path / "background.pid"
    process = subprocess.Popen(
        _exec_leaving(stub_env, pid_file, "32"), env=stub_env, cwd=stub_env["HOME"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=default_signal_dispositions,
    )  # fmt: skip
    background = _background_pid(pid_file, time.monotonic() + 30)
    time.sleep(0.2)  # sh has exec'd `sleep 32`
    process.send_signal(signum)  # to cross-account only, by its PID
    try:
        process.communicate(timeout=30)
    finally:
        gone = _gone_soon(background, 0.5)
    assert process.returncode == 128 + signum
    assert gone, "the background process kept running with the role's keys"


def test_keep_background_leaves_it_running(stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path) -> None:
    pid_file = tmp_path / "background.pid"
    result = subprocess.run(
        _exec_leaving(stub_env, pid_file, "0", "--keep-background"), env=stub_env, cwd=stub_env["HOME"],
        capture_output=True, text=True, timeout=60, start_new_session=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    background = _background_pid(pid_file, time.monotonic() + 1)
    try:
        assert said_lines(result.stderr) == []
        assert alive(background), "--keep-background keeps what the command started"
    finally:
        os.kill(background, signal.SIGKILL)


@pytest.mark.skipif(not Path("/bin/bash").exists(), reason="needs bash for job control")
def test_ctrl_c_in_an_interactive_shell_ends_a_background_process_that_ignores_it(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path
) -> None:
    """Ctrl-C goes to the terminal's foreground group; the background process ignores it, and is ended after."""
    pid_file = tmp_path / "background.pid"
    command = " ".join(shlex.quote(word) for word in _exec_leaving(stub_env, pid_file, "32"))
    with _interactive_bash(stub_env) as shell:
        shell.type(command + "\n")
        background = _background_pid(pid_file, shell.deadline)
        time.sleep(0.3)  # sh has exec'd `sleep 32`
        shell.type("\x03")  # Ctrl-C, as typed
        shell.type("echo status=$?\n")
        shell.read_until(b"status=130")
        gone = _gone_soon(background, 0.5)  # while the shell (and the terminal) still lives
    assert gone, "the background process kept running with the role's keys after Ctrl-C"


def _wait_draining(pid: int, fd: int, deadline: float) -> int:
    while True:
        waited, status = os.waitpid(pid, os.WNOHANG)
        if waited:
            return status
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)  # the test's own clean-up, by its PID
            pytest.fail("exec did not finish")
        _drain(fd)


#: Asks on the terminal, then works a while; the markers are spelled apart so that the echoed command line holds none.
ASKS = "import time; x = input('ANS' + 'WER? '); print('GOT', x.upper()); time.sleep(1); print('FIN' + 'ISHED')"


@pytest.mark.skipif(not Path("/bin/bash").exists(), reason="needs bash for job control")
def test_in_an_interactive_shell_the_command_reads_the_terminal_and_ctrl_z_and_fg_work(
    stub_sts: StubSts, stub_env: dict[str, str]
) -> None:
    """The command's group holds the terminal (its prompts work), Ctrl-Z stops the job as the shell sees it, and fg
    continues the command."""
    with _interactive_bash(stub_env) as shell:
        shell.type(f'{CLI} exec --role-arn {ROLE_ARN} --session-name tester -- {sys.executable} -c "{ASKS}"\n')
        shell.read_until(b"ANSWER? ")
        shell.type("\x1a")  # Ctrl-Z
        shell.read_until(b"Stopped")
        shell.type("fg\n")
        shell.read_until(b"fg\r\n")
        time.sleep(0.3)
        shell.type("blue\n")
        shell.read_until(b"GOT BLUE")
        shell.read_until(b"FINISHED")
        shell.type("echo status=$?\n")
        shell.read_until(b"status=0")


@contextlib.contextmanager
def _interactive_bash(env: dict[str, str]) -> Iterator[_Pty]:
    """bash with job control on a new pty (its session, its terminal), as a user's shell; ended by its PID."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(env["HOME"])
        default_signal_dispositions()
        os.execve("/bin/bash", ["bash", "--norc", "--noprofile", "-i"], {**env, "PS1": "$ "})  # noqa: S606
    shell = _Pty(fd, time.monotonic() + 60)
    try:
        yield shell
        shell.type("exit\n")
        _wait_draining(pid, fd, time.monotonic() + 30)
    finally:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG) == (0, 0):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        os.close(fd)


class _Pty:
    def __init__(self, fd: int, deadline: float) -> None:
        self.fd, self.deadline, self.seen = fd, deadline, b""

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def read_until(self, marker: bytes) -> None:
        while marker not in self.seen:
            assert time.monotonic() < self.deadline, f"{marker!r} never came: {self.seen[-500:]!r}"
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                with contextlib.suppress(OSError):
                    self.seen += os.read(self.fd, 4096)
        self.seen = self.seen[self.seen.index(marker) + len(marker) :]
