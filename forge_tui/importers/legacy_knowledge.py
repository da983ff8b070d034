"""Copy Forge OS ``decisions`` and ``threads`` into Forge's knowledge registry.

When the registry (``forge_tui.knowledge.registry``) is importable, each legacy
decision is recorded through it (so the conflict policy runs and Forge assigns
the D###/T### ids), and ``legacy_map`` remembers which legacy document became
which record, making a re-import a no-op. Without the registry the documents
are copied as they are into ``legacy_decisions`` / ``legacy_threads``.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Iterable

from forge_tui.domain.models import DEFAULT_PROJECT, utcnow
from forge_tui.importers.model import as_text
from forge_tui.store.repository import Store

_PRIORITY = {"critical": "high", "high": "high", "medium": "medium", "normal": "medium", "low": "low"}


def _registry(store: Store):
    if importlib.util.find_spec("forge_tui.knowledge.registry") is None:
        return None
    from forge_tui.knowledge.registry import Registry

    return Registry(store)


def _text(doc: dict[str, Any], keys: tuple[str, ...]) -> str:
    for k in keys:
        if isinstance(doc.get(k), str) and doc[k].strip():
            return doc[k].strip()
    return ""


def _tier(doc: dict[str, Any]) -> float:
    for k in ("tier", "confidence", "weight"):
        value = doc.get(k)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return min(1.0, max(0.0, float(value)))
    return 0.5


def copy(store: Store, docs: Iterable[dict[str, Any]], kind: str, project: str | None) -> tuple[str, int]:
    """Copy one legacy collection's documents (``decisions`` or ``threads``). Returns (target, documents written)."""
    registry = _registry(store)
    if registry is None:
        return _copy_raw(store, docs, kind, project)
    written = 0
    for doc in docs:
        key = f"{kind}:{doc['_id']}"
        if store.legacy_imported(key):
            continue
        target_project = project or as_text(doc.get("project")) or DEFAULT_PROJECT
        if kind == "decisions":
            short = _record_decision(registry, doc, target_project)
        else:
            short = _record_thread(registry, doc, target_project)
        if short is None:
            continue
        store.remember_legacy(key, {"project": target_project, "id": short, "legacy_id": str(doc["_id"]),
                                    "created_at": utcnow()})
        written += 1
    return kind, written


def _record_decision(registry, doc: dict[str, Any], project: str) -> str | None:
    text = _text(doc, ("text", "decision", "content", "statement", "title"))
    if not text:
        return None
    outcome = registry.record_decision(
        project,
        text,
        rationale=_text(doc, ("rationale", "reasoning", "reason", "why")),
        tier=_tier(doc),
        priority=_PRIORITY.get(str(doc.get("priority", "medium")).lower(), "medium"),
        who="import",
        why=f"imported from Forge OS decision {doc.get('id') or doc['_id']}",
    )
    decision = outcome.decision
    if str(doc.get("status", "")).lower() in ("rejected", "abandoned") and decision.status == "active":
        registry.reject(project, decision.id, who="import", why="rejected in Forge OS")
    return decision.id


def _record_thread(registry, doc: dict[str, Any], project: str) -> str | None:
    title = _text(doc, ("title", "topic", "name", "text", "question"))
    if not title:
        return None
    thread = registry.open_thread(
        project,
        title,
        priority=_PRIORITY.get(str(doc.get("priority", "medium")).lower(), "medium"),
        who="import",
        why=f"imported from Forge OS thread {doc.get('id') or doc['_id']}",
    )
    status = str(doc.get("status", "OPEN")).upper()
    if status in ("RESOLVED", "CLOSED", "DONE"):
        status = "RESOLVED"
    if status in ("RESOLVED", "ABANDONED") and thread.status == "OPEN":
        registry.resolve_thread(project, thread.id, status=status, resolution=_text(doc, ("resolution",)),
                                who="import")
    return thread.id


def _copy_raw(store: Store, docs: Iterable[dict[str, Any]], kind: str, project: str | None) -> tuple[str, int]:
    written = 0
    for doc in docs:
        doc = dict(doc)
        if project:
            doc["project"] = project
        written += int(store.copy_legacy_doc(kind, doc))
    return f"legacy_{kind}", written
