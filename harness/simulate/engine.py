"""Requests -> decisions: one API request as the simulator sees it, and the simulator's answer.

:func:`simulate` evaluates a batch of :class:`Request` with ``@cloud-copilot/iam-simulate``, in one
Node process running ``harness/simulate.mjs``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from harness.node import NODE, PROJECT_ROOT
from harness.simulate.model import PolicyDocument, SimulationError

ContextValue = str | Sequence[str]

#: The Node half of the bridge: ``harness/simulate.mjs``, beside this package.
SIMULATE_MJS: Final = Path(__file__).parents[1] / "simulate.mjs"
NODE_TIMEOUT_SECONDS: Final = 120
#: The call a CI job makes with its OIDC token.
WEB_IDENTITY_ACTION: Final = "sts:AssumeRoleWithWebIdentity"
#: The claims IAM checks as ``<issuer>:<claim>`` condition keys for any OIDC provider.
OIDC_CLAIMS: Final = ("aud", "sub", "amr")


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
