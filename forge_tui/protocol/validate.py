"""Check documents against a spec, and load archive YAML without trusting it.

``validate(spec, data)`` is generic; ``validate_archive`` adds the archive's
cross-reference rules (unique D###/T### ids, ``supersedes``/``conflicts_with``
pointing at decisions that exist). Every problem is a ``ValidationIssue`` with
a path such as ``decisions[2].tier``, so a user can find it in the file.

``load_archive_text`` refuses anchors and aliases outright (the "billion laughs"
alias bomb needs them and a real archive never does), caps the input size and
never constructs arbitrary Python objects, and refuses nesting deeper than any archive
(``protocol.safe_yaml``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any


from forge_tui.domain.ids import is_uuid8
from forge_tui.protocol.safe_yaml import YamlRefused, load_plain_yaml
from forge_tui.protocol.spec import ARCHIVE_SPEC, SCHEMA_VERSION, Field, ObjectSpec

MAX_ARCHIVE_BYTES = 2_000_000


@dataclass(frozen=True)
class ValidationIssue:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path or '<document>'}: {self.reason}"


class ArchiveError(ValueError):
    """An archive that cannot be used. ``path`` locates the first problem."""

    def __init__(self, message: str, path: str = "", issues: list[ValidationIssue] | None = None):
        super().__init__(message)
        self.path = path
        self.issues = list(issues or [])


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check_scalar(f: Field, value: Any, path: str, out: list[ValidationIssue]) -> None:
    kind = f.kind
    if kind in ("str", "text"):
        if not isinstance(value, str):
            out.append(ValidationIssue(path, f"expected a string, got {type(value).__name__}"))
            return
        if kind == "str" and ("\n" in value or "\r" in value):
            out.append(ValidationIssue(path, "must be a single line"))
        if f.max_len is not None and len(value) > f.max_len:
            out.append(ValidationIssue(path, f"longer than {f.max_len} characters ({len(value)})"))
        if f.pattern is not None and not re.fullmatch(f.pattern, value):
            out.append(ValidationIssue(path, f"{value[:60]!r} does not match {f.pattern}"))
    elif kind == "float01":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(ValidationIssue(path, f"expected a number 0.0-1.0, got {type(value).__name__}"))
        elif math.isnan(value) or not 0.0 <= value <= 1.0:
            out.append(ValidationIssue(path, f"{value} is outside 0.0-1.0"))
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            out.append(ValidationIssue(path, f"expected an integer, got {type(value).__name__}"))
        elif value < 0 or (f.max_value is not None and value > f.max_value):
            upper = "" if f.max_value is None else f"-{f.max_value}"
            out.append(ValidationIssue(path, f"{value} is outside 0{upper}"))
    elif kind == "enum":
        if value not in f.choices:
            out.append(ValidationIssue(path, f"{value!r} is not one of {', '.join(f.choices)}"))


def _check_field(f: Field, value: Any, path: str, out: list[ValidationIssue]) -> None:
    if f.kind == "object":
        assert f.item is not None
        validate_into(f.item, value, path, out)
    elif f.kind in ("list_object", "list_str"):
        if not isinstance(value, list):
            out.append(ValidationIssue(path, f"expected a list, got {type(value).__name__}"))
            return
        if f.max_items is not None and len(value) > f.max_items:
            out.append(ValidationIssue(path, f"more than {f.max_items} items ({len(value)})"))
        for i, item in enumerate(value):
            item_path = f"{path}[{i}]"
            if f.kind == "list_object":
                assert f.item is not None
                validate_into(f.item, item, item_path, out)
            else:
                _check_scalar(Field(f.name, "str", max_len=f.max_len, pattern=f.pattern), item, item_path, out)
    else:
        _check_scalar(f, value, path, out)


def validate_into(spec: ObjectSpec, data: Any, path: str, out: list[ValidationIssue]) -> None:
    if not isinstance(data, dict):
        out.append(ValidationIssue(path, f"expected a mapping ({spec.name}), got {type(data).__name__}"))
        return
    known = set(spec.names)
    for key in data:
        if key not in known:
            out.append(ValidationIssue(_join(path, str(key)), f"unknown field; {spec.name} has {', '.join(spec.names)}"))
    for f in spec.fields:
        if f.name not in data or data[f.name] is None:
            if f.required:
                out.append(ValidationIssue(_join(path, f.name), "required field is missing"))
            continue
        _check_field(f, data[f.name], _join(path, f.name), out)


def validate(spec: ObjectSpec, data: Any) -> list[ValidationIssue]:
    """All problems of ``data`` against ``spec`` (empty list = valid)."""
    out: list[ValidationIssue] = []
    validate_into(spec, data, "", out)
    return out


def _check_ids(items: Any, key: str, out: list[ValidationIssue]) -> set[str]:
    seen: set[str] = set()
    if not isinstance(items, list):
        return seen
    for i, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            if item["id"] in seen:
                out.append(ValidationIssue(f"{key}[{i}].id", f"duplicate id {item['id']}"))
            seen.add(item["id"])
    return seen


def validate_archive(data: Any) -> list[ValidationIssue]:
    """Schema plus cross-references: unique ids, references to decisions that exist."""
    if isinstance(data, dict) and "schema" in data and data["schema"] != SCHEMA_VERSION:
        return [ValidationIssue("schema", f"unsupported schema version {data['schema']!r}; this Forge reads {SCHEMA_VERSION}")]
    out = validate(ARCHIVE_SPEC, data)
    if not isinstance(data, dict):
        return out
    header = data.get("header")
    if isinstance(header, dict) and isinstance(header.get("archive_id"), str):
        if not is_uuid8(header["archive_id"]):
            out.append(ValidationIssue("header.archive_id", "not a UUIDv8"))
    decision_ids = _check_ids(data.get("decisions"), "decisions", out)
    _check_ids(data.get("threads"), "threads", out)
    decisions = data.get("decisions")
    for i, d in enumerate(decisions if isinstance(decisions, list) else []):
        if not isinstance(d, dict):
            continue
        for key in ("supersedes", "conflicts_with"):
            refs = d.get(key)
            if not isinstance(refs, list):
                continue
            for j, ref in enumerate(refs):
                if isinstance(ref, str) and ref not in decision_ids:
                    out.append(ValidationIssue(f"decisions[{i}].{key}[{j}]", f"{ref} points to no decision in this archive"))
                elif ref == d.get("id"):
                    out.append(ValidationIssue(f"decisions[{i}].{key}[{j}]", "a decision cannot reference itself"))
    return out


def safe_yaml(text: str, max_bytes: int = MAX_ARCHIVE_BYTES) -> Any:
    """Parse untrusted YAML: size cap, no anchors/aliases, bounded nesting, plain data only."""
    if len(text.encode("utf-8", "replace")) > max_bytes:
        raise ArchiveError(f"document is larger than {max_bytes} bytes; archives are small — is this the right file?")
    try:
        return load_plain_yaml(text, fast=False)
    except YamlRefused as exc:
        raise ArchiveError(str(exc), "") from None


def load_archive_text(text: str) -> dict:
    """Parse and validate an archive; raise ``ArchiveError`` (with the path) on any problem."""
    data = safe_yaml(text)
    if not isinstance(data, dict):
        raise ArchiveError(f"an archive is a YAML mapping, this document is a {type(data).__name__}")
    issues = validate_archive(data)
    if issues:
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        raise ArchiveError(f"invalid archive: {issues[0]}{more}", issues[0].path, issues)
    return data
