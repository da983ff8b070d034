"""Decay: when a decision should be confirmed again before it is trusted.

Two signals, both configurable in ``Settings``: age since ``last_validated``
(``decay_max_age_days``) and lineage hops — how many times an archive carried
it into a continued session without anyone re-confirming it
(``decay_max_hops``). ``Registry.revalidate`` resets both. The clock is always
passed in (``now``), so tests control time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable

from forge_tui.config import Settings
from forge_tui.knowledge.records import Decision, Thread

if TYPE_CHECKING:  # pragma: no cover
    from forge_tui.knowledge.registry import Registry


def decay_reason(decision: Decision, now: datetime, settings: Settings) -> str | None:
    """Why ``decision`` needs revalidation, or ``None`` while it is fresh."""
    reasons = []
    if decision.last_validated is not None and settings.decay_max_age_days >= 0:
        age = now - decision.last_validated
        if age > timedelta(days=settings.decay_max_age_days):
            reasons.append(f"not validated for {age.days} days (limit {settings.decay_max_age_days})")
    if settings.decay_max_hops >= 0 and decision.hops > settings.decay_max_hops:
        reasons.append(f"carried through {decision.hops} sessions unchecked (limit {settings.decay_max_hops})")
    return "; ".join(reasons) or None


def needs_revalidation(decision: Decision, now: datetime, settings: Settings) -> bool:
    return decay_reason(decision, now, settings) is not None


def carry_into_continuation(
    registry: "Registry", project: str, decision_ids: Iterable[str], new_conversation_id: str
) -> list[Decision]:
    """One more hop for each active decision an archive carries into ``new_conversation_id``.

    Idempotent per conversation: continuing the same conversation twice counts once.
    """
    return registry.add_hops(
        project, decision_ids, 1, carried_into=new_conversation_id, who="continuation", why="carried by an archive"
    )


@dataclass
class Rehydrated:
    """What ``rehydrate`` put in front of the continued session."""

    project: str
    decisions: list[Decision] = field(default_factory=list)
    threads: list[Thread] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)  # archive decisions the registry did not know
    skipped: list[str] = field(default_factory=list)  # superseded/rejected since the archive was written


def rehydrate(registry: "Registry", archive: dict[str, Any], new_conversation_id: str) -> Rehydrated:
    """Re-hydrate an archive's decisions and threads into a continued session (hop + 1).

    The registry is ground truth: a decision the archive lists but the registry has
    since superseded is skipped; one the registry never saw (an archive from
    elsewhere) is recorded first, with the archive's text, tier and priority.
    """
    header = archive.get("header") or {}
    project = header.get("project") or archive.get("project") or "default"
    archive_id = header.get("archive_id")
    out = Rehydrated(project)
    carried: list[str] = []
    for item in archive.get("decisions") or []:
        did = str(item.get("id", "")) if isinstance(item, dict) else str(item)
        known = registry.find_decision(project, did) if did else None
        if known is None and isinstance(item, dict) and item.get("text"):
            if item.get("status", "active") != "active":
                continue
            outcome = registry.record_decision(
                project,
                item["text"],
                rationale=item.get("rationale", ""),
                tier=float(item.get("tier", 0.5)),
                priority=item.get("priority", "medium"),
                sources=[archive_id] if archive_id else [],
                conversation_id=new_conversation_id,
                who="continuation",
                why="decision from an archive the registry did not hold",
                validates=False,
            )
            known = outcome.decision
            out.recorded.append(did or known.id)
        if known is None:
            continue
        if known.status != "active":
            out.skipped.append(known.id)
            continue
        carried.append(known.id)
    carry_into_continuation(registry, project, carried, new_conversation_id)
    out.decisions = [registry.get_decision(project, did) for did in dict.fromkeys(carried)]
    for item in archive.get("threads") or []:
        if not isinstance(item, dict):
            continue
        thread = registry.find_thread(project, str(item.get("id", "")))
        if thread is None and item.get("title") and item.get("status", "OPEN") == "OPEN":
            thread = registry.open_thread(
                project,
                item["title"],
                priority=item.get("priority", "medium"),
                sources=[archive_id] if archive_id else [],
                conversation_id=new_conversation_id,
                who="continuation",
            )
        if thread is not None:
            out.threads.append(thread)
    registry.events.log(
        project,
        "rehydrated",
        new_conversation_id,
        who="continuation",
        why=f"continued from archive {archive_id}",
        decisions=[d.id for d in out.decisions],
        threads=[t.id for t in out.threads],
    )
    return out
