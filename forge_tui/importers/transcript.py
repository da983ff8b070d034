"""Parser for generic transcripts: JSON, JSONL or YAML.

Accepted shapes (the simplest way to bring any conversation in):

* a list of messages ``[{role, content, timestamp?, name?}, ...]`` -> one conversation
  (``name``: who spoke, kept in the message's ``source``);
* an object ``{title?, project?, messages: [...]}`` -> one conversation;
* a list of such objects, or JSONL with one such object per line -> several.

``forge export --format json`` writes the object shape with ``source`` and
message ``id`` fields, so an export re-imports to the same IDs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterator

from forge_tui.importers.model import (
    ImportInputError,
    ParsedConversation,
    ParsedMessage,
    ParseStream,
    Skip,
    as_text,
    parse_timestamp,
)
from forge_tui.importers.readers import decode_text, drain, guarded, loads_json, loads_jsonl, loads_yaml, read_bytes

SOURCE = "transcript"
_ROLES = {
    "user": "user", "human": "user", "me": "user",
    "assistant": "assistant", "ai": "assistant", "bot": "assistant", "model": "assistant", "claude": "assistant",
    "system": "system",
}
_TIME_KEYS = ("timestamp", "created_at", "time", "date")


def load_transcript(path: str | Path) -> Any:
    path = Path(path).expanduser()
    where = str(path)
    suffix = path.suffix.lower()
    data = read_bytes(path)
    if suffix == ".json":
        return loads_json(data, where)
    text = decode_text(data, where)
    del data
    if suffix in (".jsonl", ".ndjson"):
        return loads_jsonl(text, where)
    if suffix in (".yaml", ".yml"):
        return loads_yaml(text, where)
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            return loads_json(text.encode("utf-8"), where)
        except ImportInputError:
            if "\n{" in stripped:
                return loads_jsonl(text, where)
            raise
    return loads_yaml(text, where)


def parse_transcript(path: str | Path) -> ParseStream:
    data = load_transcript(path)
    name = Path(path).name
    return iter_transcript(data, name)


def iter_transcript(data: Any, name: str = "transcript") -> ParseStream:
    if isinstance(data, dict):
        if isinstance(data.get("conversations"), list):
            yield from _many(data["conversations"], name)
            return
        if "messages" not in data:
            raise ImportInputError(f"{name}: an object transcript needs a `messages` list ({{title?, project?, messages: [...]}}).")
        yield from guarded(lambda obj, _: _parse_one(obj, name), data, 1)
        return
    if isinstance(data, list):
        if data and all(isinstance(x, dict) and "messages" in x for x in data):
            yield from _many(data, name)
            return
        yield from guarded(lambda obj, _: _parse_one(obj, name), {"messages": data}, 1)
        return
    raise ImportInputError(
        f"{name}: expected a list of {{role, content}} messages or an object with `messages`, "
        f"got {type(data).__name__}."
    )


def _many(items: list[Any], name: str) -> ParseStream:
    def parse(item: Any, i: int) -> ParseStream:
        if not isinstance(item, dict):
            yield Skip(f"{name} conversation #{i}", "not an object with `messages`", whole=True)
            return
        yield from _parse_one(item, f"{name} #{i}")

    return drain(items, parse)


def _parse_one(obj: dict[str, Any], label: str) -> Iterator[ParsedConversation | Skip]:
    raw_messages = obj.get("messages")
    title = as_text(obj.get("title"))
    where = f"{label} '{title}'" if title else label
    if not isinstance(raw_messages, list):
        yield Skip(where, "`messages` is not a list", whole=True)
        return
    messages: list[ParsedMessage] = []
    for i, raw in enumerate(raw_messages):
        msg, skip = _parse_message(raw, i, where)
        if skip:
            yield skip
        if msg:
            messages.append(msg)
    if not messages:
        yield Skip(where, "no messages with text", whole=True)
        return
    source, source_id = _identity(obj, messages)
    project = as_text(obj.get("project"))
    yield ParsedConversation(
        source_id=source_id,
        title=title or _title_from(messages),
        created_at=parse_timestamp(obj.get("created_at")) or messages[0].created_at,
        updated_at=parse_timestamp(obj.get("updated_at")) or messages[-1].created_at,
        project=project or None,
        messages=messages,
        source=source,
        extra=_source_extra(obj),
        system_prompt=_own_system_prompt(obj),
    )


def _own_system_prompt(obj: dict[str, Any]) -> str | None:
    """``system_prompt``, unless the export says it was its project's default (that stays the project's)."""
    text = obj.get("system_prompt")
    if not isinstance(text, str) or not text.strip() or obj.get("system_prompt_from") == "project":
        return None
    return text.strip()


def _source_extra(obj: dict[str, Any]) -> dict[str, Any]:
    src = obj.get("source")
    if isinstance(src, dict) and src.get("kind") and src.get("id"):
        return {k: v for k, v in src.items() if k not in ("kind", "id")}
    return {}


def _identity(obj: dict[str, Any], messages: list[ParsedMessage]) -> tuple[str, str]:
    """(source kind, source id): the original importer's when the file is a Forge export,
    else the object's ``id``, else a hash of the first message (stable across appends)."""
    src = obj.get("source")
    if isinstance(src, dict) and src.get("kind") and src.get("id"):
        return str(src["kind"]), str(src["id"])
    if obj.get("id"):
        return SOURCE, str(obj["id"])
    first = messages[0]
    seed = f"{first.role}|{first.content}|{first.created_at.isoformat() if first.created_at else ''}"
    return SOURCE, "sha:" + hashlib.sha256(seed.encode("utf-8", "replace")).hexdigest()[:16]


def _parse_message(raw: Any, i: int, where: str) -> tuple[ParsedMessage | None, Skip | None]:
    at = f"{where} message #{i + 1}"
    if not isinstance(raw, dict):
        return None, Skip(at, "not a {role, content} object")
    role = _ROLES.get(str(raw.get("role") or raw.get("sender") or "").lower())
    if role is None:
        return None, Skip(at, f"unknown role {raw.get('role')!r} (use user, assistant or system)")
    content = raw.get("content", raw.get("text"))
    if isinstance(content, list):  # OpenAI-style content parts
        content = "\n\n".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    if content is None or not str(content).strip():
        return None, Skip(at, "message has no text")
    stamp = next((raw[k] for k in _TIME_KEYS if raw.get(k) is not None), None)
    extra: dict[str, Any] = {}
    for key in ("labels", "model"):
        if raw.get(key):
            extra[key] = raw[key]
    if isinstance(raw.get("name"), str) and raw["name"].strip():
        extra["name"] = raw["name"].strip()  # the speaker (OpenAI-style ``name``), kept in ``source``
    src = raw.get("source")
    if isinstance(src, dict) and src.get("id"):
        msg_id = str(src["id"])  # a Forge export: keep the original source identity
        extra.update({k: v for k, v in src.items() if k not in ("kind", "id")})
    else:
        msg_id = str(raw["id"]) if raw.get("id") else None
    return ParsedMessage(msg_id, role, str(content), parse_timestamp(stamp), extra), None


def _title_from(messages: list[ParsedMessage]) -> str:
    for m in messages:
        if m.role == "user":
            line = m.content.strip().splitlines()[0] if m.content.strip() else ""
            return (line[:60] + "…") if len(line) > 60 else line or "Imported transcript"
    return "Imported transcript"
