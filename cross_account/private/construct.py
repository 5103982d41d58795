"""How the constructs name themselves in errors, and set what ``aws-iam`` would check too eagerly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

from aws_cdk import aws_iam as iam
from constructs import IConstruct

from cross_account.declaration import SettingsError

Props = TypeVar("Props")


def construct_label(scope: IConstruct, construct_id: str, kind: str) -> str:
    """How errors name a construct: its path and class, as CDK's validation errors do."""
    parent = scope.node.path
    return f"{parent}/{construct_id} ({kind})" if parent else f"{construct_id} ({kind})"


def set_max_session_duration(role: iam.Role, seconds: float) -> None:
    """On the resource itself: iam.Role range-checks a ``Duration`` even when it is a token (the rules have
    checked a known value already)."""
    cfn_role = role.node.default_child
    assert isinstance(cfn_role, iam.CfnRole)
    cfn_role.max_session_duration = seconds


def props_of(
    kind: type[Props],
    construct: str,
    props: Props | None,
    options: dict[str, Any],
    *,
    required: dict[str, str],
    build: Callable[..., Props] | None = None,
) -> Props:
    """A construct's props: given whole, or as keyword arguments of the same names (unknown ones refused
    naming the known; ``required``: prop -> what to say when it is missing; ``build``: makes the props from
    the keywords, where defaults depend on another prop; default: the props class)."""
    if props is not None and options:
        raise SettingsError("props", sorted(options), f"give a {kind.__name__} or keyword arguments, not both")
    if props is not None:
        return props
    names = [f.name for f in fields(kind)]  # type: ignore[arg-type]
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise SettingsError(unknown[0], options[unknown[0]], f"is not a {construct} prop; known: {', '.join(names)}")
    for name, why in required.items():
        if name not in options:
            raise SettingsError(name, None, why)
    return (build or kind)(**options)
