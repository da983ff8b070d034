"""Find archive/state YAML blocks inside message text.

Used twice: when a user pastes an archive into a conversation (Forge links it
in real time) and by the importers to rebuild lineage from old exports, where
people pasted "state" blocks by hand. A block counts when it parses (safely)
to a mapping that has at least one of ``archive_id``, ``decisions``,
``threads`` or ``schema: forge-archive/...`` (``archive_id`` may be at the top
or under ``header``).
"""

from __future__ import annotations

import re
from typing import Any

from forge_tui.protocol.spec import SCHEMA_VERSION
from forge_tui.protocol.validate import ArchiveError, safe_yaml, validate_archive

_MARKER_KEYS = ("archive_id", "decisions", "threads")
_BARE_START = re.compile(r"^(?:schema|archive_id|header|decisions|threads)\s*:", re.M)
MAX_BLOCK_BYTES = 500_000


def _archive_id(data: dict) -> str | None:
    header = data.get("header")
    if isinstance(header, dict) and isinstance(header.get("archive_id"), str):
        return header["archive_id"]
    value = data.get("archive_id")
    return value if isinstance(value, str) else None


def _looks_like_archive(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    if any(k in data for k in _MARKER_KEYS):
        return True
    schema = data.get("schema")
    if isinstance(schema, str) and schema.startswith("forge-archive/"):
        return True
    header = data.get("header")
    return isinstance(header, dict) and "archive_id" in header


def _block(data: dict, text: str, start: int, end: int, fenced: bool) -> dict:
    is_forge = data.get("schema") == SCHEMA_VERSION
    issues = validate_archive(data) if is_forge else []
    return {
        "data": data,
        "text": text,
        "start": start,
        "end": end,
        "fenced": fenced,
        "archive_id": _archive_id(data),
        "is_forge_archive": is_forge,
        "valid": is_forge and not issues,
        "issues": [str(i) for i in issues],
    }


def _parse(body: str) -> Any:
    try:
        return safe_yaml(body, max_bytes=MAX_BLOCK_BYTES)
    except ArchiveError:
        return None


#: Bare (unfenced) documents tried per text: each try parses YAML, and a long paste of
#: YAML-looking lines must not turn into thousands of parses.
MAX_BARE_TRIES = 20


def find_archive_blocks(text: str) -> list[dict]:
    """Archive/state blocks in ``text``, in order of appearance.

    Each result is a dict: ``data`` (the parsed mapping), ``text`` (the YAML
    source), ``start``/``end`` (character offsets in ``text``), ``fenced``,
    ``archive_id`` (str or None), ``is_forge_archive`` (schema matches this
    Forge), ``valid`` (a Forge archive that passes ``validate_archive``) and
    ``issues`` (validation problems as strings). Never raises on bad input.

    Linear in the length of ``text``: fences are found by one pass over the lines,
    and a bare document is tried once per region of YAML-looking lines (from its
    first marker line), at most ``MAX_BARE_TRIES`` times.
    """
    if not text:
        return []
    found: list[dict] = []
    covered: list[tuple[int, int]] = []
    for start, body_start, body_end, end, lang in _fences(text):
        covered.append((start, end))
        if lang not in ("", "yaml", "yml") or body_end - body_start > MAX_BLOCK_BYTES:
            continue
        body = text[body_start:body_end]
        data = _parse(body)
        if _looks_like_archive(data):
            found.append(_block(data, body, body_start, body_end, True))
    # Bare documents: outside any fence, from a line starting with a marker key
    # to the end of the text (or a blank line followed by non-indented prose).
    tried_until = -1
    tries = 0
    for m in _BARE_START.finditer(text):
        pos = m.start()
        if pos < tried_until or any(a <= pos < b for a, b in covered):
            continue
        if tries >= MAX_BARE_TRIES:
            break
        tries += 1
        end = _bare_end(text, pos, covered)
        tried_until = end
        body = text[pos:end]
        data = _parse(body)
        if _looks_like_archive(data):
            found.append(_block(data, body, pos, end, False))
            covered.append((pos, end))
    found.sort(key=lambda b: b["start"])
    return found


_OPEN_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)")


def _fences(text: str) -> list[tuple[int, int, int, int, str]]:
    """Fenced blocks as (start, body start, body end, end, language), in one pass over the
    lines. An opening fence closes at the next line of the same fence; one never closed
    is not a block (as the regex it replaces read it)."""
    out: list[tuple[int, int, int, int, str]] = []
    offset = 0
    open_at: tuple[int, int, str, str] | None = None  # (start, body start, fence, lang)
    for line in text.splitlines(keepends=True):
        stripped = line.rstrip("\r\n")
        if open_at is None:
            m = _OPEN_FENCE.match(stripped)
            if m:
                open_at = (offset, offset + len(line), m.group("fence"), m.group("lang").lower())
        elif stripped.rstrip(" \t") == open_at[2]:
            start, body_start, _, lang = open_at
            out.append((start, body_start, offset, offset + len(stripped), lang))
            open_at = None
        offset += len(line)
    return out


def _bare_end(text: str, pos: int, covered: list[tuple[int, int]]) -> int:
    """End of a bare YAML document: the first line that cannot continue it."""
    end = len(text)
    for a, _ in covered:
        if a > pos:
            end = min(end, a)
    offset = pos
    for line in text[pos:end].splitlines(keepends=True):
        stripped = line.strip()
        if offset > pos and stripped and not line[0].isspace() and not _is_yaml_line(stripped):
            return offset
        if stripped in ("---", "..."):
            return offset
        offset += len(line)
    return end


_YAML_LINE = re.compile(r"^(?:-\s|-$|[\w\"'][\w \"'.-]*:(?:\s|$)|#)")


def _is_yaml_line(stripped: str) -> bool:
    return bool(_YAML_LINE.match(stripped))
