#!/usr/bin/env python3
"""The CDK app: read and validate the settings, then build both sides of the trust."""

import sys
from pathlib import Path

from aws_cdk import App

from cross_account.declaration import SettingsError
from cross_account.settings import CONTEXT_FILES, Settings, check_numbers_reach_the_app
from stacks import add_stacks

app = App()
try:
    for name in CONTEXT_FILES:
        if Path(name).is_file():
            check_numbers_reach_the_app(Path(name).read_bytes(), source=name)
    add_stacks(app, Settings.from_context(app.node.get_all_context()))
except SettingsError as error:
    # Raised before app.synth(), so no template is written.
    sys.exit(f"cross-account app: {error}")
except RecursionError:
    sys.exit("cross-account app: the context (cdk.json, cdk.context.json or -c) is nested too deeply to read")
app.synth()
