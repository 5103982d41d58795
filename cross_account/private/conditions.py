"""Condition blocks that more than one construct writes the same way."""

from __future__ import annotations

from typing import Any

from cross_account import tokens
from cross_account.caller import CallerRequirements


def mfa_conditions(caller: CallerRequirements) -> dict[str, dict[str, Any]]:
    """MFA in an Allow is ``Bool`` (never ``BoolIfExists``, which passes when the key is absent)."""
    if not caller.mfa:
        return {}
    conditions: dict[str, dict[str, Any]] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    if caller.mfa_max_age_seconds is not None:
        conditions["NumericLessThan"] = {"aws:MultiFactorAuthAge": tokens.as_string(caller.mfa_max_age_seconds)}
    return conditions
