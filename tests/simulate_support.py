"""Models of the synthesized app with one piece taken out of TargetStack, to prove a row depends on it.

A row that says "the guard denies this" is only evidence if it turns Allowed once the guard
statement is gone; these helpers build that model from the same templates, edited in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harness.simulate import IamModel, PolicyDocument, load_templates, stack_environments
from harness.synth import synth

Template = dict[str, Any]


def model_with(
    overrides: Mapping[str, Any],
    edit: Callable[[Template], None],
    *,
    stack: str = "TargetStack",
    external_policies: Mapping[str, PolicyDocument] | None = None,
) -> IamModel:
    """The model of ``synth(overrides)`` after ``edit`` changed a copy of ``stack``'s template."""
    app = synth(dict(overrides))
    templates = {name: app.template(name) for name in app.templates}
    edit(templates[stack])
    return load_templates(templates, stack_environments(app.outdir), external_policies=external_policies)


def _policy_documents(template: Template, kind: str) -> list[PolicyDocument]:
    resources = template["Resources"].values()
    if kind == "AWS::IAM::Policy":
        return [r["Properties"]["PolicyDocument"] for r in resources if r["Type"] == kind]
    return [r["Properties"]["AssumeRolePolicyDocument"] for r in resources if r["Type"] == kind]


def without_statement(*sids: str) -> Callable[[Template], None]:
    """An edit that removes the policy statements ``sids`` (of an ``AWS::IAM::Policy``, such as the guard)."""

    def edit(template: Template) -> None:
        for sid in sids:
            removed = 0
            for document in _policy_documents(template, "AWS::IAM::Policy"):
                kept = [s for s in document["Statement"] if s.get("Sid") != sid]
                removed += len(document["Statement"]) - len(kept)
                document["Statement"] = kept
            assert removed, f"no statement {sid} to remove"

    return edit


def edit_trust(change: Callable[[list[dict[str, Any]]], int]) -> Callable[[Template], None]:
    """An edit of the role's trust: ``change`` edits its statement list in place and says how many it changed."""

    def edit(template: Template) -> None:
        changed = sum(change(document["Statement"]) for document in _policy_documents(template, "AWS::IAM::Role"))
        assert changed, "the trust edit matched no statement"

    return edit


Statements = list[dict[str, Any]]


def alter_condition(key: str, value: str = "altered") -> Callable[[Statements], int]:
    """A trust change for :func:`edit_trust`: every condition on ``key`` asks for ``value`` instead."""

    def change(statements: Statements) -> int:
        blocks = [block for s in statements for block in s.get("Condition", {}).values() if key in block]
        for block in blocks:
            block[key] = value
        return len(blocks)

    return change


def drop_condition(key: str) -> Callable[[Statements], int]:
    """A trust change for :func:`edit_trust`: every condition on ``key`` is taken out."""

    def change(statements: Statements) -> int:
        dropped = 0
        for statement in statements:
            conditions = statement.get("Condition", {})
            for operator, block in list(conditions.items()):
                dropped += block.pop(key, None) is not None
                if not block:
                    del conditions[operator]
            if "Condition" in statement and not conditions:
                del statement["Condition"]
        return dropped

    return change
