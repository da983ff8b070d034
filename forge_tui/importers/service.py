"""Write parsed conversations into the Store: idempotently, whole or not at all.

IDs come from the source's own ids (``forge_tui.domain.ids``), so importing the
same export twice writes nothing new, and a conversation that changed at the
source is updated in place. Each conversation goes through
``Store.write_conversation_whole`` (turns first, the conversation document last),
then ``on_written(conversation, turns)`` runs the live pipeline on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable

from pymongo.errors import AutoReconnect, ConnectionFailure, DocumentTooLarge, PyMongoError

from forge_tui.domain.ids import conversation_id, is_uuid8, message_id
from forge_tui.domain.models import DEFAULT_PROJECT, Conversation, Role, Turn, utcnow
from forge_tui.importers import lineage
from forge_tui.importers.model import ParsedConversation, ParseItem, Skip
from forge_tui.store.codec import aware, conversation_to_doc, turn_to_doc
from forge_tui.store.repository import Store

#: ``on_written(conversation, turns)``: called after a new or changed conversation is stored.
OnWritten = Callable[[Conversation, list[Turn]], Any]
#: ``progress(n, note)``: one step per source conversation (``Progress.advance`` fits).
ProgressFn = Callable[..., Any]


class ContinuedInForge(Exception):
    """The stored conversation has turns written in Forge since the import, and the source changed."""


@dataclass
class ImportSummary:
    conversations: int = 0  # new conversations written
    messages: int = 0  # new messages written
    updated: int = 0  # conversations that existed and changed
    unchanged: int = 0  # conversations already imported, identical
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (what, reason)
    conversation_ids: list[str] = field(default_factory=list)  # every conversation seen, in order
    lineage_edges: int = 0
    pipeline_errors: list[tuple[str, str]] = field(default_factory=list)  # on_written failures

    def lines(self) -> list[str]:
        """Plain-text summary for the CLI."""
        out = [
            f"Imported {self.conversations} new conversation(s), {self.messages} new message(s); "
            f"{self.updated} updated, {self.unchanged} unchanged; {len(self.skipped)} skipped."
        ]
        if self.lineage_edges:
            out.append(f"Lineage: {self.lineage_edges} archive edge(s) from embedded archives (created or confirmed).")
        for what, reason in self.skipped[:50]:
            out.append(f"  skipped {what}: {reason}")
        if len(self.skipped) > 50:
            out.append(f"  … and {len(self.skipped) - 50} more skipped.")
        for what, reason in self.pipeline_errors[:20]:
            out.append(f"  pipeline failed for {what}: {reason}")
        return out


def source_key(parsed: ParsedConversation) -> str:
    return f"{parsed.source}:{parsed.source_id}"


def import_conversations(
    store: Store,
    parsed_iter: Iterable[ParseItem],
    *,
    project: str | None,
    on_written: OnWritten | None = None,
    progress: ProgressFn | None = None,
) -> ImportSummary:
    """Import a parser's stream. ``project`` overrides the source's own project
    (``None``: the source's, else ``"default"``). Returns counts and skip reasons."""
    summary = ImportSummary()
    blocks: dict[str, dict[str, Any]] = {}
    touched: list[str] = []
    for item in parsed_iter:
        if isinstance(item, Skip):
            summary.skipped.append((item.what, item.reason))
            if item.whole and progress:
                progress(1, "")
            continue
        target = project or item.project or DEFAULT_PROJECT
        try:
            conv, turns, state, inserted = _write_one(store, item, target)
        except (AutoReconnect, ConnectionFailure):
            raise
        except ContinuedInForge as exc:
            summary.skipped.append((f"conversation '{item.title}'", str(exc)))
            if progress:
                progress(1, "")
            continue
        except (DocumentTooLarge, PyMongoError) as exc:
            summary.skipped.append((f"conversation '{item.title}'", f"database refused it: {_first_line(exc)}"))
            if progress:
                progress(1, "")
            continue
        summary.conversation_ids.append(conv.id)
        summary.messages += inserted
        if state == "new":
            summary.conversations += 1
        elif state == "updated":
            summary.updated += 1
        else:
            summary.unchanged += 1
        mentions = lineage.scan(conv, turns)
        if mentions:
            lineage.record(store, mentions)
            for m in mentions:
                blocks.setdefault(m.key, m.block)
                if m.key not in touched:
                    touched.append(m.key)
        if on_written is not None and state != "unchanged":
            try:
                on_written(conv, turns)
            except (AutoReconnect, ConnectionFailure):
                raise
            except Exception as exc:  # noqa: BLE001 - reported in the summary, import goes on
                summary.pipeline_errors.append((f"conversation '{conv.title}'", f"{type(exc).__name__}: {exc}"))
        if progress:
            progress(1, conv.title[:40])
    if touched:
        summary.lineage_edges = lineage.link(store, touched, blocks)
    return summary


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def target_id(parsed: ParsedConversation, project: str) -> str:
    """The Forge conversation ID for a source conversation in ``project``."""
    if parsed.source == "forge" and is_uuid8(parsed.source_id):
        return parsed.source_id  # a Forge export re-imported: keep the original ID
    return conversation_id(project, source_key(parsed), parsed.created_at)


def build(parsed: ParsedConversation, project: str, existing: dict[str, Any] | None) -> tuple[Conversation, list[Turn]]:
    """Domain objects for a parsed conversation, with deterministic IDs.

    Missing timestamps fall back to the stored conversation's (so a re-import of a
    transcript without times changes nothing), else to now."""
    now = utcnow()
    created = parsed.created_at or (aware(existing["created_at"]) if existing else None) or now
    updated = parsed.updated_at or (aware(existing["updated_at"]) if existing else None) or created
    cid = target_id(parsed, project)
    turns: list[Turn] = []
    seen: set[str] = set()
    for seq, msg in enumerate(parsed.messages):
        name = f"{parsed.source}:{msg.source_id}" if msg.source_id else f"{parsed.source}:seq:{seq}"
        if name in seen:
            name = f"{name}#{seq}"
        seen.add(name)
        stamp = msg.created_at or created
        extra = dict(msg.extra)
        labels = extra.pop("labels", None)
        model = extra.pop("model", None)
        src = {"kind": parsed.source, "id": msg.source_id, **{k: v for k, v in extra.items() if k not in ("uuid", "id")}}
        if parsed.source == "forge" and msg.source_id and is_uuid8(msg.source_id):
            tid = msg.source_id  # a Forge export re-imported: keep the original turn ID
        else:
            tid = message_id(cid, name, msg.created_at)
        turns.append(
            Turn(
                id=tid,
                conversation_id=cid,
                seq=seq,
                role=Role(msg.role),
                content=msg.content,
                created_at=stamp,
                updated_at=stamp,
                model=str(model) if model else None,
                labels=[str(x) for x in labels] if isinstance(labels, list) else [],
                source=src,
            )
        )
    conv = Conversation(
        id=cid,
        project=project,
        title=parsed.title,
        created_at=created,
        updated_at=updated,
        archive_context=(existing or {}).get("archive_context"),
        source={"kind": parsed.source, "id": parsed.source_id, **parsed.extra},
    )
    return conv, turns


def _write_one(store: Store, parsed: ParsedConversation, project: str) -> tuple[Conversation, list[Turn], str, int]:
    existing = store.conversations.find_one({"_id": target_id(parsed, project)})
    conv, turns = build(parsed, project, existing)
    stored: dict[str, dict[str, Any]] = {}
    if existing is not None:
        stored = {}
        native = 0
        for d in store.messages.find({"conversation_id": conv.id}):
            if (d.get("source") or {}).get("kind") == parsed.source:
                stored[d["_id"]] = d
            else:
                native += 1
        _keep_pipeline_fields(turns, stored)
        if _unchanged(existing, conv, turns, stored):
            return conv, turns, "unchanged", 0  # nothing to write: re-imports cost one read
        if native:
            raise ContinuedInForge(
                f"continued in Forge after it was imported ({native} newer turn(s)) and changed at the source "
                "since; left as it is so nothing is lost (import it into another --project to compare)"
            )
    moved, gone = _drop_moved_turns(store, turns, stored)
    result = store.write_conversation_whole(conv, turns)
    inserted = result["turns_inserted"] - moved  # moved turns are re-inserted, not new
    if result["conversation_new"]:
        return conv, turns, "new", inserted
    changed = moved or gone or inserted or result["turns_modified"] or result["conversation_modified"]
    return conv, turns, ("updated" if changed else "unchanged"), inserted


def _keep_pipeline_fields(turns: list[Turn], stored: dict[str, dict[str, Any]]) -> None:
    """Labels and token counts the live pipeline added after the first import stay:
    the source knows nothing of them, so a re-import must not wipe them."""
    for t in turns:
        old = stored.get(t.id)
        if old is None:
            continue
        if not t.labels and old.get("labels"):
            t.labels = list(old["labels"])
        if t.tokens is None and old.get("tokens") is not None:
            t.tokens = old["tokens"]


#: Live activity moves these (the pipeline, a continued conversation); they are not source data.
_VOLATILE = ("updated_at", "turn_count")


def _same_doc(new: dict[str, Any], old: dict[str, Any]) -> bool:
    for key, value in new.items():
        if key in _VOLATILE:
            continue
        have = old.get(key)
        if isinstance(value, datetime) or isinstance(have, datetime):
            have, value = aware(have), aware(value)
        if have != value:
            return False
    return True


def _unchanged(existing: dict[str, Any], conv: Conversation, turns: list[Turn], stored: dict[str, dict[str, Any]]) -> bool:
    if len(stored) != len(turns):
        return False
    if not _same_doc(conversation_to_doc(conv), existing):
        return False
    return all(t.id in stored and _same_doc(turn_to_doc(t, conv.project), stored[t.id]) for t in turns)


def _drop_moved_turns(store: Store, turns: list[Turn], stored: dict[str, dict[str, Any]]) -> tuple[int, int]:
    """A source conversation that gained or lost messages mid-way shifts seq numbers;
    the (conversation_id, seq) index is unique, so turns whose position changed or
    that are gone are removed before the upsert rewrites them in place."""
    wanted = {t.id: t.seq for t in turns}
    stale = [i for i, d in stored.items() if wanted.get(i) != d.get("seq")]
    if stale:
        store.messages.delete_many({"_id": {"$in": stale}})
    moved = sum(1 for s in stale if s in wanted)
    return moved, len(stale) - moved
