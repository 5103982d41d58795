#!/usr/bin/env python3
"""The CDK app: read and validate the settings, then build both sides of the trust."""

import sys
from pathlib import Path

from aws_cdk import App

from cross_account.rules import SettingsError
from cross_account.settings import Settings, check_numbers_reach_the_app
from stacks import add_stacks

app = App()
try:
    if Path("cdk.json").is_file():
        check_numbers_reach_the_app(Path("cdk.json").read_text(encoding="utf-8"))
    add_stacks(app, Settings.from_context(app.node.get_all_context()))
except SettingsError as error:
    # Raised before app.synth(), so no template is written.
    sys.exit(f"cross-account app: {error}")
app.synth()
