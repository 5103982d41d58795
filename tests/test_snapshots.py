"""The app's templates, compared with committed copies: a refactor must not change them.

A change that alters a template on purpose updates the copies in the same commit:
    UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_snapshots.py -o addopts=""
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from harness.synth import synth

SNAPSHOTS = Path(__file__).parent / "snapshots"

#: The default app, one that turns on every role option, tiers, several accounts and the StackSet, and
#: one with both CI deployers.
CASES: dict[str, dict[str, Any]] = {
    "default": {},
    "ci": {
        "github_oidc": '{"repositories": [{"repository": "octo/app", "repository_id": 892317, "branches": ["main"]}]}',
        "gitlab_oidc": '{"repositories": [{"repository": "group/app", "tags": ["v1"]}]}',
    },
    "everything": {
        "target_account_ids": '["222222222222", "333333333333"]',
        "require_mfa": "true",
        "mfa_max_age_seconds": "3600",
        "require_source_identity": "true",
        "trusted_principal_arns": '["arn:aws:iam::111111111111:user/alice"]',
        "principal_org_id": "o-a1b2c3d4e5",
        "max_session_duration_seconds": "7200",
        "managed_policy_arns": '["arn:aws:iam::aws:policy/ReadOnlyAccess"]',
        "permissions_boundary_arn": "arn:aws:iam::222222222222:policy/Boundary",
        "role_description": "Deploys from account A",
        "role_path": "/cross/",
        "tags": '{"team": "platform"}',
        "roles": '{"ReadOnly": {"allowed_actions": ["s3:Get*"], "require_mfa": false, "mfa_max_age_seconds": ""},'
        ' "Deploy": {}}',
        "organization_id": "o-a1b2c3d4e5",
        "target_organizational_unit_ids": '["ou-ab12-cdefgh34"]',
    },
}


def _normalized(template: dict[str, Any]) -> dict[str, Any]:
    # The StackSet embeds the role stack as a JSON string: compare it as JSON, so a diff is readable.
    for resource in template.get("Resources", {}).values():
        body = resource.get("Properties", {}).get("TemplateBody")
        if isinstance(body, str):
            resource["Properties"]["TemplateBody"] = json.loads(body)
    return template


@pytest.mark.parametrize("case", sorted(CASES))
def test_templates_match_the_committed_snapshot(case: str) -> None:
    app = synth(CASES[case])
    for stack_id in sorted(app.templates):
        got = _normalized(app.template(stack_id))
        path = SNAPSHOTS / case / f"{stack_id}.json"
        if os.environ.get("UPDATE_SNAPSHOTS") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        assert path.exists(), f"no snapshot {path.relative_to(SNAPSHOTS.parent)}: run with UPDATE_SNAPSHOTS=1"
        assert got == json.loads(path.read_text()), f"{case}/{stack_id} changed; update the snapshot on purpose"
    committed = {p.stem for p in (SNAPSHOTS / case).glob("*.json")}
    assert committed == set(app.templates), "a stack was added or removed"
