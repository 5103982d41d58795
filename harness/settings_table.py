"""The README's settings table, written from the settings' and props' own ``#:`` docs (dev-only).

Each cdk.json key is a dataclass field declared with ``setting()``; the ``#:`` comment above it says
what it means and ends with ``Default: …``. The table is those comments, so the two cannot drift:
``tests/test_settings_table.py`` fails when the README differs, and this writes it again:

    .venv/bin/python -m harness.settings_table --write
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import re
from dataclasses import fields
from typing import Any

from cross_account.ci import CI_PROVIDERS
from cross_account.declaration import rule_of
from cross_account.props import CrossAccountRoleProps
from cross_account.settings import APP_ROLE_DEFAULTS, RoleSpec, Settings
from harness.node import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
START, END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"
#: Where the role's keys go among the app's own, as the README reads best: after where the app deploys.
_ROLE_KEYS_AFTER = "region"


def field_docs(cls: type) -> dict[str, str]:
    """Field name -> its ``#:`` comment, joined, for ``cls`` (its own fields, not inherited ones)."""
    source = inspect.getsource(cls)
    lines = source.splitlines()
    docs: dict[str, str] = {}
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            comment: list[str] = []
            i = node.lineno - 2
            while i >= 0 and lines[i].strip().startswith("#:"):
                comment.insert(0, lines[i].strip()[2:].strip())
                i -= 1
            if comment:
                docs[node.target.id] = " ".join(comment)
    return docs


def _split(doc: str) -> tuple[str, str]:
    """(meaning, default) of a doc that ends with ``Default: …``."""
    meaning, _, default = doc.rpartition("Default:")
    if not meaning:
        return doc.strip(), "—"
    return meaning.strip(), default.strip().removesuffix(".")


def _rows() -> list[tuple[str, str, str]]:
    docs = {**field_docs(CrossAccountRoleProps), **field_docs(RoleSpec)}
    role_rows = []
    for f in fields(RoleSpec):
        if "rule" not in f.metadata or f.name == "trusted_account_id":
            continue
        meaning, default = _split(docs[f.name])
        key = rule_of(f).setting or f.name
        if f.name in APP_ROLE_DEFAULTS:
            # The app keeps the how-to's values where a reused construct asks for its own.
            app_default = json.dumps(list(APP_ROLE_DEFAULTS[f.name]))
            default = f"`{app_default}` (a reused construct: {default})"
        role_rows.append((key, default, meaning))
    own = field_docs(Settings)
    rows: list[tuple[str, str, str]] = []
    for f in fields(Settings):
        if "rule" not in f.metadata:
            continue
        meaning, default = _split(own[f.name])
        rows.append((f.name, default, meaning))
        if f.name == _ROLE_KEYS_AFTER:
            rows += role_rows
    rows += [(key, "none", provider.summary) for key, provider in CI_PROVIDERS.items()]
    return rows


def render() -> str:
    """The table, between its markers."""
    lines = ["| key | default | rule / meaning |", "|---|---|---|"]
    lines += [f"| `{key}` | {default} | {_sentence(meaning)} |" for key, default, meaning in _rows()]
    return "\n".join([START, *lines, END])


def _sentence(text: str) -> str:
    return (text[0].upper() + text[1:]) if text and not text.startswith("`") else text


def current(readme: str) -> str:
    match = re.search(re.escape(START) + ".*?" + re.escape(END), readme, re.S)
    if match is None:
        raise SystemExit(f"README.md has no {START} … {END} block")
    return match.group(0)


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the table into README.md")
    args = parser.parse_args(argv)
    readme = README.read_text()
    table = render()
    if args.write:
        README.write_text(readme.replace(current(readme), table))
    else:
        print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
