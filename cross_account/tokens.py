"""Values only known at deploy time (CDK tokens), recognized without a jsii call where possible."""

from __future__ import annotations

from typing import Any

from aws_cdk import Token


def unresolved(value: Any) -> bool:
    """True for a CDK token: a parameter's value, another construct's attribute, ``Aws.ACCOUNT_ID``.

    ``Token.is_unresolved`` costs a jsii call (about 0.1 ms), and a construct checks dozens of values:
    strings without CDK's token marker, and ints, are never tokens (number tokens are floats).
    """
    if isinstance(value, str):
        return "Token[" in value and Token.is_unresolved(value)
    if isinstance(value, float):
        return Token.is_unresolved(value)
    if isinstance(value, list | tuple) and len(value) == 1 and isinstance(value[0], str):
        return "#{Token[" in value[0] and Token.is_unresolved(list(value))
    return False


def as_string(value: Any) -> str:
    """A number or string for a policy condition; a number token stays a token."""
    return Token.as_string(value) if unresolved(value) else str(value)
