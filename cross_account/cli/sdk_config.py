"""The AWS config file as the SDKs read it: botocore's own parser (``botocore.configloader``).

configure-profile edits the file as text; these checks make sure botocore could read it before the
edit, and reads the edited profile back as intended after it. Messages name the line and the rule,
never the line's text (a config file may hold keys).
"""

from __future__ import annotations

import configparser
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cross_account.cli.errors import CliError


def profiles_of(path: Path) -> dict[str, Any]:
    """The profiles botocore reads from `path`; raises botocore's ConfigParseError."""
    from botocore.configloader import build_profile_map, raw_config_parse

    profiles: dict[str, Any] = build_profile_map(raw_config_parse(str(path)))["profiles"]
    return profiles


def check_readable(path: Path, shown: Path) -> None:
    """Refuse, naming the line, a config file that botocore itself cannot read (`shown` is the name given)."""
    from botocore.exceptions import ConfigParseError

    try:
        profiles_of(path)
    except ConfigParseError as error:
        raise CliError(
            f"{shown} cannot be read by the AWS SDKs ({describe(error.kwargs.get('error'))}); fix that first: "
            "nothing was written"
        ) from None


def check_reads_back(path: Path, profile: str, values: Mapping[str, str | None]) -> None:
    """The edited file at `path` gives `profile` exactly `values` (``None``: absent), as botocore reads it."""
    from botocore.exceptions import ConfigParseError

    try:
        read = profiles_of(path).get(profile, {})
    except ConfigParseError as error:
        read, problem = {}, describe(error.kwargs.get("error"))
    else:
        wrong = sorted(key for key, value in values.items() if read.get(key) != value)
        problem = f"keys {', '.join(wrong)} would read otherwise" if wrong else ""
    if problem:
        raise CliError(f"the edited config would not read back as written ({problem}); nothing was written")


def describe(error: object) -> str:
    """configparser's complaint, by line number and rule, without the text of the line."""
    if isinstance(error, configparser.MissingSectionHeaderError):
        if error.lineno == 1 and error.line.startswith("\ufeff"):
            return "line 1: it starts with a byte-order mark (BOM); save it as UTF-8 without BOM"
        return f"line {error.lineno}: text before the first [section] header"
    if isinstance(error, configparser.DuplicateSectionError):
        return f"line {error.lineno}: section [{error.section}] appears a second time"
    if isinstance(error, configparser.DuplicateOptionError):
        return f"line {error.lineno}: key {error.option} appears twice in section [{error.section}]"
    if isinstance(error, configparser.ParsingError):
        lines = [str(lineno) for lineno, _ in error.errors]
        more = f" (and line {', '.join(lines[1:4])})" if len(lines) > 1 else ""
        return f"line {lines[0]}: neither key = value, nor a [section] header, nor indented under a key{more}"
    if isinstance(error, UnicodeDecodeError):
        return f"byte {error.start}: not UTF-8 text"
    if isinstance(error, ValueError):
        return "an indented block under a key holds a line without '='"
    return type(error).__name__
