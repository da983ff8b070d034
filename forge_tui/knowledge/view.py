"""``knowledge_view``: one plain dict the sidebar (and ``forge decisions``) renders.

Everything the UI needs in one read, no Textual types: active decisions with
their decay flag and the message to jump to, open and closed threads, and the
conflicts waiting for a choice (with both texts, for the modal).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Collection

from forge_tui.config import Settings
from forge_tui.knowledge.decay import decay_reason
from forge_tui.knowledge.records import PRIORITIES, Conflict, Decision, Thread

if TYPE_CHECKING:  # pragma: no cover
    from forge_tui.knowledge.registry import Registry

_RANK = {p: i for i, p in enumerate(PRIORITIES)}


def decision_row(d: Decision, now: datetime, settings: Settings) -> dict[str, Any]:
    reason = decay_reason(d, now, settings)
    return {
        "id": d.id,
        "project": d.project,
        "text": d.text,
        "rationale": d.rationale,
        "tier": d.tier,
        "priority": d.priority,
        "status": d.status,
        "scope": d.scope,
        "hops": d.hops,
        "last_validated": d.last_validated.isoformat() if d.last_validated else None,
        "decay": reason is not None,
        "decay_reason": reason,
        "source_message_id": d.source_message_id,
        "conversation_id": d.conversation_id,
        "supersedes": list(d.supersedes),
        "superseded_by": d.superseded_by,
        "conflicts_with": list(d.conflicts_with),
        "kind": d.kind,
        "value": d.value,
        "pinned": d.pinned,
    }


def thread_row(t: Thread) -> dict[str, Any]:
    return {
        "id": t.id,
        "project": t.project,
        "title": t.title,
        "status": t.status,
        "priority": t.priority,
        "resolution": t.resolution,
        "resolution_source": t.resolution_sources[0] if t.resolution_sources else None,
        "source_message_id": t.source_message_id,
        "conversation_id": t.conversation_id,
        "pinned": t.pinned,
    }


def conflict_row(registry: "Registry", c: Conflict) -> dict[str, Any]:
    new = registry.find_decision(c.project, c.new)
    old = registry.find_decision(c.existing_project, c.existing)
    row = c.to_public()
    row.update(
        new_text=new.text if new else "",
        existing_text=old.text if old else "",
        new_source_message_id=new.source_message_id if new else None,
        existing_source_message_id=old.source_message_id if old else None,
        choices=["keep_both", "reject"] if c.kind == "cross_project" else ["keep_both", "supersede", "reject"],
    )
    return row


def knowledge_view(registry: "Registry", project: str, settings: Settings, now: datetime,
                   off_branch: Collection[str] = frozenset()) -> dict[str, Any]:
    """Snapshot of ``project``'s knowledge; decisions by priority, then id. Items whose every source
    is in ``off_branch`` (turns of a version not on show: a regenerated reply, an edited message)
    are left out; they come back when their branch does."""

    def on_branch(sources: list[str]) -> bool:
        return not sources or not set(sources) <= set(off_branch)

    # current decisions and the rules that must keep holding (``kind`` tells them apart)
    decisions = sorted((d for d in registry.decisions(project) if on_branch(d.sources)),
                       key=lambda d: (_RANK.get(d.priority, 9), d.id))
    rows = [decision_row(d, now, settings) for d in decisions]
    threads = [t for t in registry.threads(project) if on_branch(t.sources)]
    conflicts = [conflict_row(registry, c) for c in registry.pending_conflicts(project)]
    return {
        "project": project,
        "decisions": rows,
        # one flat list (open first, each with its status) plus the two halves
        "threads": [thread_row(t) for t in sorted(threads, key=lambda t: (t.status != "OPEN", t.id))],
        "open_threads": [thread_row(t) for t in threads if t.status == "OPEN"],
        "resolved_threads": [thread_row(t) for t in threads if t.status != "OPEN"],
        "conflicts": conflicts,
        "counts": {
            "decisions": len(rows),
            "decaying": sum(r["decay"] for r in rows),
            "open_threads": sum(t.status == "OPEN" for t in threads),
            "conflicts": len(conflicts),
            "pending_choices": sum(c["status"] == "pending" for c in conflicts),
        },
    }
