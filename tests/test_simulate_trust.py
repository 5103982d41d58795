"""What IAM would decide: the synthesized policies, evaluated by an IAM simulator.

Every row of the matrix is one attempt, judged by BOTH sides of the trust: the
identity policy in account A (the TrustedStack's managed policy, as seen by a
member of its group) and the trust policy in account B. The right values a client
sends come from the overrides below, never from the policy under test.

All requests of the module run in one batch (one Node process); the apps are shared
with the other tests through harness.synth's cache.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from harness.simulate import (
    ADMIN_POLICY,
    TRUST_POLICY,
    Group,
    Outcome,
    PolicyDocument,
    Request,
    Role,
    Scenario,
    Verdict,
    assume_role_requests,
    load_synthesized,
    run_scenarios,
    session_request,
)
from harness.simulate.howto import HOWTO_EXTERNAL_ID, howto_model
from harness.synth import cdk_json_context, synth
from tests.simulate_support import edit_trust, model_with

ACCOUNT_A = "111111111111"
ACCOUNT_B = "222222222222"
THIRD_ACCOUNT = "333333333333"
ALICE = f"arn:aws:iam::{ACCOUNT_A}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT_A}:user/bob"
ADMIN = f"arn:aws:iam::{ACCOUNT_A}:user/admin"
EVE = f"arn:aws:iam::{THIRD_ACCOUNT}:user/eve"
DEPLOYER_ROLE = f"arn:aws:iam::{ACCOUNT_A}:role/Deployer"
DEPLOYER_SESSION = f"arn:aws:sts::{ACCOUNT_A}:assumed-role/Deployer/ci"
#: A role caller in A (CI, SSO): no aws:username, so it cannot meet "source identity = user name".
CI_SESSION = f"arn:aws:sts::{ACCOUNT_A}:assumed-role/ci/run-1"
CI_ROLE = f"arn:aws:iam::{ACCOUNT_A}:role/ci"
#: Another role of A that may call sts:AssumeRole on anything (an administrator's), claiming to be alice.
ADMIN_ROLE_SESSION = f"arn:aws:sts::{ACCOUNT_A}:assumed-role/Admin/alice"
ORG = "o-abcdefghij"
OTHER_ORG = "o-zzzzzzzzzz"
DEFAULT_EXTERNAL_ID: str = cdk_json_context()["external_ids"][0]
FIRST_ID, SECOND_ID = "first-id-1234", "second-id-5678"
FRESH_MFA, MFA_MAX_AGE = 60, 3600


@dataclass(frozen=True)
class Variant:
    """App settings, and what a correctly configured member sends for them."""

    overrides: Mapping[str, Any]
    good: Mapping[str, Any]


VARIANTS: dict[str, Variant] = {
    "default": Variant({}, {"external_id": DEFAULT_EXTERNAL_ID}),
    "mfa": Variant(
        {"require_mfa": True, "mfa_max_age_seconds": MFA_MAX_AGE},
        {"external_id": DEFAULT_EXTERNAL_ID, "mfa_age_seconds": FRESH_MFA},
    ),
    # Without a maximum age, only the Bool condition stands between a caller without MFA and the role.
    "mfa_any_age": Variant(
        {"require_mfa": True}, {"external_id": DEFAULT_EXTERNAL_ID, "mfa_age_seconds": 10 * MFA_MAX_AGE}
    ),
    "principals": Variant({"trusted_principal_arns": [ALICE, DEPLOYER_ROLE]}, {"external_id": DEFAULT_EXTERNAL_ID}),
    "org": Variant({"principal_org_id": ORG}, {"external_id": DEFAULT_EXTERNAL_ID, "principal_org_id": ORG}),
    "source_identity": Variant(
        {"require_source_identity": True}, {"external_id": DEFAULT_EXTERNAL_ID, "source_identity": "alice"}
    ),
    # Role callers choose their own source identity: only the roles named may.
    "source_identity_roles": Variant(
        {"require_source_identity": True, "trusted_principal_arns": [ALICE, CI_ROLE]},
        {"external_id": DEFAULT_EXTERNAL_ID, "source_identity": "alice"},
    ),
    "external_ids": Variant({"external_ids": [FIRST_ID, SECOND_ID]}, {"external_id": FIRST_ID}),
    "combined": Variant(
        {
            "external_ids": [FIRST_ID, SECOND_ID],
            "require_mfa": True,
            "mfa_max_age_seconds": MFA_MAX_AGE,
            "trusted_principal_arns": [ALICE],
            "principal_org_id": ORG,
            "require_source_identity": True,
        },
        {"external_id": SECOND_ID, "mfa_age_seconds": FRESH_MFA, "principal_org_id": ORG, "source_identity": "alice"},
    ),
}


@dataclass(frozen=True)
class World:
    """The role in B, the group in A, and what a good member sends."""

    role: Role
    group: Group
    good: Mapping[str, Any]


Build = Callable[[World], tuple[Request, ...]]


def attempt(principal: str = ALICE, policies: str = "group", **change: Any) -> Build:
    """AssumeRole by ``principal`` with the good values, except ``change``.

    ``policies``: "group" (a member of the TrustedStack group), "admin" (Action * on *), "none".
    """

    def build(world: World) -> tuple[Request, ...]:
        identity: Mapping[str, PolicyDocument] = {
            "group": world.group.policies,
            "admin": {"Admin": ADMIN_POLICY},
            "none": {},
        }[policies]
        session_name = principal.rsplit("/", 1)[-1]
        kwargs = {"session_name": session_name, **world.good, **change}
        return assume_role_requests(world.role, principal=principal, identity_policies=identity, **kwargs)

    return build


def session(action: str, resource: str | Callable[[World], str], *, trust: bool = False) -> Build:
    """A request made with the assumed role's own credentials."""

    def build(world: World) -> tuple[Request, ...]:
        target = resource(world) if callable(resource) else resource
        extra: dict[str, Any] = {}
        if trust:
            extra = {"resource_policy": world.role.trust_policy, "resource_policy_name": TRUST_POLICY}
            extra["context"] = {"sts:ExternalId": world.good["external_id"]}
        return (session_request(world.role, action, target, session_name="alice", **extra),)

    return build


@dataclass(frozen=True)
class Case:
    """One matrix row: the verdict a secure trust gives, and which side decides it."""

    variant: str
    name: str
    build: Build
    expect: Verdict
    #: Policy kinds behind the verdict: grants if Allowed, denials if Denied.
    decided_by: frozenset[str] = field(default=frozenset())


BOTH = frozenset({"identity", "resource"})
TRUST = frozenset({"resource"})
IDENTITY = frozenset({"identity"})
NOT_MFA = {"aws:MultiFactorAuthPresent": "false"}


def _case(variant: str, name: str, build: Build, expect: Verdict, decided_by: frozenset[str]) -> Case:
    return Case(variant, name, build, expect, decided_by)


# Rows that any trust built from the defaults must satisfy; also run against the how-to.
DEFAULT_ROWS: list[tuple[str, Build, Verdict, frozenset[str]]] = [
    ("member_right_external_id", attempt(), "Allowed", BOTH),
    ("member_wrong_external_id", attempt(external_id="wrong-external-id"), "Denied", TRUST),
    ("member_missing_external_id", attempt(external_id=None), "Denied", TRUST),
    ("non_member_in_trusted_account", attempt(BOB, "none"), "Denied", IDENTITY),
    # Trusting account A's root delegates to A's IAM: an A admin with the right ID gets in.
    ("trusted_account_admin_right_external_id", attempt(ADMIN, "admin"), "Allowed", BOTH),
    ("trusted_account_admin_missing_external_id", attempt(ADMIN, "admin", external_id=None), "Denied", TRUST),
    ("third_account_admin", attempt(EVE, "admin"), "Denied", TRUST),
    ("session_list_all_my_buckets", session("s3:ListAllMyBuckets", "*"), "Allowed", IDENTITY),
    (
        "session_iam_create_user",
        session("iam:CreateUser", f"arn:aws:iam::{ACCOUNT_B}:user/mallory"),
        "Denied",
        IDENTITY,
    ),
    ("session_iam_put_role_policy", session("iam:PutRolePolicy", lambda w: w.role.arn), "Denied", IDENTITY),
    # The tamper guard denies it outright (DenyChangesToThisRole); the how-to's trust does not allow it either.
    ("session_assume_itself", session("sts:AssumeRole", lambda w: w.role.arn, trust=True), "Denied", IDENTITY),
    # CloudFormation runs an update with the stack's stored service role: the session must not reach its own stack
    # (nor the bootstrap's), or it could rewrite its trust. The guard's DenyProtectedStacks; test_simulate_guard.py.
    (
        "session_update_own_stack",
        session("cloudformation:UpdateStack", lambda w: w.role.stack_arn()),
        "Denied",
        IDENTITY,
    ),
    (
        "session_update_bootstrap_stack",
        session("cloudformation:UpdateStack", lambda w: w.role.stack_arn("CDKToolkit")),
        "Denied",
        IDENTITY,
    ),
]

MATRIX: list[Case] = [_case("default", *row) for row in DEFAULT_ROWS] + [
    _case("mfa", "member_fresh_mfa", attempt(), "Allowed", BOTH),
    _case("mfa", "member_without_mfa", attempt(mfa_age_seconds=None), "Denied", BOTH),
    _case("mfa", "member_mfa_present_false", attempt(mfa_age_seconds=None, context=NOT_MFA), "Denied", BOTH),
    _case("mfa", "member_mfa_too_old", attempt(mfa_age_seconds=2 * MFA_MAX_AGE), "Denied", BOTH),
    _case("mfa", "member_mfa_at_max_age", attempt(mfa_age_seconds=MFA_MAX_AGE), "Denied", BOTH),
    _case("mfa", "member_wrong_external_id_fresh_mfa", attempt(external_id="wrong-external-id"), "Denied", TRUST),
    _case("mfa_any_age", "member_old_mfa", attempt(), "Allowed", BOTH),
    _case("mfa_any_age", "member_without_mfa", attempt(mfa_age_seconds=None), "Denied", BOTH),
    _case("mfa_any_age", "member_mfa_present_false", attempt(mfa_age_seconds=None, context=NOT_MFA), "Denied", BOTH),
    _case("principals", "listed_user", attempt(), "Allowed", BOTH),
    _case("principals", "listed_role_session", attempt(DEPLOYER_SESSION), "Allowed", BOTH),
    _case("principals", "group_member_not_listed", attempt(BOB), "Denied", TRUST),
    _case("principals", "trusted_account_admin_not_listed", attempt(ADMIN, "admin"), "Denied", TRUST),
    _case("org", "member_in_org", attempt(), "Allowed", BOTH),
    _case("org", "member_outside_org", attempt(principal_org_id=OTHER_ORG), "Denied", TRUST),
    _case("org", "member_without_org", attempt(principal_org_id=None), "Denied", TRUST),
    # The org guard narrows the account trust; it never widens it to other accounts of the org.
    _case("org", "third_account_in_same_org", attempt(EVE, "admin"), "Denied", TRUST),
    _case("source_identity", "member_source_identity_is_user_name", attempt(), "Allowed", BOTH),
    _case("source_identity", "member_source_identity_of_someone_else", attempt(source_identity="bob"), "Denied", TRUST),
    _case("source_identity", "member_without_source_identity", attempt(source_identity=None), "Denied", TRUST),
    # A role session chooses its source identity: without named roles, none gets in, not even as "alice".
    _case(
        "source_identity",
        "role_caller_with_source_identity",
        attempt(CI_SESSION, source_identity="run-1"),
        "Denied",
        TRUST,
    ),
    _case("source_identity", "other_role_claims_alice", attempt(ADMIN_ROLE_SESSION, "admin"), "Denied", TRUST),
    _case("source_identity_roles", "member_source_identity_is_user_name", attempt(), "Allowed", BOTH),
    # A named role (CI, SSO) has no aws:username: it gets in with a source identity of its own, never without.
    _case(
        "source_identity_roles",
        "role_caller_with_source_identity",
        attempt(CI_SESSION, source_identity="run-1"),
        "Allowed",
        BOTH,
    ),
    _case(
        "source_identity_roles",
        "role_caller_without_source_identity",
        attempt(CI_SESSION, source_identity=None),
        "Denied",
        TRUST,
    ),
    _case("source_identity_roles", "other_role_claims_alice", attempt(ADMIN_ROLE_SESSION, "admin"), "Denied", TRUST),
    _case("external_ids", "member_first_external_id", attempt(), "Allowed", BOTH),
    _case("external_ids", "member_second_external_id", attempt(external_id=SECOND_ID), "Allowed", BOTH),
    _case("external_ids", "member_default_external_id", attempt(external_id=DEFAULT_EXTERNAL_ID), "Denied", TRUST),
    _case("external_ids", "member_missing_external_id", attempt(external_id=None), "Denied", TRUST),
    _case("combined", "member_meets_every_requirement", attempt(), "Allowed", BOTH),
    _case("combined", "member_without_mfa", attempt(mfa_age_seconds=None), "Denied", BOTH),
    _case("combined", "member_outside_org", attempt(principal_org_id=OTHER_ORG), "Denied", TRUST),
    _case("combined", "member_wrong_external_id", attempt(external_id=DEFAULT_EXTERNAL_ID), "Denied", TRUST),
    _case("combined", "group_member_not_listed", attempt(BOB, source_identity="bob"), "Denied", TRUST),
]

# The how-to's flaws, as the default rows see them.
HOWTO_FLAWS = {
    "member_wrong_external_id",
    "member_missing_external_id",
    "trusted_account_admin_missing_external_id",
    # Its cloudformation:* on "*" reaches the stack that holds the role, and CDK's bootstrap stack.
    "session_update_own_stack",
    "session_update_bootstrap_stack",
}


def member_request(action: str, resource: str, account: str) -> Build:
    """An account-A group member calling ``action`` with its identity policy alone (no resource policy)."""

    def build(world: World) -> tuple[Request, ...]:
        return (Request(ALICE, action, resource, world.group.policies, resource_account=account),)

    return build


def grant(action: str, resource: str) -> Build:
    """Positive control: a principal whose policy grants exactly ``action`` on ``resource``."""
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}
    return lambda world: (Request(ALICE, action, resource, {"Grant": policy}, resource_account=ACCOUNT_A),)


#: Requests the how-to's extra grants are about (iam:ListRoles only takes Resource "*").
OWN_ROLE = f"arn:aws:iam::{ACCOUNT_A}:role/SomeServiceRole"
EXTRA_GRANT_PROBES: dict[str, Build] = {
    "member_list_roles": member_request("iam:ListRoles", "*", ACCOUNT_A),
    "member_pass_role_in_target_account": lambda w: member_request("iam:PassRole", w.role.arn, ACCOUNT_B)(w),
}
POSITIVE_CONTROLS: dict[str, Build] = {
    "list_roles_granted_on_star": grant("iam:ListRoles", "*"),
    "pass_role_granted_on_own_account_role": grant("iam:PassRole", OWN_ROLE),
}


def worlds() -> dict[str, World]:
    found = {}
    for name, variant in VARIANTS.items():
        model = load_synthesized(synth(dict(variant.overrides)))
        found[name] = World(model.role(), model.group(), variant.good)
    howto_good = {"external_id": HOWTO_EXTERNAL_ID}
    for name, extra in (("howto", True), ("howto_without_extra_grants", False)):
        model = howto_model(extra_grants=extra)
        found[name] = World(model.role(), model.group(), howto_good)
    return found


@pytest.fixture(scope="module")
def outcomes() -> dict[tuple[str, str], Outcome]:
    """Every request of this module, simulated in one batch."""
    world = worlds()
    keyed: list[tuple[tuple[str, str], Scenario]] = []

    def add(world_name: str, name: str, build: Build) -> None:
        keyed.append(((world_name, name), Scenario(f"{world_name}/{name}", build(world[world_name]))))

    for case in MATRIX:
        add(case.variant, case.name, case.build)
    for howto in ("howto", "howto_without_extra_grants"):
        for name, build, _, _ in DEFAULT_ROWS:
            add(howto, name, build)
        for name, build in EXTRA_GRANT_PROBES.items():
            add(howto, name, build)
    for name, build in POSITIVE_CONTROLS.items():
        add("default", name, build)
    results = run_scenarios([scenario for _, scenario in keyed])
    return {key: outcome for (key, _), outcome in zip(keyed, results, strict=True)}


def explain(outcome: Outcome) -> str:
    lines = [f"{outcome.scenario.name}: {outcome.result}"]
    for decision in outcome.decisions:
        reasons = "; ".join(map(str, decision.reasons)) or "no reason reported"
        lines.append(f"  {decision.request.action} by {decision.request.principal}: {decision.result} ({reasons})")
    return "\n".join(lines)


def decided_by(outcome: Outcome) -> frozenset[str]:
    if outcome.allowed:
        return frozenset(r.policy_type for d in outcome.decisions for r in d.granted_by)
    return outcome.denied_by_types


@pytest.mark.parametrize("case", MATRIX, ids=lambda c: f"{c.variant}-{c.name}")
def test_decision_matrix(case: Case, outcomes: dict[tuple[str, str], Outcome]) -> None:
    outcome = outcomes[(case.variant, case.name)]
    assert outcome.verdict == case.expect, explain(outcome)
    assert decided_by(outcome) == case.decided_by, explain(outcome)


def test_member_is_allowed_by_the_trusted_stacks_statement_and_the_trust(
    outcomes: dict[tuple[str, str], Outcome],
) -> None:
    (decision,) = outcomes[("default", "member_right_external_id")].decisions
    assert sorted(map(str, decision.granted_by)) == [
        "identity AssumeCrossAccountAccessRole #1 (AssumeCrossAccountRole) allows",
        "trust policy #1 allows",
    ]


def test_source_identity_needs_both_assume_role_and_set_source_identity(
    outcomes: dict[tuple[str, str], Outcome],
) -> None:
    allowed = outcomes[("source_identity", "member_source_identity_is_user_name")]
    assert [d.request.action for d in allowed.decisions] == ["sts:AssumeRole", "sts:SetSourceIdentity"]
    assert all(d.allowed for d in allowed.decisions)
    other = outcomes[("source_identity", "member_source_identity_of_someone_else")]
    # Both statements compare the source identity with the caller's user name.
    assert [d.result for d in other.decisions] == ["ImplicitlyDenied", "ImplicitlyDenied"]


# --- negative control: the original how-to ----------------------------------------------


def test_matrix_catches_the_howtos_missing_external_id_check(outcomes: dict[tuple[str, str], Outcome]) -> None:
    failing = {name for name, _, expect, _ in DEFAULT_ROWS if outcomes[("howto", name)].verdict != expect}
    assert failing == HOWTO_FLAWS
    for name in HOWTO_FLAWS:
        assert outcomes[("howto", name)].allowed, explain(outcomes[("howto", name)])


def test_howtos_extra_grants_change_no_decision(outcomes: dict[tuple[str, str], Outcome]) -> None:
    names = [name for name, *_ in DEFAULT_ROWS] + list(EXTRA_GRANT_PROBES)
    with_extra = {n: outcomes[("howto", n)].result for n in names}
    without = {n: outcomes[("howto_without_extra_grants", n)].result for n in names}
    assert with_extra == without


def test_howtos_list_roles_grant_allows_nothing(outcomes: dict[tuple[str, str], Outcome]) -> None:
    denied = outcomes[("howto", "member_list_roles")]
    assert denied.result == "ImplicitlyDenied", explain(denied)
    assert denied.denied_by_types == IDENTITY
    # Not a simulator blind spot: the same action on Resource "*" is allowed.
    assert outcomes[("default", "list_roles_granted_on_star")].allowed


def test_howtos_pass_role_grant_allows_nothing_across_accounts(outcomes: dict[tuple[str, str], Outcome]) -> None:
    denied = outcomes[("howto", "member_pass_role_in_target_account")]
    assert denied.result == "ImplicitlyDenied", explain(denied)
    # iam:PassRole works on a role of the caller's own account, which the how-to's grant never names.
    assert outcomes[("default", "pass_role_granted_on_own_account_role")].allowed


# --- the role callers' rows depend on the trust statements they test -------------------------


def _drop_null_condition(statements: list[dict[str, Any]]) -> int:
    return sum(statement.get("Condition", {}).pop("Null", None) is not None for statement in statements)


def _drop_role_caller_statements(statements: list[dict[str, Any]]) -> int:
    kept = [s for s in statements if "aws:PrincipalType" not in s.get("Condition", {}).get("StringEquals", {})]
    removed = len(statements) - len(kept)
    statements[:] = kept
    return removed


def _any_role_may_set_one(statements: list[dict[str, Any]]) -> int:
    """The role callers' statements as they were before: any role of A, not only the named ones."""
    changed = 0
    for statement in statements:
        conditions = statement.get("Condition", {})
        if "aws:PrincipalType" in conditions.get("StringEquals", {}):
            changed += conditions.pop("ArnEquals", None) is not None
    return changed


def test_role_caller_rows_depend_on_the_role_callers_statements() -> None:
    """Not constants: without `Null sts:SourceIdentity false` a role session gets in without a source identity;
    without the role callers' statements it does not get in at all (and IAM users still do); and without
    their ArnEquals, any role of A may claim to be alice."""
    variant = VARIANTS["source_identity_roles"]
    rows = {
        "no_null": ("role_caller_without_source_identity", _drop_null_condition, "Allowed"),
        "no_role_statements": ("role_caller_with_source_identity", _drop_role_caller_statements, "Denied"),
        "user_still_allowed": ("member_source_identity_is_user_name", _drop_role_caller_statements, "Allowed"),
        "any_role": ("other_role_claims_alice", _any_role_may_set_one, "Allowed"),
    }
    cases = {case.name: case for case in MATRIX if case.variant == "source_identity_roles"}
    scenarios = []
    for key, (row, edit, _) in rows.items():
        model = model_with(variant.overrides, edit_trust(edit))
        world = World(model.role(), model.group(), variant.good)
        scenarios.append(Scenario(key, cases[row].build(world)))
    verdicts = {outcome.scenario.name: outcome.verdict for outcome in run_scenarios(scenarios)}
    assert verdicts == {key: expect for key, (_, _, expect) in rows.items()}
