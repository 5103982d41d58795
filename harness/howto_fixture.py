"""Negative control: the original how-to's policies. They live in :mod:`harness.simulate.howto`.

This module keeps the import path the tests and the README use. The fixture moved into the
``harness.simulate`` package, beside the command line whose ``--howto`` reads it, so that it and
the package no longer import each other.
"""

from harness.simulate.howto import (
    ACCOUNT_A,
    ACCOUNT_B,
    HOWTO_ACCOUNT_A_JSON,
    HOWTO_EXTERNAL_ID,
    HOWTO_EXTRA_ACTIONS,
    HOWTO_PERMISSIONS_JSON,
    HOWTO_TRUST_JSON,
    ROLE_NAME,
    howto_account_a_policy,
    howto_model,
    howto_templates,
    howto_trust_policy,
)

__all__ = [
    "ACCOUNT_A",
    "ACCOUNT_B",
    "HOWTO_ACCOUNT_A_JSON",
    "HOWTO_EXTERNAL_ID",
    "HOWTO_EXTRA_ACTIONS",
    "HOWTO_PERMISSIONS_JSON",
    "HOWTO_TRUST_JSON",
    "ROLE_NAME",
    "howto_account_a_policy",
    "howto_model",
    "howto_templates",
    "howto_trust_policy",
]
