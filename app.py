#!/usr/bin/env python3
"""The CDK app: read and validate the settings, then build both sides of the trust."""

import sys

from aws_cdk import App

from cross_account.rules import SettingsError
from cross_account.settings import Settings
from stacks import add_stacks

app = App()
try:
    add_stacks(app, Settings.from_context(app.node.get_all_context()))
except SettingsError as error:
    # Raised before app.synth(), so no template is written.
    sys.exit(f"cross-account app: {error}")
app.synth()
