"""The role's trust policy: who may assume it (account, principals, organization) and what they bring
(:class:`~cross_account.caller.CallerRequirements`), in plain JSON, measured before anything is built."""

from __future__ import annotations

from typing import Any, Literal

from cross_account import quotas, tokens
from cross_account.private.conditions import mfa_conditions
from cross_account.props import CrossAccountRoleProps

#: The policy variable holding an IAM user's name; it does not exist for role sessions.
CALLER_USER_NAME = "${aws:username}"
Caller = Literal["user", "role"]
Conditions = dict[str, dict[str, Any]]


def trust_conditions(
    props: CrossAccountRoleProps, *, caller: Caller = "user", source_identity: bool = True
) -> Conditions:
    """The conditions of a trust statement that allows ``sts:AssumeRole``.

    With a source identity required there is one statement per kind of ``caller``: an IAM user
    must name itself (``${aws:username}``, which exists only for users); a named role (SSO, CI, a
    chained role) must set one, which then follows every session after it.
    """
    needs = props.caller
    string_equals: dict[str, Any] = {}
    conditions: Conditions = {}
    if needs.external_ids:
        string_equals["sts:ExternalId"] = list(needs.external_ids)
    if props.principal_org_id:
        string_equals["aws:PrincipalOrgID"] = props.principal_org_id
    if needs.source_identity and source_identity and caller == "user":
        string_equals["sts:SourceIdentity"] = CALLER_USER_NAME
    elif needs.source_identity and source_identity:
        string_equals["aws:PrincipalType"] = "AssumedRole"
        conditions["Null"] = {"sts:SourceIdentity": "false"}
    if string_equals:
        conditions["StringEquals"] = string_equals
    principals = trusted_role_arns(props) if caller == "role" else list(props.trusted_principal_arns)
    if principals:
        conditions["ArnEquals"] = {"aws:PrincipalArn": principals}
    conditions.update(mfa_conditions(needs))
    return conditions


def trusted_role_arns(props: CrossAccountRoleProps) -> list[str]:
    """The roles of ``trusted_principal_arns`` (a deploy-time value may be one): the only role callers whose
    self-chosen source identity the trust accepts."""
    return [arn for arn in props.trusted_principal_arns if tokens.unresolved(arn) or ":role/" in arn]


def _callers(props: CrossAccountRoleProps) -> tuple[Caller, ...]:
    """Who has a statement: IAM users always; role sessions, with a source identity, only when named."""
    return ("user", "role") if props.caller.source_identity and trusted_role_arns(props) else ("user",)


def trust_statements(props: CrossAccountRoleProps) -> list[tuple[str, Conditions]]:
    """(action, conditions) of each statement of the trust; the first is the one built from ``assumed_by``.

    ``sts:SetSourceIdentity`` and ``sts:TagSession`` get statements of their own: the IAM service
    reference lists no ``sts:ExternalId`` key for them (nor ``sts:SourceIdentity`` for TagSession), so
    a combined statement could never match. On their own they let nobody assume the role.
    """
    needs, callers = props.caller, _callers(props)
    statements = [("sts:AssumeRole", trust_conditions(props, caller=c)) for c in callers]
    if needs.source_identity:
        statements += [
            ("sts:SetSourceIdentity", _without_external_id(trust_conditions(props, caller=c))) for c in callers
        ]
    if needs.session_tags:
        conditions = _without_external_id(trust_conditions(props, source_identity=False))
        if needs.session_tag_keys:
            conditions["ForAllValues:StringEquals"] = {"aws:TagKeys": list(needs.session_tag_keys)}
        statements.append(("sts:TagSession", conditions))
    return statements


def trust_document(props: CrossAccountRoleProps) -> dict[str, Any]:
    """The trust policy as the construct builds it, in plain JSON, to measure before building anything."""
    principal = {"AWS": f"arn:{quotas.LONGEST_PARTITION}:iam::{props.trusted_account_id}:root"}
    statements = [
        {"Action": action, **({"Condition": c} if c else {}), "Effect": "Allow", "Principal": principal}
        for action, c in trust_statements(props)
    ]
    return {"Statement": statements, "Version": "2012-10-17"}


def _without_external_id(conditions: Conditions) -> Conditions:
    equals = {k: v for k, v in conditions.get("StringEquals", {}).items() if k != "sts:ExternalId"}
    rest = {k: v for k, v in conditions.items() if k != "StringEquals"}
    return {"StringEquals": equals, **rest} if equals else rest
