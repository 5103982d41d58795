"""configure-profile: write one profile into the AWS config file, touching nothing else.

The file is edited as text, one section, never round-tripped through configparser
(which would drop comments and reformat every other profile). Unchanged keys keep
their line; the write is atomic and keeps the file's mode; the old file is backed up.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shlex
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from cross_account.cli.errors import CliError
from cross_account.cli.files import (
    give,
    home_directory,
    locked,
    make_folders,
    owner_of_new_files,
    read_regular,
    regular_file_or_none,
    write_atomically,
)
from cross_account.cli.sdk_config import check_readable, check_reads_back

#: Marks a profile written by configure-profile, so `exec NAME` finds it (the SDKs ignore keys they do not know).
MARKER_KEY: Final = "cross_account_version"
MARKER_VALUE: Final = "1"

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
    MARKER_KEY,
)

_HEADER: Final = re.compile(r"\s*\[(?P<header>.+)\]")
_KEY_LINE: Final = re.compile(r"(?P<key>[^\s=:#;\[][^=:]*?)\s*[=:]\s*(?P<value>.*?)\s*")


def config_path(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the SDKs read profiles: ``$AWS_CONFIG_FILE``, else ``~/.aws/config``."""
    given = environ.get("AWS_CONFIG_FILE")
    if given:
        # As botocore does; unlike Path.expanduser, it leaves ~ as it is when there is no home folder.
        return Path(os.path.expanduser(given))  # noqa: PTH111
    try:
        return home_directory(environ) / ".aws" / "config"
    except CliError as error:
        raise CliError(f"cannot find the AWS config file: {error}; set AWS_CONFIG_FILE") from None


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


def _profile_of(header: str) -> str | None:
    """The profile a section header names, exactly as botocore's configloader reads it: `default`, or any header
    that starts with "profile" and splits (shell-like) into two words, the second being the name. So
    `[profilex NAME]` and `[profile "NAME"]` are profile NAME, and `[ default]` is no profile."""
    if header.startswith("profile"):
        try:
            parts = shlex.split(header)
        except ValueError:
            return None
        return parts[1] if len(parts) == 2 else None
    return "default" if header == "default" else None


@dataclass(frozen=True)
class _Entry:
    key: str
    value: str
    start: int  # its key line
    end: int  # one past its last continuation line


@dataclass
class _Section:
    header: str  # the text between the brackets
    line: int
    entries: list[_Entry] = field(default_factory=list)


def _sections(lines: Sequence[str]) -> list[_Section]:
    """Every section and its keys, read as botocore reads them (configparser's rules).

    A line indented deeper than the key line above it continues that key's value, even when it looks like
    a key or a header; blank and comment lines in between do not end the value. Any other line is a header
    or a key, however it is indented.
    """
    sections: list[_Section] = []
    level = 0  # indentation of the last line that was not a continuation
    in_value = False  # a key line came after the section's header: deeper lines continue it
    for index, line in enumerate(lines):
        text = line.strip()
        if _blank_or_comment(text):
            continue
        indent = len(line) - len(line.lstrip())
        if in_value and indent > level:
            last = sections[-1].entries[-1]
            sections[-1].entries[-1] = dataclasses.replace(last, end=index + 1)
            continue
        level = indent
        header = _HEADER.match(text)
        key = _KEY_LINE.fullmatch(text)
        if header:
            sections.append(_Section(header["header"], index))
            in_value = False
        elif key and sections:
            sections[-1].entries.append(_Entry(key["key"].strip().lower(), key["value"], index, index + 1))
            in_value = True
    return sections


def update_profile(text: str, profile: str, values: Mapping[str, str | None]) -> str:
    """Return `text` with `profile` holding `values` (``None`` removes a key; keys not given stay as they are).

    Every line outside that one section is kept byte for byte, and so is every key it does not change.
    """
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    section = _locate(lines, profile)
    if section is None:
        return _with_new_section(text, profile, _key_lines(OWNED_KEYS, values, newline), newline)
    edits, done = _replace(lines, section, values, newline)
    missing = _key_lines([key for key in OWNED_KEYS if key not in done], values, newline)
    if missing:
        _insert(lines, section, missing, edits, newline)
    return "".join("".join(edits.get(index, [line])) for index, line in enumerate(lines))


def _key_lines(keys: Sequence[str], values: Mapping[str, str | None], newline: str) -> list[str]:
    return [f"{key} = {values[key]}{newline}" for key in keys if values.get(key) is not None]


def _locate(lines: Sequence[str], profile: str) -> _Section | None:
    matching = [section for section in _sections(lines) if _profile_of(section.header) == profile]
    if len(matching) > 1:
        where = ", ".join(str(section.line + 1) for section in matching)
        raise CliError(
            f"profile {profile} has {len(matching)} sections in the AWS config file (lines {where}), and botocore "
            "reads only the last; merge them first"
        )
    return matching[0] if matching else None


def _with_new_section(text: str, profile: str, key_lines: list[str], newline: str) -> str:
    header = "[default]" if profile == "default" else f"[profile {profile}]"
    if text and not text.endswith("\n"):
        text += newline
    if text.strip() and not text.endswith(("\n\n", "\r\n\r\n")):
        text += newline  # a blank line between sections
    return text + header + newline + "".join(key_lines)


def _replace(
    lines: Sequence[str], section: _Section, values: Mapping[str, str | None], newline: str
) -> tuple[dict[int, list[str]], set[str]]:
    """The section's owned keys set to `values`: {line index: the lines that take its place}, and the keys done.

    A changed key becomes one line at its old indentation (so the lines after it keep their meaning), its
    continuation lines go with it; a removed key, or a second copy of one, goes entirely.
    """
    edits: dict[int, list[str]] = {}
    done: set[str] = set()
    for entry in section.entries:
        if entry.key not in values:
            continue
        desired = values[entry.key]
        span = range(entry.start, entry.end)
        if desired is None or entry.key in done:
            edits.update((index, []) for index in span)
        elif entry.value != desired or len(span) > 1:
            edits.update((index, []) for index in span)
            edits[entry.start] = [f"{_indentation(lines[entry.start])}{entry.key} = {desired}{newline}"]
        done.add(entry.key)
    return edits, done


def _insert(lines: Sequence[str], section: _Section, new: list[str], edits: dict[int, list[str]], newline: str) -> None:
    """Add `new` key lines after the section's last key, before blank lines and comments that lead into the next
    section; indented like that key, or like the line after the header, so no line changes its meaning."""
    if section.entries:
        after, like = section.entries[-1].end - 1, lines[section.entries[-1].start]
    else:
        after = section.line
        like = next((line for line in lines[after + 1 :] if not _blank_or_comment(line.strip())), "")
    indentation = _indentation(like)
    kept = edits.get(after, [lines[after]])
    if kept:
        kept = [*kept[:-1], _terminated(kept[-1], newline)]
    edits[after] = kept + [indentation + line for line in new]


def _blank_or_comment(stripped: str) -> bool:
    return not stripped or stripped[0] in "#;"


def _indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


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
    """Edit `path` (following a symlink to its target), atomically, with a timestamped backup when it changes.

    Only a regular file is read or replaced. Writers take a lock beside the file and re-read it under the
    lock, so concurrent runs each add their profile; the file keeps its owner and group (as root: under sudo),
    or the edit is refused. A file botocore cannot read is refused by line; the result is read back by botocore
    before it replaces the file.
    """
    real = Path(os.path.realpath(path))
    folder_existed = real.parent.is_dir()
    try:
        existing = regular_file_or_none(real)
        make_folders(real.parent)
        owner = (existing.st_uid, existing.st_gid) if existing else owner_of_new_files(real.parent)
        with locked(real.with_name(f".{real.name}.lock"), owner=owner, guards=real):
            return _edit_locked(real, path, profile, values, owner=owner, now=now or datetime.now(UTC))
    except OSError as error:
        what = "write" if folder_existed else "create the folder of"
        raise CliError(f"cannot {what} {path}: {error.strerror or error}") from None


def _edit_locked(
    real: Path,
    shown: Path,
    profile: str,
    values: Mapping[str, str | None],
    *,
    owner: tuple[int, int] | None,
    now: datetime,
) -> WriteResult:
    old = read_regular(real)
    mode = real.stat().st_mode & 0o7777 if old is not None else 0o600
    try:
        text = old.decode("utf-8") if old is not None else ""
    except UnicodeDecodeError:
        raise CliError(f"{shown} is not UTF-8 text; not editing it") from None
    if old is not None:
        check_readable(real, shown)
    new = update_profile(text, profile, values).encode("utf-8")
    if new == old:
        return WriteResult(real, changed=False, backup=None)
    backup = _backup(real, old, mode, now, owner=owner) if old is not None else None
    try:
        _replace_atomically(
            real, new, mode, expected=old, owner=owner, check=lambda t: check_reads_back(t, profile, values)
        )
    except BaseException:
        # The file is unchanged (a full disk, a concurrent edit): a backup of it is only litter.
        if backup is not None:
            with contextlib.suppress(OSError):
                backup.unlink()
        raise
    return WriteResult(real, changed=True, backup=backup)


def _backup(real: Path, data: bytes, mode: int, now: datetime, *, owner: tuple[int, int] | None) -> Path:
    stamp = now.strftime("%Y%m%dT%H%M%S.%fZ")  # sorts in time order, even within a second
    for attempt in range(100):
        suffix = f"-{attempt}" if attempt else ""
        candidate = real.with_name(f"{real.name}.{stamp}{suffix}.bak")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode & 0o777)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as handle:
                give(handle.fileno(), owner, real)
                handle.write(data)
        except BaseException:
            # Never half a backup (a full disk): the file itself is not touched yet.
            with contextlib.suppress(OSError):
                candidate.unlink()
            raise
        return candidate
    raise CliError(f"too many backups of {real} this second; try again")


def _replace_atomically(
    real: Path,
    data: bytes,
    mode: int,
    *,
    expected: bytes | None,
    owner: tuple[int, int] | None = None,
    check: Callable[[Path], None] = lambda _temporary: None,
) -> None:
    def checked_and_unchanged_since_read(temporary: Path) -> None:
        check(temporary)
        # A writer that takes no lock (aws configure, an editor) may have written meanwhile: never drop its change.
        if read_regular(real) != expected:
            raise CliError(f"{real} changed while it was being edited; run the command again")

    write_atomically(
        real,
        data,
        mode=mode,
        prefix=f".{real.name}.",
        suffix=".tmp",
        before_replace=checked_and_unchanged_since_read,
        owner=owner,
    )


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
        MARKER_KEY: MARKER_VALUE,
    }
    if region is not None:
        values["region"] = region
    return values


def credential_process_values(command: str, *, region: str | None) -> dict[str, Any]:
    """A credential_process profile; the role keys go, or the SDKs would assume the role instead."""
    values: dict[str, Any] = {key: None for key in OWNED_KEYS if key != "region"}
    values["credential_process"] = command
    values[MARKER_KEY] = MARKER_VALUE
    if region is not None:
        values["region"] = region
    return values
