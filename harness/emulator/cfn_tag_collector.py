"""A ``cloudformation`` tag collector for MiniStack, so ``aws:ResourceTag`` conditions see a stack's tags.

MiniStack 1.5.33 resolves ``aws:ResourceTag/<key>`` through ``ministack.services.tagging``'s
``_RESOURCE_TAG_COLLECTORS`` (ARN service -> a generator of ``(arn, [{"Key", "Value"}])``), and has
no entry for ``cloudformation``: a stack's tags are never seen, so a policy that allows stack writes
only on stacks carrying a tag (the role's deploy lane) denies every such write, even on a tagged
stack. AWS evaluates the stack's tags; this module registers the missing collector.

It yields each stack of the request's account and region twice: under the ARN MiniStack builds for
a request that names the stack (``arn:aws:cloudformation:<region>:<account>:stack/<name>/*``,
``core/iam_actions.py``), and under the stack ID (a request may name the stack by its ID).

Like ``iam_group_provisioner``, it runs inside the emulator's process (``launcher.py``) and uses
MiniStack internals: :func:`check_internals` (tests/test_emulator_canary.py) names what moved.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any, Final

from harness.emulator.iam_group_provisioner import check_command, version_problems

ARN_SERVICE: Final = "cloudformation"
Tags = list[dict[str, str]]


def _modules() -> tuple[Any, Any, Any]:
    """MiniStack's tagging module, CloudFormation state module and request context (emulator venv only)."""
    import ministack.core.responses as responses  # type: ignore[import-not-found]
    import ministack.services.cloudformation as cloudformation  # type: ignore[import-not-found]
    import ministack.services.tagging as tagging  # type: ignore[import-not-found]

    return tagging, cloudformation, responses


def collect() -> Iterator[tuple[str, Tags]]:
    """Every stack of the current account and region, with its tags, under both ARNs a request may name."""
    _tagging, cloudformation, responses = _modules()
    account, region = responses.get_account_id(), responses.get_region()
    for name, stack in list(cloudformation._stacks.items()):
        tags: Tags = [{"Key": t["Key"], "Value": t["Value"]} for t in stack.get("Tags") or []]
        yield f"arn:aws:cloudformation:{region}:{account}:stack/{name}/*", tags
        if stack.get("StackId"):
            yield str(stack["StackId"]), tags


def check_internals() -> list[str]:
    """Name every internal the collector needs that the installed MiniStack lacks (empty: all present)."""
    problems = version_problems("the cloudformation tag collector")
    try:
        tagging, cloudformation, responses = _modules()
    except ImportError as error:
        return [*problems, f"cannot import MiniStack's tagging or CloudFormation module: {error}"]
    collectors = getattr(tagging, "_RESOURCE_TAG_COLLECTORS", None)
    if not isinstance(collectors, dict):
        problems.append("ministack.services.tagging._RESOURCE_TAG_COLLECTORS is gone or no longer a dict")
    elif collectors.get(ARN_SERVICE) not in (None, collect):
        problems.append("MiniStack now ships its own cloudformation tag collector: drop this one")
    if not callable(getattr(tagging, "resource_tags", None)):
        problems.append("ministack.services.tagging.resource_tags is gone (IAM no longer resolves tags through it)")
    if not callable(getattr(getattr(cloudformation, "_stacks", None), "items", None)):
        problems.append("ministack.services.cloudformation._stacks is gone or has no items()")
    problems += [
        f"ministack.core.responses.{name} is gone"
        for name in ("get_account_id", "get_region")
        if not callable(getattr(responses, name, None))
    ]
    return problems


def register() -> None:
    """Add the collector to MiniStack's table. Fails loudly if internals moved."""
    problems = [p for p in check_internals() if "is installed but" not in p]
    if problems:
        raise RuntimeError("cannot register the cloudformation tag collector: " + "; ".join(problems))
    tagging, _cloudformation, _responses = _modules()
    tagging._RESOURCE_TAG_COLLECTORS[ARN_SERVICE] = collect


def main(argv: Sequence[str] = sys.argv[1:]) -> int:
    """``python -m harness.emulator.cfn_tag_collector --check``: print what moved; exit 1 if anything did."""
    return check_command(argv, "harness.emulator.cfn_tag_collector", check_internals)


if __name__ == "__main__":
    sys.exit(main())
