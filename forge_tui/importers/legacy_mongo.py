"""`forge import mongo`: copy an existing Forge OS MongoDB database into Forge.

Forge OS had no fixed schema, so field names are inferred from a sample of each
collection (``conversation_id``/``conv_id``/``session_id``, ``content``/``text``,
``role``/``sender``, ``timestamp``/``created_at``...). What maps:

* ``message_embeddings`` (or ``messages``) grouped by conversation -> conversations
  and turns, written through the same idempotent import service (the stored
  vectors are not copied: Forge re-embeds with its own model);
* ``conversations`` -> titles, projects and timestamps for those;
* ``decisions`` / ``threads`` -> the knowledge registry when it offers an import
  function, else raw copies in ``legacy_decisions`` / ``legacy_threads``;
* ``lineage`` edges whose ends are imported conversations -> Forge lineage edges.

Everything else is listed in the report as not mapped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from pymongo.errors import PyMongoError

from forge_tui.domain.models import DEFAULT_PROJECT
from forge_tui.importers import legacy_knowledge
from forge_tui.importers.model import ParsedConversation, ParsedMessage, Skip, as_text, parse_timestamp
from forge_tui.importers.service import ImportSummary, OnWritten, import_conversations, target_id
from forge_tui.store.errors import StoreUnavailable
from forge_tui.store.legacy_source import LegacySource
from forge_tui.store.repository import Store

SOURCE = "forgeos"
MESSAGE_COLLECTIONS = ("message_embeddings", "messages", "chat_messages")
KNOWN = set(MESSAGE_COLLECTIONS) | {"conversations", "decisions", "threads", "lineage"}
CONV_KEYS = ("conversation_id", "conv_id", "session_id", "chat_id", "thread_id")
CONTENT_KEYS = ("content", "text", "message", "body")
ROLE_KEYS = ("role", "sender", "author", "speaker")
TIME_KEYS = ("timestamp", "created_at", "createdAt", "time", "date")
SEQ_KEYS = ("seq", "index", "turn", "position", "message_index")
EMBED_KEYS = ("embedding", "vector", "embeddings")
_ROLES = {"user": "user", "human": "user", "assistant": "assistant", "ai": "assistant", "bot": "assistant",
          "model": "assistant", "system": "system"}


class LegacyImportError(Exception):
    """The legacy database cannot be read; the message names the problem and the fix."""


@dataclass
class LegacyReport:
    summary: ImportSummary
    database: str
    knowledge: dict[str, int] = field(default_factory=dict)  # target -> documents written
    edges: int = 0
    not_mapped: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"From Forge OS database '{self.database}':", *self.summary.lines()]
        for target, n in self.knowledge.items():
            out.append(f"  {n} document(s) -> {target}")
        if self.edges:
            out.append(f"  {self.edges} lineage edge(s) copied")
        for item in self.not_mapped:
            out.append(f"  not mapped: {item}")
        return out


def pick(doc: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        if doc.get(k) not in (None, ""):
            return doc[k]
    return None


def open_legacy(uri: str, db_name: str | None, timeout_ms: int = 5000) -> LegacySource:
    what = "the Forge OS database URI"
    try:
        db = LegacySource.open(uri, db_name, what=what, default_db="forge_os", timeout_ms=timeout_ms)
        names = db.collection_names()
    except StoreUnavailable as exc:
        raise LegacyImportError(str(exc)) from None
    except PyMongoError as exc:
        raise LegacyImportError(f"reading the Forge OS database failed: {str(exc).splitlines()[0][:160]}.") from None
    if not (set(names) & KNOWN):
        found = ", ".join(sorted(names)) or "no collections"
        raise LegacyImportError(
            f"database '{db.name}' has none of the Forge OS collections ({', '.join(sorted(KNOWN))}); it has {found}. "
            "Pass the right database with --db NAME."
        )
    return db


def import_forge_os(
    store: Store,
    uri: str,
    *,
    db_name: str | None = None,
    project: str | None = None,
    on_written: OnWritten | None = None,
    progress_factory: Callable[[int], Any] | None = None,
    timeout_ms: int = 5000,
) -> LegacyReport:
    legacy = open_legacy(uri, db_name, timeout_ms)
    try:
        return import_legacy_db(store, legacy, project=project, on_written=on_written, progress_factory=progress_factory)
    except PyMongoError as exc:
        raise LegacyImportError(f"reading '{legacy.name}' failed: {str(exc).splitlines()[0][:160]}") from None


def import_legacy_db(
    store: Store,
    legacy: LegacySource,
    *,
    project: str | None = None,
    on_written: OnWritten | None = None,
    progress_factory: Callable[[int], Any] | None = None,
) -> LegacyReport:
    names = set(legacy.collection_names())
    not_mapped: list[str] = []
    metas = _conversation_metas(legacy) if "conversations" in names else {}
    msg_coll = next((c for c in MESSAGE_COLLECTIONS if c in names), None)
    stream: list[Any] | Iterator[Any] = []
    total = 0
    written: dict[str, ParsedConversation] = {}  # legacy conversation key -> what was parsed
    if msg_coll:
        total = legacy.distinct_count(msg_coll, _infer(legacy, msg_coll, CONV_KEYS) or "conversation_id")
        stream = _conversations(legacy, msg_coll, metas, not_mapped, written)
    bar = progress_factory(total) if progress_factory else None
    summary = import_conversations(
        store, stream, project=project, on_written=on_written, progress=bar.advance if bar else None
    )
    if bar is not None:
        bar.close()
    report = LegacyReport(summary=summary, database=legacy.name, not_mapped=not_mapped)
    for key in sorted(set(metas) - set(written)):
        summary.skipped.append((f"legacy conversation {key}", "no messages in the legacy database"))
    id_map = {
        key: target_id(parsed, project or parsed.project or DEFAULT_PROJECT) for key, parsed in written.items()
    }
    for kind in ("decisions", "threads"):
        if kind in names:
            target, n = legacy_knowledge.copy(store, legacy.documents(kind), kind, project)
            report.knowledge[target] = report.knowledge.get(target, 0) + n
    if "lineage" in names:
        report.edges, unmapped_edges = _copy_lineage(store, legacy.documents("lineage"), id_map, summary)
        if unmapped_edges:
            not_mapped.append(f"lineage: {unmapped_edges} edge(s) whose ends are not imported conversations")
    for name in sorted(names - KNOWN):
        if not name.startswith("system."):
            not_mapped.append(f"collection '{name}' ({legacy.count(name)} documents)")
    for extra in sorted(set(MESSAGE_COLLECTIONS) & names - {msg_coll}):
        not_mapped.append(f"collection '{extra}' (messages were taken from '{msg_coll}')")
    return report


def _infer(legacy: LegacySource, coll: str, keys: tuple[str, ...]) -> str | None:
    """The first of ``keys`` present in a sample of documents."""
    sample = legacy.sample(coll, 20)
    for k in keys:
        if any(k in d for d in sample):
            return k
    return None


def _conversation_metas(legacy: LegacySource) -> dict[str, dict[str, Any]]:
    metas: dict[str, dict[str, Any]] = {}
    for doc in legacy.documents("conversations"):
        key = str(pick(doc, CONV_KEYS) or doc["_id"])
        metas[key] = {
            "title": as_text(pick(doc, ("title", "name", "topic", "summary"))),
            "project": as_text(pick(doc, ("project", "project_name", "workspace"))) or None,
            "created_at": parse_timestamp(pick(doc, TIME_KEYS + ("started_at",))),
            "updated_at": parse_timestamp(pick(doc, ("updated_at", "updatedAt", "last_message_at", "ended_at"))),
            "_id": doc["_id"],
        }
    return metas


def _conversations(
    legacy: LegacySource, coll: str, metas: dict[str, dict[str, Any]], not_mapped: list[str],
    written: dict[str, ParsedConversation],
) -> Iterator[Any]:
    conv_key = _infer(legacy, coll, CONV_KEYS)
    if conv_key is None:
        not_mapped.append(f"collection '{coll}': no conversation field ({', '.join(CONV_KEYS)})")
        return
    content_key = _infer(legacy, coll, CONTENT_KEYS)
    role_key = _infer(legacy, coll, ROLE_KEYS)
    time_key = _infer(legacy, coll, TIME_KEYS)
    seq_key = _infer(legacy, coll, SEQ_KEYS)
    order = [conv_key] + [k for k in (seq_key, time_key) if k] + ["_id"]
    used = {conv_key, content_key, role_key, time_key, seq_key, "_id", "project", "message_id", "id"}
    leftover: dict[str, int] = {}
    vectors = 0
    current: str | None = None
    batch: list[ParsedMessage] = []
    skips: list[Skip] = []
    for doc in legacy.documents(coll, order):
        key = str(doc.get(conv_key))
        if key != current:
            if current is not None:
                yield from _flush(current, batch, skips, metas, written)
            current, batch, skips = key, [], []
        for k in doc:
            if k in EMBED_KEYS:
                vectors += 1
            elif k not in used:
                leftover[k] = leftover.get(k, 0) + 1
        role = _ROLES.get(str(doc.get(role_key, "")).lower()) if role_key else None
        content = doc.get(content_key) if content_key else None
        mid = str(pick(doc, ("message_id", "id")) or doc["_id"])
        if role is None:
            skips.append(Skip(f"legacy message {mid}", f"unknown role {doc.get(role_key) if role_key else None!r}"))
            continue
        if not isinstance(content, str) or not content.strip():
            skips.append(Skip(f"legacy message {mid}", "message has no text"))
            continue
        batch.append(ParsedMessage(mid, role, content, parse_timestamp(doc.get(time_key)) if time_key else None))
    if current is not None:
        yield from _flush(current, batch, skips, metas, written)
    if vectors:
        not_mapped.append(f"{coll}: {vectors} stored embedding vector(s) (Forge re-embeds with its own model)")
    for k, n in sorted(leftover.items()):
        not_mapped.append(f"{coll}.{k} ({n} document(s))")


def _flush(
    key: str, batch: list[ParsedMessage], skips: list[Skip], metas: dict[str, dict[str, Any]],
    written: dict[str, ParsedConversation],
) -> Iterator[Any]:
    yield from skips
    meta = metas.get(key, {})
    if not batch:
        yield Skip(f"legacy conversation {key}", "no messages with text", whole=True)
        return
    parsed = ParsedConversation(
        source_id=key,
        title=meta.get("title") or batch[0].content.strip().splitlines()[0][:60],
        created_at=meta.get("created_at") or batch[0].created_at,
        updated_at=meta.get("updated_at") or batch[-1].created_at,
        project=meta.get("project"),
        messages=batch,
        source=SOURCE,
    )
    written[key] = parsed
    yield parsed


def _copy_lineage(store: Store, docs: Iterable[dict[str, Any]], id_map: dict[str, str],
                  summary: ImportSummary) -> tuple[int, int]:
    copied = unmapped = 0
    for doc in docs:
        src = pick(doc, ("src", "source", "from", "parent", "source_id", "from_conversation"))
        dst = pick(doc, ("dst", "target", "to", "child", "target_id", "to_conversation"))
        kind = pick(doc, ("kind", "type", "relation", "edge_type")) or "related"
        a, b = id_map.get(str(src)), id_map.get(str(dst))
        if a and b:
            store.add_edge(a, b, str(kind), origin=SOURCE, legacy_id=str(doc["_id"]))
            copied += 1
        else:
            unmapped += 1
    return copied, unmapped


