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

from bson.errors import BSONError
from pymongo.errors import AutoReconnect, ConnectionFailure, DocumentTooLarge, PyMongoError

from forge_tui.domain.ids import conversation_id, is_uuid8, message_id
from forge_tui.domain.models import DEFAULT_PROJECT, Conversation, Role, Turn, utcnow
from forge_tui.importers import lineage
from forge_tui.importers.batch import Batch, NewConversation, Pending, encodable, insert_new, prefetch
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
    (``None``: the source's, else ``"default"``). Returns counts and skip reasons.

    Conversations are written in batches (``importers.batch``); memory holds one batch."""
    run = _Run(store, on_written, progress)
    batch = Batch()
    for item in parsed_iter:
        if isinstance(item, Skip):
            run.summary.skipped.append((item.what, item.reason))
            if item.whole:
                run.step("")
            continue
        target = project or item.project or DEFAULT_PROJECT
        pending = Pending(item, target, target_id(item, target))
        if pending.cid in batch.ids:  # the same conversation twice in one export: write the first one first
            run.flush(batch)
            batch = Batch()
        batch.add(pending)
        if batch.full:
            run.flush(batch)
            batch = Batch()
    run.flush(batch)
    if run.touched:
        run.summary.lineage_edges = lineage.link(store, run.touched, run.blocks)
    return run.summary


class _Run:
    """One import's state: the summary, the archive mentions seen, the hooks."""

    def __init__(self, store: Store, on_written: OnWritten | None, progress: ProgressFn | None):
        self.store = store
        self.on_written = on_written
        self.progress = progress
        self.summary = ImportSummary()
        self.blocks: dict[str, dict[str, Any]] = {}
        self.touched: list[str] = []

    def step(self, note: str) -> None:
        if self.progress:
            self.progress(1, note)

    def skip(self, pending: Pending, reason: str) -> None:
        self.summary.skipped.append((f"conversation '{pending.parsed.title}'", reason))
        self.step("")

    def flush(self, batch: Batch) -> None:
        if not batch.items:
            return
        existing, stored = prefetch(self.store, [p.cid for p in batch.items])
        new: list[tuple[Pending, NewConversation]] = []
        one_by_one: list[Pending] = []
        for pending in batch.items:
            if pending.cid in existing:
                one_by_one.append(pending)
                continue
            conv, turns = build(pending.parsed, pending.project, None)
            docs, refused = encodable(conv, turns)
            if docs is None:
                self.skip(pending, refused or "database refused it")
            else:
                new.append((pending, docs))
        retry = insert_new(self.store, [docs for _, docs in new])
        for pending, docs in new:
            if pending.cid in retry:
                one_by_one.append(pending)
            else:
                self.done(docs.conv, docs.turns, "new", len(docs.turns))
        for pending in one_by_one:
            self.write_one(pending, existing.get(pending.cid), stored.get(pending.cid, []))

    def write_one(self, pending: Pending, existing: dict[str, Any] | None, stored: list[dict[str, Any]]) -> None:
        try:
            conv, turns, state, inserted = _write_one(self.store, pending.parsed, pending.project, existing, stored)
        except (AutoReconnect, ConnectionFailure):
            raise
        except ContinuedInForge as exc:
            self.skip(pending, str(exc))
            return
        except (DocumentTooLarge, PyMongoError, BSONError, OverflowError) as exc:
            self.skip(pending, f"database refused it: {_first_line(exc)}")
            return
        self.done(conv, turns, state, inserted)

    def done(self, conv: Conversation, turns: list[Turn], state: str, inserted: int) -> None:
        summary = self.summary
        summary.conversation_ids.append(conv.id)
        summary.messages += inserted
        if state == "new":
            summary.conversations += 1
        elif state == "updated":
            summary.updated += 1
        else:
            summary.unchanged += 1
        if state != "unchanged":
            self.link_archives(conv, turns)
            if self.on_written is not None:
                try:
                    self.on_written(conv, turns)
                except (AutoReconnect, ConnectionFailure):
                    raise
                except Exception as exc:  # noqa: BLE001 - reported in the summary, import goes on
                    summary.pipeline_errors.append((f"conversation '{conv.title}'", f"{type(exc).__name__}: {exc}"))
        self.step(conv.title[:40])

    def link_archives(self, conv: Conversation, turns: list[Turn]) -> None:
        """Archive blocks pasted in the turns: lineage is only written when one is found."""
        mentions = lineage.scan(conv, turns)
        if mentions:
            lineage.record(self.store, mentions)
            for m in mentions:
                self.blocks.setdefault(m.key, m.block)
                if m.key not in self.touched:
                    self.touched.append(m.key)


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
        system_prompt=parsed.system_prompt,
    )
    return conv, turns


def _write_one(
    store: Store, parsed: ParsedConversation, project: str, existing: dict[str, Any] | None,
    stored_docs: list[dict[str, Any]],
) -> tuple[Conversation, list[Turn], str, int]:
    """One conversation the careful way: compare with what is stored, refuse to clobber
    turns written in Forge, rewrite what changed. ``existing`` and ``stored_docs`` are the
    stored conversation document and its turns (prefetched by the batch)."""
    conv, turns = build(parsed, project, existing)
    stored: dict[str, dict[str, Any]] = {}
    if existing is not None:
        native = 0
        for d in stored_docs:
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
    else:
        # not listed yet: turns under its id are left-overs of a killed import; drop those not rewritten now
        store.delete_turns_except(conv.id, [t.id for t in turns])
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
        store.delete_messages(stale)
    moved = sum(1 for s in stale if s in wanted)
    return moved, len(stale) - moved
