"""Without the ``cdk`` extra, a construct refuses in one line that names the extra; the rest of the package works.

Fast: a Python process of this venv where the CDK modules are made unimportable (``sys.modules[name] = None``).
tests/test_package.py checks the same with the built wheel in a venv that never had them.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import cross_account

EXTRA = "pip install 'cross-account-assumerole[cdk]'"


def python(code: str, *missing: str) -> subprocess.CompletedProcess[str]:
    hide = "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in missing)
    return subprocess.run([sys.executable, "-c", hide + code], capture_output=True, text=True, timeout=60, check=False)


NO_CDK = ("jsii", "aws_cdk", "constructs")
AWS_CDK_LIB = "needs the CDK part (aws-cdk-lib is not installed)"
CONSTRUCTS = "needs the CDK part (constructs is not installed)"


@pytest.mark.parametrize(
    ("missing", "statement", "expected"),
    [
        (NO_CDK, "from cross_account import CrossAccountRole", f"CrossAccountRole {AWS_CDK_LIB}"),
        (
            ("aws_cdk",),
            "import cross_account; cross_account.CrossAccountAssumers",
            f"CrossAccountAssumers {AWS_CDK_LIB}",
        ),
        (("constructs",), "from cross_account import GithubOidcDeployer", f"GithubOidcDeployer {CONSTRUCTS}"),
    ],
)
def test_a_construct_names_the_extra_in_one_line(missing: tuple[str, ...], statement: str, expected: str) -> None:
    refused = python(statement, *missing)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[-1] == f"cross_account.MissingCdkError: {expected}: {EXTRA}"
    assert "ModuleNotFoundError" not in refused.stderr and "During handling" not in refused.stderr, refused.stderr


CATCH = """
try:
    from cross_account import DeployStagingBucket
except ImportError as error:
    print(type(error).__name__, error.name, error.__cause__, error.__suppress_context__)
"""


def test_the_error_is_an_import_error_that_names_the_missing_module() -> None:
    caught = python(CATCH, *NO_CDK)
    kind, module, cause, suppressed = caught.stdout.split()
    assert (kind, cause, suppressed) == ("MissingCdkError", "None", "True"), caught.stderr
    assert module in NO_CDK


CLIENT = """
import cross_account, cross_account.settings
from cross_account import Settings, CrossAccountRoleProps, SettingsError, CiRepository, __version__
from cross_account.cli import main
sys.exit(main(["--version"]))
"""


def test_the_package_and_the_client_import_without_cdk() -> None:
    imported = python(CLIENT, *NO_CDK)
    assert imported.returncode == 0, imported.stderr
    assert imported.stderr == ""
    assert imported.stdout == f"cross-account {cross_account.__version__}\n"


def test_another_missing_module_is_not_blamed_on_the_extra() -> None:
    # A module that the extra does not provide: the usual ModuleNotFoundError, unchanged.
    refused = python("from cross_account import CrossAccountRole", "cross_account.guard")
    assert refused.stderr.splitlines()[-1].startswith("ModuleNotFoundError: import of cross_account.guard halted")
