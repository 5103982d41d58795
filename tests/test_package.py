"""The package as a user gets it: build the wheel and sdist, install the wheel into fresh venvs, and
- with the ``cdk`` extra, synthesize the README's reuse sample as a new CDK app in an empty folder, with the real
  CDK CLI;
- without it (the client-only install: boto3, nothing from CDK), run ``cross-account`` against moto, and see a
  construct refuse in one line that names the extra.

About 9 s (build 2 s, installs 1-3 s each from uv's cache, synth 2-3 s); deselect with ``-m 'not package'``.
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
from tests.cli_support import ROLE_ARN, Result, assert_clean_stderr, base_environment
from tests.test_cli_assume import caller
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
    # A plain install is the client; CDK comes with the extra that cross_account's ImportError names.
    requires = metadata.get_all("Requires-Dist", [])
    assert [r for r in requires if "extra ==" not in r] == ["boto3>=1.44", "keyring==25.7.0"]
    assert {r.split("<")[0].split(">")[0] for r in requires if 'extra == "cdk"' in r} == {"aws-cdk-lib", "constructs"}
    extra = cross_account.CDK_EXTRA
    assert extra == f"{metadata['Name']}[cdk]"


def test_the_sdist_holds_what_the_wheel_is_built_from(dist: Path) -> None:
    with tarfile.open(only(dist, f"{NAME}-*.tar.gz")) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "cross_account/py.typed"} <= names
    assert not [n for n in names if n.startswith("tests/")]


def fresh_venv(dist: Path, venv: Path, extra: str = "") -> Path:
    """A new venv with the built wheel (and ``extra``, e.g. ``[cdk]``) installed; its bin folder."""
    run([UV, "venv", "--quiet", "--python", PROJECT_ROOT / ".venv" / "bin" / "python", venv])
    # The runtime pins as constraints: the versions the tests use, so uv's cache serves them.
    wheel = only(dist, f"{NAME}-*.whl")
    run([UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python", "-c", "requirements.txt",
         f"{wheel}{extra}"], cwd=PROJECT_ROOT)  # fmt: skip
    return venv / "bin"


def outside_the_checkout(env: dict[str, str]) -> dict[str, str]:
    """``env`` without what points Python at the checkout or the dev venv (the Makefile exports PYTHONPATH)."""
    return {k: v for k, v in env.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CDK_"))}


def test_the_readme_sample_synthesizes_from_the_installed_wheel(dist: Path, tmp_path: Path) -> None:
    venv = fresh_venv(dist, tmp_path / "venv", "[cdk]").parent

    app_dir = tmp_path / "new-app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(readme_sample() + RECORD_ORIGIN)
    (app_dir / "cdk.json").write_text(json.dumps({"app": f"{venv / 'bin' / 'python'} app.py"}))
    env = outside_the_checkout(dict(os.environ))
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


# --- the client-only install: the wheel without the extra ------------------------------------------------


@pytest.fixture(scope="module")
def client_only(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh venv with the wheel alone (``pip install cross-account-assumerole``)."""
    return fresh_venv(dist, tmp_path_factory.mktemp("client-only") / "venv")


def in_venv(bin_dir: Path, *args: str, env: dict[str, str], cwd: Path) -> Result:
    completed = subprocess.run(
        [str(bin_dir / args[0]), *args[1:]], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


#: What the client-only venv's Python finds: where cross_account comes from, and which of the others exist.
PROBE = """
import importlib.util, json
import cross_account, cross_account.cli.main, cross_account.settings
print(json.dumps({"cross_account": cross_account.__file__} | {
    name: importlib.util.find_spec(name) and name for name in ("boto3", "aws_cdk", "constructs", "jsii")
}))
"""


def test_the_client_only_install_has_nothing_from_cdk(client_only: Path, tmp_path: Path) -> None:
    env = outside_the_checkout(dict(os.environ))
    found = in_venv(client_only, "python", "-c", PROBE, env=env, cwd=tmp_path)
    assert found.code == 0, found.err
    modules = json.loads(found.out)
    assert modules["cross_account"].startswith(str(client_only.parent)), modules
    assert modules["boto3"] is not None
    assert modules["aws_cdk"] is None and modules["constructs"] is None and modules["jsii"] is None, modules


def test_the_client_only_install_assumes_the_role_against_moto(
    client_only: Path, moto_url: str, tmp_path: Path
) -> None:
    env = outside_the_checkout(base_environment(tmp_path / "home", moto_url))
    cwd = tmp_path / "home"  # an empty folder: no cdk.json, the role named on the command line

    helped = in_venv(client_only, "cross-account", "--help", env=env, cwd=cwd)
    assert helped.code == 0, helped.err
    assert helped.out.startswith("usage: cross-account"), helped.out

    assume = ["assume", "--role-arn", ROLE_ARN, "--external-id", "client-only-1", "--session-name", "teammate"]
    assumed = in_venv(client_only, "cross-account", *assume, "--format", "json", env=env, cwd=cwd)
    assert assumed.code == 0, assumed.err
    assert_clean_stderr(assumed)
    document = json.loads(assumed.out)
    credentials = {
        "AWS_ACCESS_KEY_ID": document["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": document["SecretAccessKey"],
        "AWS_SESSION_TOKEN": document["SessionToken"],
    }
    assert caller(env, credentials) == "arn:aws:sts::222222222222:assumed-role/CrossAccountAccessRole/teammate"


@pytest.mark.parametrize(
    "statement", ["from cross_account import CrossAccountRole", "import cross_account as c; c.DeployLaneSynthesizer"]
)
def test_a_construct_without_the_extra_names_it_in_one_line(client_only: Path, tmp_path: Path, statement: str) -> None:
    refused = in_venv(client_only, "python", "-c", statement, env=outside_the_checkout(dict(os.environ)), cwd=tmp_path)
    assert refused.code == 1
    name = statement.rsplit(".", 1)[-1].rsplit(" ", 1)[-1]
    assert refused.err.splitlines()[-1] == (
        f"cross_account.MissingCdkError: {name} needs the CDK part (aws-cdk-lib is not installed): "
        "pip install 'cross-account-assumerole[cdk]'"
    )
    # No chain through jsii's or aws_cdk's import: the one line is the whole story.
    assert "ModuleNotFoundError" not in refused.err and "During handling" not in refused.err, refused.err


def test_the_client_only_install_runs_a_named_role_from_an_empty_folder(
    client_only: Path, moto_url: str, tmp_path: Path
) -> None:
    """The teammate's path: the client alone, configured once, used from any folder with the AWS CLI."""
    home = tmp_path / "home"
    env = outside_the_checkout(base_environment(home, moto_url))
    (home / ".aws" / "credentials").write_text(
        f"[account-a]\naws_access_key_id = {env.pop('AWS_ACCESS_KEY_ID')}\n"
        f"aws_secret_access_key = {env.pop('AWS_SECRET_ACCESS_KEY')}\n"
    )
    # The AWS CLI comes from the project's venv; the client from the client-only one, found first.
    env["PATH"] = f"{client_only}{os.pathsep}{PROJECT_ROOT / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    empty = tmp_path / "anywhere"
    empty.mkdir()
    configure = ["configure-profile", "deploy-b", "--source-profile", "account-a", "--role-arn", ROLE_ARN]
    configure += ["--external-id", "client-only-2", "--session-name", "teammate", "--region", "us-east-1"]
    configured = in_venv(client_only, "cross-account", *configure, env=env, cwd=empty)
    assert configured.code == 0, configured.err
    ran = in_venv(
        client_only, "cross-account", "exec", "deploy-b", "--", "aws", "sts", "get-caller-identity", env=env, cwd=empty
    )
    assert ran.code == 0, ran.err
    arn = json.loads(ran.out)["Arn"]
    assert arn == "arn:aws:sts::222222222222:assumed-role/CrossAccountAccessRole/teammate"
