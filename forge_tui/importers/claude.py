"""Parser for the official Claude data export (``.zip``, extracted folder, or ``conversations.json``).

Each conversation is ``{uuid, name, created_at, updated_at, chat_messages}``; each
message ``{uuid, sender, text, content: [blocks], attachments, files, created_at}``.
Every block's text is kept: tool calls are rendered as a readable heading plus the
JSON input in a fenced block, tool results fenced; attachments keep their
``extracted_content``. Source uuids go in ``extra`` (stored as the turn's ``source``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator

from forge_tui.importers.model import (
    ImportInputError,
    ParsedConversation,
    ParsedMessage,
    ParseStream,
    Skip,
    as_dict,
    as_list,
    as_text,
    parse_timestamp,
)
from forge_tui.importers.readers import drain
from forge_tui.importers.streaming import JsonExport, open_json_export

SOURCE = "claude"
_ROLES = {"human": "user", "user": "user", "assistant": "assistant"}


def load_claude_export(path: str | Path) -> Iterable[Any]:
    """The conversations of a zip, a folder or a conversations.json: streamed (and checked
    end to end before anything is returned) when the export is the usual JSON array."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ImportInputError(f"{path} does not exist. Give the Claude export .zip, its folder or conversations.json.")
    if path.is_dir():
        candidates = sorted(path.rglob("conversations.json"))
        if not candidates:
            raise ImportInputError(
                f"{path} has no conversations.json: not an extracted Claude export. "
                "Export from claude.ai (Settings > Privacy > Export data) and give the .zip or its folder."
            )
        path = candidates[0]
    data = open_json_export(path, not_an_export=(
        f"{path} is a zip without conversations.json: not a Claude data export. "
        "Give the .zip downloaded from claude.ai's data export."
    ))
    return data if isinstance(data, JsonExport) else _require_list(data, str(path))


def _require_list(data: Any, where: str) -> list[Any]:
    if isinstance(data, dict) and isinstance(data.get("conversations"), list):
        data = data["conversations"]
    if not isinstance(data, list):
        raise ImportInputError(
            f"{where}: expected a list of conversations (Claude's conversations.json), got {type(data).__name__}."
        )
    return data


def parse_claude(path: str | Path) -> ParseStream:
    """Stream the conversations of a Claude export. Raises ImportInputError before
    yielding anything if the input as a whole is unusable."""
    return iter_claude_conversations(load_claude_export(path))


def iter_claude_conversations(conversations: Iterable[Any]) -> ParseStream:
    """Consumes the list as it goes, so the raw JSON is freed conversation by conversation."""
    return drain(conversations, _parse_conversation)


def _parse_conversation(raw: Any, index: int) -> Iterator[ParsedConversation | Skip]:
    if not isinstance(raw, dict) or not as_text(raw.get("uuid")):
        yield Skip(f"conversation #{index}", "not a Claude conversation object (no uuid)", whole=True)
        return
    uuid = as_text(raw["uuid"])
    title = as_text(raw.get("name")) or "Untitled"
    label = f"conversation '{title}' ({uuid[:8]})"
    messages: list[ParsedMessage] = []
    for pos, msg in enumerate(as_list(raw.get("chat_messages"))):
        parsed, skips = _parse_message(msg, pos, label)
        for skip in skips:
            yield skip
        if parsed is not None:
            messages.append(parsed)
    if not messages:
        yield Skip(label, "no messages with text", whole=True)
        return
    project_name = as_text(as_dict(raw.get("project")).get("name")) or None
    yield ParsedConversation(
        source_id=uuid,
        title=title,
        created_at=parse_timestamp(raw.get("created_at")) or messages[0].created_at,
        updated_at=parse_timestamp(raw.get("updated_at")) or messages[-1].created_at,
        project=project_name,
        messages=messages,
        source=SOURCE,
        extra={k: raw[k] for k in ("summary",) if raw.get(k)},
    )


def _parse_message(msg: Any, pos: int, label: str) -> tuple[ParsedMessage | None, list[Skip]]:
    if not isinstance(msg, dict):
        return None, [Skip(f"{label} message #{pos + 1}", "not a message object")]
    where = f"{label} message {str(msg.get('uuid') or '#' + str(pos + 1))[:8]}"
    role = _ROLES.get(str(msg.get("sender", "")).lower())
    if role is None:
        return None, [Skip(where, f"unknown sender {msg.get('sender')!r}")]
    skips: list[Skip] = []
    blocks = msg.get("content")
    parts: list[str] = []
    if isinstance(blocks, list) and blocks:
        for block in blocks:
            text, reason = render_block(block)
            if text:
                parts.append(text)
            elif reason:
                skips.append(Skip(where, reason))
    else:
        if msg.get("text"):
            parts.append(str(msg["text"]))
    for att in as_list(msg.get("attachments")):
        rendered = _render_attachment(att)
        if rendered:
            parts.append(rendered)
    files = [as_text(f.get("file_name")) for f in as_list(msg.get("files")) if isinstance(f, dict)]
    files = [f for f in files if f]
    if files:
        parts.append("_Files: " + ", ".join(files) + "_")
    content = "\n\n".join(p for p in parts if p.strip())
    if not content.strip():
        skips.append(Skip(where, "message has no text"))
        return None, skips
    message_uuid = as_text(msg.get("uuid")) or None
    extra: dict[str, Any] = {"uuid": message_uuid}
    if files:
        extra["files"] = files
    return (
        ParsedMessage(
            source_id=message_uuid,
            role=role,
            content=content,
            created_at=parse_timestamp(msg.get("created_at")),
            extra=extra,
        ),
        skips,
    )


def render_block(block: Any) -> tuple[str, str | None]:
    """Readable text for one content block, or ("", reason) when it holds nothing importable."""
    if not isinstance(block, dict):
        return "", "content block is not an object"
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text") or ""), None
    if kind == "tool_use":
        name = block.get("name") or "tool"
        payload = json.dumps(block.get("input", {}), ensure_ascii=False, indent=2, sort_keys=True)
        return f"**Tool call** `{name}`\n```json\n{payload}\n```", None
    if kind == "tool_result":
        name = block.get("name")
        heading = f"**Tool result** `{name}`" if name else "**Tool result**"
        if block.get("is_error"):
            heading += " (error)"
        body = _tool_result_text(block.get("content"))
        return f"{heading}\n```\n{body}\n```", None
    if kind == "thinking":
        thought = block.get("thinking") or block.get("text") or ""
        return (f"<thinking>\n{thought}\n</thinking>" if thought else ""), None
    text = block.get("text")
    if isinstance(text, str) and text.strip():
        return text, None
    return "", f"unknown content block type {kind!r} with no text"


def _tool_result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for item in content:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                out.append(item["text"])
            else:
                out.append(json.dumps(item, ensure_ascii=False))
        return "\n".join(out)
    if content is None:
        return ""
    return json.dumps(content, ensure_ascii=False, indent=2)


def _render_attachment(att: Any) -> str:
    if not isinstance(att, dict):
        return ""
    name = att.get("file_name") or "attachment"
    extracted = att.get("extracted_content")
    if not extracted:
        return f"_Attachment: {name}_"
    return f"**Attachment** `{name}`\n```\n{extracted}\n```"
