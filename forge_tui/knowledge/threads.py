"""Thread registry (open questions and work items, ``T001``…), mixed into ``Registry``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

from forge_tui.domain.ids import entity_id
from forge_tui.knowledge.errors import KnowledgeError
from forge_tui.knowledge.records import PRIORITIES, THREAD_STATUSES, Thread

if TYPE_CHECKING:  # pragma: no cover
    from forge_tui.knowledge.registry import Registry


def title_key(title: str) -> str:
    """Normalised title: two phrasings differing only in case/punctuation are one thread."""
    return " ".join(re.findall(r"[a-z0-9]+", title.lower()))


class ThreadRegistry:
    """Thread operations; expects ``_docs`` (the store's knowledge documents), ``events``, ``clock``
    and ``next_short_id``."""

    def threads(
        self: "Registry", project: str, status: str | None = None, include_dismissed: bool = False
    ) -> list[Thread]:
        wanted = _check_status(status) if status is not None else None
        docs = self._docs.thread_docs(project, wanted, include_dismissed=include_dismissed)
        return [Thread.from_doc(d) for d in docs]

    def find_thread(self: "Registry", project: str, tid: str) -> Thread | None:
        doc = self._docs.thread_doc(project, tid.strip().upper())
        return Thread.from_doc(doc) if doc else None

    def get_thread(self: "Registry", project: str, tid: str) -> Thread:
        found = self.find_thread(project, tid)
        if found is None:
            raise KnowledgeError(
                f"No thread '{tid}' in project '{project}'. List them with `forge threads --project {project}`."
            )
        return found

    def open_thread(
        self: "Registry",
        project: str,
        title: str,
        *,
        priority: str = "medium",
        sources: Sequence[str] = (),
        conversation_id: str | None = None,
        who: str = "system",
        why: str = "",
        question: str = "",
        same_as: str | None = None,
        pinned: bool = False,
    ) -> Thread:
        """Open a thread; an open thread with the same normalised title (or ``same_as``) gets the sources instead.

        ``question`` is the verbatim sentence that asked it; ``same_as`` names the open
        thread the extraction pipeline found this question to repeat.
        """
        title = " ".join((title or "").split())
        if not title:
            raise KnowledgeError("A thread needs a title (what is open).")
        if priority not in PRIORITIES:
            raise KnowledgeError(f"Priority must be one of {', '.join(PRIORITIES)}, got {priority!r}.")
        now = self.clock()
        key = title_key(title)
        existing = self._docs.open_thread_doc(project, tid=same_as.strip().upper() if same_as else None, title_key=key)
        if existing is not None:
            self._docs.add_thread_sources(existing["_id"], sources, now)
            return self.get_thread(project, existing["id"])
        tid = self.next_short_id(project, "T")
        doc = {
            "_id": entity_id(project, "thread", tid, now),
            "id": tid,
            "project": project,
            "title": title,
            "title_key": key,
            "status": "OPEN",
            "priority": priority,
            "sources": list(dict.fromkeys(sources)),
            "conversation_id": conversation_id,
            "created_at": now,
            "updated_at": now,
            "resolution": "",
            "question": " ".join(question.split()),
            "pinned": pinned,
        }
        self._docs.insert_thread(doc)
        self.events.log(project, "thread_opened", tid, who=who, why=why, at=now, title=title)
        return Thread.from_doc(doc)

    def resolve_thread(
        self: "Registry",
        project: str,
        tid: str,
        *,
        status: str = "RESOLVED",
        resolution: str = "",
        sources: Sequence[str] = (),
        who: str = "user",
        why: str = "",
    ) -> Thread:
        """Close a thread as ``RESOLVED`` (default) or ``ABANDONED``; re-closing is an error.

        ``sources`` are the turns that closed it (kept as ``resolution_sources`` too).
        """
        status = _check_status(status)
        if status == "OPEN":
            raise KnowledgeError("resolve_thread closes a thread: use status RESOLVED or ABANDONED.")
        thread = self.get_thread(project, tid)
        if thread.status != "OPEN":
            raise KnowledgeError(f"Thread {thread.id} is already {thread.status}.")
        now = self.clock()
        self._docs.close_thread(thread.uid, status, resolution, sources, now)
        self.events.log(project, "thread_" + status.lower(), thread.id, who=who, why=why or resolution, at=now)
        return self.get_thread(project, thread.id)


def _check_status(status: str) -> str:
    value = status.strip().upper()
    if value not in THREAD_STATUSES:
        raise KnowledgeError(f"Thread status must be one of {', '.join(THREAD_STATUSES)}, got {status!r}.")
    return value
