"""Scenarios: requests that succeed only together, and the standard rows of the decision table.

A :class:`Scenario` is one attempt (``AssumeRole`` with a source identity is two requests);
:func:`run_scenarios` decides a list of them in one simulator batch. :func:`standard_scenarios`
builds the rows ``python -m harness.simulate`` shows: the happy path, then one broken requirement per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from harness.simulate.engine import WEB_IDENTITY_ACTION, ContextValue, Decision, Request, simulate
from harness.simulate.model import IamModel, PolicyDocument, Role, SimulationError

Verdict = Literal["Allowed", "Denied"]

TRUST_POLICY: Final = "trust policy"


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
