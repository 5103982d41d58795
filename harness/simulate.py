"""What would IAM decide? A bridge from synthesized templates to an IAM policy simulator.

Reads the IAM roles, groups and managed policies of a cloud assembly (a ``cdk.out``
directory, or what :func:`harness.synth.synth` returns), resolves the few intrinsics
CDK writes into policies, and evaluates batches of requests with
``@cloud-copilot/iam-simulate`` in one Node process per batch.

The simulator is AGPL-3.0: it is a test tool, run as a separate process, and the
``cross_account`` package never imports it or this module.

Command line: ``python -m harness.simulate cdk.out`` prints a table of standard
requests and their decisions (see :func:`main`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

from harness.node import NODE, PROJECT_ROOT

if TYPE_CHECKING:
    from harness.synth import SynthesizedApp

PolicyDocument = dict[str, Any]
ContextValue = str | Sequence[str]
Verdict = Literal["Allowed", "Denied"]

SIMULATE_MJS: Final = Path(__file__).with_name("simulate.mjs")
NODE_TIMEOUT_SECONDS: Final = 120
TRUST_POLICY: Final = "trust policy"
URL_SUFFIXES: Final = {"aws-cn": "amazonaws.com.cn"}
#: The call a CI job makes with its OIDC token.
WEB_IDENTITY_ACTION: Final = "sts:AssumeRoleWithWebIdentity"
#: The claims IAM checks as ``<issuer>:<claim>`` condition keys for any OIDC provider.
OIDC_CLAIMS: Final = ("aud", "sub", "amr")


class SimulationError(RuntimeError):
    """The simulation could not be run as asked; the message says which request or input."""


class UnresolvedIntrinsicError(SimulationError):
    """A template value uses an intrinsic the bridge cannot turn into plain JSON offline."""

    def __init__(self, intrinsic: str, where: str, why: str) -> None:
        self.intrinsic, self.where = intrinsic, where
        super().__init__(f"cannot resolve {intrinsic} at {where}: {why}")


# --- templates -> plain policies --------------------------------------------------------


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


# --- requests -> decisions ------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One API request: who asks, for what, and every policy that takes part.

    Principal-derived keys (``aws:PrincipalArn``, ``aws:PrincipalAccount``,
    ``aws:username``) are added from ``principal`` unless ``context`` sets them.
    """

    principal: str
    action: str
    resource: str
    identity_policies: Mapping[str, PolicyDocument] = field(default_factory=dict)
    resource_policy: PolicyDocument | None = None
    resource_policy_name: str = "resource policy"
    permissions_boundary: PolicyDocument | None = None
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    resource_account: str | None = None
    label: str = ""
    #: The context holds an OIDC token's claims as ``<issuer>:aud``/``:sub``/``:amr`` keys (see
    #: :func:`web_identity_request`). The service reference does not list them, so the simulator's
    #: checked mode drops them: such a request is validated in checked mode (which must drop those
    #: keys and nothing else) and decided in its unsafe mode, which keeps them but reports no reasons.
    oidc_claims: bool = False

    def __post_init__(self) -> None:
        if self.oidc_claims and self.action != WEB_IDENTITY_ACTION:
            raise SimulationError(f"OIDC claim keys are for {WEB_IDENTITY_ACTION} only, not {self.action}")

    def is_claim_key(self, key: str) -> bool:
        """An OIDC claim key of this request's context, which the simulator's checked mode may drop."""
        return self.oidc_claims and key in self.context and key.rsplit(":", 1)[-1] in OIDC_CLAIMS

    def full_context(self) -> dict[str, ContextValue]:
        """The request context as sent to the simulator."""
        return {**principal_context(self.principal), **self.context}

    def to_simulation(self) -> dict[str, Any]:
        """The request in the simulator's input shape."""
        account = self.resource_account or _arn_account(self.resource) or _arn_account(self.principal)
        simulation: dict[str, Any] = {
            "request": {
                "principal": self.principal,
                "action": self.action,
                "resource": {"resource": self.resource, "accountId": account},
                "contextVariables": {k: v if isinstance(v, str) else list(v) for k, v in self.full_context().items()},
            },
            "identityPolicies": [{"name": n, "policy": p} for n, p in self.identity_policies.items()],
            "serviceControlPolicies": [],
            "resourceControlPolicies": [],
        }
        if self.resource_policy is not None:
            simulation["resourcePolicy"] = self.resource_policy
        if self.permissions_boundary is not None:
            simulation["permissionBoundaryPolicies"] = [{"name": "boundary", "policy": self.permissions_boundary}]
        if self.oidc_claims:
            simulation["unsafeOidcClaims"] = True  # read and removed by simulate.mjs
        return simulation


def _arn_account(arn: str) -> str:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 else ""


def principal_context(principal: str) -> dict[str, str]:
    """The global keys AWS derives from the caller (the simulator does not fill them in)."""
    parts = principal.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or _is_identity_provider(parts):
        return {}
    partition, service, account, resource = parts[1], parts[2], parts[4], parts[5]
    context = {"aws:PrincipalAccount": account, "aws:PrincipalArn": principal}
    if service == "iam" and resource.startswith("user/"):
        context["aws:username"] = resource.rsplit("/", 1)[-1]
        context["aws:PrincipalType"] = "User"
    elif service == "sts" and resource.startswith("assumed-role/"):
        # A session's aws:PrincipalArn is its role's ARN (path "/" assumed; pass it if the role has one).
        role_name = resource.split("/")[1]
        context["aws:PrincipalArn"] = f"arn:{partition}:iam::{account}:role/{role_name}"
        context["aws:PrincipalType"] = "AssumedRole"
    elif service == "iam" and resource == "root":
        context["aws:PrincipalType"] = "Account"
    return context


def _is_identity_provider(arn_parts: Sequence[str]) -> bool:
    """An ``oidc-provider/`` or ``saml-provider/`` ARN: a token holder is no AWS principal (no aws:Principal* keys)."""
    return arn_parts[2] == "iam" and arn_parts[5].startswith(("oidc-provider/", "saml-provider/"))


_POLICY_KINDS: Final = {
    "identity": "identity policies",
    "resource": "resource policy",
    "pb": "permissions boundary",
    "scp": "SCPs",
    "rcp": "RCPs",
    "vpce": "VPC endpoint policies",
}


@dataclass(frozen=True)
class Reason:
    """A policy statement (or a policy's lack of one) that decided a request."""

    policy_type: str  # identity, resource, pb, scp, rcp, vpce
    policy: str | None
    statement_index: int | None
    sid: str | None
    explicit: bool

    def __str__(self) -> str:
        where = self.policy or _POLICY_KINDS.get(self.policy_type, self.policy_type)
        if self.statement_index is None:
            return f"{where}: no statement allows"
        sid = f" ({self.sid})" if self.sid else ""
        verb = "denies" if self.explicit else "allows"
        return f"{where} #{self.statement_index}{sid} {verb}"


@dataclass(frozen=True)
class Decision:
    """The simulator's answer to one :class:`Request`."""

    request: Request
    result: str  # Allowed, ImplicitlyDenied, ExplicitlyDenied
    granted_by: tuple[Reason, ...]
    denied_by: tuple[Reason, ...]

    @property
    def allowed(self) -> bool:
        """True only for an explicit Allowed."""
        return self.result == "Allowed"

    @property
    def denied_by_types(self) -> frozenset[str]:
        """Which kinds of policy denied it: {"identity"}, {"resource"}, both, or empty."""
        return frozenset(r.policy_type for r in self.denied_by)

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """The grants of an allowed request, or the denials of a denied one."""
        return self.granted_by if self.allowed else self.denied_by


def _reason(raw: Mapping[str, Any], request: Request, *, denial: bool) -> Reason:
    policy_type = str(raw["policyType"])
    policy = raw.get("policyIdentifier") or raw.get("identifier")
    if policy_type == "resource":
        policy = request.resource_policy_name
    elif policy is not None:
        policy = f"{policy_type} {policy}"
    return Reason(
        policy_type=policy_type,
        policy=policy,
        statement_index=raw.get("statementIndex"),
        sid=raw.get("statementId"),
        explicit=denial and raw.get("denialType") == "Explicit",
    )


def simulate(requests: Sequence[Request]) -> list[Decision]:
    """Evaluate ``requests`` in one Node process; one :class:`Decision` each, in order.

    Raises :class:`SimulationError` if the simulator rejects an input, or drops a
    context key (the request would then not test what it claims to).
    """
    if not requests:
        return []
    if not NODE.exists():
        raise SimulationError(f"{NODE} is missing: run `make setup` (npm ci) first")
    payload = json.dumps([r.to_simulation() for r in requests])
    proc = subprocess.run(
        [str(NODE), str(SIMULATE_MJS)],
        input=payload,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=NODE_TIMEOUT_SECONDS,
        check=False,
    )
    if proc.returncode != 0:
        raise SimulationError(f"the simulator exited with {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    try:
        raw_results: list[dict[str, Any]] = json.loads(proc.stdout)
    except json.JSONDecodeError as error:
        raise SimulationError(f"the simulator printed something other than JSON: {proc.stdout[:500]!r}") from error
    if len(raw_results) != len(requests):
        raise SimulationError(f"asked {len(requests)} requests, got {len(raw_results)} answers")
    answers = [
        _decision(request, raw, request.label or f"request {i} ({request.action} by {request.principal})")
        for i, (request, raw) in enumerate(zip(requests, raw_results, strict=True))
    ]
    problems = [a for a in answers if isinstance(a, str)]
    if problems:
        raise SimulationError("; ".join(problems))
    return [a for a in answers if isinstance(a, Decision)]


def _decision(request: Request, raw: Mapping[str, Any], name: str) -> Decision | str:
    """The simulator's answer to ``request`` as a :class:`Decision`, or what is wrong with it."""
    if "error" in raw:
        return f"{name}: rejected by the simulator: {json.dumps(raw['error'])[:1000]}"
    dropped = [key for key in raw["ignoredContextKeys"] if not request.is_claim_key(key)]
    if dropped:
        return (
            f"{name}: the simulator dropped context keys {dropped}: "
            f"the service reference does not list them for {request.action}"
        )
    return Decision(
        request=request,
        result=raw["result"],
        granted_by=tuple(_reason(g, request, denial=False) for g in raw["grants"]),
        denied_by=tuple(_reason(d, request, denial=True) for d in raw["denials"]),
    )


# --- scenarios: requests that succeed only together ---------------------------------------


@dataclass(frozen=True)
class Scenario:
    """A named attempt, made of the request(s) AWS authorizes for it, with the decision a secure setup gives.

    ``AssumeRole`` with a source identity needs ``sts:SetSourceIdentity`` as well, so
    such an attempt is two requests and succeeds only if both are allowed.
    ``expect`` None means informational (no judgement).
    """

    name: str
    requests: tuple[Request, ...]
    expect: Verdict | None = None


@dataclass(frozen=True)
class Outcome:
    """The decisions for one :class:`Scenario`."""

    scenario: Scenario
    decisions: tuple[Decision, ...]

    @property
    def allowed(self) -> bool:
        """Every request of the attempt was allowed."""
        return all(d.allowed for d in self.decisions)

    @property
    def verdict(self) -> Verdict:
        """Allowed or Denied (implicit and explicit denials alike)."""
        return "Allowed" if self.allowed else "Denied"

    @property
    def result(self) -> str:
        """Allowed, or the simulator's result for the first request that was not."""
        return next((d.result for d in self.decisions if not d.allowed), "Allowed")

    @property
    def deciding(self) -> tuple[Decision, ...]:
        """Every request if allowed; otherwise the ones that were not."""
        return self.decisions if self.allowed else tuple(d for d in self.decisions if not d.allowed)

    @property
    def denied_by_types(self) -> frozenset[str]:
        """The kinds of policy that denied the attempt (empty if allowed)."""
        return frozenset().union(*(d.denied_by_types for d in self.deciding)) if not self.allowed else frozenset()

    @property
    def as_expected(self) -> bool:
        """The verdict matches the scenario's expectation, or it has none."""
        return self.scenario.expect is None or self.scenario.expect == self.verdict


def run_scenarios(scenarios: Sequence[Scenario]) -> list[Outcome]:
    """Evaluate every request of every scenario in one batch."""
    flat = [r for s in scenarios for r in s.requests]
    decisions = iter(simulate(flat))
    return [Outcome(s, tuple(next(decisions) for _ in s.requests)) for s in scenarios]


def assume_role_requests(
    role: Role,
    *,
    principal: str,
    identity_policies: Mapping[str, PolicyDocument],
    external_id: str | None = None,
    mfa_age_seconds: int | None = None,
    source_identity: str | None = None,
    principal_org_id: str | None = None,
    session_name: str = "session",
    context: Mapping[str, ContextValue] | None = None,
    label: str = "",
) -> tuple[Request, ...]:
    """The request(s) IAM authorizes for ``sts:AssumeRole`` on ``role``, judged by both sides of the trust.

    ``mfa_age_seconds`` None means the caller has no MFA (the keys are absent, as with
    access keys). A ``source_identity`` adds the ``sts:SetSourceIdentity`` request.
    """
    ctx: dict[str, ContextValue] = {"sts:RoleSessionName": session_name}
    if external_id is not None:
        ctx["sts:ExternalId"] = external_id
    if mfa_age_seconds is not None:
        ctx["aws:MultiFactorAuthPresent"] = "true"
        ctx["aws:MultiFactorAuthAge"] = str(mfa_age_seconds)
    if principal_org_id is not None:
        ctx["aws:PrincipalOrgID"] = principal_org_id
    if source_identity is not None:
        ctx["sts:SourceIdentity"] = source_identity
    ctx.update(context or {})

    def request(action: str, keys: Mapping[str, ContextValue]) -> Request:
        return Request(
            principal=principal,
            action=action,
            resource=role.arn,
            identity_policies=identity_policies,
            resource_policy=role.trust_policy,
            resource_policy_name=TRUST_POLICY,
            context=keys,
            label=f"{label} [{action}]" if label else "",
        )

    requests = [request("sts:AssumeRole", ctx)]
    if source_identity is not None:
        # The service reference lists only sts:SourceIdentity among the sts: keys of SetSourceIdentity.
        keys = {k: v for k, v in ctx.items() if not k.startswith("sts:") or k == "sts:SourceIdentity"}
        requests.append(request("sts:SetSourceIdentity", keys))
    return tuple(requests)


def session_request(
    role: Role,
    action: str,
    resource: str,
    *,
    session_name: str = "session",
    resource_policy: PolicyDocument | None = None,
    resource_policy_name: str = "resource policy",
    context: Mapping[str, ContextValue] | None = None,
    label: str = "",
) -> Request:
    """A request made with the credentials of a session of ``role``."""
    return Request(
        principal=role.session_arn(session_name),
        action=action,
        resource=resource,
        identity_policies=role.policies,
        permissions_boundary=role.permissions_boundary,
        resource_policy=resource_policy,
        resource_policy_name=resource_policy_name,
        context={"aws:PrincipalArn": role.arn, **(context or {})},
        label=label,
    )


def web_identity_request(
    role: Role, *, provider: str, claims: Mapping[str, str], session_name: str = "ci", label: str = ""
) -> Request:
    """``sts:AssumeRoleWithWebIdentity`` on ``role`` with a token of ``provider`` (its ``oidc-provider/<host>`` ARN).

    ``claims`` are the token's claims that IAM checks as ``<host>:<claim>`` keys: ``aud``, ``sub`` and
    ``amr`` for any provider, and those the service reference lists for the issuer (GitHub's
    ``repository``, ``job_workflow_ref``, ...; any other is refused as a dropped key). A claim left out
    is absent from the request. The trust policy alone decides: the caller has no identity policies.
    """
    host = provider.partition(":oidc-provider/")[2]
    if not host:
        raise SimulationError(f"{provider} is not an OIDC provider ARN (arn:...:oidc-provider/<host>)")
    context: dict[str, ContextValue] = {f"{host}:{claim}": value for claim, value in claims.items()}
    context["sts:RoleSessionName"] = session_name
    return Request(
        principal=provider,
        action=WEB_IDENTITY_ACTION,
        resource=role.arn,
        resource_policy=role.trust_policy,
        resource_policy_name=TRUST_POLICY,
        context=context,
        label=label,
        oidc_claims=True,
    )


#: An account-A administrator: what an account-root trust also lets in.
ADMIN_POLICY: Final[PolicyDocument] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
THIRD_ACCOUNT: Final = "333333333333"
OTHER_ORG: Final = "o-zzzzzzzzzz"


@dataclass(frozen=True)
class TrustRequirements:
    """What a trust policy's Allow statements for sts:AssumeRole ask of the caller."""

    external_ids: tuple[str, ...] = ()
    principal_arns: tuple[str, ...] = ()
    principal_org_id: str | None = None
    mfa: bool = False
    mfa_max_age_seconds: int | None = None
    source_identity: bool = False


def trust_requirements(role: Role) -> TrustRequirements:
    """Read the condition keys of the role's trust (used to pick the standard requests, not to judge them)."""
    found: dict[str, list[str]] = {}
    for statement in _statements(role.trust_policy):
        actions = statement.get("Action", [])
        if statement.get("Effect") != "Allow" or "sts:AssumeRole" not in _as_list(actions):
            continue
        for block in statement.get("Condition", {}).values():
            for key, values in block.items():
                found.setdefault(key, []).extend(_as_list(values))
    max_age = found.get("aws:MultiFactorAuthAge")
    org = found.get("aws:PrincipalOrgID")
    return TrustRequirements(
        external_ids=tuple(found.get("sts:ExternalId", [])),
        principal_arns=tuple(found.get("aws:PrincipalArn", [])),
        principal_org_id=org[0] if org else None,
        mfa="aws:MultiFactorAuthPresent" in found,
        mfa_max_age_seconds=int(max_age[0]) if max_age else None,
        source_identity="sts:SourceIdentity" in found,
    )


def _statements(policy: PolicyDocument) -> list[dict[str, Any]]:
    return list(_as_list(policy.get("Statement", [])))


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def standard_scenarios(
    model: IamModel, *, role_name: str | None = None, group_name: str | None = None, external_id: str | None = None
) -> list[Scenario]:
    """The requests the command line shows: the happy path, then one broken requirement per row.

    Expectations are those of a secure trust (an external ID is always expected), so
    a trust that lacks a check shows up as an unexpected Allowed.
    """
    role = model.role(role_name)
    group = model.group(group_name)
    needs = trust_requirements(role)
    right_id = external_id or (needs.external_ids[0] if needs.external_ids else "12345678TESTID")
    listed = needs.principal_arns[0] if needs.principal_arns else group.user_arn("alice")
    member_name = listed.rsplit("/", 1)[-1]
    member, member_context = listed, {}
    if ":role/" in listed:
        # A role calls AssumeRole through a session; its aws:PrincipalArn is the listed role ARN.
        member = listed.replace(":iam::", ":sts::").split(":role/")[0] + f":assumed-role/{member_name}/{member_name}"
        member_context = {"aws:PrincipalArn": listed}
    fresh_mfa = 60 if needs.mfa else None
    ok: dict[str, Any] = {
        "external_id": right_id,
        "mfa_age_seconds": fresh_mfa,
        "source_identity": member_name if needs.source_identity else None,
        "principal_org_id": needs.principal_org_id,
        "session_name": member_name,
    }

    def attempt(name: str, expect: Verdict, principal: str = member, policies: Any = None, **change: Any) -> Scenario:
        chosen = group.policies if policies is None else policies
        kwargs = {**ok, "context": member_context if principal == member else None, **change}
        return Scenario(
            name,
            assume_role_requests(role, principal=principal, identity_policies=chosen, label=name, **kwargs),
            expect,
        )

    who = f"member of {group.name}"
    scenarios = [
        attempt(f"{who}, right external ID" + (", fresh MFA" if needs.mfa else ""), "Allowed"),
        attempt(f"{who}, wrong external ID", "Denied", external_id="wrong-external-id"),
        attempt(f"{who}, no external ID", "Denied", external_id=None),
        attempt(f"user in {group.account} not in the group", "Denied", group.user_arn("bob"), {}),
        attempt(
            f"admin in {group.account}, no external ID",
            "Denied",
            group.user_arn("admin"),
            {"Admin": ADMIN_POLICY},
            external_id=None,
        ),
        attempt(
            f"admin in third account {THIRD_ACCOUNT}",
            "Denied",
            f"arn:{group.partition}:iam::{THIRD_ACCOUNT}:user/eve",
            {"Admin": ADMIN_POLICY},
        ),
    ]
    if needs.principal_arns:
        scenarios.append(
            attempt(
                f"admin in {group.account} not in trusted_principal_arns",
                "Denied",
                group.user_arn("admin"),
                {"Admin": ADMIN_POLICY},
            )
        )
    if needs.mfa:
        scenarios.append(attempt(f"{who}, no MFA", "Denied", mfa_age_seconds=None))
        if needs.mfa_max_age_seconds is not None:
            scenarios.append(attempt(f"{who}, MFA too old", "Denied", mfa_age_seconds=needs.mfa_max_age_seconds + 1))
    if needs.principal_org_id:
        scenarios.append(attempt(f"{who}, outside the organization", "Denied", principal_org_id=OTHER_ORG))
    if needs.source_identity:
        scenarios.append(attempt(f"{who}, source identity of someone else", "Denied", source_identity="mallory"))

    def session(name: str, expect: Verdict | None, action: str, resource: str, **kw: Any) -> Scenario:
        return Scenario(
            name, (session_request(role, action, resource, session_name=member_name, label=name, **kw),), expect
        )

    scenarios += [
        session("session: s3:ListAllMyBuckets", None, "s3:ListAllMyBuckets", "*"),
        session(
            "session: iam:CreateUser",
            "Denied",
            "iam:CreateUser",
            f"arn:{role.partition}:iam::{role.account}:user/mallory",
        ),
        session("session: iam:PutRolePolicy on its role", "Denied", "iam:PutRolePolicy", role.arn),
        session(
            "session: cloudformation:UpdateStack on its own stack",
            "Denied",
            "cloudformation:UpdateStack",
            role.stack_arn(),
        ),
        session(
            "session: assume its own role again",
            "Denied",
            "sts:AssumeRole",
            role.arn,
            resource_policy=role.trust_policy,
            resource_policy_name=TRUST_POLICY,
            context={"sts:ExternalId": right_id},
        ),
    ]
    return scenarios


# --- command line ----------------------------------------------------------------------


def format_table(outcomes: Sequence[Outcome]) -> str:
    """A readable table: scenario, expected, decision, and the statements that decided it."""
    rows = [("", "scenario", "expected", "decision", "decided by")]
    for outcome in outcomes:
        mark = "ok" if outcome.scenario.expect is not None and outcome.as_expected else "  "
        if not outcome.as_expected:
            mark = "!!"
        reasons = "; ".join(str(r) for d in outcome.deciding for r in d.reasons) or "(no reason reported)"
        rows.append((mark, outcome.scenario.name, outcome.scenario.expect or "-", outcome.result, reasons))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4] for row in rows]
    unexpected = sum(not o.as_expected for o in outcomes)
    lines.append(f"{len(outcomes)} scenarios, {unexpected} unexpected" + (" (marked !!)" if unexpected else ""))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m harness.simulate [cdk.out]``: 0 all as expected, 1 some unexpected, 2 error."""
    parser = argparse.ArgumentParser(prog="python -m harness.simulate", description=main.__doc__)
    parser.add_argument("cdk_out", nargs="?", default="cdk.out", help="cloud assembly directory (default: cdk.out)")
    parser.add_argument("--role", help="role name or ARN, if the assembly has several")
    parser.add_argument("--group", help="group name or ARN, if the assembly has several")
    parser.add_argument("--external-id", help="the right external ID (default: the trust's first one)")
    parser.add_argument(
        "--howto", action="store_true", help="simulate the original how-to's policies instead (negative control)"
    )
    args = parser.parse_args(argv)
    try:
        if args.howto:
            from harness.howto_fixture import howto_model

            model, source = howto_model(), "the original how-to's policies"
        else:
            model, source = load_assembly(args.cdk_out), args.cdk_out
        scenarios = standard_scenarios(model, role_name=args.role, group_name=args.group, external_id=args.external_id)
        outcomes = run_scenarios(scenarios)
    except (SimulationError, OSError, subprocess.TimeoutExpired) as error:
        print(f"simulate: {error}", file=sys.stderr)
        return 2
    role, group = model.role(args.role), model.group(args.group)
    print(f"IAM simulation of {source}: role {role.arn}, group {group.arn}")
    print(format_table(outcomes))
    return 0 if all(o.as_expected for o in outcomes) else 1


if __name__ == "__main__":
    # Run the importable module, so its classes and exceptions are the ones harness.howto_fixture uses.
    from harness.simulate import main as _main

    sys.exit(_main())
