"""Synthesize the app in-process for tests: the same code path as app.py, with chosen settings."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness.node import PROJECT_ROOT

CDK_JSON = PROJECT_ROOT / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    """The context in cdk.json: the defaults a plain `cdk synth` uses, plus CDK's feature flags."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return context


@dataclass(frozen=True)
class SynthesizedApp:
    """Templates by stack ID, and the assembly directory."""

    templates: Mapping[str, dict[str, Any]]
    outdir: Path

    def template(self, stack_id: str) -> dict[str, Any]:
        """A copy: synthesized apps are cached and shared between tests, which must not alter them."""
        return copy.deepcopy(self.templates[stack_id])


def synth(overrides: Mapping[str, Any] | None = None, *, nag: bool = False) -> SynthesizedApp:
    """Synthesize the app with cdk.json's context plus `overrides` (values as `-c` or cdk.json would give them).

    Apps are cached by settings and shared by every test of the session (set
    HARNESS_SYNTH_CACHE=0 to measure what that saves: bench/bench_synth.py). The
    built-in CloudFormation validator is off: it is most of a synth, and cfn-lint checks
    the templates in one test; `cdk synth` (test_app) runs it as users do. cdk-nag runs
    where a test asks.
    """
    key = json.dumps(overrides or {}, sort_keys=True)
    if os.environ.get("HARNESS_SYNTH_CACHE") == "0":
        return _synth(key, nag)
    return _synth_cached(key, nag)


def _synth(overrides_json: str, nag: bool) -> SynthesizedApp:
    import atexit
    import shutil
    import tempfile

    from aws_cdk import App

    from cross_account.settings import Settings
    from stacks import add_stacks

    context = {**cdk_json_context(), **json.loads(overrides_json)}
    outdir = Path(tempfile.mkdtemp(prefix="cdk-test-"))
    atexit.register(shutil.rmtree, outdir, ignore_errors=True)
    app = App(context=context, outdir=str(outdir), builtin_cloud_formation_validation=False)
    settings = Settings.from_context(app.node.get_all_context())
    add_stacks(app, settings, nag=nag)
    assembly = app.synth()
    templates = {stack.stack_name: stack.template for stack in assembly.stacks}
    return SynthesizedApp(templates=MappingProxyType(templates), outdir=outdir)


_synth_cached = cache(_synth)
