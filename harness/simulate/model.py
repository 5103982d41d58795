"""Templates -> IAM model: the roles, groups, users and managed policies of CloudFormation templates.

Resolves the few intrinsics CDK writes into policies and gives every principal the policies IAM
would apply to it. Read a ``cdk.out`` directory with :func:`load_assembly`, an in-memory synthesis
with :func:`load_synthesized`, any templates with :func:`load_templates`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

if TYPE_CHECKING:
    from harness.synth import SynthesizedApp

PolicyDocument = dict[str, Any]

URL_SUFFIXES: Final = {"aws-cn": "amazonaws.com.cn"}


class SimulationError(RuntimeError):
    """The simulation could not be run as asked; the message says which request or input."""


class UnresolvedIntrinsicError(SimulationError):
    """A template value uses an intrinsic the bridge cannot turn into plain JSON offline."""

    def __init__(self, intrinsic: str, where: str, why: str) -> None:
        self.intrinsic, self.where = intrinsic, where
        super().__init__(f"cannot resolve {intrinsic} at {where}: {why}")


@dataclass(frozen=True)
class StackEnv:
    """Where a stack deploys. ``account``/``region`` are None for environment-agnostic stacks.

    ``stack_name`` is what ``Ref AWS::StackName`` gives; :func:`load_templates` fills it in from
    the template's key when it is None.
    """

    account: str | None
    region: str | None
    partition: str = "aws"
    stack_name: str | None = None


#: IAM principals a template can define: the property that names one, and its ARN's resource type.
PRINCIPAL_TYPES: Final = {
    "AWS::IAM::Role": ("RoleName", "role"),
    "AWS::IAM::User": ("UserName", "user"),
    "AWS::IAM::Group": ("GroupName", "group"),
}
#: IAM resource types that change a principal's permissions in ways the bridge does not model:
#: a template holding one fails loudly rather than being simulated with fewer policies than AWS applies.
UNMODELLED_TYPES: Final = frozenset(
    {"AWS::IAM::RolePolicy", "AWS::IAM::UserPolicy", "AWS::IAM::GroupPolicy", "AWS::IAM::UserToGroupAddition"}
)
#: Without a name property, CloudFormation names a principal ``<stack>-<logical ID>-<random suffix>``.
#: The bridge makes up this fixed suffix instead, so the name is stable from run to run (and obviously made up).
GENERATED_NAME_SUFFIX: Final = "SIMULATED"
_Resources = Mapping[str, Any]


def resolve_intrinsics(value: Any, *, env: StackEnv, where: str, resources: _Resources | None = None) -> Any:
    """Return ``value`` with the intrinsics CDK writes into IAM policies resolved.

    Resolved: ``Ref`` (pseudo parameters, ``AWS::StackName``, named managed policies, OIDC providers), ``Fn::Join``,
    and ``Fn::GetAtt [<role, user or group>, Arn]`` (from its name and path, see :func:`principal_arn`).
    Anything else that looks like an intrinsic raises :class:`UnresolvedIntrinsicError`
    naming it and ``where`` it is, rather than reaching the simulator as a nonsense string.
    """
    if isinstance(value, list):
        return [resolve_intrinsics(v, env=env, where=f"{where}[{i}]", resources=resources) for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        resolver = _RESOLVERS.get(key)
        if resolver is not None:
            return resolver(arg, env=env, where=where, resources=resources or {})
        if key.startswith("Fn::"):
            raise UnresolvedIntrinsicError(key, where, "only Ref, Fn::Join and Fn::GetAtt ... Arn are resolved offline")
    return {k: resolve_intrinsics(v, env=env, where=f"{where}.{k}", resources=resources) for k, v in value.items()}


def _pseudo_parameter(name: str, env: StackEnv, where: str) -> str:
    values: dict[str, tuple[str | None, str]] = {
        "AWS::Partition": (env.partition, ""),
        "AWS::AccountId": (env.account, "the stack is environment-agnostic"),
        "AWS::Region": (env.region, "the stack is environment-agnostic"),
        "AWS::URLSuffix": (URL_SUFFIXES.get(env.partition, "amazonaws.com"), ""),
        "AWS::StackName": (env.stack_name, "the stack's name is not known here"),
    }
    resolved, why = values[name]
    if resolved is None:
        raise UnresolvedIntrinsicError(f"Ref {name}", where, why)
    return resolved


_PSEUDO_PARAMETERS: Final = frozenset(
    {"AWS::Partition", "AWS::AccountId", "AWS::Region", "AWS::URLSuffix", "AWS::StackName"}
)


def _resolve_ref(name: Any, *, env: StackEnv, where: str, resources: _Resources) -> str:
    """``Ref`` of a pseudo parameter, a named managed policy (its ARN) or an OIDC provider (its ARN)."""
    intrinsic = f"Ref {name}"
    if isinstance(name, str) and name in _PSEUDO_PARAMETERS:
        return _pseudo_parameter(name, env, where)
    resource = resources.get(name) if isinstance(name, str) else None
    if resource is None:
        raise UnresolvedIntrinsicError(intrinsic, where, "not a pseudo parameter nor a resource of this template")
    if resource.get("Type") == "AWS::IAM::OIDCProvider":
        return _oidc_provider_arn(str(name), resource, env=env, where=where, resources=resources)
    if resource.get("Type") != "AWS::IAM::ManagedPolicy":
        raise UnresolvedIntrinsicError(intrinsic, where, f"a Ref to a {resource.get('Type')} is not resolvable offline")
    props = resource.get("Properties", {})
    policy_name = resolve_intrinsics(
        props.get("ManagedPolicyName"), env=env, where=f"{name}.ManagedPolicyName", resources=resources
    )
    if not isinstance(policy_name, str):
        raise UnresolvedIntrinsicError(intrinsic, where, "the managed policy has no ManagedPolicyName to build its ARN")
    path = props.get("Path", "/")
    account = _pseudo_parameter("AWS::AccountId", env, where)
    return f"arn:{env.partition}:iam::{account}:policy{path}{policy_name}"


def _oidc_provider_arn(
    logical_id: str, resource: Mapping[str, Any], *, env: StackEnv, where: str, resources: _Resources
) -> str:
    """``arn:<partition>:iam::<account>:oidc-provider/<host and path>``: IAM names a provider by its URL."""
    url = resolve_intrinsics(
        resource.get("Properties", {}).get("Url"), env=env, where=f"{logical_id}.Url", resources=resources
    )
    if not isinstance(url, str) or not url.startswith("https://"):
        raise UnresolvedIntrinsicError(f"Ref {logical_id}", where, "the OIDC provider has no https:// Url")
    account = _pseudo_parameter("AWS::AccountId", env, where)
    return f"arn:{env.partition}:iam::{account}:oidc-provider/{url.removeprefix('https://').rstrip('/')}"


def _resolve_join(arg: Any, *, env: StackEnv, where: str, resources: _Resources) -> str:
    if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], list)):
        raise UnresolvedIntrinsicError("Fn::Join", where, "expected [separator, [values...]]")
    parts = resolve_intrinsics(arg[1], env=env, where=f"{where}.Fn::Join", resources=resources)
    if not all(isinstance(p, str) for p in parts):
        raise UnresolvedIntrinsicError("Fn::Join", where, "a joined value did not resolve to a string")
    return str(arg[0]).join(parts)


def _resolve_get_att(arg: Any, *, env: StackEnv, where: str, resources: _Resources) -> str:
    """``Fn::GetAtt [<logical ID>, Arn]`` of a role, user or group of the same template."""
    if isinstance(arg, str):
        arg = arg.split(".", 1)
    if not (isinstance(arg, list) and len(arg) == 2 and all(isinstance(a, str) for a in arg)):
        raise UnresolvedIntrinsicError("Fn::GetAtt", where, "expected [logical ID, attribute]")
    logical_id, attribute = arg
    resource = resources.get(logical_id)
    if resource is None:
        raise UnresolvedIntrinsicError("Fn::GetAtt", where, f"{logical_id} is not a resource of this template")
    kind = resource.get("Type")
    if kind not in PRINCIPAL_TYPES or attribute != "Arn":
        raise UnresolvedIntrinsicError(
            "Fn::GetAtt", where, f"only the Arn of a role, user or group is resolvable offline, not {kind}.{attribute}"
        )
    return principal_arn(logical_id, resource, env=env, resources=resources)


_Resolver = Callable[..., str]
_RESOLVERS: Final[dict[str, _Resolver]] = {
    "Ref": _resolve_ref,
    "Fn::Join": _resolve_join,
    "Fn::GetAtt": _resolve_get_att,
}


def principal_name(logical_id: str, resource: Mapping[str, Any], *, env: StackEnv, resources: _Resources) -> str:
    """The name of a role, user or group: its name property, or (none set) a stable made-up one.

    CloudFormation would generate ``<stack>-<logical ID>-<random suffix>`` (at most 64 characters);
    the bridge uses :data:`GENERATED_NAME_SUFFIX` as the suffix, so such an ARN is only a stand-in.
    """
    where = f"{env.stack_name}/{logical_id}"
    name_key, _ = PRINCIPAL_TYPES[resource["Type"]]
    props = resource.get("Properties", {})
    if name_key not in props:
        stack = _pseudo_parameter("AWS::StackName", env, where)
        return f"{stack}-{logical_id}"[: 63 - len(GENERATED_NAME_SUFFIX)] + f"-{GENERATED_NAME_SUFFIX}"
    name = resolve_intrinsics(props[name_key], env=env, where=f"{where}.{name_key}", resources=resources)
    if not isinstance(name, str):
        raise UnresolvedIntrinsicError(name_key, where, f"{name_key} did not resolve to a string")
    return name


def principal_arn(logical_id: str, resource: Mapping[str, Any], *, env: StackEnv, resources: _Resources) -> str:
    """``arn:<partition>:iam::<account>:<role|user|group><path><name>`` of a principal of the template."""
    where = f"{env.stack_name}/{logical_id}"
    _, arn_type = PRINCIPAL_TYPES[resource["Type"]]
    path = resolve_intrinsics(
        resource.get("Properties", {}).get("Path", "/"), env=env, where=f"{where}.Path", resources=resources
    )
    name = principal_name(logical_id, resource, env=env, resources=resources)
    account = _pseudo_parameter("AWS::AccountId", env, where)
    return f"arn:{env.partition}:iam::{account}:{arn_type}{path}{name}"


#: The region of a stack ARN built for an environment-agnostic role, and the made-up ID every such ARN ends with.
DEFAULT_REGION: Final = "us-east-1"
STACK_ID: Final = "11111111-2222-3333-4444-555555555555"


@dataclass(frozen=True)
class _Principal:
    """What every IAM principal of a template has: its ARN and name, and its identity policies by name."""

    arn: str
    name: str
    account: str
    partition: str
    policies: Mapping[str, PolicyDocument]


@dataclass(frozen=True)
class Role(_Principal):
    """An IAM role as IAM sees it: ARN, trust policy, and every permission policy by name.

    ``stack_name`` and ``region`` say where the template that defines it deploys.
    """

    trust_policy: PolicyDocument
    permissions_boundary: PolicyDocument | None = None
    stack_name: str = ""
    region: str | None = None

    def session_arn(self, session_name: str) -> str:
        """The principal ARN of a session of this role."""
        return f"arn:{self.partition}:sts::{self.account}:assumed-role/{self.name}/{session_name}"

    def stack_arn(self, stack_name: str | None = None) -> str:
        """The ARN of a stack in the role's account and region: by default, the stack that defines the role."""
        name = stack_name or self.stack_name
        region = self.region or DEFAULT_REGION
        return f"arn:{self.partition}:cloudformation:{region}:{self.account}:stack/{name}/{STACK_ID}"


@dataclass(frozen=True)
class Group(_Principal):
    """An IAM group: its members' identity policies, by name."""

    def user_arn(self, user_name: str) -> str:
        """The ARN of a user (path /) in the group's account."""
        return f"arn:{self.partition}:iam::{self.account}:user/{user_name}"


@dataclass(frozen=True)
class User(_Principal):
    """An IAM user defined in a template: its own identity policies, by name (group membership is not modelled)."""

    permissions_boundary: PolicyDocument | None = None


@dataclass(frozen=True)
class IamModel:
    """The IAM resources of one or more templates, with intrinsics resolved."""

    roles: Mapping[str, Role]
    groups: Mapping[str, Group]
    managed_policies: Mapping[str, PolicyDocument]
    users: Mapping[str, User] = field(default_factory=dict)

    def role(self, name: str | None = None) -> Role:
        """The role with this name or ARN, or the only role."""
        return _pick("role", self.roles.values(), name)

    def group(self, name: str | None = None) -> Group:
        """The group with this name or ARN, or the only group."""
        return _pick("group", self.groups.values(), name)

    def user(self, name: str | None = None) -> User:
        """The user with this name or ARN, or the only user."""
        return _pick("user", self.users.values(), name)


_Named = TypeVar("_Named", Role, Group, User)


def _pick(kind: str, items: Iterable[_Named], name: str | None) -> _Named:
    items = list(items)
    found = [i for i in items if name is None or name in (i.name, i.arn)]
    if len(found) != 1:
        names = sorted(i.name for i in items)
        wanted = f" called {name}" if name else ""
        raise SimulationError(f"expected exactly one {kind}{wanted}, found {len(found)} among {names}")
    return found[0]


def load_templates(
    templates: Mapping[str, Mapping[str, Any]],
    environments: Mapping[str, StackEnv],
    *,
    external_policies: Mapping[str, PolicyDocument] | None = None,
) -> IamModel:
    """Build an :class:`IamModel` from CloudFormation templates keyed by stack name.

    ``external_policies`` gives the documents of managed policies the templates only
    name by ARN (AWS managed policies, boundaries); an unknown one raises. A principal gets
    every policy IAM would apply to it: inline, managed by ARN, and attached from the policy's
    side (``AWS::IAM::Policy``, and an ``AWS::IAM::ManagedPolicy``'s Roles/Users/Groups).
    """
    known: dict[str, PolicyDocument] = dict(external_policies or {})
    resolved: dict[str, tuple[StackEnv, dict[str, Any]]] = {}
    for stack, template in templates.items():
        env = environments.get(stack)
        if env is None:
            raise SimulationError(f"no environment for stack {stack}")
        env = replace(env, stack_name=env.stack_name or stack)
        resources: dict[str, Any] = template.get("Resources", {})
        _refuse_unmodelled(stack, resources)
        resolved[stack] = (env, resources)
        known.update(_managed_policies(stack, env, resources))

    # Only now: a role may name a managed policy of another stack.
    principals: list[Role | Group | User] = []
    for stack, (env, resources) in resolved.items():
        attached = _attached_policies(stack, env, resources, known)
        for logical_id, resource in resources.items():
            if resource.get("Type") in PRINCIPAL_TYPES:
                policies = attached.get(logical_id, {})
                principals.append(_principal(logical_id, resource, env, resources, known, policies))
    return IamModel(
        roles={p.arn: p for p in principals if isinstance(p, Role)},
        groups={p.arn: p for p in principals if isinstance(p, Group)},
        managed_policies=known,
        users={p.arn: p for p in principals if isinstance(p, User)},
    )


def _refuse_unmodelled(stack: str, resources: Mapping[str, Any]) -> None:
    for logical_id, resource in resources.items():
        if resource.get("Type") in UNMODELLED_TYPES:
            raise SimulationError(
                f"{stack}/{logical_id}: {resource['Type']} is not modelled; a simulation without it "
                "would not apply the permissions it changes"
            )


def _managed_policies(stack: str, env: StackEnv, resources: Mapping[str, Any]) -> dict[str, PolicyDocument]:
    """The stack's ``AWS::IAM::ManagedPolicy`` documents, by ARN."""
    found: dict[str, PolicyDocument] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") == "AWS::IAM::ManagedPolicy":
            arn = _resolve_ref(logical_id, env=env, where=f"{stack}/{logical_id}", resources=resources)
            found[arn] = resolve_intrinsics(
                resource["Properties"]["PolicyDocument"],
                env=env,
                where=f"{stack}/{logical_id}.PolicyDocument",
                resources=resources,
            )
    return found


def _principal(
    logical_id: str,
    resource: Mapping[str, Any],
    env: StackEnv,
    resources: Mapping[str, Any],
    known: Mapping[str, PolicyDocument],
    attached: Mapping[str, PolicyDocument],
) -> Role | Group | User:
    """One role, group or user with every policy it gets: inline, attached, managed."""
    kind = resource["Type"]
    where = f"{env.stack_name}/{logical_id}"
    props = resolve_intrinsics(resource.get("Properties", {}), env=env, where=where, resources=resources)
    policies = {p["PolicyName"]: p["PolicyDocument"] for p in props.get("Policies", [])}
    policies.update(attached)
    for arn in props.get("ManagedPolicyArns", []):
        policies[arn.rsplit("/", 1)[-1]] = _known_policy(known, arn, f"{where}.ManagedPolicyArns")
    boundary_arn = props.get("PermissionsBoundary")
    boundary = _known_policy(known, boundary_arn, f"{where}.PermissionsBoundary") if boundary_arn else None
    arn = principal_arn(logical_id, resource, env=env, resources=resources)
    common: dict[str, Any] = {
        "arn": arn,
        "name": arn.rsplit("/", 1)[-1],
        "account": _pseudo_parameter("AWS::AccountId", env, where),
        "partition": env.partition,
        "policies": policies,
    }
    if kind == "AWS::IAM::Group":
        return Group(**common)
    if kind == "AWS::IAM::User":
        if props.get("Groups"):
            raise SimulationError(f"{where}: the group membership of an IAM user (Groups) is not modelled")
        return User(**common, permissions_boundary=boundary)
    return Role(
        **common,
        trust_policy=props["AssumeRolePolicyDocument"],
        permissions_boundary=boundary,
        stack_name=env.stack_name or "",
        region=env.region,
    )


def _known_policy(known: Mapping[str, PolicyDocument], arn: str, where: str) -> PolicyDocument:
    if arn not in known:
        raise SimulationError(
            f"{where}: managed policy {arn} is not in the templates; pass its document in external_policies"
        )
    return known[arn]


#: Where a policy resource names the principals it is attached to, and the type each must be.
_ATTACHMENT_KEYS: Final = {"Roles": "AWS::IAM::Role", "Users": "AWS::IAM::User", "Groups": "AWS::IAM::Group"}


def _attached_policies(
    stack: str, env: StackEnv, resources: Mapping[str, Any], known: Mapping[str, PolicyDocument]
) -> dict[str, dict[str, PolicyDocument]]:
    """Policies attached from the policy's side, by the logical ID of the principal they attach to.

    ``AWS::IAM::Policy`` (what CDK's ``iam.Policy``, ``add_to_policy`` and ``grant_*`` write, and the
    tamper guard) and an ``AWS::IAM::ManagedPolicy`` with Roles, Users or Groups.
    """
    attached: dict[str, dict[str, PolicyDocument]] = {}
    for logical_id, resource in resources.items():
        named = _named_document(stack, logical_id, resource, env, resources, known)
        if named is None:
            continue
        props = resource["Properties"]
        for key, kind in _ATTACHMENT_KEYS.items():
            for i, target in enumerate(props.get(key, [])):
                target_id = _principal_ref(target, kind, resources, where=f"{stack}/{logical_id}.{key}[{i}]")
                attached.setdefault(target_id, {})[named[0]] = named[1]
    return attached


def _named_document(
    stack: str,
    logical_id: str,
    resource: Mapping[str, Any],
    env: StackEnv,
    resources: Mapping[str, Any],
    known: Mapping[str, PolicyDocument],
) -> tuple[str, PolicyDocument] | None:
    """(name, document) of a policy resource that attaches itself to principals, else None."""
    where = f"{stack}/{logical_id}"
    kind = resource.get("Type")
    props = resource.get("Properties", {})
    if kind == "AWS::IAM::ManagedPolicy" and any(key in props for key in _ATTACHMENT_KEYS):
        arn = _resolve_ref(logical_id, env=env, where=where, resources=resources)
        return arn.rsplit("/", 1)[-1], known[arn]
    if kind != "AWS::IAM::Policy":
        return None
    name = resolve_intrinsics(props["PolicyName"], env=env, where=f"{where}.PolicyName", resources=resources)
    if not isinstance(name, str):
        raise UnresolvedIntrinsicError("PolicyName", where, "the policy name did not resolve to a string")
    document = resolve_intrinsics(
        props["PolicyDocument"], env=env, where=f"{where}.PolicyDocument", resources=resources
    )
    return name, document


def _principal_ref(target: Any, kind: str, resources: Mapping[str, Any], *, where: str) -> str:
    """The logical ID in ``{"Ref": <logical ID>}``, which must be a ``kind`` of the same template."""
    target_id = target.get("Ref") if isinstance(target, dict) and len(target) == 1 else None
    if not isinstance(target_id, str) or resources.get(target_id, {}).get("Type") != kind:
        raise UnresolvedIntrinsicError("Ref", where, f"expected a Ref to a {kind} of this template, got {target}")
    return target_id


def stack_environments(cdk_out: Path, *, partition: str = "aws") -> dict[str, StackEnv]:
    """Stack name -> environment, from the assembly's manifest.json."""
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    envs: dict[str, StackEnv] = {}
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        account, region = artifact["environment"].removeprefix("aws://").split("/", 1)
        env = StackEnv(
            account=None if account.startswith("unknown-") else account,
            region=None if region.startswith("unknown-") else region,
            partition=partition,
            stack_name=artifact.get("properties", {}).get("stackName", artifact_id),
        )
        envs[env.stack_name or artifact_id] = env
        envs[artifact_id] = env
    return envs


def load_assembly(
    cdk_out: Path | str, *, partition: str = "aws", external_policies: Mapping[str, PolicyDocument] | None = None
) -> IamModel:
    """Read every stack template of a ``cdk.out`` directory."""
    root = Path(cdk_out)
    if not (root / "manifest.json").is_file():
        raise SimulationError(f"{root} is not a cloud assembly (no manifest.json): run `cdk synth` first")
    manifest = json.loads((root / "manifest.json").read_text())
    templates = {
        artifact_id: json.loads((root / artifact["properties"]["templateFile"]).read_text())
        for artifact_id, artifact in manifest.get("artifacts", {}).items()
        if artifact.get("type") == "aws:cloudformation:stack"
    }
    return load_templates(templates, stack_environments(root, partition=partition), external_policies=external_policies)


def load_synthesized(
    app: SynthesizedApp, *, partition: str = "aws", external_policies: Mapping[str, PolicyDocument] | None = None
) -> IamModel:
    """The model of an in-memory synthesis (templates from memory, environments from its manifest)."""
    return load_templates(
        app.templates, stack_environments(app.outdir, partition=partition), external_policies=external_policies
    )
