"""Session tags: --tag KEY=VALUE and --transitive-tag KEY, IAM's rules, and the app's allow_session_tags."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_support import (
    ACCESS_DENIED,
    ROLE_ARN,
    Reply,
    Result,
    StubSts,
    add_source_profile,
    assert_one_line_error,
    sts_error_xml,
)
from tests.test_cli_assume import write_cdk_json

ASSUME = ("assume", "--role-arn", ROLE_ARN, "--session-name", "alice", "--format", "json")


def sent_tags(request: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The tags and transitive keys of one AssumeRole request, as STS's query protocol carries them."""
    tags = {}
    for index in range(1, 51):
        key = request.get(f"Tags.member.{index}.Key")
        if key is None:
            break
        tags[key] = request.get(f"Tags.member.{index}.Value", "")
    transitive = [value for name, value in sorted(request.items()) if name.startswith("TransitiveTagKeys.member.")]
    return tags, transitive


def test_tags_and_transitive_keys_reach_assume_role(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    result = cli_in_process(
        *ASSUME, "--tag", "team=platform", "--tag", "cost-center=4711", "--tag", "note=a b=c", "--transitive-tag",
        "team", env=stub_env,
    )  # fmt: skip
    assert result.code == 0, result.err
    tags, transitive = sent_tags(stub_sts.requests[-1])
    assert tags == {"team": "platform", "cost-center": "4711", "note": "a b=c"}, "the first = splits"
    assert transitive == ["team"]


def test_tags_against_moto(moto_env: dict[str, str], cli_in_process: Callable[..., Result]) -> None:
    result = cli_in_process(*ASSUME, "--tag", "team=platform", "--transitive-tag", "team", env=moto_env)
    assert result.code == 0, result.err
    assert json.loads(result.out)["AccessKeyId"].startswith("ASIA")


def test_other_tags_are_another_cache_entry(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    for tags in ((), ("--tag", "team=a"), ("--tag", "team=b"), ("--tag", "team=b", "--transitive-tag", "team")):
        assert cli_in_process(*ASSUME, *tags, env=stub_env).code == 0
        assert cli_in_process(*ASSUME, *tags, env=stub_env).code == 0
    assert stub_sts.actions().count("AssumeRole") == 4, "each tag set once, then from the cache"


@pytest.mark.parametrize(
    ("flags", "fragments"),
    [
        (("--tag", "team"), ("invalid --tag 'team'", "KEY=VALUE")),
        (("--tag", "=value"), ("--tag", "1-128 characters")),
        (("--tag", "aws:team=x"), ("aws: tag prefix is reserved",)),
        (("--tag", "AWS:team=x"), ("aws: tag prefix is reserved",)),
        (("--tag", "team=a;b"), ("letters, digits, spaces and _.:/=+-@",)),
        (("--tag", "te#am=x"), ("letters, digits, spaces and _.:/=+-@",)),
        (("--tag", "k" * 129 + "=x"), ("1-128 characters",)),
        (("--tag", "team=" + "v" * 257), ("at most 256 characters",)),
        (("--tag", "Team=a", "--tag", "team=b"), ("--tag team: given twice", "ignoring case")),
        (("--tag", "team=a", "--transitive-tag", "owner"), ("--transitive-tag owner", "not among the --tag keys")),
        (("--transitive-tag", "team"), ("--transitive-tag team", "not among the --tag keys")),
        (("--tag", "team=a", "--transitive-tag", "aws:x"), ("aws: tag prefix is reserved",)),
        (("--tag", "team=a\nb"), ("control characters",)),
    ],
)
def test_bad_tags_are_one_line_and_exit_2(
    flags: tuple[str, ...], fragments: tuple[str, ...], stub_sts: StubSts, stub_env: dict[str, str]
) -> None:
    from tests.cli_support import run_cli

    result = run_cli(*ASSUME, *flags, env=stub_env)
    assert_one_line_error(result, *fragments, code=2)
    assert stub_sts.requests == [], "refused before any call"


def test_at_most_50_tags(stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]) -> None:
    fifty = [item for i in range(50) for item in ("--tag", f"k{i}=v")]
    assert cli_in_process(*ASSUME, *fifty, env=stub_env).code == 0
    assert len(sent_tags(stub_sts.requests[-1])[0]) == 50
    result = cli_in_process(*ASSUME, *fifty, "--tag", "k50=v", env=stub_env)
    assert_one_line_error(result, "51 --tag flags", "at most 50 tags", code=2)


def test_the_apps_role_refuses_tags_unless_it_allows_them(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path, cli_in_process: Callable[..., Result]
) -> None:
    app = tmp_path / "app"
    write_cdk_json(app, trusted_account_id="111111111111", target_account_id="222222222222")
    result = cli_in_process("assume", "--tag", "team=a", env=stub_env, cwd=app)
    assert_one_line_error(result, "does not accept session tags", "allow_session_tags is false", "redeploy", code=2)
    assert stub_sts.requests == []

    write_cdk_json(app, allow_session_tags=True, allowed_session_tag_keys=["team", "project"])
    assert cli_in_process("assume", "--tag", "team=a", "--tag", "project=x", env=stub_env, cwd=app).code == 0
    assert sent_tags(stub_sts.requests[-1])[0] == {"team": "a", "project": "x"}
    refused = cli_in_process("assume", "--tag", "Team=a", env=stub_env, cwd=app)
    assert_one_line_error(refused, "--tag Team", "only the session tag keys project, team", "case-sensitive", code=2)

    write_cdk_json(app, allow_session_tags=True)
    assert cli_in_process("assume", "--tag", "anything=goes", env=stub_env, cwd=app).code == 0


def test_a_tier_that_allows_tags_beside_one_that_does_not(
    stub_sts: StubSts, stub_env: dict[str, str], tmp_path: Path, cli_in_process: Callable[..., Result]
) -> None:
    app = tmp_path / "app"
    write_cdk_json(
        app, trusted_account_id="111111111111", roles={"Deploy": {"allow_session_tags": True}, "ReadOnly": {}}
    )
    assert cli_in_process("assume", "--tier", "Deploy", "--tag", "team=a", env=stub_env, cwd=app).code == 0
    result = cli_in_process("assume", "--tier", "ReadOnly", "--tag", "team=a", env=stub_env, cwd=app)
    assert_one_line_error(result, "CrossAccountAccessRole-ReadOnly does not accept session tags", code=2)


def test_a_tag_refusal_by_sts_names_tag_session(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    stub_sts.script["AssumeRole"] = [ACCESS_DENIED]
    result = cli_in_process(*ASSUME, "--tag", "team=a", env=stub_env)
    assert_one_line_error(result, "AccessDenied", "(5)", "sts:TagSession", "team", code=1)


def test_packed_policy_too_large_is_explained(
    stub_sts: StubSts, stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    stub_sts.script["AssumeRole"] = [
        Reply(400, sts_error_xml("PackedPolicyTooLarge", "Packed size of session policy and tags exceeds 100%"))
    ]
    result = cli_in_process(*ASSUME, "--tag", "team=a", env=stub_env)
    assert_one_line_error(result, "PackedPolicyTooLarge", "fewer or shorter tags", code=1)


def test_configure_profile_needs_credential_process_for_tags(
    stub_env: dict[str, str], cli_in_process: Callable[..., Result]
) -> None:
    add_source_profile(Path(stub_env["HOME"]))
    base = ("configure-profile", "tagged", "--source-profile", "account-a", "--role-arn", ROLE_ARN, "--tag", "team=a b")
    refused = cli_in_process(*base, env=stub_env)
    assert_one_line_error(refused, "cannot send session tags", "--credential-process", code=2)
    written = cli_in_process(*base, "--transitive-tag", "team", "--credential-process", env=stub_env)
    assert written.code == 0, written.err
    config = Path(stub_env["AWS_CONFIG_FILE"]).read_text()
    assert "--tag 'team=a b' --transitive-tag team" in config
