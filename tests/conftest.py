from harness.node import use_pinned_node

# Before anything imports aws_cdk: jsii on Node 20 prints an end-of-life banner.
use_pinned_node()


# --- the cross-account client (tests/test_cli_*.py) -------------------------------------------------
# Appended for the client; the servers bind 127.0.0.1 and are stopped by their own handles.
import os  # noqa: E402
from collections.abc import Callable, Iterator, Mapping  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.cli_support import MotoServer, Result, StubSts, StubStsServer, assert_clean_stderr, base_environment  # noqa: E402


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto in server mode, one per test session."""
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto_server.log")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def stub_sts_server() -> Iterator[StubStsServer]:
    server = StubStsServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stub_sts(stub_sts_server: StubStsServer) -> StubSts:
    """The scripted STS, reset for each test."""
    stub_sts_server.stub.reset()
    return stub_sts_server.stub


@pytest.fixture
def moto_env(tmp_path: Path, moto_url: str) -> dict[str, str]:
    return base_environment(tmp_path / "home", moto_url)


@pytest.fixture
def stub_env(tmp_path: Path, stub_sts_server: StubStsServer, stub_sts: StubSts) -> dict[str, str]:
    return base_environment(tmp_path / "home", stub_sts_server.url)


@pytest.fixture
def cli_in_process(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run `main()` in this process with exactly `env` (AWS_* of the machine removed), in `cwd` or HOME."""
    from cross_account.cli import main

    def run(*args: str, env: Mapping[str, str], cwd: Path | None = None) -> Result:
        for key in list(os.environ):
            if key.startswith(("AWS_", "CROSS_ACCOUNT_")) or key in ("XDG_CACHE_HOME", "HOME"):
                monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(cwd or env["HOME"])
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        result = Result(code, captured.out, captured.err)
        assert_clean_stderr(result)
        return result

    return run
