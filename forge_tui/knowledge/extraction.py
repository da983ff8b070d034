"""Real-time extraction: after a turn is persisted, turn it into knowledge.

``Extractor.process_turn`` is meant for a background worker: the extraction
pipeline labels the turn's sentences (with the previous turn as context),
code merges into patterns, and ``fold.RegistryFolder`` records decisions,
constraints, threads and resolutions with the same links the archive uses.
With an engine, ``decide()`` may reword a draft; an answer that fails
validation leaves the pipeline's draft, and that is logged. It never raises
into its caller: any failure is written as an ``extraction_failed`` event with
``retry: pending`` and ``retry_failed`` picks it up later.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

from forge_tui.config import Settings
from forge_tui.domain.models import Turn
from forge_tui.engine.base import KnowledgeEngine
from forge_tui.knowledge.decide import (
    DECISION_OPTIONS,
    THREAD_OPTIONS,
    Decider,
    DecideError,
    candidate_context,
    content_words,
    decide,
    grounded,
)
from forge_tui.knowledge.errors import KnowledgeError
from forge_tui.knowledge.fold import DRAFT_TIER, RegistryFolder
from forge_tui.knowledge.patterns import Pattern, PatternStore, has_code
from forge_tui.knowledge.pipeline import SentenceClassifier, default_classifier
from forge_tui.knowledge.pipeline.classify import Labelled, TurnText
from forge_tui.knowledge.pipeline.resolve import LOOK_BACK
from forge_tui.knowledge.pipeline.topics import classify, code_blocks
from forge_tui.knowledge.records import RecordOutcome, Thread
from forge_tui.knowledge.registry import Registry
from forge_tui.store.codec import turn_from_doc

log = logging.getLogger(__name__)

FALLBACK_TIER = DRAFT_TIER  # the pipeline's draft is a guess: low confidence until someone confirms it
MAX_CANDIDATES = 4  # per turn and kind: a long pasted document must not queue dozens of model calls
MAX_ATTEMPTS = 3


@dataclass
class ExtractionOutcome:
    turn_id: str
    project: str
    labels: list[str] = field(default_factory=list)
    decisions: list[RecordOutcome] = field(default_factory=list)
    threads_opened: list[Thread] = field(default_factory=list)
    threads_closed: list[Thread] = field(default_factory=list)
    patterns: list[Pattern] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)  # why decide() answers were replaced by drafts
    skipped: bool = False  # already extracted
    error: str | None = None  # set when extraction failed (queued for retry)
    elapsed_s: float = 0.0
    path: str = ""  # which classifier weights ran: full (embedding + cues) or cues

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def changed(self) -> bool:
        """Anything the sidebar should repaint for."""
        return bool(self.decisions or self.threads_opened or self.threads_closed)


class Extractor:
    def __init__(
        self,
        registry: Registry,
        engine: KnowledgeEngine | None,
        settings: Settings,
        *,
        embedder: Any = None,
        cancel: threading.Event | None = None,
        classifier: SentenceClassifier | None = None,
        decider: Decider | None = None,
    ):
        """``engine`` None = the pipeline's drafts only; ``embedder`` lets the classifier read embeddings."""
        self.registry = registry
        self.engine = engine
        self.decider = decider  # routes decide() along [routing].decide; None: decide() on ``engine``
        self.settings = settings
        self.embedder = embedder
        self.classifier = classifier or default_classifier(embedder)
        self.cancel = cancel or threading.Event()
        self.patterns = PatternStore(registry)
        self._store = registry.store

    # -- entry points ----------------------------------------------------------
    def process_turn(self, turn: Turn, conversation: Any, *, force: bool = False) -> ExtractionOutcome:
        """Extract knowledge from one persisted turn. Never raises; failures are queued for retry."""
        return self._run(turn, conversation, force=force, queue=True)

    def _run(self, turn: Turn, conversation: Any, *, force: bool, queue: bool) -> ExtractionOutcome:
        started = time.perf_counter()
        project = _attr(conversation, "project") or "default"
        out = ExtractionOutcome(turn_id=turn.id, project=project)
        try:
            self._process(turn, conversation, project, out, force)
        except Exception as exc:  # noqa: BLE001 - the caller's turn must never be lost to extraction
            out.error = f"{type(exc).__name__}: {exc}"
            log.warning("extraction of turn %s failed: %s", turn.id, out.error)
            if queue:
                self._queue_retry(turn, project, out.error)
        out.elapsed_s = time.perf_counter() - started
        return out

    def retry_failed(self, limit: int = 20) -> list[ExtractionOutcome]:
        """Re-run queued failures (oldest first); gives up on a turn after ``MAX_ATTEMPTS``."""
        events = self.registry.events
        results = []
        for ev in events.pending_retries("extraction_failed", limit):
            doc = self._store.message_doc(ev["target"])
            conv = self._store.conversation_doc(doc["conversation_id"]) if doc else None
            if doc is None:
                events.update(ev["_id"], retry="gave_up", why="turn no longer exists")
                continue
            outcome = self._run(turn_from_doc(doc), conv or {"project": ev.get("project")}, force=True, queue=False)
            attempts = int(ev.get("attempts", 1)) + 1
            state = "done" if outcome.ok else ("gave_up" if attempts >= MAX_ATTEMPTS else "pending")
            events.update(ev["_id"], retry=state, attempts=attempts, last_error=outcome.error)
            results.append(outcome)
        return results

    # -- steps -----------------------------------------------------------------
    def _process(self, turn: Turn, conversation: Any, project: str, out: ExtractionOutcome, force: bool) -> None:
        if getattr(turn.status, "is_open", False):
            out.skipped = True  # still streaming: extract once the turn is closed
            return
        if not force and self._store.is_extracted(turn.id):
            out.skipped = True
            return
        role = str(getattr(turn.role, "value", turn.role))
        here = TurnText(role, turn.content, turn.id)
        prev = self._previous(turn)
        labelled: list[Labelled] = []
        if role != "system":
            context = [prev, here] if prev is not None else [here]
            labelled = self.classifier.label(context, only=[len(context) - 1], offset=max(0, turn.seq - len(context) + 1))
        out.labels = classify(turn.content, role, labelled)
        out.path = self.classifier.path
        self._store.set_message_fields(turn.id, labels=out.labels, labelled=True)
        if "code_pattern" in out.labels:
            for block in code_blocks(turn.content)[:MAX_CANDIDATES]:
                if has_code(block):  # a pasted table of "#1 …" lines is all comment to the fingerprint
                    out.patterns.append(self.patterns.absorb(project, block, sources=[turn.id], who="extractor")[0])
        if role != "system" and self.settings.extraction:
            reword = None
            if self.engine is not None:
                def reword(kind: str, sentence: str, draft: dict) -> dict:
                    return self._reword(kind, sentence, draft, turn, project, out)
            embed = None
            if self.embedder is not None and self.embedder.is_ready:  # still loading: link by words only
                def embed(text: str) -> list[float]:
                    return [float(x) for x in self.embedder.embed([text])[0]]
            folder = RegistryFolder(self.registry, project, turn.conversation_id, reword, embed,
                                    self._recent_labelled(turn))
            if prev is not None:
                self._reread_previous(turn, here, prev, folder, out)
            folded = folder.fold(labelled, here, turn.seq, prev)
            out.decisions += folded.decisions
            out.threads_opened += folded.opened
            out.threads_closed += folded.closed
        self._store.set_message_fields(turn.id, extracted_at=self.registry.clock())

    def _previous(self, turn: Turn, before: int | None = None) -> TurnText | None:
        """The turn before this one (what "sounds good, do that" agrees to); ``before``: a seq to look below.
        A turn that names its parent (a branch) follows it: the turn stored before may be another version."""
        parent = getattr(turn, "parent_id", None)
        if before is None and parent is not None:
            return self._parent_text(turn.conversation_id, parent)
        doc = self._store.previous_message_doc(
            turn.conversation_id, turn.seq if before is None else before, {"role": 1, "content": 1, "seq": 1}
        )
        if doc is None:
            return None
        return TurnText(str(doc.get("role") or "user"), str(doc.get("content") or ""), doc["_id"])

    def _parent_text(self, conversation_id: str, parent: str | None) -> TurnText | None:
        """The nearest turn up a branch from ``parent`` that is not a system turn."""
        while parent is not None and parent != conversation_id:
            doc = self._store.message_doc(parent, {"role": 1, "content": 1, "parent_id": 1})
            if doc is None:
                return None
            if doc.get("role") != "system":
                return TurnText(str(doc.get("role") or "user"), str(doc.get("content") or ""), doc["_id"])
            parent = doc.get("parent_id")
        return None

    def _recent_labelled(self, turn: Turn) -> Callable[[int], list[Labelled]]:
        """The labelled sentences of the turns before a position (what a resolution may settle), read from
        the store on first use and kept for this turn: a whole-conversation pass sees the same sentences."""
        cache: dict[int, list[Labelled]] = {}

        def recent(seq: int) -> list[Labelled]:
            if seq not in cache:
                first = max(0, seq - LOOK_BACK)
                docs = self._store.message_docs_at([turn.conversation_id], range(first, seq + 1),
                                                   {"role": 1, "content": 1, "seq": 1})
                by_seq: dict[int, dict] = {}
                for doc in sorted(docs, key=lambda d: (int(d.get("seq", 0)), str(d["_id"]))):
                    by_seq.setdefault(int(doc.get("seq", 0)), doc)  # one version of a branched position
                seqs = sorted(by_seq)
                window = [TurnText(str(by_seq[q].get("role") or "user"), str(by_seq[q].get("content") or ""),
                                   str(by_seq[q]["_id"])) for q in seqs]
                labelled = self.classifier.label(window, only=[i for i, q in enumerate(seqs) if q < seq])
                cache[seq] = [replace(item, turn=seqs[item.turn]) for item in labelled]
            return cache[seq]

        return recent

    def _reread_previous(self, turn: Turn, here: TurnText, prev: TurnText, folder: RegistryFolder,
                         out: ExtractionOutcome) -> None:
        """Read the previous turn again now that its reply is known; record only what it missed.

        The reply says much about the turn before it ("Locked: …", "Noted — …"), so
        the registry ends up with what a whole-conversation pass (the archive) finds.
        """
        doc = self._store.message_doc(prev.source, {"seq": 1, "parent_id": 1}) or {}
        prev_seq = int(doc.get("seq", turn.seq - 1))
        if doc.get("parent_id") is not None:
            earlier = self._parent_text(turn.conversation_id, doc["parent_id"])
        else:
            earlier = self._previous(turn, before=prev_seq)
        window = [t for t in (earlier, prev, here) if t is not None]
        at = window.index(prev)
        labelled = self.classifier.label(window, only=[at], offset=max(0, prev_seq - at))
        withdrawn = self._withdraw_unconfirmed(out.project, prev.source, labelled)
        known = self._recorded(out.project, prev.source) - withdrawn
        missed = [item for item in labelled if " ".join(item.text.split()) not in known]
        if missed:
            folded = folder.fold(missed, prev, prev_seq, earlier)
            out.decisions += folded.decisions
            out.threads_opened += folded.opened
            out.threads_closed += folded.closed

    def _withdraw_unconfirmed(self, project: str, source: str, labelled: list[Labelled]) -> set[str]:
        """Take back what was recorded from turn ``source`` alone before its reply was known and that the
        re-read (reply known) labels otherwise: the registry then holds what a whole-conversation pass
        (the archive) finds, not the union of both readings. Returns the withdrawn sentences."""
        said = {" ".join(item.text.split()): item.label for item in labelled}
        decisions, threads = self._store.knowledge.drafts_from(project, source)
        why = "read again with its reply: not a {}".format
        withdrawn: set[str] = set()
        for doc in decisions:
            sentence = " ".join(str(doc.get("statement") or "").split())
            if (doc.get("kind", "decision") == "decision" and not doc.get("supersedes")
                    and said.get(sentence, "decision") != "decision"):
                self.registry.withdraw_draft(project, doc["id"], why=why("decision"))
                withdrawn.add(sentence)
        for doc in threads:
            sentence = " ".join(str(doc.get("question") or "").split())
            if said.get(sentence, "question") != "question":
                self.registry.withdraw_draft(project, doc["id"], why=why("question"))
                withdrawn.add(sentence)
        return withdrawn

    def _recorded(self, project: str, source: str) -> set[str]:
        """Sentences of turn ``source`` already in the registry (statements and questions)."""
        return {" ".join(s.split()) for s in self._store.knowledge.sentences_citing(project, source)}

    def _context(self, turn: Turn, sentence: str) -> str:
        return candidate_context(str(getattr(turn.role, "value", turn.role)), turn.content, sentence)

    def _reword(self, kind: str, sentence: str, draft: dict, turn: Turn, project: str, out: ExtractionOutcome) -> dict:
        """A capable model's wording on top of the pipeline's draft (which stands when the answer does not)."""
        options, key = (DECISION_OPTIONS, "text") if kind == "decision" else (THREAD_OPTIONS, "title")
        answer = self._ask(options, self._context(turn, sentence), sentence, key, project, turn.id, out)
        if answer is None:
            return draft
        if kind == "decision" and not content_words(answer.get("rationale") or "") & content_words(turn.content):
            answer = {**answer, "rationale": ""}  # a reason the message never gave is not a rationale
        return {**draft, **answer}

    def _ask(
        self, options, context: str, candidate: str, text_key: str, project: str, turn_id: str, out: ExtractionOutcome
    ) -> dict | None:
        """decide() with validation; ``None`` (and a logged reason) when the draft must be used."""
        if self.engine is None:
            return None
        try:
            if self.decider is not None:
                answer = self.decider(project, context, options, self.cancel)
            else:
                answer = decide(self.engine, context, options, self.cancel)
        except DecideError as exc:
            if self.cancel.is_set():  # shutting down: retry later rather than record a draft
                raise KnowledgeError("extraction cancelled before the model answered") from None
            reason = str(exc)
        else:
            if grounded(answer[text_key], candidate):
                return answer
            reason = f"decide() answer {answer[text_key][:80]!r} does not restate the candidate"
        out.fallbacks.append(reason)
        self.registry.events.log(project, "decide_fallback", turn_id, who="extractor", why=reason, candidate=candidate)
        log.info("extraction fell back to the rule-based draft: %s", reason)
        return None

    def _queue_retry(self, turn: Turn, project: str, error: str) -> None:
        try:
            self.registry.events.log(
                project, "extraction_failed", turn.id, who="extractor", why=error, retry="pending", attempts=1
            )
        except Exception:  # noqa: BLE001 - the store itself is down: nothing left but the log file
            log.exception("extraction of turn %s failed and could not be queued: %s", turn.id, error)


def _attr(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


__all__: Sequence[str] = ("Extractor", "ExtractionOutcome", "FALLBACK_TIER")
