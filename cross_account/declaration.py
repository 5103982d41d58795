"""How a setting, a construct prop or a client option is declared with its rule, and how a broken rule is said.

:func:`setting` makes a dataclass field that carries its :class:`Rule`; :class:`SettingsError`
is the one line a user sees. The rules themselves are in :mod:`cross_account.rules`. No CDK import.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import MISSING, Field, dataclass, field
from typing import Any, Literal

Validator = Callable[..., Any]
"""``(key, value) -> validated value``; for a ``"tags"`` rule, also ``unresolved=``."""


class SettingsError(ValueError):
    """A setting, construct prop or client option broke a rule. The message names key, value and rule.

    ``where`` names the construct (its path and class) when a construct raised it, as CDK's
    own validation errors do.
    """

    def __init__(self, key: str, value: Any, rule: str, *, where: str | None = None) -> None:
        self.key, self.value, self.rule, self.where = key, value, rule, where
        prefix = f"{where}: invalid " if where else "invalid setting "
        # A key can come from the user (a tag, a tier, a typo): never let it break the one line.
        shown_key = key if key.isprintable() else json.dumps(key)
        super().__init__(f"{prefix}{shown_key}={_show(value)}: {rule}")

    def at(self, where: str) -> SettingsError:
        """The same error, raised by the construct at ``where``."""
        return SettingsError(self.key, self.value, self.rule, where=where)


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, default=str)
    except RecursionError:  # nested deeper than the encoder's stack: say what it is instead
        text = f"<a {type(value).__name__} nested too deep to show>"
    except ValueError:  # an int over Python's 4,300-digit limit for str(), anywhere in the value
        text = f"<a {type(value).__name__} holding a number too long to show>"
    return text if len(text) <= 120 else text[:117] + "..."


def check(key: str, value: Any, ok: bool, rule: str) -> None:
    """Raise :class:`SettingsError` unless ``ok``."""
    if not ok:
        raise SettingsError(key, value, rule)


def never(_value: Any) -> bool:
    """No value is a deploy-time token (outside CDK)."""
    return False


def parse_json_string(key: str, value: Any, kind: type) -> Any:
    """``-c key=value`` delivers lists and objects as JSON strings."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise SettingsError(key, value, f"must be a JSON {kind.__name__}: {exc.msg}") from None
        except (ValueError, RecursionError):
            # A number of thousands of digits, or nesting deeper than Python's stack.
            raise SettingsError(key, value, f"must be a JSON {kind.__name__} of reasonable size") from None
    return value


def sequence_of(
    key: str, values: Any, item: Validator, *, unresolved: Callable[[Any], bool] = never
) -> tuple[Any, ...]:
    """Validate a list; items that are deploy-time tokens pass as they are. Duplicates are refused."""
    check(key, values, not isinstance(values, str | bytes), "must be a list, not a single string")
    check(key, values, isinstance(values, Sequence), "must be a list")
    items = tuple(v if unresolved(v) else item(f"{key}[{i}]", v) for i, v in enumerate(values))
    seen: set[Any] = set()
    for i, v in enumerate(items):
        check(f"{key}[{i}]", v, v not in seen, "duplicates an earlier entry")
        seen.add(v)
    return items


def optional(validator: Validator) -> Validator:
    """None or "" is unset (the CDK drops JSON null from context before the app sees it)."""
    return lambda key, value: None if value is None or value == "" else validator(key, value)


@dataclass(frozen=True)
class Rule:
    """How one setting or construct prop is validated: ``validate`` checks the value, or each item of a list."""

    validate: Validator
    shape: Literal["one", "list", "tags"] = "one"
    #: The cdk.json key, where it differs from the field's name.
    setting: str | None = None
    #: A value only known at deploy time may stand for this one. Not for a value that decides what the
    #: template holds (a flag): the template would be the same whatever the token turns out to be.
    tokens: bool = True

    def apply(self, key: str, value: Any, *, unresolved: Callable[[Any], bool] = never, context: bool = False) -> Any:
        """The validated value. ``context``: it comes from cdk.json or ``-c`` (lists and objects as JSON text).

        A value only known at deploy time (``unresolved``: a CDK token) passes as it is, as in ``aws-iam``,
        unless the rule takes no tokens.
        """
        if unresolved(value):
            check(key, value, self.tokens, "must be known when the app is synthesized, not a deploy-time value")
            return value
        if self.shape == "list":
            if context:
                value = parse_json_string(key, value, list)
                check(key, value, isinstance(value, list), "must be a JSON list")
            return sequence_of(key, value, self.validate, unresolved=unresolved)
        if self.shape == "tags":
            # A mapping's validator checks each entry itself: a tag value may be a token.
            value = parse_json_string(key, value, dict) if context else value
            return self.validate(key, value, unresolved=unresolved)
        return self.validate(key, value)


def rule_of(f: Field[Any]) -> Rule:
    rule: Rule = f.metadata["rule"]
    return rule


def setting(
    validate: Validator,
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | Any = MISSING,
    shape: Literal["one", "list", "tags"] = "one",
    name: str | None = None,
    tokens: bool = True,
) -> Any:
    """A dataclass field with its rule; the one place a setting or prop is declared (`tokens`: whether a
    deploy-time value may stand for it)."""
    rule = Rule(validate, shape, name, tokens)
    return field(default=default, default_factory=default_factory, metadata={"rule": rule})
