"""Corrections by hand: the user is the final authority on their own decisions and questions.

Pin a sentence or a turn as a decision, constraint or open question; dismiss a
wrong item (it stays in the registry with ``dismissed`` status and an event,
never deleted); edit an item's wording. Every correction is also stored as a
labelled sentence in ``corrections`` (``forge dataset extraction`` exports them
for ``python -m forge_tui.knowledge.pipeline.train --extra FILE``), so the
learned classifier can be retrained on the user's own labels. Unknown ids raise
``KnowledgeError`` before anything is written.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Iterator

from forge_tui.domain.ids import entity_id
from forge_tui.knowledge.errors import KnowledgeError
from forge_tui.knowledge.pipeline.link import decision_value, question_title
from forge_tui.knowledge.records import Decision, RecordOutcome, Thread

if TYPE_CHECKING:  # pragma: no cover
    from forge_tui.knowledge.registry import Registry


PIN_KINDS = ("decision", "constraint", "question")


class Corrections:
    """Mixed into ``Registry``: expects ``_docs``, ``store``, ``events``, ``clock`` and the decision/thread methods."""

    def pin(
        self: "Registry", project: str, kind: str, text: str = "", *, turn: str | None = None, who: str = "user"
    ) -> Decision | Thread:
        """Record ``text`` (or the whole turn ``turn``) as a decision, constraint or open question."""
        if kind not in PIN_KINDS:
            raise KnowledgeError(f"Pin as one of {', '.join(PIN_KINDS)}, not {kind!r}.")
        role = "user"
        if turn is not None:
            doc = self.store.message_doc(turn, {"content": 1, "role": 1})
            if doc is None:
                raise KnowledgeError(f"No message '{turn}'. Message ids are shown by `forge show CONVERSATION --json`.")
            role = str(doc.get("role") or "user")
            text = text or str(doc.get("content") or "")
        text = " ".join((text or "").split())
        if not text:
            raise KnowledgeError("Nothing to pin: give the sentence, or --turn with a message id.")
        sources = [turn] if turn else []
        if kind == "question":
            item: Decision | Thread = self.open_thread(
                project, question_title(text), sources=sources, who=who, why="pinned by hand", question=text,
                pinned=True,
            )  # fmt: skip
        else:
            outcome: RecordOutcome = self.record_decision(
                project, text[:1000], statement=text, value=decision_value(text) if kind == "decision" else "",
                tier=1.0, priority="high", sources=sources, who=who, why="pinned by hand", kind=kind, pinned=True,
            )  # fmt: skip
            item = outcome.decision
        self._example(project, text, kind, role, turn, item.id, "pin")
        return item

    def dismiss(self: "Registry", project: str, item_id: str, *, who: str = "user", why: str = "") -> Decision | Thread:
        """Mark a wrong decision (``D###``) or thread (``T###``) dismissed; it is kept, with the event."""
        item = self._item(project, item_id)
        now = self.clock()
        if isinstance(item, Decision):
            self._docs.set_decision(item.uid, status="dismissed", pinned=False)
            self.events.log(project, "decision_dismissed", item.id, who=who, why=why, at=now, was=item.status)
            self._example(project, item.statement or item.text, "other", None, item.source_message_id, item.id,
                          "dismiss")
            return self.get_decision(project, item.id)
        self._docs.set_thread(item.uid, dismissed=True, updated_at=now)
        self.events.log(project, "thread_dismissed", item.id, who=who, why=why, at=now, was=item.status)
        self._example(project, item.question or item.title, "other", None, item.source_message_id, item.id, "dismiss")
        return self.get_thread(project, item.id)

    def withdraw_draft(self: "Registry", project: str, item_id: str, *, why: str) -> None:
        """Extraction takes back its own draft (``dismissed``, with a ``*_withdrawn`` event; kept, never deleted).

        Not a correction: no labelled example is stored, since no person said the draft was wrong.
        """
        item = self._item(project, item_id)
        now = self.clock()
        if isinstance(item, Decision):
            self._docs.set_decision(item.uid, status="dismissed")
            self.events.log(project, "decision_withdrawn", item.id, who="extractor", why=why, at=now, was=item.status)
        else:
            self._docs.set_thread(item.uid, dismissed=True, updated_at=now)
            self.events.log(project, "thread_withdrawn", item.id, who="extractor", why=why, at=now, was=item.status)

    def edit(self: "Registry", project: str, item_id: str, text: str, *, who: str = "user") -> Decision | Thread:
        """Reword a decision's text or a thread's title (the old wording stays in the event)."""
        text = " ".join((text or "").split())
        if not text:
            raise KnowledgeError("The new text is empty; give the wording to keep.")
        item = self._item(project, item_id)
        now = self.clock()
        if isinstance(item, Decision):
            self._docs.set_decision(item.uid, text=text[:1000], pinned=True)
            self.events.log(project, "decision_edited", item.id, who=who, at=now, old=item.text, new=text)
            return self.get_decision(project, item.id)
        self._docs.set_thread(item.uid, title=text[:300], pinned=True, updated_at=now)
        self.events.log(project, "thread_edited", item.id, who=who, at=now, old=item.title, new=text)
        return self.get_thread(project, item.id)

    def corrections(self: "Registry", project: str | None = None) -> Iterator[dict[str, Any]]:
        """The stored labelled sentences, oldest first."""
        yield from self._docs.correction_docs(project)

    # -- internals ----------------------------------------------------------------------
    def _item(self: "Registry", project: str, item_id: str) -> Decision | Thread:
        ident = (item_id or "").strip().upper()
        if ident.startswith("D"):
            return self.get_decision(project, ident)
        if ident.startswith("T"):
            found = self._docs.thread_doc(project, ident)
            if found is None:
                raise KnowledgeError(
                    f"No thread '{item_id}' in project '{project}'. List them with `forge threads --project {project}`."
                )
            return Thread.from_doc(found)
        raise KnowledgeError(f"'{item_id}' is not a decision (D001) or thread (T001) id.")

    def _example(self: "Registry", project: str, text: str, label: str, role: str | None, source: str | None,
                 item: str, action: str) -> None:
        if role is None and source:
            doc = self.store.message_doc(source, {"role": 1})
            role = str((doc or {}).get("role") or "user")
        now = self.clock()
        self._docs.insert_correction({
            "_id": entity_id(project, "correction", uuid.uuid4().hex, now), "project": project, "text": text,
            "label": label, "role": role or "user", "source": source, "item": item, "action": action, "at": now,
        })  # fmt: skip
