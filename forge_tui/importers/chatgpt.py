"""Parser for the ChatGPT data export (``conversations.json``, or the zip holding it).

A conversation stores every edit and regeneration as a tree (``mapping``: node id ->
``{message, parent, children}``). The branch the user last saw ends at
``current_node``: walking ``parent`` links up from it and reversing gives that
branch in order. System, hidden and empty nodes are skipped.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Any, Iterator

from forge_tui.importers.model import (
    ImportInputError,
    ParsedConversation,
    ParsedMessage,
    ParseStream,
    Skip,
    parse_timestamp,
)
from forge_tui.importers.readers import loads_json, read_bytes, drain

SOURCE = "chatgpt"
#: Content the ChatGPT UI does not show in the conversation (custom instructions, reasoning).
_HIDDEN_CONTENT = {"user_editable_context", "thoughts", "reasoning_recap", "model_editable_context"}


def load_chatgpt_export(path: str | Path) -> list[Any]:
    path = Path(path).expanduser()
    if not path.exists():
        raise ImportInputError(f"{path} does not exist. Give the ChatGPT export .zip, its folder or conversations.json.")
    if path.is_dir():
        path = path / "conversations.json"
        if not path.exists():
            raise ImportInputError(f"{path.parent} has no conversations.json: not an extracted ChatGPT export.")
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                names = sorted((n for n in zf.namelist() if n.rsplit("/", 1)[-1] == "conversations.json"), key=len)
                if not names:
                    raise ImportInputError(f"{path} is a zip without conversations.json: not a ChatGPT data export.")
                data = loads_json(zf.read(names[0]), f"{path}:{names[0]}")
        except zipfile.BadZipFile as exc:
            raise ImportInputError(f"{path} is a damaged zip ({exc}); download the export again.") from None
    else:
        data = loads_json(read_bytes(path), str(path))
    if isinstance(data, dict) and "mapping" in data:
        data = [data]
    if not isinstance(data, list):
        raise ImportInputError(f"{path}: expected a list of ChatGPT conversations, got {type(data).__name__}.")
    return data


def parse_chatgpt(path: str | Path) -> ParseStream:
    return iter_chatgpt_conversations(load_chatgpt_export(path))


def iter_chatgpt_conversations(conversations: list[Any]) -> ParseStream:
    return drain(conversations, _parse_conversation)


def current_branch(mapping: dict[str, Any], current_node: str | None) -> list[dict[str, Any]]:
    """Nodes from the root to ``current_node``. Without ``current_node``, follows the last
    child at each step from the root (the newest regeneration)."""
    if current_node is None or current_node not in mapping:
        roots = [k for k, n in mapping.items() if not (n or {}).get("parent") or n["parent"] not in mapping]
        if not roots:
            return []
        node_id = roots[0]
        while True:
            children = [c for c in (mapping.get(node_id) or {}).get("children") or [] if c in mapping]
            if not children:
                break
            node_id = children[-1]
        current_node = node_id
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    node_id: str | None = current_node
    while node_id is not None and node_id in mapping and node_id not in seen:
        seen.add(node_id)
        node = mapping[node_id] or {}
        chain.append(node)
        node_id = node.get("parent")
    chain.reverse()
    return chain


def _parse_conversation(raw: Any, index: int) -> Iterator[ParsedConversation | Skip]:
    if not isinstance(raw, dict) or not isinstance(raw.get("mapping"), dict):
        yield Skip(f"conversation #{index}", "not a ChatGPT conversation object (no mapping)", whole=True)
        return
    title = (raw.get("title") or "").strip() or "Untitled"
    source_id = raw.get("conversation_id") or raw.get("id")
    if not source_id:
        seed = f"{title}|{raw.get('create_time')}"
        source_id = "sha:" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:16]
    label = f"conversation '{title}' ({str(source_id)[:8]})"
    messages: list[ParsedMessage] = []
    for node in current_branch(raw["mapping"], raw.get("current_node")):
        msg = node.get("message")
        if not isinstance(msg, dict):
            continue  # the synthetic root node
        parsed, skip = _parse_message(msg, label)
        if skip is not None:
            yield skip
        if parsed is not None:
            messages.append(parsed)
    if not messages:
        yield Skip(label, "no messages with text on the current branch", whole=True)
        return
    yield ParsedConversation(
        source_id=str(source_id),
        title=title,
        created_at=parse_timestamp(raw.get("create_time")) or messages[0].created_at,
        updated_at=parse_timestamp(raw.get("update_time")) or messages[-1].created_at,
        project=None,
        messages=messages,
        source=SOURCE,
        extra={k: raw[k] for k in ("default_model_slug",) if raw.get(k)},
    )


def _parse_message(msg: dict[str, Any], label: str) -> tuple[ParsedMessage | None, Skip | None]:
    author = msg.get("author") or {}
    role = author.get("role")
    meta = msg.get("metadata") or {}
    mid = str(msg.get("id") or "")
    where = f"{label} message {mid[:8]}"
    if role == "system" or meta.get("is_visually_hidden_from_conversation") or msg.get("weight") == 0:
        return None, None  # hidden scaffolding, not part of what the user saw
    content = msg.get("content") or {}
    if content.get("content_type") in _HIDDEN_CONTENT:
        return None, None
    text, reason = _content_text(content)
    if not text.strip():
        return None, Skip(where, reason or "message has no text")
    recipient = msg.get("recipient")
    if role == "tool":
        name = author.get("name") or "tool"
        text = f"**Tool result** `{name}`\n```\n{text}\n```"
        role = "assistant"
    elif role == "assistant" and recipient and recipient != "all":
        text = f"**Tool call** `{recipient}`\n```\n{text}\n```"
    if role not in ("user", "assistant"):
        return None, Skip(where, f"unknown author role {role!r}")
    extra = {"id": mid} if mid else {}
    if meta.get("model_slug"):
        extra["model"] = meta["model_slug"]
    return ParsedMessage(mid or None, role, text, parse_timestamp(msg.get("create_time")), extra), None


def _content_text(content: dict[str, Any]) -> tuple[str, str | None]:
    ctype = content.get("content_type", "text")
    if isinstance(content.get("parts"), list):
        pieces = []
        for part in content["parts"]:
            if isinstance(part, str):
                pieces.append(part)
            elif isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    pieces.append(part["text"])
                elif part.get("content_type") == "image_asset_pointer":
                    pieces.append("_[image]_")
        return "\n\n".join(p for p in pieces if p), None
    if isinstance(content.get("text"), str):
        return content["text"], None
    if content:
        return "", f"unknown content type {ctype!r} with no text"
    return "", None
