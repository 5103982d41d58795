"""The settings contract with ``cdk.json``: keys, the app's defaults, parsing into one frozen :class:`Settings`.

Every input of the app (``cdk.json`` context and ``cdk synth -c key=value``) and of
the ``cross-account`` client passes through here before anything is created or
written. The rules and their error texts are in :mod:`cross_account.rules`; the role
options in :class:`~cross_account.props.CrossAccountRoleProps`.

This module has no CDK import, so the client can use it without paying for jsii.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from functools import cached_property
from typing import Any, Final

from cross_account import declaration, quotas, rules
from cross_account.ci import CI_PROVIDERS, CiOidcSettings, parse_ci_oidc
from cross_account.declaration import SettingsError, check, rule_of, setting
from cross_account.props import CrossAccountRoleProps

#: The original how-to's permission set: the app's default (a reused construct grants nothing by default).
HOWTO_ACTIONS: Final = ("s3:*", "cloudwatch:*", "cloudformation:*", "sqs:*", "events:*")

#: Where the app's defaults for a role differ from the construct's.
APP_ROLE_DEFAULTS: Final[Mapping[str, Any]] = {
    "external_ids": ("12345678TESTID",),
    "allowed_actions": HOWTO_ACTIONS,
}

#: Values from the how-to and the docs: fine offline, wrong for a real deployment.
HOWTO_EXTERNAL_ID: Final = "12345678TESTID"
EXAMPLE_ACCOUNT_IDS: Final = frozenset({"111111111111", "222222222222", "333333333333", "123456789012"})

#: CDK's own context keys (feature flags, aws:cdk:*, lookup caches) are not ours to check.
_CDK_OWNED_KEYS: Final = frozenset({"acknowledged-issue-numbers", "cli-telemetry"})

TIER_NAME_RE: Final = re.compile(r"^[A-Z][A-Za-z0-9]{0,31}\Z", re.ASCII)
STACKSET_CALL_AS: Final = ("SELF", "DELEGATED_ADMIN")


def is_cdk_owned_key(key: str) -> bool:
    """Feature flags (@aws-cdk/…), aws:cdk:… keys and lookup caches (provider:account=…); not a typo of ours."""
    return key.startswith(("@", "aws:cdk:")) or ":account=" in key or key in _CDK_OWNED_KEYS


@dataclass(frozen=True, kw_only=True)
class RoleSpec(CrossAccountRoleProps):
    """One role to create in every target account, and its group in the trusted account.

    Without ``roles`` there is one spec, made of the top-level settings; each tier of
    ``roles`` is a spec whose unset keys inherit the top-level settings. It is the
    construct's props, so the app passes it to ``CrossAccountRole`` as it is.
    """

    #: The tier's name, or none for the single top-level role.
    tier: str | None = None
    #: The app always names its roles (people and the trusted side need a stable ARN): 1–64 of
    #: `[A-Za-z0-9+=,.@_-]`. Default: `CrossAccountAccessRole`.
    role_name: str = setting(rules.validate_role_name, default="CrossAccountAccessRole")
    #: The group in the trusted account: 1–128 of `[A-Za-z0-9+=,.@_-]`. Default: `CrossAccountAssumers`.
    assumers_group_name: str = setting(rules.validate_group_name, default="CrossAccountAssumers")

    @classmethod
    def settings(cls) -> dict[str, str]:
        """cdk.json key -> field name, for every key a role (or a tier) takes."""
        return {
            rule_of(f).setting or f.name: f.name
            for f in fields(cls)
            if "rule" in f.metadata and f.name != "trusted_account_id"
        }


_ROLE_KEYS: Final = RoleSpec.settings()


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The validated settings of the app. Build it with :meth:`from_context`."""

    #: account A, 12 digits as a string. Default: `"111111111111"`.
    trusted_account_id: str = setting(rules.validate_account_id, default="111111111111")
    #: account B, 12 digits; must differ from A. Default: `"222222222222"`.
    target_account_id: str = setting(rules.validate_account_id, default="222222222222")
    #: several target accounts: one target stack each (see [Scale out](#scale-out)); must include `target_account_id`.
    #: Default: `[]`.
    target_account_ids: tuple[str, ...] = setting(rules.validate_account_id, default=(), shape="list")
    #: region of both stacks (IAM itself is global). Default: `us-east-1`.
    region: str = setting(rules.validate_region, default="us-east-1")
    #: The role keys at the top level (role_name, external_ids, ...), with the app's defaults.
    role: RoleSpec
    #: role tiers, e.g. `{"ReadOnly": {…}, "Deploy": {…}}` (see [Scale out](#scale-out)). Default: `{}`.
    roles: Mapping[str, Mapping[str, Any]] = setting(lambda k, v: _tiers(k, v), default_factory=dict)
    #: `o-…`: turns on `TargetStackSet` (with `target_organizational_unit_ids`). Default: none.
    organization_id: str | None = setting(declaration.optional(rules.validate_org_id), default=None)
    #: `ou-…` or `r-…` IDs the StackSet deploys to. Default: `[]`.
    target_organizational_unit_ids: tuple[str, ...] = setting(rules.validate_ou_id, default=(), shape="list")
    #: optional: only these accounts of the OUs (`INTERSECTION`). Default: `[]`.
    stackset_account_ids: tuple[str, ...] = setting(rules.validate_account_id, default=(), shape="list")
    #: `^[a-zA-Z][a-zA-Z0-9-]{0,127}$`. Default: `CrossAccountAccessRole`.
    stackset_name: str = setting(rules.validate_stackset_name, default="CrossAccountAccessRole")
    #: `SELF` (management account) or `DELEGATED_ADMIN`. Default: `SELF`.
    stackset_call_as: str = setting(rules.one_of(STACKSET_CALL_AS), default="SELF")
    #: 0–100. Default: `10`.
    stackset_failure_tolerance_percentage: int = setting(rules.percentage(0), default=10)
    #: 1–100. Default: `25`.
    stackset_max_concurrent_percentage: int = setting(rules.percentage(1), default=25)
    #: `true` deploys without a bootstrap stack (`BootstraplessSynthesizer`), for the emulator. Default: `false`.
    local: bool = setting(rules.validate_bool, default=False, tokens=False)
    #: Deploys from CI with OpenID Connect, a role in the trusted account per CI system: one setting per
    #: entry of ``CI_PROVIDERS`` (``github_oidc``, ``gitlab_oidc``), parsed by :func:`parse_ci_oidc`.
    ci_deployers: tuple[CiOidcSettings, ...] = ()

    @classmethod
    def setting_names(cls) -> tuple[str, ...]:
        """Every key cdk.json's context may hold."""
        own = tuple(f.name for f in fields(cls) if "rule" in f.metadata)
        return own + tuple(CI_PROVIDERS) + tuple(_ROLE_KEYS)

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Settings:
        """Parse and validate CDK context; raise :class:`SettingsError` on the first bad key."""
        known = cls.setting_names()
        for key in sorted(context):
            if key not in known and not is_cdk_owned_key(key):
                raise _unknown(key, context[key], known)
        values = {
            f.name: rule_of(f).apply(f.name, context[f.name], context=True)
            for f in fields(cls)
            if "rule" in f.metadata and f.name in context
        }
        trusted_account_id = values.get("trusted_account_id", cls.__dataclass_fields__["trusted_account_id"].default)
        role = RoleSpec(trusted_account_id=trusted_account_id, **{**APP_ROLE_DEFAULTS, **_role_values(context)})
        ci = (parse_ci_oidc(provider)(key, context[key]) for key, provider in CI_PROVIDERS.items() if key in context)
        settings = cls(role=role, ci_deployers=tuple(c for c in ci if c is not None), **values)
        settings._check_together()
        return settings

    @property
    def target_accounts(self) -> tuple[str, ...]:
        """The accounts that get a TargetStack: ``target_account_ids``, or else ``target_account_id``."""
        return self.target_account_ids or (self.target_account_id,)

    @property
    def organization_wide(self) -> bool:
        return self.organization_id is not None

    def ci_spec(self, ci: CiOidcSettings) -> RoleSpec:
        """The role whose grant a CI system's role gets: its tier's, or the only one."""
        return next(spec for spec in self.role_specs if spec.tier == ci.tier)

    @cached_property
    def role_specs(self) -> tuple[RoleSpec, ...]:
        """The roles to create: the top-level role, or one per tier of ``roles``.

        A role that names its trusted principals also names the CI roles that get its grant.
        """
        return tuple(self._with_ci_principals(spec) for spec in self._tier_specs())

    def _with_ci_principals(self, spec: RoleSpec) -> RoleSpec:
        if not spec.trusted_principal_arns:
            return spec
        partition = spec.trusted_principal_arns[0].split(":")[1]
        ci_roles = tuple(
            rules.role_arn(
                partition=partition, account_id=self.trusted_account_id, role_path="/", role_name=ci.role_name
            )
            for ci in self.ci_deployers
            if ci.tier == spec.tier
        )
        return replace(spec, trusted_principal_arns=(*spec.trusted_principal_arns, *ci_roles)) if ci_roles else spec

    def _tier_specs(self) -> tuple[RoleSpec, ...]:
        if not self.roles:
            return (self.role,)
        return tuple(
            replace(
                self.role,
                **{
                    "tier": tier,
                    "role_name": f"{self.role.role_name}-{tier}",
                    "assumers_group_name": f"{self.role.assumers_group_name}-{tier}",
                    **overrides,
                },
            )
            for tier, overrides in self.roles.items()
        )

    def _check_together(self) -> None:
        self._check_accounts()
        for spec in self.role_specs:
            prefix = f"roles.{spec.tier}." if spec.tier else ""
            if spec.tier:
                # Tier names are built from the top-level ones; check what is built.
                rules.validate_role_name(f"{prefix}role_name", spec.role_name)
                rules.validate_group_name(f"{prefix}assumers_group_name", spec.assumers_group_name)
            spec.check_together(prefix=prefix)
            rules.check_grants(
                prefix,
                actions=spec.allowed_actions,
                managed_policy_arns=spec.managed_policy_arns,
            )
            arns = [
                rules.role_arn(
                    partition=quotas.LONGEST_PARTITION,
                    account_id=account,
                    role_path=spec.role_path,
                    role_name=spec.role_name,
                )
                for account in self.target_accounts
            ]
            quotas.check_policy_count(
                "target_account_ids", len(arns), len(quotas.policy_chunks(arns)) + self.organization_wide
            )
        for attribute, rule in (("role_name", "role names"), ("assumers_group_name", "group names")):
            seen: dict[str, str] = {}
            for spec in self.role_specs:
                name = getattr(spec, attribute)
                check(
                    f"roles.{spec.tier}.{attribute}",
                    name,
                    name.lower() not in seen,
                    f"{rule} must be unique, ignoring case (tier {seen.get(name.lower())} has it)",
                )
                seen[name.lower()] = str(spec.tier)
        self._check_organization()
        self._check_ci()

    def _check_ci(self) -> None:
        named: dict[str, str] = {}
        for ci in self.ci_deployers:
            earlier = named.setdefault(ci.role_name.lower(), ci.provider.setting)
            check(
                f"{ci.provider.setting}.role_name",
                ci.role_name,
                earlier == ci.provider.setting,
                f"must differ from {earlier}.role_name, ignoring case (IAM role names are unique so)",
            )
        tiers = [spec.tier for spec in self._tier_specs()]
        for ci in self.ci_deployers:
            key = ci.provider.setting
            check(
                f"{key}.tier",
                ci.tier,
                ci.tier in tiers,
                f"must be one of the tiers {', '.join(map(str, tiers))}" if self.roles else "only applies with roles",
            )
            spec = self.ci_spec(ci)
            check(
                f"{key}.tier" if ci.tier else "require_mfa",
                ci.tier or spec.caller.mfa,
                not spec.caller.mfa,
                f"{key}: a CI session cannot satisfy require_mfa of {spec.role_name}; "
                "give CI a tier of its own without MFA",
            )

    def _check_accounts(self) -> None:
        for i, account in enumerate(self.target_accounts):
            key = f"target_account_ids[{i}]" if self.target_account_ids else "target_account_id"
            rules.check_not_trusted_account(key, account, trusted_account_id=self.trusted_account_id)
        if self.target_account_ids:
            check(
                "target_account_id",
                self.target_account_id,
                self.target_account_id in self.target_account_ids,
                "must be one of target_account_ids (it is the client's default account); "
                "list every target in target_account_ids",
            )

    def _check_organization(self) -> None:
        if self.stackset_account_ids and not self.organization_id:
            raise SettingsError(
                "stackset_account_ids", list(self.stackset_account_ids), "only applies with organization_id"
            )
        for i, account in enumerate(self.stackset_account_ids):
            rules.check_not_trusted_account(
                f"stackset_account_ids[{i}]", account, trusted_account_id=self.trusted_account_id
            )
        if bool(self.organization_id) != bool(self.target_organizational_unit_ids):
            missing = "target_organizational_unit_ids" if self.organization_id else "organization_id"
            present = "organization_id" if self.organization_id else "target_organizational_unit_ids"
            raise SettingsError(
                missing, getattr(self, missing) or None, f"is required with {present}: the StackSet needs both"
            )

    def placeholders(self) -> str | None:
        """One warning for values copied from the how-to or the examples (the offline defaults), if any."""
        found = [
            f"{key} {account} (an example account ID)"
            for key, account in (
                ("trusted_account_id", self.trusted_account_id),
                *(("target account", account) for account in self.target_accounts),
            )
            if account in EXAMPLE_ACCOUNT_IDS
        ]
        if any(HOWTO_EXTERNAL_ID in spec.external_ids for spec in self.role_specs):
            found.append(f"external_ids {HOWTO_EXTERNAL_ID} (the how-to's published example, anyone can send it)")
        if not found:
            return None
        return f"replace before a real deployment: {'; '.join(found)}. See the README, First deployment"


class _Number(str):
    """A number as cdk.json spells it."""


#: The files the CDK CLI reads context from, and where in each the context is.
CONTEXT_FILES: Final = {"cdk.json": "context", "cdk.context.json": None}


def check_numbers_reach_the_app(content: bytes, *, source: str = "cdk.json") -> None:
    """Refuse a setting in a context file (its bytes) that the CDK CLI would drop: the CLI reads numbers as
    doubles, and passes none for one beyond their range (nor, inside an object, anything but null), so
    the default would take its place without a word."""
    try:
        # As the CLI reads it: a byte-order mark is skipped, a byte that is not UTF-8 is replaced.
        document = json.loads(content.decode("utf-8-sig", "replace"), parse_int=_Number, parse_float=_Number)
    except (ValueError, RecursionError):
        return  # not JSON, or too deep for Python: the CLI and the app's own reading say so
    where = CONTEXT_FILES.get(source)
    context = document.get(where) if where and isinstance(document, dict) else document
    for key, value in context.items() if isinstance(context, dict) else ():
        if key in Settings.setting_names():
            _check_numbers(key, value, source)


def _check_numbers(key: str, value: Any, source: str) -> None:
    if isinstance(value, _Number) and math.isinf(float(value)):
        raise SettingsError(
            key,
            f"<a number of {len(value)} characters>",
            f"out of range in {source}; the CDK CLI drops such a number and a default would apply",
        )
    if isinstance(value, dict):
        for name, item in value.items():
            _check_numbers(f"{key}.{name}", item, source)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_numbers(f"{key}[{i}]", item, source)


def _unknown(key: str, value: Any, known: Sequence[str]) -> SettingsError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return SettingsError(key, value, f"unknown setting{hint}; known settings: {', '.join(known)}")


_ROLE_FIELDS: Final = {f.name: f for f in fields(RoleSpec)}


def _role_values(context: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The role keys present in ``context``, parsed by their rules, by field name."""
    return {
        name: rule_of(_ROLE_FIELDS[name]).apply(f"{prefix}{key}", context[key], context=True)
        for key, name in _ROLE_KEYS.items()
        if key in context
    }


def _tiers(key: str, value: Any) -> dict[str, dict[str, Any]]:
    """``roles``: tier name -> the role keys it overrides, each validated like its top-level twin."""
    value = declaration.parse_json_string(key, value, dict)
    check(key, value, isinstance(value, Mapping), "must be an object of tier names to role settings")
    tiers: dict[str, dict[str, Any]] = {}
    for tier, overrides in value.items():
        tier_key = f"{key}.{tier}"
        check(
            tier_key,
            tier,
            bool(TIER_NAME_RE.match(tier)),
            "tier names must be 1-32 letters or digits, starting upper-case",
        )
        check(tier_key, overrides, isinstance(overrides, Mapping), "must be an object of role settings")
        for name in overrides:
            if name not in _ROLE_KEYS:
                raise _unknown(f"{tier_key}.{name}", overrides[name], tuple(_ROLE_KEYS))
        tiers[tier] = _role_values(overrides, prefix=f"{tier_key}.")
    return tiers
