"""The settings contract: defaults, -c parsing, and every validation error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cross_account.declaration import SettingsError
from cross_account.rules import (
    validate_account_id,
    validate_duration,
    validate_external_id,
    validate_profile_name,
    validate_role_arn,
    validate_session_name,
)
from cross_account.settings import HOWTO_ACTIONS, Settings
from harness.synth import cdk_json_context


def test_defaults_match_the_contract() -> None:
    settings = Settings.from_context({})
    assert settings.trusted_account_id == "111111111111"
    assert settings.target_account_id == "222222222222"
    assert settings.region == "us-east-1"
    assert settings.role.role_name == "CrossAccountAccessRole"
    assert settings.role.role_path == "/"
    assert settings.role.external_ids == ("12345678TESTID",)
    assert settings.role.require_mfa is False
    assert settings.role.max_session_duration_seconds == 3600
    assert settings.role.allowed_actions == HOWTO_ACTIONS
    assert settings.role.allowed_resources == ("*",)


def test_cdk_json_states_the_defaults() -> None:
    # cdk.json documents the contract; it must not drift from the code's defaults.
    assert Settings.from_context(cdk_json_context()) == Settings.from_context({})


def test_cdk_owned_context_keys_are_not_ours_to_reject() -> None:
    context = {
        "@aws-cdk/aws-iam:minimizePolicies": True,
        "aws:cdk:enable-path-metadata": True,
        "availability-zones:account=222222222222:region=us-east-1": ["us-east-1a"],
        "acknowledged-issue-numbers": [1234],
    }
    assert Settings.from_context(context) == Settings.from_context({})


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        # -c delivers everything as strings: lists and objects as JSON, bools as true/false.
        ({"external_ids": '["abcdef12", "other-id"]'}, {"external_ids": ("abcdef12", "other-id")}),
        ({"external_ids": "[]"}, {"external_ids": ()}),
        ({"require_mfa": "true", "mfa_max_age_seconds": "900"}, {"require_mfa": True, "mfa_max_age_seconds": 900}),
        ({"require_source_identity": "false"}, {"require_source_identity": False}),
        ({"max_session_duration_seconds": "43200"}, {"max_session_duration_seconds": 43200}),
        ({"tags": '{"team": "platform"}'}, {"tags": {"team": "platform"}}),
        ({"role_path": "/cross-account/"}, {"role_path": "/cross-account/"}),
        ({"principal_org_id": "o-abcdefghij"}, {"principal_org_id": "o-abcdefghij"}),
        ({"principal_org_id": ""}, {"principal_org_id": None}),
        (
            {"trusted_principal_arns": '["arn:aws:iam::111111111111:role/Deployer"]'},
            {"trusted_principal_arns": ("arn:aws:iam::111111111111:role/Deployer",)},
        ),
        ({"trusted_account_id": "011111111111"}, {"trusted_account_id": "011111111111"}),
    ],
)
def test_context_values_are_parsed(context: dict[str, Any], expected: dict[str, Any]) -> None:
    settings = Settings.from_context(context)
    for key, value in expected.items():
        assert getattr(settings if hasattr(settings, key) else settings.role, key) == value


BAD_SETTINGS = [
    # (context, key named in the error, a fragment of the rule)
    ({"external_idz": '["x1"]'}, "external_idz", "did you mean external_ids?"),
    ({"roleName": "X"}, "roleName", "known settings: trusted_account_id"),
    ({"trusted_account_id": "12345"}, "trusted_account_id", "exactly 12 digits"),
    ({"trusted_account_id": 111111111111}, "trusted_account_id", "leading zeros"),
    ({"target_account_id": "22222222222a"}, "target_account_id", "exactly 12 digits"),
    ({"target_account_id": "111111111111"}, "target_account_id", "must differ from trusted_account_id"),
    ({"region": "mars-1"}, "region", "AWS region"),
    ({"role_name": ""}, "role_name", "1-64 characters"),
    ({"role_name": "x" * 65}, "role_name", "1-64 characters"),
    ({"role_name": "bad name"}, "role_name", "letters, digits"),
    ({"role_name": "Rolé"}, "role_name", "letters, digits"),  # \w must mean ASCII
    ({"role_path": "no-slashes"}, "role_path", "start and end with '/'"),
    ({"role_path": "/a b/"}, "role_path", "printable ASCII"),
    ({"role_path": "/" + "a" * 511 + "/"}, "role_path", "1-512"),
    ({"role_description": "d" * 1001}, "role_description", "at most 1000"),
    ({"external_ids": "12345678TESTID"}, "external_ids", "must be a JSON list"),
    ({"external_ids": '["x"]'}, "external_ids[0]", "2-1224 characters"),
    ({"external_ids": '["has space"]'}, "external_ids[0]", "2-1224 characters"),
    ({"external_ids": '["ok-id", "ok-id"]'}, "external_ids[1]", "duplicates"),
    ({"external_ids": ["e" * 1225]}, "external_ids[0]", "2-1224"),
    ({"external_ids": [12345678]}, "external_ids[0]", "must be a string"),
    ({"require_mfa": "yes"}, "require_mfa", "true or false"),
    ({"require_mfa": 1}, "require_mfa", "true or false"),
    ({"mfa_max_age_seconds": "3600"}, "mfa_max_age_seconds", "only applies with require_mfa=true"),
    ({"require_mfa": True, "mfa_max_age_seconds": "0"}, "mfa_max_age_seconds", "between 1 and 129600"),
    ({"require_mfa": True, "mfa_max_age_seconds": "soon"}, "mfa_max_age_seconds", "must be an integer"),
    ({"max_session_duration_seconds": "3599"}, "max_session_duration_seconds", "between 3600 and 43200"),
    ({"max_session_duration_seconds": 43201}, "max_session_duration_seconds", "between 3600 and 43200"),
    ({"max_session_duration_seconds": True}, "max_session_duration_seconds", "must be an integer"),
    ({"trusted_principal_arns": '["*"]'}, "trusted_principal_arns[0]", "wildcard principal"),
    (
        {"trusted_principal_arns": '["arn:aws:iam::333333333333:user/mallory"]'},
        "trusted_principal_arns[0]",
        "in the trusted account 111111111111",
    ),
    ({"trusted_principal_arns": '["arn:aws:iam::111111111111:root"]'}, "trusted_principal_arns[0]", "user or role"),
    ({"trusted_principal_arns": '"arn:aws:iam::111111111111:user/a"'}, "trusted_principal_arns", "JSON list"),
    ({"trusted_principal_arns": "[not json"}, "trusted_principal_arns", "must be a JSON list"),
    ({"principal_org_id": "org-123"}, "principal_org_id", "o-[a-z0-9]{10,32}"),
    ({"require_source_identity": "maybe"}, "require_source_identity", "true or false"),
    ({"allowed_actions": '["*"]'}, "allowed_actions[0]", "administrator access"),
    ({"allowed_actions": '["s3"]'}, "allowed_actions[0]", "service:Action"),
    ({"allowed_actions": "[]"}, "allowed_actions", "would grant nothing"),
    ({"allowed_resources": '["bucket"]'}, "allowed_resources[0]", "'*' or an ARN"),
    ({"allowed_resources": "[]"}, "allowed_resources", "at least one resource"),
    ({"managed_policy_arns": '["ReadOnlyAccess"]'}, "managed_policy_arns[0]", "managed policy ARN"),
    ({"permissions_boundary_arn": "arn:aws:iam::aws:role/x"}, "permissions_boundary_arn", "managed policy ARN"),
    ({"assumers_group_name": "a/b"}, "assumers_group_name", "1-128 characters"),
    ({"tags": "[1]"}, "tags", "object of tag keys"),
    ({"tags": '{"aws:owner": "x"}'}, "tags.aws:owner", "reserved"),
    ({"tags": '{"team": 1}'}, "tags.team", "must be strings"),
    ({"tags": '{"team": "' + "v" * 257 + '"}'}, "tags.team", "at most 256"),
    ({"local": "1"}, "local", "true or false"),
]


@pytest.mark.parametrize(("context", "key", "rule"), BAD_SETTINGS, ids=[case[1] for case in BAD_SETTINGS])
def test_bad_settings_name_key_value_and_rule(context: dict[str, Any], key: str, rule: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_context(context)
    error = caught.value
    assert error.key == key
    assert rule in error.rule
    message = str(error)
    assert message.startswith(f"invalid setting {key}=")
    assert rule in message


@pytest.mark.parametrize(
    ("seconds", "role_max", "chaining", "rule"),
    [
        (899, None, False, "between 900 and 43200"),
        (43201, None, False, "between 900 and 43200"),
        (7200, 3600, False, "MaxSessionDuration of 3600"),
        (7200, 43200, True, "role chaining"),
    ],
)
def test_assume_role_duration_rules(seconds: int, role_max: int | None, chaining: bool, rule: str) -> None:
    with pytest.raises(SettingsError, match=rule):
        validate_duration("--duration", seconds, role_max=role_max, role_chaining=chaining)


def test_assume_role_duration_within_limits() -> None:
    assert validate_duration("--duration", "3600", role_max=3600, role_chaining=True) == 3600


@pytest.mark.parametrize(
    ("arn", "partition", "account", "path", "name"),
    [
        ("arn:aws:iam::222222222222:role/CrossAccountAccessRole", "aws", "222222222222", "/", "CrossAccountAccessRole"),
        ("arn:aws-cn:iam::222222222222:role/team/app/Deploy", "aws-cn", "222222222222", "/team/app/", "Deploy"),
        ("arn:aws-iso-b:iam::022222222222:role/x@y", "aws-iso-b", "022222222222", "/", "x@y"),
    ],
)
def test_role_arns_parse(arn: str, partition: str, account: str, path: str, name: str) -> None:
    match = validate_role_arn("--role-arn", arn)
    assert (match["partition"], match["account"], match["path"], match["name"]) == (partition, account, path, name)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::2222:role/X",
        "arn:aws:iam::222222222222:user/X",
        "arn:aws:sts::222222222222:role/X",
        "arn:azure:iam::222222222222:role/X",
        "arn:aws:iam::222222222222:role/" + "x" * 65,
        "CrossAccountAccessRole",
    ],
)
def test_bad_role_arns_are_rejected(arn: str) -> None:
    with pytest.raises(SettingsError, match="must be a role ARN"):
        validate_role_arn("--role-arn", arn)


# --- scale: many targets, tiers, organization-wide ------------------------------------

ORG = {"organization_id": "o-abcdefghij", "target_organizational_unit_ids": '["ou-ab12-abcdefgh"]'}
TIERS = '{"ReadOnly": {"allowed_actions": ["s3:Get*"], "require_mfa": true}, "Deploy": {"role_name": "Deployer"}}'


def test_target_accounts_default_to_the_single_target() -> None:
    assert Settings.from_context({}).target_accounts == ("222222222222",)
    many = Settings.from_context({"target_account_ids": '["222222222222", "333333333333"]'})
    assert many.target_accounts == ("222222222222", "333333333333")


def test_without_tiers_there_is_one_role_made_of_the_top_level_settings() -> None:
    (spec,) = Settings.from_context({"require_mfa": "true"}).role_specs
    assert spec.tier is None
    assert (spec.role_name, spec.assumers_group_name, spec.require_mfa) == (
        "CrossAccountAccessRole",
        "CrossAccountAssumers",
        True,
    )


def test_tiers_inherit_unset_keys_and_get_their_own_names() -> None:
    settings = Settings.from_context({"roles": TIERS, "external_ids": '["shared-id"]'})
    read_only, deploy = settings.role_specs
    assert (read_only.tier, read_only.role_name, read_only.assumers_group_name) == (
        "ReadOnly",
        "CrossAccountAccessRole-ReadOnly",
        "CrossAccountAssumers-ReadOnly",
    )
    assert read_only.allowed_actions == ("s3:Get*",)
    assert read_only.require_mfa is True
    assert (deploy.role_name, deploy.require_mfa, deploy.allowed_actions) == ("Deployer", False, HOWTO_ACTIONS)
    assert read_only.external_ids == deploy.external_ids == ("shared-id",)


def test_organization_settings_parse() -> None:
    settings = Settings.from_context(ORG)
    assert settings.organization_wide
    assert settings.target_organizational_unit_ids == ("ou-ab12-abcdefgh",)
    assert (settings.stackset_call_as, settings.stackset_failure_tolerance_percentage) == ("SELF", 10)


BAD_SCALE_SETTINGS = [
    ({"target_account_ids": '["2222"]'}, "target_account_ids[0]", "exactly 12 digits"),
    ({"target_account_ids": '["222222222222", "111111111111"]'}, "target_account_ids[1]", "must differ from trusted"),
    ({"target_account_ids": '["333333333333"]'}, "target_account_id", "must be one of target_account_ids"),
    ({"target_account_ids": '["222222222222", "222222222222"]'}, "target_account_ids[1]", "duplicates"),
    ({"roles": '["ReadOnly"]'}, "roles", "object of tier names"),
    ({"roles": '{"read-only": {}}'}, "roles.read-only", "tier names must be"),
    ({"roles": '{"ReadOnly": {"allowed_action": ["s3:Get*"]}}'}, "roles.ReadOnly.allowed_action", "did you mean"),
    ({"roles": '{"ReadOnly": {"region": "eu-west-1"}}'}, "roles.ReadOnly.region", "unknown setting"),
    ({"roles": '{"ReadOnly": {"allowed_actions": ["*"]}}'}, "roles.ReadOnly.allowed_actions[0]", "administrator"),
    ({"roles": '{"ReadOnly": {"mfa_max_age_seconds": 60}}'}, "roles.ReadOnly.mfa_max_age_seconds", "require_mfa"),
    ({"roles": '{"ReadOnly": {"allowed_actions": []}}'}, "roles.ReadOnly.allowed_actions", "grant nothing"),
    (
        {"roles": '{"A": {"role_name": "Same"}, "B": {"role_name": "same"}}'},
        "roles.B.role_name",
        "unique, ignoring case",
    ),
    (
        {"roles": '{"A": {"assumers_group_name": "G"}, "B": {"assumers_group_name": "G"}}'},
        "roles.B.assumers_group_name",
        "unique",
    ),
    (
        {"roles": '{"A": {"trusted_principal_arns": ["arn:aws:iam::333333333333:user/x"]}}'},
        "roles.A.trusted_principal_arns[0]",
        "trusted account",
    ),
    ({"organization_id": "o-abc"}, "organization_id", "o-[a-z0-9]{10,32}"),
    ({"organization_id": "o-abcdefghij"}, "target_organizational_unit_ids", "is required with organization_id"),
    ({"target_organizational_unit_ids": '["ou-ab12-abcdefgh"]'}, "organization_id", "required"),
    ({**ORG, "target_organizational_unit_ids": '["ou-x"]'}, "target_organizational_unit_ids[0]", "OU ID"),
    ({**ORG, "stackset_name": "1set"}, "stackset_name", "start with a letter"),
    ({"stackset_account_ids": '["333333333333"]'}, "stackset_account_ids", "only applies with organization_id"),
    ({**ORG, "stackset_account_ids": '["111111111111"]'}, "stackset_account_ids[0]", "must differ from trusted"),
    ({**ORG, "stackset_account_ids": '["3333"]'}, "stackset_account_ids[0]", "12 digits"),
    ({**ORG, "stackset_call_as": "ADMIN"}, "stackset_call_as", "SELF, DELEGATED_ADMIN"),
    ({**ORG, "stackset_failure_tolerance_percentage": "101"}, "stackset_failure_tolerance_percentage", "0 and 100"),
    ({**ORG, "stackset_max_concurrent_percentage": "0"}, "stackset_max_concurrent_percentage", "1 and 100"),
]


@pytest.mark.parametrize(("context", "key", "rule"), BAD_SCALE_SETTINGS, ids=[c[1] for c in BAD_SCALE_SETTINGS])
def test_bad_scale_settings(context: dict[str, Any], key: str, rule: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_context(context)
    assert (caught.value.key, rule in caught.value.rule) == (key, True), str(caught.value)


@pytest.mark.parametrize(
    ("validator", "value"),
    [
        (validate_external_id, "12345678TESTID\n"),
        (validate_account_id, "222222222222\n"),
        (validate_session_name, "alice\n"),
        (validate_profile_name, "deploy\n"),
    ],
)
def test_a_trailing_newline_is_not_accepted(validator: Any, value: str) -> None:
    # `$` would match before a final newline; the patterns end in \Z.
    with pytest.raises(SettingsError):
        validator("key", value)


REVIEW_CASES = [
    # Names built for tiers are checked like the names given.
    ({"role_name": "R" * 60, "roles": '{"Deploy": {}}'}, "roles.Deploy.role_name", "1-64 characters"),
    ({"assumers_group_name": "G" * 125, "roles": '{"Deploy": {}}'}, "roles.Deploy.assumers_group_name", "1-128"),
    # More explicit targets than a group's policies can name.
    (
        {
            "target_account_ids": json.dumps([f"{300000000000 + i:012d}" for i in range(900)]),
            "target_account_id": "300000000000",
        },
        "target_account_ids",
        "grant organization-wide instead",
    ),
    # A typo with a colon is still a typo.
    ({"external_ids:": '["abc123"]'}, "external_ids:", "did you mean external_ids?"),
    # Administrator-equivalent wildcards.
    ({"allowed_actions": '["iam:*"]'}, "allowed_actions[0]", "a wildcard in iam:"),
    ({"allowed_actions": '["STS:*"]'}, "allowed_actions[0]", "service:Action"),
    (
        {"roles": '{"Admin": {"allowed_actions": ["sts:*"]}}'},
        "roles.Admin.allowed_actions[0]",
        "a wildcard in sts:",
    ),
    # IAM's character rules for descriptions and tags.
    ({"role_description": "emoji \U0001f600"}, "role_description", "Latin-1"),
    ({"tags": '{"a\\nb": "x"}'}, "tags.a\nb", "letters, digits, spaces"),
    ({"tags": '{"team": "a;b"}'}, "tags.team", "letters, digits, spaces"),
]


@pytest.mark.parametrize(("context", "key", "rule"), REVIEW_CASES, ids=[c[1] for c in REVIEW_CASES])
def test_rules_found_in_review(context: dict[str, Any], key: str, rule: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_context(context)
    assert (caught.value.key, rule in caught.value.rule) == (key, True), str(caught.value)


def test_tags_and_descriptions_accept_what_iam_accepts() -> None:
    settings = Settings.from_context(
        {"tags": '{"équipe": "plateforme 42", "cost-center": "a.b/c=d+e@f:g_h"}', "role_description": "Zugriff für A\n"}
    )
    assert settings.role.tags["équipe"] == "plateforme 42"


def test_a_role_path_over_512_characters_is_refused_whatever_the_name() -> None:
    with pytest.raises(SettingsError, match="at most 512"):
        validate_role_arn("--role-arn", "arn:aws:iam::222222222222:role/" + "a" * 570 + "/R")
