"""configure-profile: write one profile into the AWS config file, touching nothing else.

The file is edited as text, one section, never round-tripped through configparser
(which would drop comments and reformat every other profile). Unchanged keys keep
their line; the write is atomic and keeps the file's mode; the old file is backed up.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from cross_account import settings
from cross_account.cli.errors import CliError, from_settings_error
from cross_account.cli.files import write_atomically
from cross_account.settings import SettingsError

#: Keys this command owns in a profile. Any other key (output, cli_pager, …) is left alone.
OWNED_KEYS: Final = (
    "role_arn",
    "source_profile",
    "external_id",
    "mfa_serial",
    "duration_seconds",
    "role_session_name",
    "credential_process",
    "region",
)

_HEADER: Final = re.compile(r"\s*\[(?P<header>.+)\]")
_KEY_LINE: Final = re.compile(r"(?P<key>[^\s=:#;\[][^=:]*?)\s*[=:]\s*(?P<value>.*?)\s*")


def validate_profile_name(key: str, value: str) -> str:
    """Profile names go into a `[profile NAME]` header and into credential_process: no spaces, brackets or quotes."""
    try:
        return settings.validate_profile_name(key, value)
    except SettingsError as error:
        raise from_settings_error(error) from None


def config_path(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the SDKs read profiles: ``$AWS_CONFIG_FILE``, else ``~/.aws/config``."""
    return Path(environ.get("AWS_CONFIG_FILE") or "~/.aws/config").expanduser()


def self_command() -> list[str]:
    """How credential_process should start this client: an absolute path, as SDKs may run it with another PATH."""
    script = Path(sys.executable).parent / "cross-account"
    if script.is_file():
        return [str(script)]
    found = shutil.which("cross-account")
    if found:
        return [str(Path(found).absolute())]
    return [sys.executable, "-m", "cross_account.cli"]


def credential_process_line(arguments: Sequence[str]) -> str:
    """One shell-quoted command: botocore splits it with shlex, the JS SDK hands it to a shell."""
    line = " ".join(shlex.quote(argument) for argument in arguments)
    # Both INI readers take ` #` or ` ;` as the start of a comment (the JS one even inside a value).
    if re.search(r"\s[#;]", line):
        raise CliError("the credential_process command would contain ' #' or ' ;', which INI readers cut off")
    return line


def _section_name(line: str) -> str | None:
    # An indented line continues the value above it (configparser), even when it looks like a header.
    match = _HEADER.match(line)
    return match["header"] if match and line.startswith("[") else None


def _profile_of(header: str) -> str | None:
    """The profile a section header names, the way botocore reads it (`default`, or `profile NAME`)."""
    header = header.strip()
    if header == "default":
        return "default"
    if header.startswith("profile"):
        try:
            parts = shlex.split(header)
        except ValueError:
            return None
        if len(parts) == 2 and parts[0] == "profile":
            return parts[1]
    return None


@dataclass(frozen=True)
class _Entry:
    key: str
    value: str
    start: int  # first line
    end: int  # one past its last continuation line


def _entries(lines: Sequence[str], start: int, end: int) -> list[_Entry]:
    entries: list[_Entry] = []
    for index in range(start, end):
        line = lines[index]
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if line[0] in " \t" and entries:
            # An indented line continues the value above (configparser's rule), e.g. nested s3 settings.
            last = entries[-1]
            entries[-1] = _Entry(last.key, last.value, last.start, index + 1)
            continue
        match = _KEY_LINE.fullmatch(line.rstrip("\r\n"))
        if match:
            entries.append(_Entry(match["key"].strip().lower(), match["value"], index, index + 1))
    return entries


def update_profile(text: str, profile: str, values: Mapping[str, str | None]) -> str:
    """Return `text` with `profile` holding `values` (``None`` removes a key; keys not given stay as they are).

    Every line outside that one section is kept byte for byte.
    """
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    names = {i: _section_name(line) for i, line in enumerate(lines)}
    headers = [i for i, name in names.items() if name is not None]
    matching = [i for i in headers if _profile_of(names[i] or "") == profile]
    if len(matching) > 1:
        raise CliError(f"profile {profile} has {len(matching)} sections in the AWS config file; merge them first")
    wanted = [f"{key} = {values[key]}{newline}" for key in OWNED_KEYS if values.get(key) is not None]

    if not matching:
        header = "[default]" if profile == "default" else f"[profile {profile}]"
        prefix = text
        if prefix and not prefix.endswith("\n"):
            prefix += newline
        if prefix.strip() and not prefix.endswith(("\n\n", "\r\n\r\n")):
            prefix += newline  # a blank line between sections
        return prefix + header + newline + "".join(wanted)

    start = matching[0] + 1
    end = next((i for i in headers if i > matching[0]), len(lines))
    entries = _entries(lines, start, end)
    replacement: dict[int, list[str]] = {}  # first line of an entry -> its new lines
    dropped: set[int] = set()
    done: set[str] = set()
    for entry in entries:
        if entry.key not in values:
            continue
        desired = values[entry.key]
        span = set(range(entry.start, entry.end))
        if desired is None or entry.key in done:
            dropped |= span
        elif entry.value != desired or entry.end - entry.start > 1:
            dropped |= span
            replacement[entry.start] = [f"{entry.key} = {desired}{newline}"]
        done.add(entry.key)
    missing = [
        f"{key} = {values[key]}{newline}" for key in OWNED_KEYS if values.get(key) is not None and key not in done
    ]
    # New keys go after the section's last key, before blank lines and comments that lead into the next section.
    insert_after = entries[-1].end - 1 if entries else matching[0]

    out: list[str] = lines[:start]
    if insert_after == matching[0] and missing:
        out[-1] = _terminated(out[-1], newline)
        out += missing
    for index in range(start, end):
        if index in replacement:
            out += replacement[index]
        elif index not in dropped:
            out.append(lines[index])
        if index == insert_after and missing:
            if out:
                out[-1] = _terminated(out[-1], newline)
            out += missing
    out += lines[end:]
    return "".join(out)


def _terminated(line: str, newline: str) -> str:
    return line if line.endswith("\n") else line + newline


@dataclass(frozen=True)
class WriteResult:
    path: Path
    changed: bool
    backup: Path | None


def write_profile(
    path: Path, profile: str, values: Mapping[str, str | None], *, now: datetime | None = None
) -> WriteResult:
    """Edit `path` (following a symlink to its target), atomically, with a timestamped backup when it changes."""
    real = Path(os.path.realpath(path))
    try:
        old = real.read_bytes()
        mode = real.stat().st_mode & 0o7777
    except FileNotFoundError:
        old, mode = None, 0o600
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror}") from None
    try:
        text = old.decode("utf-8") if old is not None else ""
    except UnicodeDecodeError:
        raise CliError(f"{path} is not UTF-8 text; not editing it") from None
    new = update_profile(text, profile, values).encode("utf-8")
    if new == old:
        return WriteResult(real, changed=False, backup=None)

    try:
        real.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        backup = _backup(real, old, mode, now or datetime.now(UTC)) if old is not None else None
        _replace_atomically(real, new, mode, expected=old)
    except OSError as error:
        raise CliError(f"cannot write {path}: {error.strerror or error}") from None
    return WriteResult(real, changed=True, backup=backup)


def _backup(real: Path, data: bytes, mode: int, now: datetime) -> Path:
    stamp = now.strftime("%Y%m%dT%H%M%S.%fZ")  # sorts in time order, even within a second
    for attempt in range(100):
        suffix = f"-{attempt}" if attempt else ""
        candidate = real.with_name(f"{real.name}.{stamp}{suffix}.bak")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & 0o777)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return candidate
    raise CliError(f"too many backups of {real} this second; try again")


def _replace_atomically(real: Path, data: bytes, mode: int, *, expected: bytes | None) -> None:
    def unchanged_since_read() -> None:
        # Someone else (aws configure, an editor) may have written meanwhile: never drop their change.
        current = real.read_bytes() if real.exists() else None
        if current != expected:
            raise CliError(f"{real} changed while it was being edited; run the command again")

    write_atomically(real, data, mode=mode, prefix=f".{real.name}.", suffix=".tmp", before_replace=unchanged_since_read)


def profile_values(
    *,
    source_profile: str,
    role_arn: str,
    external_id: str | None,
    mfa_serial: str | None,
    duration: int | None,
    session_name: str | None,
    region: str | None,
) -> dict[str, Any]:
    """A role profile: the SDKs assume the role themselves, and refresh it."""
    values: dict[str, Any] = {
        "role_arn": role_arn,
        "source_profile": source_profile,
        "external_id": external_id,
        "mfa_serial": mfa_serial,
        "duration_seconds": str(duration) if duration is not None else None,
        "role_session_name": session_name,
        "credential_process": None,
    }
    if region is not None:
        values["region"] = region
    return values


def credential_process_values(command: str, *, region: str | None) -> dict[str, Any]:
    """A credential_process profile; the role keys go, or the SDKs would assume the role instead."""
    values: dict[str, Any] = {key: None for key in OWNED_KEYS if key != "region"}
    values["credential_process"] = command
    if region is not None:
        values["region"] = region
    return values
