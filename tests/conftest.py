import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from harness.node import use_pinned_node
from tests.cli_support import MotoServer, Result, StubSts, StubStsServer, base_environment, run_cli


def pytest_configure(config: pytest.Config) -> None:
    """Before any test module imports aws_cdk: jsii on Node 20 prints an end-of-life banner."""
    use_pinned_node()


# --- the cross-account client (tests/test_cli_*.py) -------------------------------------------------
# The servers bind 127.0.0.1 and are stopped by their own handles.


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
def cli_in_process(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run `main()` in this process with exactly `env` (AWS_* of the machine removed), in `cwd` or HOME.

    The environment and folder also stay applied until the end of the test (a test checks what was there).
    """

    def run(*args: str, env: Mapping[str, str], cwd: Path | None = None, stdin: str | None = None) -> Result:
        for key in list(os.environ):
            if key.startswith(("AWS_", "CROSS_ACCOUNT_")) or key in ("XDG_CACHE_HOME", "HOME"):
                monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(cwd or env["HOME"])
        # The same in-process runner as run_cli: captured streams, no terminal, no child process, leak checks.
        return run_cli(*args, env=dict(os.environ), cwd=cwd, stdin=stdin)

    return run
