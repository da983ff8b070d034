"""Decision and conflict registry in MongoDB (threads live in ``threads.py``).

The program, never the model, assigns the short ids: ``D001``/``T001``/``C001``
come from a per-project counter advanced atomically with ``find_one_and_update``
on the ``counters`` collection, so two writers can never hand out the same id.
Every change writes an ``events`` entry (who/what/when/why); ``supersedes`` and
``conflicts_with`` are kept both as fields and as ``lineage`` edges.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable, Sequence

from forge_tui.domain.ids import entity_id
from forge_tui.domain.models import utcnow
from forge_tui.knowledge import conflicts as policy
from forge_tui.knowledge.corrections import Corrections
from forge_tui.knowledge.errors import KnowledgeError
from forge_tui.knowledge.events import EventLog
from forge_tui.knowledge.records import CHOICES, Conflict, Decision, RecordOutcome, check_text, check_tier_priority
from forge_tui.knowledge.threads import ThreadRegistry
from forge_tui.store.repository import Store


Clock = Callable[[], datetime]
OPEN_CONFLICT = ("pending", "blocked")


class Registry(ThreadRegistry, Corrections):
    """Decisions, threads and conflicts for every project in one database. Thread-safe."""

    def __init__(self, store: Store, clock: Clock = utcnow):
        self.clock = clock
        self._docs = store.knowledge  # the knowledge collections live beside the conversations, in one database
        self._known_counters: set[str] = set()
        self.events = EventLog(store.knowledge)
        self._store = store

    @property
    def store(self) -> Store:
        """The store this registry is built on (the conversations and turns it cites live there)."""
        return self._store

    # -- ids -------------------------------------------------------------------
    def next_short_id(self, project: str, prefix: str) -> str:
        """Next ``D###``/``T###``/``C###`` for ``project``; never hands out an id twice.

        The counter document is created first and then only incremented: measured on
        SecantusDB, concurrent *upserting* ``find_one_and_update`` calls increment
        correctly but some return ``None`` instead of the document.
        """
        key = f"{project}:{prefix}"
        if key not in self._known_counters:
            self._docs.ensure_counter(key)
            self._known_counters.add(key)
        seq = self._docs.advance_counter(key)
        if seq is None:
            raise KnowledgeError(f"The id counter '{key}' vanished from the 'counters' collection; restart Forge.")
        return f"{prefix}{seq:03d}"

    # -- reads -----------------------------------------------------------------
    def find_decision(self, project: str, did: str) -> Decision | None:
        doc = self._docs.decision_doc(project, did.strip().upper())
        return Decision.from_doc(doc) if doc else None

    def get_decision(self, project: str, did: str) -> Decision:
        found = self.find_decision(project, did)
        if found is None:
            raise KnowledgeError(
                f"No decision '{did}' in project '{project}'. "
                f"List them with `forge decisions --project {project} --all`."
            )
        return found

    def decisions(self, project: str | None = None, include_inactive: bool = False) -> list[Decision]:
        docs = self._docs.decision_docs(project, active_only=not include_inactive)
        return [Decision.from_doc(d) for d in docs]

    def active_decisions(self, project: str) -> list[Decision]:
        """Current decisions (constraints are listed by ``constraints``)."""
        return [d for d in self.decisions(project) if d.kind == "decision"]

    def constraints(self, project: str) -> list[Decision]:
        return [d for d in self.decisions(project) if d.kind == "constraint"]

    # -- writes ----------------------------------------------------------------
    def record_decision(
        self,
        project: str,
        text: str,
        *,
        rationale: str = "",
        tier: float = 0.5,
        priority: str = "medium",
        scope: str | None = None,
        subject: str | None = None,
        key: str | None = None,
        artifacts: Sequence[str] | None = None,
        sources: Sequence[str] = (),
        conversation_id: str | None = None,
        embedding: Sequence[float] | None = None,
        statement: str | None = None,
        who: str = "system",
        why: str = "",
        validates: bool = True,
        kind: str = "decision",
        value: str = "",
        restates: str | None = None,
        revises: str | None = None,
        pinned: bool = False,
    ) -> RecordOutcome:
        """Record a statement, applying the conflict policy against what is known.

        ``statement`` is the verbatim sentence when ``text`` is a model's restatement
        of it; the policy compares statements (a paraphrase must not hide a restatement).
        Facets (scope, subject, key, artifacts) are derived from it unless given.
        A restatement merges into the existing decision and, when ``validates``
        (someone said it again), resets its decay; re-hydration passes ``False``.
        ``restates``/``revises`` name the decision the extraction pipeline linked this
        statement to (merge into it / supersede it); the policy then does not guess.
        """
        text = check_text(text)
        check_tier_priority(tier, priority)
        now = self.clock()
        statement = " ".join((statement or text).split())
        derived = policy.facets(statement)
        draft = Decision(
            uid="",
            id="",
            project=project,
            text=text,
            rationale=rationale.strip(),
            tier=float(tier),
            priority=priority,
            scope=derived.scope if scope is None else scope,
            subject=derived.subject if subject is None else subject,
            key=derived.key if key is None else key,
            artifacts=list(derived.artifacts if artifacts is None else artifacts),
            sources=list(dict.fromkeys(sources)),
            conversation_id=conversation_id,
            created_at=now,
            last_validated=now,
            embedding=list(embedding) if embedding is not None else None,
            statement=statement,
            kind=kind,
            value=" ".join(value.split()),
            pinned=pinned,
        )
        if restates is not None:
            return RecordOutcome("merged", self._merge(self.get_decision(project, restates), draft, who, why, validates))
        linked = self.get_decision(project, revises) if revises is not None else None
        verdicts = [] if linked else policy.plan(draft, self._overlap_candidates(draft))
        for old, verdict in verdicts:
            if verdict.kind == policy.RESTATEMENT:
                return RecordOutcome("merged", self._merge(old, draft, who, why or verdict.reason, validates))

        draft.id = self.next_short_id(project, "D")
        draft.uid = entity_id(project, "decision", draft.id, now)
        self._docs.insert_decision(draft.to_doc())
        self.events.log(project, "decision_created", draft.id, who=who, why=why, at=now, text=text)

        outcome = RecordOutcome("created", draft)
        if linked is not None and linked.status == "active":
            self._supersede(draft, linked, who, why or "revised in the conversation")
            outcome.superseded.append(linked.id)
        for old, verdict in verdicts:
            if verdict.kind == policy.SUPERSEDE:
                self._supersede(draft, old, who, verdict.reason)
                outcome.superseded.append(old.id)
            else:
                outcome.conflicts.append(self._open_conflict(draft, old, verdict, who))
        kinds = {c.kind for c in outcome.conflicts}
        if "ambiguous" in kinds:
            outcome.action = "pending_conflict"
        elif outcome.superseded:
            outcome.action = "superseded"
        elif kinds:
            outcome.action = "blocked"
        outcome.decision = self.get_decision(project, draft.id)
        return outcome

    def supersede(self, project: str, new_id: str, old_id: str, *, who: str = "user", why: str = "") -> Decision:
        """Mark ``old_id`` superseded by ``new_id`` (both in ``project``)."""
        new, old = self.get_decision(project, new_id), self.get_decision(project, old_id)
        if new.id == old.id:
            raise KnowledgeError(f"A decision cannot supersede itself ({new.id}).")
        if old.status != "active":
            raise KnowledgeError(f"{old.id} is already {old.status}; only an active decision can be superseded.")
        self._supersede(new, old, who, why or "chosen by the user")
        return self.get_decision(project, old.id)

    def reject(self, project: str, did: str, *, who: str = "user", why: str = "") -> Decision:
        decision = self.get_decision(project, did)
        self._docs.set_decision(decision.uid, status="rejected")
        self.events.log(project, "decision_rejected", decision.id, who=who, why=why, at=self.clock())
        return self.get_decision(project, did)

    def revalidate(self, project: str, did: str, *, who: str = "user", why: str = "") -> Decision:
        """Confirm a decision still holds: resets its age and hop count."""
        decision = self.get_decision(project, did)
        now = self.clock()
        self._docs.set_decision(decision.uid, last_validated=now, hops=0)
        self.events.log(project, "decision_revalidated", decision.id, who=who, why=why, at=now, hops_before=decision.hops)
        return self.get_decision(project, did)

    def add_hops(
        self,
        project: str,
        dids: Iterable[str],
        n: int = 1,
        *,
        carried_into: str | None = None,
        who: str = "system",
        why: str = "",
    ) -> list[Decision]:
        """Count ``n`` more lineage hops on active decisions (unknown ids are skipped).

        With ``carried_into`` (the continued conversation's id) a decision is counted
        once per conversation, so re-running a continuation does not add hops twice.
        """
        out = []
        for did in dict.fromkeys(d.strip().upper() for d in dids):
            doc = self._docs.add_decision_hops(project, did, n, carried_into)
            if doc is not None:
                self.events.log(
                    project, "decision_hop", did, who=who, why=why, at=self.clock(), hops=doc["hops"], into=carried_into
                )
                out.append(Decision.from_doc(doc))
        return out

    # -- conflicts -------------------------------------------------------------
    def pending_conflicts(self, project: str | None = None) -> list[Conflict]:
        """Conflicts awaiting a choice (``pending``) and cross-project clashes (``blocked``)."""
        return [Conflict.from_doc(d) for d in self._docs.open_conflict_docs(OPEN_CONFLICT, project)]

    def get_conflict(self, conflict_id: str, project: str | None = None) -> Conflict:
        docs = self._docs.conflict_docs(conflict_id.strip(), project)
        if not docs:
            where = f" in project '{project}'" if project else ""
            raise KnowledgeError(f"No conflict '{conflict_id}'{where}. List them with `forge conflicts`.")
        if len(docs) > 1:
            raise KnowledgeError(f"'{conflict_id}' exists in several projects; name one with --project.")
        return Conflict.from_doc(docs[0])

    def choose(
        self, conflict_id: str, choice: str, *, project: str | None = None, who: str = "user", why: str = ""
    ) -> Conflict:
        """Settle a conflict: ``keep_both``, ``supersede`` (new replaces old) or ``reject`` (drop new)."""
        if choice not in CHOICES:
            raise KnowledgeError(f"Unknown choice '{choice}'; use one of: {', '.join(CHOICES)}.")
        conflict = self.get_conflict(conflict_id, project)
        if conflict.status not in OPEN_CONFLICT:
            raise KnowledgeError(f"Conflict {conflict.id} was already settled ({conflict.choice}).")
        if choice == "supersede":
            if conflict.kind == policy.CROSS_PROJECT:
                raise KnowledgeError(
                    f"{conflict.new} (project '{conflict.project}') cannot supersede {conflict.existing} "
                    f"(project '{conflict.existing_project}'): decisions never cross projects. "
                    "Choose keep_both or reject."
                )
            self.supersede(conflict.project, conflict.new, conflict.existing, who=who, why=why or "conflict choice")
        elif choice == "reject":
            self.reject(conflict.project, conflict.new, who=who, why=why or f"conflict {conflict.id}")
        now = self.clock()
        self._docs.resolve_conflict(conflict.uid, choice, now)
        self.events.log(conflict.project, "conflict_resolved", conflict.id, who=who, why=why, at=now, choice=choice)
        return self.get_conflict(conflict.uid)

    # -- internals -------------------------------------------------------------
    def _overlap_candidates(self, draft: Decision) -> list[Decision]:
        docs = self._docs.overlapping_decision_docs(
            draft.project, draft.statement, key=draft.key or "", subject=draft.subject or "",
            artifacts=draft.artifacts, embedded=draft.embedding is not None,
        )  # fmt: skip
        return [Decision.from_doc(d) for d in docs]

    def _merge(self, old: Decision, new: Decision, who: str, why: str, validates: bool) -> Decision:
        now = self.clock()
        self._docs.merge_into_decision(old.uid, new.sources, new.tier, now if validates else None)
        self.events.log(old.project, "decision_merged", old.id, who=who, why=why, at=now, text=new.text)
        return self.get_decision(old.project, old.id)

    def _supersede(self, new: Decision, old: Decision, who: str, why: str) -> None:
        self._docs.mark_superseded(old.uid, old.id, new.uid, new.id)
        self._store.add_edge(new.uid, old.uid, "supersedes", project=new.project)
        self._store.add_edge(new.uid, old.uid, "conflicts_with", project=new.project)
        self.events.log(new.project, "decision_superseded", old.id, who=who, why=why, at=self.clock(), by=new.id)

    def _open_conflict(self, new: Decision, old: Decision, verdict: policy.Verdict, who: str) -> Conflict:
        cross = verdict.kind == policy.CROSS_PROJECT
        ref = f"{old.project}/{old.id}" if cross else old.id
        self._docs.add_decision_conflict(new.uid, ref)
        if not cross:  # a decision in another project is shown the clash, never modified
            self._docs.add_decision_conflict(old.uid, new.id)
        self._store.add_edge(new.uid, old.uid, "conflicts_with", project=new.project, blocked=cross)
        now = self.clock()
        cid = self.next_short_id(new.project, "C")
        doc = {
            "_id": entity_id(new.project, "conflict", cid, now),
            "id": cid,
            "project": new.project,
            "kind": verdict.kind,
            "status": "blocked" if cross else "pending",
            "new": new.id,
            "existing": old.id,
            "existing_project": old.project,
            "basis": verdict.basis,
            "reason": verdict.reason,
            "created_at": now,
        }
        self._docs.insert_conflict(doc)
        self.events.log(new.project, "conflict_" + doc["status"], cid, who=who, why=verdict.reason, at=now, new=new.id, existing=ref)
        return Conflict.from_doc(doc)

