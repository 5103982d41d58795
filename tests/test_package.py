"""The package as a user gets it: build the wheel and sdist, install the wheel into a fresh venv, and
synthesize the README's reuse sample as a new CDK app in an empty folder, with the real CDK CLI.

About 6 s (build 2 s, install 1 s from uv's cache, synth 2-3 s); deselect with ``-m 'not package'``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import cross_account
from harness.node import NPM_BIN_DIR, PROJECT_ROOT, use_pinned_node
from tests.test_reuse import readme_sample

pytestmark = pytest.mark.package

UV = PROJECT_ROOT / ".venv" / "bin" / "uv"
NAME = "cross_account_assumerole"
# The new app records where it imported the package from (the checkout must not be on sys.path).
ORIGIN_FILE = "cross_account_origin.json"
RECORD_ORIGIN = f"""
import json as _json
import cross_account as _package
from pathlib import Path as _Path
_Path({ORIGIN_FILE!r}).write_text(_json.dumps({{"file": _package.__file__, "version": _package.__version__}}))
app.synth()
"""


def run(args: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, check=False, **kwargs)
    assert result.returncode == 0, f"{args[:3]} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run(["make", "--no-print-directory", "-s", "package", f"DIST={out}"], cwd=PROJECT_ROOT)
    return out


def only(folder: Path, pattern: str) -> Path:
    (found,) = folder.glob(pattern)
    return found


def test_the_wheel_ships_types_licence_and_the_package_version(dist: Path) -> None:
    with zipfile.ZipFile(only(dist, f"{NAME}-*.whl")) as wheel:
        names = set(wheel.namelist())
        info = f"{NAME}-{cross_account.__version__}.dist-info"
        metadata = Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
    assert {"cross_account/py.typed", "cross_account/cli/__init__.py", f"{info}/licenses/LICENSE"} <= names
    assert not [n for n in names if n.startswith(("tests/", "harness/", "stacks/", "bench/"))]
    assert metadata["Version"] == cross_account.__version__
    assert metadata["License-Expression"] == "Apache-2.0"
    assert "Typing :: Typed" in metadata.get_all("Classifier", [])


def test_the_sdist_holds_what_the_wheel_is_built_from(dist: Path) -> None:
    with tarfile.open(only(dist, f"{NAME}-*.tar.gz")) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "cross_account/py.typed"} <= names
    assert not [n for n in names if n.startswith("tests/")]


def test_the_readme_sample_synthesizes_from_the_installed_wheel(dist: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run([UV, "venv", "--quiet", "--python", PROJECT_ROOT / ".venv" / "bin" / "python", venv])
    # The runtime pins as constraints: the versions the tests use, so uv's cache serves them.
    wheel = only(dist, f"{NAME}-*.whl")
    run([UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python", "-c", "requirements.txt", wheel],
        cwd=PROJECT_ROOT)  # fmt: skip

    app_dir = tmp_path / "new-app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(readme_sample() + RECORD_ORIGIN)
    (app_dir / "cdk.json").write_text(json.dumps({"app": f"{venv / 'bin' / 'python'} app.py"}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CDK_"))}
    use_pinned_node(env)
    run([NPM_BIN_DIR / "cdk", "synth", "--quiet", "--no-notices"], cwd=app_dir, env=env)

    origin = json.loads((app_dir / ORIGIN_FILE).read_text())
    site_packages = next((venv / "lib").glob("python3.*/site-packages"))
    assert Path(origin["file"]).is_relative_to(site_packages), origin
    assert origin["version"] == cross_account.__version__
    out = app_dir / "cdk.out"
    artifacts = json.loads((out / "manifest.json").read_text())["artifacts"]
    stacks = {name for name, artifact in artifacts.items() if artifact["type"] == "aws:cloudformation:stack"}
    assert stacks == {"Deployments", "Tooling"}
    # The role, its tamper guard and the bucket's grant; the group, its policy and the imported user's grant.
    assert iam_resources(out / "Deployments.template.json") == {
        "AWS::IAM::Policy": [None, None],
        "AWS::IAM::Role": ["DeployRole"],
    }
    assert iam_resources(out / "Tooling.template.json") == {
        "AWS::IAM::Group": ["Deployers"],
        "AWS::IAM::ManagedPolicy": [None],
        "AWS::IAM::Policy": [None],
    }


def iam_resources(template: Path) -> dict[str, list[str | None]]:
    """IAM resource type -> the names given to them (None where CloudFormation names it)."""
    found: dict[str, list[str | None]] = {}
    for resource in json.loads(template.read_text())["Resources"].values():
        if resource["Type"].startswith("AWS::IAM::"):
            props = resource.get("Properties", {})
            found.setdefault(resource["Type"], []).append(props.get("RoleName") or props.get("GroupName"))
    return found
