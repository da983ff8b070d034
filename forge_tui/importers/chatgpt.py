"""Parser for the ChatGPT data export (``conversations.json``, or the zip holding it).

A conversation stores every edit and regeneration as a tree (``mapping``: node id ->
``{message, parent, children}``). The branch the user last saw ends at
``current_node``: walking ``parent`` links up from it and reversing gives that
branch in order. System, hidden and empty nodes are skipped.
"""

from __future__ import annotations

import hashlib
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

SOURCE = "chatgpt"
#: Content the ChatGPT UI does not show in the conversation (custom instructions, reasoning).
_HIDDEN_CONTENT = {"user_editable_context", "thoughts", "reasoning_recap", "model_editable_context"}


def load_chatgpt_export(path: str | Path) -> Iterable[Any]:
    """The conversations of a zip, a folder or a conversations.json (streamed, see Claude's)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ImportInputError(f"{path} does not exist. Give the ChatGPT export .zip, its folder or conversations.json.")
    if path.is_dir():
        path = path / "conversations.json"
        if not path.exists():
            raise ImportInputError(f"{path.parent} has no conversations.json: not an extracted ChatGPT export.")
    data = open_json_export(path, not_an_export=f"{path} is a zip without conversations.json: not a ChatGPT data export.")
    if isinstance(data, JsonExport):
        return data
    if isinstance(data, dict) and "mapping" in data:
        data = [data]
    if not isinstance(data, list):
        raise ImportInputError(f"{path}: expected a list of ChatGPT conversations, got {type(data).__name__}.")
    return data


def parse_chatgpt(path: str | Path) -> ParseStream:
    return iter_chatgpt_conversations(load_chatgpt_export(path))


def iter_chatgpt_conversations(conversations: Iterable[Any]) -> ParseStream:
    return drain(conversations, _parse_conversation)


def current_branch(mapping: dict[str, Any], current_node: str | None) -> list[dict[str, Any]]:
    """Nodes from the root to ``current_node``. Without ``current_node``, follows the last
    child at each step from the root (the newest regeneration)."""
    if not isinstance(current_node, str) or current_node not in mapping:
        roots = [k for k, n in mapping.items() if _parent(n) not in mapping]
        if not roots:
            return []
        node_id = roots[0]
        seen_down: set[str] = {node_id}
        while True:
            children = [c for c in as_list(as_dict(mapping.get(node_id)).get("children"))
                        if isinstance(c, str) and c in mapping and c not in seen_down]
            if not children:
                break
            node_id = children[-1]
            seen_down.add(node_id)
        current_node = node_id
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    walk: str | None = current_node
    while walk is not None and walk in mapping and walk not in seen:
        seen.add(walk)
        node = as_dict(mapping[walk])
        chain.append(node)
        walk = _parent(node)
    chain.reverse()
    return chain


def _parent(node: Any) -> str | None:
    parent = as_dict(node).get("parent")
    return parent if isinstance(parent, str) and parent else None


def _parse_conversation(raw: Any, index: int) -> Iterator[ParsedConversation | Skip]:
    if not isinstance(raw, dict) or not isinstance(raw.get("mapping"), dict):
        yield Skip(f"conversation #{index}", "not a ChatGPT conversation object (no mapping)", whole=True)
        return
    title = as_text(raw.get("title")) or "Untitled"
    source_id = as_text(raw.get("conversation_id")) or as_text(raw.get("id"))
    if not source_id:
        seed = f"{title}|{raw.get('create_time')}"
        source_id = "sha:" + hashlib.sha256(seed.encode("utf-8", "replace")).hexdigest()[:16]
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
    author = as_dict(msg.get("author"))
    role = author.get("role")
    meta = as_dict(msg.get("metadata"))
    mid = as_text(msg.get("id"))
    where = f"{label} message {mid[:8]}"
    if role == "system" or meta.get("is_visually_hidden_from_conversation") or msg.get("weight") == 0:
        return None, None  # hidden scaffolding, not part of what the user saw
    content = as_dict(msg.get("content"))
    if as_text(content.get("content_type")) in _HIDDEN_CONTENT:
        return None, None
    text, reason = _content_text(content)
    if not text.strip():
        return None, Skip(where, reason or "message has no text")
    recipient = msg.get("recipient")
    if role == "tool":
        name = as_text(author.get("name")) or "tool"
        text = f"**Tool result** `{name}`\n```\n{text}\n```"
        role = "assistant"
    elif role == "assistant" and isinstance(recipient, str) and recipient and recipient != "all":
        text = f"**Tool call** `{recipient}`\n```\n{text}\n```"
    if role not in ("user", "assistant"):
        return None, Skip(where, f"unknown author role {role!r}")
    extra = {"id": mid} if mid else {}
    if as_text(meta.get("model_slug")):
        extra["model"] = as_text(meta["model_slug"])
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
