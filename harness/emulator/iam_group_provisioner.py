"""An ``AWS::IAM::Group`` provisioner for MiniStack's CloudFormation (a gap in the emulator, not in our templates).

MiniStack 1.5.33 emulates the IAM group API (CreateGroup, AttachGroupPolicy, PutGroupPolicy, ...)
but its CloudFormation has no handler for ``AWS::IAM::Group``, so any template with a group fails
with "Unrecognized resource types". This module adds one, registered in MiniStack's
resource-handler table, and delegates every change to MiniStack's own IAM group functions so the
IAM API and the stack see the same records.

It runs *inside* the emulator's process (see ``launcher.py``) and the emulator's virtual
environment; it uses MiniStack internals, so the version is pinned in requirements-emulator.txt
and :func:`check_internals` (run by tests/test_emulator_canary.py) names whatever an upgrade moved.

Supported: create, in-place update (Path, ManagedPolicyArns, Policies), replacement on a GroupName
change (MiniStack's engine creates the new group and deletes the old one), delete. ``Ref`` is the
group name and ``Fn::GetAtt Arn`` the ARN, as on AWS. Like AWS, delete refuses a group that still
has members or policies attached from outside the template (IAM's DeleteConflict).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import version
from typing import Any, Final

RESOURCE_TYPE: Final = "AWS::IAM::Group"
#: The MiniStack release whose internals this module was written against.
PINNED_MINISTACK_VERSION: Final = "1.5.33"

# The internals used, by module: checked by check_internals() before anything relies on them.
_IAM_FUNCTIONS: Final = (
    "_create_group",
    "_delete_group",
    "_attach_group_policy",
    "_detach_group_policy",
    "_put_group_policy",
    "_delete_group_policy",
)
_IAM_STORES: Final = ("_groups", "_group_inline_policies")
_PROVISIONER_NAMES: Final = ("_RESOURCE_HANDLERS", "_REPLACING_PROPERTIES", "_physical_name")

# The AWS rules for group names and paths (ASCII, like the AWS API models).
_GROUP_NAME_RE: Final = re.compile(r"^[\w+=,.@-]{1,128}$", re.ASCII)
_PATH_RE: Final = re.compile(r"^(/|/[\x21-\x7E]+/)$", re.ASCII)
_ERROR_MESSAGE_RE: Final = re.compile(r"<Message>(.*?)</Message>", re.DOTALL)

Props = Mapping[str, Any]
IamResponse = tuple[int, Any, Any]


def _modules() -> tuple[Any, Any]:
    """MiniStack's IAM service and CloudFormation provisioner modules (imported late: emulator venv only)."""
    import ministack.services.cloudformation.provisioners as provisioners  # type: ignore[import-not-found]
    import ministack.services.iam as iam  # type: ignore[import-not-found]

    return iam, provisioners


def version_problems(what: str) -> list[str]:
    """A problem when the installed MiniStack is not the one `what` was written against."""
    installed = version("ministack")
    if installed == PINNED_MINISTACK_VERSION:
        return []
    return [
        f"ministack {installed} is installed but {what} was written against "
        f"{PINNED_MINISTACK_VERSION}: re-check the internals below, then update PINNED_MINISTACK_VERSION"
    ]


def check_internals() -> list[str]:
    """Name every internal this provisioner needs that the installed MiniStack lacks (empty: all present)."""
    problems = version_problems("the provisioner")
    try:
        iam, provisioners = _modules()
    except ImportError as error:
        return [*problems, f"cannot import MiniStack's IAM or CloudFormation provisioner module: {error}"]
    return [*problems, *_missing_names(iam, provisioners), *_handler_table_problems(provisioners)]


def _missing_names(iam: Any, provisioners: Any) -> list[str]:
    problems = [
        f"ministack.services.iam.{name} is gone (the provisioner calls it)"
        for name in _IAM_FUNCTIONS
        if not callable(getattr(iam, name, None))
    ]
    problems += [
        f"ministack.services.iam.{name} is gone (the provisioner reads it)"
        for name in _IAM_STORES
        if not hasattr(iam, name)
    ]
    problems += [
        f"ministack.services.cloudformation.provisioners.{name} is gone"
        for name in _PROVISIONER_NAMES
        if not hasattr(provisioners, name)
    ]
    return problems


def _handler_table_problems(provisioners: Any) -> list[str]:
    """Whether the handler table still has the shape we register into, and no group handler of its own."""
    handlers = getattr(provisioners, "_RESOURCE_HANDLERS", None)
    if handlers is None:
        return []  # already named by _missing_names
    if not isinstance(handlers, dict):
        return ["ministack.services.cloudformation.provisioners._RESOURCE_HANDLERS is no longer a dict"]
    problems: list[str] = []
    existing = handlers.get(RESOURCE_TYPE)
    if existing is not None and existing.get("create") is not _create:
        problems.append(
            f"MiniStack now ships its own {RESOURCE_TYPE} handler: drop this provisioner and its launcher hook"
        )
    sample = handlers.get("AWS::IAM::User", {})
    if not (callable(sample.get("create")) and sample.get("update_with_logical_id") is True):
        problems.append(
            "_RESOURCE_HANDLERS entries no longer look like {'create', 'update', 'update_with_logical_id', "
            "'delete'}: the handler contract changed"
        )
    return problems


def register() -> None:
    """Add the ``AWS::IAM::Group`` handler to MiniStack's CloudFormation. Fails loudly if internals moved."""
    problems = [p for p in check_internals() if "is installed but" not in p]
    if problems:
        raise RuntimeError("cannot register the AWS::IAM::Group provisioner: " + "; ".join(problems))
    _iam, provisioners = _modules()
    provisioners._RESOURCE_HANDLERS[RESOURCE_TYPE] = {
        "create": _create,
        "update": _update,
        "update_with_logical_id": True,
        "delete": _delete,
    }
    # GroupName is "Update requires: Replacement" on AWS; the engine then creates the new group
    # and deletes the old one, and change sets report the replacement.
    provisioners._REPLACING_PROPERTIES[RESOURCE_TYPE] = ("GroupName",)


# --- the handlers (MiniStack's contract: create(logical_id, props, stack_name) -> (physical_id, attrs)) ----


def _call(function_name: str, params: Mapping[str, str], action: str) -> None:
    """Call a MiniStack IAM API function; an error response becomes the CloudFormation failure reason."""
    iam, _provisioners = _modules()
    status, _headers, body = getattr(iam, function_name)(dict(params))
    if status >= 400:
        text = body.decode() if isinstance(body, bytes) else str(body)
        match = _ERROR_MESSAGE_RE.search(text)
        raise ValueError(f"{RESOURCE_TYPE} {action} failed: {match[1] if match else text}")


def _group_name(logical_id: str, props: Props, stack_name: str) -> str:
    _iam, provisioners = _modules()
    name = props.get("GroupName") or provisioners._physical_name(stack_name, logical_id, max_len=128)
    if not isinstance(name, str) or not _GROUP_NAME_RE.match(name):
        raise ValueError(f"{RESOURCE_TYPE}: GroupName {name!r} must be 1-128 letters, digits and +=,.@_-")
    return name


def _path(props: Props) -> str:
    path = props.get("Path") or "/"
    if not isinstance(path, str) or len(path) > 512 or not _PATH_RE.match(path):
        raise ValueError(f"{RESOURCE_TYPE}: Path {path!r} must be '/' or start and end with '/'")
    return path


def _managed(props: Props) -> set[str]:
    return set(props.get("ManagedPolicyArns") or [])


def _inline(props: Props) -> dict[str, str]:
    """Inline policies by name, documents as JSON strings (the form PutGroupPolicy stores)."""
    policies: Sequence[Mapping[str, Any]] = props.get("Policies") or []
    out: dict[str, str] = {}
    for policy in policies:
        document = policy.get("PolicyDocument", {})
        out[str(policy.get("PolicyName", ""))] = document if isinstance(document, str) else json.dumps(document)
    return out


def _reconcile(name: str, old: Props, new: Props, action: str) -> None:
    """Bring the group's template-owned managed and inline policies from `old` to `new`.

    Only what the template owns is touched: a policy attached from outside the stack stays, as on AWS.
    """
    old_managed, new_managed = _managed(old), _managed(new)
    for arn in sorted(old_managed - new_managed):
        _call("_detach_group_policy", {"GroupName": name, "PolicyArn": arn}, action)
    for arn in sorted(new_managed - old_managed):
        _call("_attach_group_policy", {"GroupName": name, "PolicyArn": arn}, action)
    old_inline, new_inline = _inline(old), _inline(new)
    for policy_name in sorted(old_inline.keys() - new_inline.keys()):
        _call("_delete_group_policy", {"GroupName": name, "PolicyName": policy_name}, action)
    for policy_name, document in sorted(new_inline.items()):
        if old_inline.get(policy_name) != document:
            _call(
                "_put_group_policy",
                {"GroupName": name, "PolicyName": policy_name, "PolicyDocument": document},
                action,
            )


def _attributes(name: str) -> dict[str, str]:
    iam, _provisioners = _modules()
    return {"Arn": iam._groups[name]["Arn"]}


def _create(logical_id: str, props: Props, stack_name: str) -> tuple[str, dict[str, str]]:
    name = _group_name(logical_id, props, stack_name)
    _call("_create_group", {"GroupName": name, "Path": _path(props)}, "create")
    try:
        _reconcile(name, {}, props, "create")
    except ValueError:
        # No half-made group: a failed create leaves nothing behind.
        _remove(name, props)
        raise
    return name, _attributes(name)


def _update(
    physical_id: str, old_props: Props, new_props: Props, stack_name: str, logical_id: str | None = None
) -> tuple[str, dict[str, str]]:
    iam, _provisioners = _modules()
    group = iam._groups.get(physical_id)
    if group is None:
        # Deleted behind the stack's back: re-create it (MiniStack's own AWS::IAM::User handler does the same).
        return _create(logical_id or physical_id, new_props, stack_name)
    path = _path(new_props)
    if path != group["Path"]:
        # UpdateGroup --new-path: the group keeps its ID, members and policies; only the ARN moves.
        group["Path"] = path
        group["Arn"] = group["Arn"].split(":group/", 1)[0] + f":group{path}{physical_id}"
    _reconcile(physical_id, old_props, new_props, "update")
    return physical_id, _attributes(physical_id)


def _remove(name: str, props: Props) -> None:
    """Take off the template's own policies, then delete the group; refuse like IAM when others remain."""
    iam, _provisioners = _modules()
    group = iam._groups.get(name)
    if group is None:
        return
    owned_managed, owned_inline = _managed(props), set(_inline(props))
    for arn in sorted(owned_managed & set(group.get("AttachedPolicies", []))):
        _call("_detach_group_policy", {"GroupName": name, "PolicyArn": arn}, "delete")
    for policy_name in sorted(owned_inline & set(iam._group_inline_policies.get(name) or {})):
        _call("_delete_group_policy", {"GroupName": name, "PolicyName": policy_name}, "delete")
    # IAM's DeleteConflict sentences: CloudFormation reports them as DELETE_FAILED.
    if group.get("Users"):
        raise ValueError("Cannot delete entity, must remove users from group first.")
    if group.get("AttachedPolicies"):
        raise ValueError("Cannot delete entity, must detach all policies first.")
    if iam._group_inline_policies.get(name):
        raise ValueError("Cannot delete entity, must delete policies first.")
    _call("_delete_group", {"GroupName": name}, "delete")


def _delete(physical_id: str, props: Props) -> None:
    _remove(physical_id, props)


def check_command(argv: Sequence[str], module: str, check: Callable[[], list[str]]) -> int:
    """``python -m MODULE --check``: print what moved; exit 1 if anything did (2 on a usage error)."""
    if list(argv) != ["--check"]:
        print(f"usage: python -m {module} --check", file=sys.stderr)
        return 2
    problems = check()
    for problem in problems:
        print(problem)
    return 1 if problems else 0


def main(argv: Sequence[str] = sys.argv[1:]) -> int:
    """``python -m harness.emulator.iam_group_provisioner --check``."""
    return check_command(argv, "harness.emulator.iam_group_provisioner", check_internals)


if __name__ == "__main__":
    sys.exit(main())
