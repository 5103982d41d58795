"""The README's settings table is the settings' and props' own docs (`python -m harness.settings_table --write`)."""

from __future__ import annotations

from dataclasses import fields

from cross_account.props import CrossAccountRoleProps
from cross_account.settings import RoleSpec, Settings
from harness.settings_table import README, current, field_docs, render


def test_the_readme_table_is_written_from_the_docs() -> None:
    assert current(README.read_text()) == render(), "run: .venv/bin/python -m harness.settings_table --write"


def test_every_setting_has_a_row() -> None:
    table = render()
    for key in Settings.setting_names():
        assert f"| `{key}` |" in table, key


def test_every_declared_setting_says_its_default() -> None:
    docs = {**field_docs(CrossAccountRoleProps), **field_docs(RoleSpec), **field_docs(Settings)}
    declared = [f.name for cls in (CrossAccountRoleProps, Settings) for f in fields(cls) if "rule" in f.metadata]
    missing = [name for name in declared if "Default:" not in docs.get(name, "")]
    assert missing == []
