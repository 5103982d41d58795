"""Canary: the MiniStack internals our AWS::IAM::Group provisioner uses are still where it expects them.

It runs in the emulator's venv (MiniStack is not importable from the project venv). If a MiniStack
upgrade moves an internal, this test fails and names it, before any deploy fails obscurely.
"""

from __future__ import annotations

import subprocess

import pytest

from harness.emulator.server import EMULATOR_PYTHON
from harness.node import PROJECT_ROOT

pytestmark = pytest.mark.skipif(
    not EMULATOR_PYTHON.exists(), reason="no emulator venv: run `make test` (it creates .venv-emulator)"
)


def run_in_emulator_venv(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EMULATOR_PYTHON), "-c", code],
        cwd=PROJECT_ROOT,
        env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_check(module: str) -> subprocess.CompletedProcess[str]:
    """``python -m MODULE --check`` in the emulator's venv."""
    return subprocess.run(
        [str(EMULATOR_PYTHON), "-m", module, "--check"],
        cwd=PROJECT_ROOT,
        env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("module", "patch"),
    [
        ("harness.emulator.iam_group_provisioner", "the AWS::IAM::Group provisioner"),
        ("harness.emulator.cfn_tag_collector", "the cloudformation tag collector"),
    ],
)
def test_what_we_patch_in_ministack_is_where_it_expects(module: str, patch: str) -> None:
    result = run_check(module)
    path = module.replace(".", "/") + ".py"
    assert result.returncode == 0, f"MiniStack changed under {patch} ({path}):\n" + result.stdout + result.stderr


def test_register_adds_the_group_type_to_the_handler_table() -> None:
    result = run_in_emulator_venv(
        "import ministack.services.cloudformation.provisioners as p\n"
        "from harness.emulator import iam_group_provisioner as g\n"
        "assert 'AWS::IAM::Group' not in p._RESOURCE_HANDLERS, 'MiniStack ships AWS::IAM::Group now'\n"
        "g.register()\n"
        "h = p._RESOURCE_HANDLERS['AWS::IAM::Group']\n"
        "assert h['create'] is g._create and h['delete'] is g._delete, h\n"
        "assert p._REPLACING_PROPERTIES['AWS::IAM::Group'] == ('GroupName',)\n"
        "print('registered')\n"
    )
    assert result.returncode == 0 and result.stdout.strip() == "registered", result.stdout + result.stderr


@pytest.mark.parametrize(
    ("break_it", "named"),
    [
        ("import ministack.services.iam as m; del m._put_group_policy", "ministack.services.iam._put_group_policy"),
        (
            "import ministack.services.cloudformation.provisioners as p; p._RESOURCE_HANDLERS = []",
            "_RESOURCE_HANDLERS is no longer a dict",
        ),
        ("import importlib.metadata as md; md.version = lambda name: '9.9.9'", "ministack 9.9.9 is installed"),
    ],
)
def test_canary_names_what_moved(break_it: str, named: str) -> None:
    """The canary itself can fail, with a message that says what to look at."""
    result = run_in_emulator_venv(
        f"{break_it}\nimport harness.emulator.iam_group_provisioner as g\nprint('\\n'.join(g.check_internals()))\n"
    )
    assert result.returncode == 0, result.stderr
    assert named in result.stdout


STACK_ID = "arn:aws:cloudformation:us-east-1:222222222222:stack/Lane/0f0f0f0f-0000-0000-0000-000000000000"


def test_the_collector_gives_iam_the_stack_tags() -> None:
    """MiniStack alone resolves no stack tag (so a ResourceTag-gated stack write is always denied); with the
    collector, both the ARN of a request that names the stack and the stack ID carry the stack's tags."""
    result = run_in_emulator_venv(
        "import ministack.services.cloudformation as cfn, ministack.services.tagging as t\n"
        "from harness.emulator import cfn_tag_collector as c\n"
        "from ministack.core.responses import set_request_account_id\n"
        "set_request_account_id('222222222222')\n"
        f"cfn._stacks['Lane'] = {{'StackId': '{STACK_ID}', 'Tags': [{{'Key': 'lane', 'Value': 'Role'}}]}}\n"
        "cfn._stacks['Admin'] = {'StackId': 'arn:aws:cloudformation:us-east-1:222222222222:stack/Admin/1'}\n"
        "by_name = 'arn:aws:cloudformation:us-east-1:222222222222:stack/Lane/*'\n"
        "print(t.resource_tags(by_name))\n"
        "c.register()\n"
        "print(t.resource_tags(by_name), t.resource_tags('" + STACK_ID + "'))\n"
        "print(t.resource_tags('arn:aws:cloudformation:us-east-1:222222222222:stack/Admin/*'))\n"
        "print(t.resource_tags('arn:aws:cloudformation:us-east-1:111111111111:stack/Lane/*'))\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["None", "{'lane': 'Role'} {'lane': 'Role'}", "{}", "None"]


def test_launcher_can_keep_tls_off_port_443() -> None:
    """With USE_SSL MiniStack also binds 443 when it may; the launcher replaces the function that decides."""
    result = run_in_emulator_venv("import ministack.app as a\nprint(callable(a._port_is_bindable))\n")
    assert result.returncode == 0 and result.stdout.strip() == "True", result.stdout + result.stderr
