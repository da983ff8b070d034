"""Archives in the store: load by id or prefix, list, import a file, continue from one, and the
archive as a new session's context."""

from __future__ import annotations

from typing import Any

from forge_tui.compression.errors import CompressionError
from forge_tui.domain.ids import conversation_id as make_conversation_id
from forge_tui.domain.models import Conversation, utcnow
from forge_tui.protocol.render import dump_archive
from forge_tui.protocol.validate import ArchiveError, validate_archive


def load_archive(store: Any, archive_id: str) -> dict:
    """The stored archive dict for ``archive_id`` (a full id or a unique prefix)."""
    doc = store.get_archive(archive_id)
    if doc is None and archive_id:
        matches = store.archives_by_prefix(archive_id, limit=2)
        if len(matches) == 1:
            doc = matches[0]
        elif len(matches) > 1:
            raise CompressionError(f"archive id prefix '{archive_id}' is ambiguous; give more characters")
    if doc is None:
        raise CompressionError(f"no archive '{archive_id}' in the store; `forge archive show` lists ids by prefix")
    return doc["archive"]


def archive_document(archive: dict, yaml_text: str) -> dict:
    """The MongoDB document for an archive (top-level fields for indexes and listing)."""
    h = archive["header"]
    return {
        "_id": h["archive_id"], "project": h["project"], "created_at": h["created_at"],
        "source_conversations": list(h["source_conversations"]), "mode": h["mode"], "model": h["model"],
        "engine": h.get("engine"),
        "tokens_source": h["tokens"]["source"], "tokens_archive": h["tokens"]["archive"],
        "bridged_from": list(h.get("bridged_from", [])), "adapter": h.get("adapter"), "yaml": yaml_text,
        "archive": archive,
    }


def list_archives(store: Any, *, project: str | None = None, conversation_id: str | None = None,
                  limit: int = 50) -> list[dict]:
    """Archive summaries (no body), newest first: id, project, created_at, mode, model, token counts."""
    query: dict[str, Any] = {}
    if project is not None:
        query["project"] = project
    if conversation_id is not None:
        query["source_conversations"] = conversation_id
    return store.archive_summaries(query, limit=limit)


def import_archive(store: Any, archive: dict, yaml_text: str | None = None) -> str:
    """Store a validated archive read from a file (idempotent); returns its id."""
    issues = validate_archive(archive)
    if issues:
        raise ArchiveError(f"invalid archive: {issues[0]}", issues[0].path, issues)
    archive_id = archive["header"]["archive_id"]
    if not store.has_archive(archive_id):
        store.save_archive(archive_document(archive, yaml_text or dump_archive(archive)))
    for cid in archive["header"]["source_conversations"]:
        if store.get_conversation(cid) is not None:
            store.add_edge(cid, archive_id, "compressed_into", mode=archive["header"]["mode"])
    return archive_id


def continue_from(store: Any, archive_id: str, *, title: str | None = None) -> Conversation:
    """Start a new conversation (same project) whose context is the archive."""
    archive = load_archive(store, archive_id)
    header = archive["header"]
    archive_id = header["archive_id"]
    now = utcnow()
    source_title = None
    for cid in header["source_conversations"]:
        src = store.get_conversation(cid)
        if src is not None:
            source_title = src.title
            break
    conv = Conversation(
        id=make_conversation_id(header["project"], f"continued:{archive_id}", now),
        project=header["project"],
        title=title or f"{source_title or 'Session'} (continued)",
        created_at=now, updated_at=now, model=header.get("model"), archive_context=archive_id,
        system_prompt=_carried_system_prompt(store, header),
    )
    store.create_conversation(conv)
    store.add_edge(conv.id, archive_id, "continued_from")
    return conv


def _carried_system_prompt(store: Any, header: dict) -> str | None:
    """The continued conversation's own system prompt: the archive's, unless it was the project's
    default and the project still has that default (then the conversation just follows it)."""
    prompt = header.get("system_prompt") or None
    if prompt and header.get("system_prompt_from") == "project" \
            and store.project_system_prompt(header["project"]) == prompt:
        return None
    return prompt


CONTEXT_PREAMBLE = (
    "You are continuing an earlier work session. Its archive follows. Treat active decisions as settled, "
    "constraints as the user's own rules (quoted verbatim), and OPEN threads as pending work. "
    "Start from the continuation prompt."
)


def archive_context_messages(archive: dict) -> list[dict]:
    """The archive as the new session's context: one system message, then any verbatim turns."""
    body = {k: v for k, v in archive.items() if k != "verbatim_turns"}
    if "system_prompt" in body.get("header", {}):  # it is the system prompt itself: not a second time
        body["header"] = {k: v for k, v in body["header"].items() if not k.startswith("system_prompt")}
    text = f"{CONTEXT_PREAMBLE}\n\n```yaml\n{dump_archive(body)}```"
    messages = [{"role": "system", "content": text}]
    for t in archive.get("verbatim_turns", []):
        messages.append({"role": t["role"], "content": t["content"]})
    return messages
