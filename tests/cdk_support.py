"""Reading a construct tree's annotations in tests.

Not through ``aws_cdk.assertions.Annotations.find_*``: the entries they return need a jsii type
(``cloud_assembly_schema.MetadataEntry``) that a fresh install can lack, when the standalone
``aws-cdk.cloud-assembly-schema`` package's files land over aws-cdk-lib's submodule. The node
metadata that annotations are written to needs nothing of the kind.
"""

from __future__ import annotations

from typing import Literal

from constructs import IConstruct


def messages(scope: IConstruct, kind: Literal["error", "warning", "info"]) -> list[str]:
    """The annotations of ``kind`` on ``scope`` and everything under it, in tree order."""
    wanted = f"aws:cdk:{kind}"
    return [str(entry.data) for node in scope.node.find_all() for entry in node.node.metadata if entry.type == wanted]
