"""list: the roles the app's settings define (accounts x tiers), what each requires of a caller, and the AWS config
profiles that point at them. Offline: nothing is called."""

from __future__ import annotations

import itertools
import json
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cross_account.cli.roles import AppRole, app_role, app_role_named
from cross_account.rules import partition_of
from cross_account.settings import RoleSpec, Settings


@dataclass
class Row:
    """One role: an account and a tier."""

    app: AppRole
    account: str
    profiles: list[str] = field(default_factory=list)

    @property
    def spec(self) -> RoleSpec:
        return self.app.spec


def rows(settings: Settings, profiles: Mapping[str, Mapping[str, Any]]) -> list[Row]:
    """Every target account x tier, in the settings' order; for an organization-wide app, also the accounts that
    profiles point at. Each row names the profiles (sorted) whose role_arn, or credential_process --role-arn, is its
    role (in any partition)."""
    partition = partition_of(settings.region)
    found: dict[tuple[str, str | None], Row] = {}
    for account in settings.target_accounts:
        for spec in settings.role_specs:
            app = app_role(settings, account=account, tier=spec.tier, partition=partition)
            found[(account, spec.tier)] = Row(app, account)
    for name, profile in sorted(profiles.items()):
        for arn in _role_arns_of(profile):
            named = app_role_named(settings, arn)
            if named is None:
                continue
            account = arn.split(":")[4]
            row = found.setdefault((account, named.spec.tier), Row(named, account))
            if name not in row.profiles:
                row.profiles.append(name)
    return list(found.values())


def _role_arns_of(profile: Mapping[str, Any]) -> Iterable[str]:
    """The role a profile assumes: its role_arn, or the --role-arn of its credential_process command."""
    arn = profile.get("role_arn")
    if isinstance(arn, str):
        yield arn.strip()
    command = profile.get("credential_process")
    if isinstance(command, str):
        try:
            words = shlex.split(command)
        except ValueError:
            return
        yield from (value for flag, value in itertools.pairwise(words) if flag == "--role-arn")


def command(row: Row, settings: Settings) -> str:
    """How to assume it with this client, from the app's folder."""
    words = ["cross-account", "assume"]
    if row.account != settings.target_account_id:
        words += ["--account", row.account]
    if row.spec.tier is not None:
        words += ["--tier", row.spec.tier]
    if row.spec.caller.mfa:
        words += ["--mfa-serial", "ARN"]
    return " ".join(words)


def as_json(settings: Settings, source: Path, found: Sequence[Row]) -> str:
    document = {
        "settings": str(source),
        "trusted_account_id": settings.trusted_account_id,
        "region": settings.region,
        "organization_id": settings.organization_id,
        "roles": [
            {
                "account": row.account,
                "tier": row.spec.tier,
                "role_arn": row.app.role_arn,
                "assumers_group": row.spec.assumers_group_name,
                "max_session_duration_seconds": row.spec.max_session_duration_seconds,
                **row.spec.caller.as_json(),
                "profiles": row.profiles,
                "command": command(row, settings),
            }
            for row in found
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def as_text(settings: Settings, source: Path, found: Sequence[Row]) -> str:
    scope = f", organization {settings.organization_id}" if settings.organization_wide else ""
    lines = [f"roles of the app in {source} (trusted account {settings.trusted_account_id}{scope}):"]
    table = [("ACCOUNT", "TIER", "ROLE", "REQUIRES", "PROFILES")]
    table += [
        (
            row.account,
            row.spec.tier or "-",
            row.app.role_arn,
            ", ".join(row.spec.caller.described()) or "-",
            ", ".join(row.profiles) or "-",
        )
        for row in found
    ]
    lines += _aligned(table)
    others = "  (--account and --tier pick the others)" if len(found) > 1 else ""
    lines.append(f"assume it: {command(found[0], settings)}{others}")
    return "\n".join(lines) + "\n"


def _aligned(table: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(cells[i]) for cells in table) for i in range(len(table[0]))]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(cells)).rstrip() for cells in table]
