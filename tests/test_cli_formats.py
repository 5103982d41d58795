"""Output formats of `assume`, parsed back by their consumers: a POSIX shell, json, botocore."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from cross_account.cli.credentials import Credentials, iso8601, parse_iso8601
from cross_account.cli.formats import render

EXPIRATION = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def credentials(**overrides: object) -> Credentials:
    values: dict[str, object] = {
        "access_key_id": "ASIAFORMATEXAMPLE001",
        "secret_access_key": "se/cr+et=Key",
        "session_token": "To+ken/with=padding==",
        "expiration": EXPIRATION,
        "role_arn": "arn:aws:iam::222222222222:role/CrossAccountAccessRole",
        "session_name": "alice",
        "assumed_role_arn": "arn:aws:sts::222222222222:assumed-role/CrossAccountAccessRole/alice",
        "region": "eu-west-1",
    }
    values.update(overrides)
    return Credentials(**values)  # type: ignore[arg-type]


def eval_in_sh(script: str, *names: str, env: dict[str, str] | None = None) -> dict[str, str | None]:
    """`eval` the text in /bin/sh, then report each variable (None when unset)."""
    report = "; ".join(f'if [ -n "${{{n}+x}}" ]; then printf "%s=%s\\0" {n} "${n}"; fi' for n in names)
    completed = subprocess.run(
        ["/bin/sh", "-c", f'eval "$1"; {report}', "sh", script],
        capture_output=True,
        check=True,
        env=env or {"PATH": "/usr/bin:/bin"},
    )
    found = dict(item.split("=", 1) for item in completed.stdout.decode().split("\0") if item)
    return {name: found.get(name) for name in names}


def test_env_format_evals_to_the_credentials_and_unsets_aws_profile() -> None:
    text = render(credentials(), "env")
    values = eval_in_sh(
        text,
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        env={"PATH": "/usr/bin:/bin", "AWS_PROFILE": "account-a"},
    )
    assert values == {
        "AWS_ACCESS_KEY_ID": "ASIAFORMATEXAMPLE001",
        "AWS_SECRET_ACCESS_KEY": "se/cr+et=Key",
        "AWS_SESSION_TOKEN": "To+ken/with=padding==",
        "AWS_CREDENTIAL_EXPIRATION": "2030-01-02T03:04:05Z",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        # The JS SDK (the CDK CLI) would prefer the profile over the exported keys.
        "AWS_PROFILE": None,
    }


def test_env_format_is_safe_to_eval_with_hostile_values(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = f"x' ; touch {marker} ; echo '$(touch {marker}) `touch {marker}` \" \\ $HOME"
    text = render(credentials(secret_access_key=hostile, session_token="a b\tc"), "env")
    values = eval_in_sh(text, "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    assert values == {"AWS_SECRET_ACCESS_KEY": hostile, "AWS_SESSION_TOKEN": "a b\tc"}
    assert not marker.exists()


def test_env_format_leaves_region_alone_when_unknown() -> None:
    values = eval_in_sh(
        render(credentials(region=None), "env"),
        "AWS_REGION",
        env={"PATH": "/usr/bin:/bin", "AWS_REGION": "ap-south-1"},
    )
    assert values == {"AWS_REGION": "ap-south-1"}


def test_json_format_round_trips() -> None:
    document = json.loads(render(credentials(), "json"))
    assert document["AccessKeyId"] == "ASIAFORMATEXAMPLE001"
    assert document["SecretAccessKey"] == "se/cr+et=Key"
    assert document["SessionToken"] == "To+ken/with=padding=="
    assert document["Expiration"] == "2030-01-02T03:04:05Z"
    assert document["RoleSessionName"] == "alice"
    assert Credentials.from_dict(document).to_dict() == document


def test_credential_process_format_is_version_1_and_botocore_accepts_it() -> None:
    from botocore.credentials import ProcessProvider

    text = render(credentials(), "credential-process")
    document = json.loads(text)
    assert document == {
        "Version": 1,
        "AccessKeyId": "ASIAFORMATEXAMPLE001",
        "SecretAccessKey": "se/cr+et=Key",
        "SessionToken": "To+ken/with=padding==",
        "Expiration": "2030-01-02T03:04:05Z",
    }

    # botocore's own parser of credential_process output, fed through a real process.
    class FakeProfileLoader:
        def __call__(self) -> dict[str, object]:
            return {"profiles": {"p": {"credential_process": f"/bin/echo {json.dumps(text.strip())}"}}}

    provider = ProcessProvider(profile_name="p", load_config=FakeProfileLoader())
    loaded = provider.load()
    frozen = loaded.get_frozen_credentials()
    assert (frozen.access_key, frozen.secret_key, frozen.token) == (
        "ASIAFORMATEXAMPLE001",
        "se/cr+et=Key",
        "To+ken/with=padding==",
    )


def test_expiration_is_utc_iso8601_from_any_zone() -> None:
    eastern = EXPIRATION.astimezone(timezone(timedelta(hours=-5)))
    assert iso8601(eastern) == "2030-01-02T03:04:05Z"
    assert parse_iso8601("2030-01-02T03:04:05Z") == EXPIRATION
    with pytest.raises(ValueError):
        parse_iso8601("2030-01-02T03:04:05")


def test_repr_hides_secret_and_token() -> None:
    text = repr(credentials())
    assert "se/cr+et=Key" not in text and "To+ken" not in text
    assert "ASIAFORMATEXAMPLE001" in text and "hidden" in text


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render(credentials(), "yaml")
