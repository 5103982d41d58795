"""The ``cross-account`` command: assume the role, print or inject its credentials, or write a profile.

The parser is in :mod:`cross_account.cli.main`, each command in :mod:`cross_account.cli.commands`; this module
only hands names on.
Imports stay light: no aws_cdk ever, and boto3 only when STS must be called.
"""

from cross_account.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
