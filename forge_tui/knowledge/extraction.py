"""Real-time extraction: after a turn is persisted, turn it into knowledge.

``Extractor.process_turn`` is meant for a background worker: it labels the
message (classifier), merges code into patterns, sends each decision and
open-question candidate through ``decide()`` and records the result in the
registry (where the conflict policy applies), and closes threads the turn
resolves. It never raises into its caller: any failure is written as an
``extraction_failed`` event with ``retry: pending`` and ``retry_failed`` picks
it up later. A ``decide()`` answer that fails validation is replaced by the
rule-based draft with a low tier, and that is logged too.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from forge_tui.config import Settings
from forge_tui.domain.models import Turn
from forge_tui.engine.base import KnowledgeEngine
from forge_tui.knowledge.classifier import classify, code_blocks, decision_sentences
from forge_tui.knowledge.decide import (
    DECISION_OPTIONS,
    THREAD_OPTIONS,
    DecideError,
    content_words,
    decide,
    grounded,
)
from forge_tui.knowledge.errors import KnowledgeError
from forge_tui.knowledge.patterns import Pattern, PatternStore
from forge_tui.knowledge.records import RecordOutcome, Thread
from forge_tui.knowledge.registry import Registry
from forge_tui.protocol.extract import ABANDONED_RE, QUESTION_RE, RESOLVED_RE, guess_priority, sentences, words
from forge_tui.store.codec import turn_from_doc

log = logging.getLogger(__name__)

FALLBACK_TIER = 0.3  # a rule-based draft is a guess: low confidence until someone confirms it
MAX_CANDIDATES = 4  # per turn and kind: a long pasted document must not queue dozens of model calls
MAX_ATTEMPTS = 3
_THREAD_REF = re.compile(r"\bT\d{3,}\b")
_OPEN_QUESTION = re.compile(r"\b(should we|do we|which|how (do|should|can) we|what('s| is) the best)\b", re.I)


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
    ):
        """``engine`` None = rule-based drafts only; ``embedder.embed(texts)`` adds vectors for conflicts."""
        self.registry = registry
        self.engine = engine
        self.settings = settings
        self.embedder = embedder
        self.cancel = cancel or threading.Event()
        self.patterns = PatternStore(registry)
        self._messages = registry.db["messages"]
        self._conversations = registry.db["conversations"]

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
        events = self.registry.events.events
        results = []
        for ev in events.find({"what": "extraction_failed", "retry": "pending"}).sort("at", 1).limit(limit):
            doc = self._messages.find_one({"_id": ev["target"]})
            conv = self._conversations.find_one({"_id": doc["conversation_id"]}) if doc else None
            if doc is None:
                events.update_one({"_id": ev["_id"]}, {"$set": {"retry": "gave_up", "why": "turn no longer exists"}})
                continue
            outcome = self._run(turn_from_doc(doc), conv or {"project": ev.get("project")}, force=True, queue=False)
            attempts = int(ev.get("attempts", 1)) + 1
            state = "done" if outcome.ok else ("gave_up" if attempts >= MAX_ATTEMPTS else "pending")
            events.update_one(
                {"_id": ev["_id"]}, {"$set": {"retry": state, "attempts": attempts, "last_error": outcome.error}}
            )
            results.append(outcome)
        return results

    # -- steps -----------------------------------------------------------------
    def _process(self, turn: Turn, conversation: Any, project: str, out: ExtractionOutcome, force: bool) -> None:
        if getattr(turn.status, "is_open", False):
            out.skipped = True  # still streaming: extract once the turn is closed
            return
        if not force and self._messages.find_one({"_id": turn.id, "extracted_at": {"$ne": None}}, {"_id": 1}):
            out.skipped = True
            return
        role = getattr(turn.role, "value", turn.role)
        out.labels = classify(turn.content, role)
        self._messages.update_one({"_id": turn.id}, {"$set": {"labels": out.labels, "labelled": True}})
        conv_id = turn.conversation_id
        if "code_pattern" in out.labels:
            for block in code_blocks(turn.content)[:MAX_CANDIDATES]:
                if block.strip():
                    out.patterns.append(self.patterns.absorb(project, block, sources=[turn.id], who="extractor")[0])
        if role != "system" and self.settings.extraction:
            for sentence in decision_sentences(turn.content, role)[:MAX_CANDIDATES]:
                out.decisions.append(self._decision(sentence, turn, project, conv_id, out))
            self._threads(turn, role, project, conv_id, out)
        self._messages.update_one({"_id": turn.id}, {"$set": {"extracted_at": self.registry.clock()}})

    def _context(self, turn: Turn, sentence: str) -> str:
        role = getattr(turn.role, "value", turn.role)
        body = " ".join(turn.content.split())
        if len(body) > 600:
            body = body[:600] + " …"
        return f"Message ({role}): {body}\nCandidate: {sentence}"

    def _decision(
        self, sentence: str, turn: Turn, project: str, conv_id: str, out: ExtractionOutcome
    ) -> RecordOutcome:
        draft = {"text": sentence[:400], "rationale": "", "tier": FALLBACK_TIER, "priority": guess_priority(sentence)}
        answer = self._ask(DECISION_OPTIONS, self._context(turn, sentence), sentence, "text", project, turn.id, out)
        fields = answer or draft
        if answer and not content_words(answer.get("rationale") or "") & content_words(turn.content):
            fields = {**answer, "rationale": ""}  # a reason the message never gave is not a rationale
        embedding = None
        if self.embedder is not None:
            embedding = [float(x) for x in self.embedder.embed([fields["text"]])[0]]
        # the policy compares the user's words (``statement``), not the model's paraphrase
        return self.registry.record_decision(
            project,
            fields["text"],
            statement=sentence,
            rationale=fields.get("rationale") or "",
            tier=float(fields["tier"]),
            priority=fields["priority"],
            sources=[turn.id],
            conversation_id=conv_id,
            embedding=embedding,
            who="extractor",
            why=f"stated in turn {turn.seq}" + ("" if answer else " (rule-based draft)"),
        )

    def _threads(self, turn: Turn, role: str, project: str, conv_id: str, out: ExtractionOutcome) -> None:
        opened = 0
        for s in sentences(turn.content):
            closing = ABANDONED_RE.search(s) or RESOLVED_RE.search(s)
            if closing and not s.endswith("?"):
                status = "ABANDONED" if ABANDONED_RE.search(s) else "RESOLVED"
                for thread in self._threads_closed_by(project, s):
                    out.threads_closed.append(
                        self.registry.resolve_thread(
                            project, thread.id, status=status, resolution=s[:300], sources=[turn.id], who="extractor"
                        )
                    )
                continue
            question = QUESTION_RE.search(s) or (role == "user" and s.endswith("?") and _OPEN_QUESTION.search(s))
            if question and opened < MAX_CANDIDATES:
                opened += 1
                draft = {"title": s[:300], "priority": guess_priority(s)}
                answer = self._ask(THREAD_OPTIONS, self._context(turn, s), s, "title", project, turn.id, out)
                fields = answer or draft
                out.threads_opened.append(
                    self.registry.open_thread(
                        project, fields["title"], priority=fields["priority"], sources=[turn.id],
                        conversation_id=conv_id, who="extractor", why=f"asked in turn {turn.seq}",
                    )
                )  # fmt: skip

    def _threads_closed_by(self, project: str, sentence: str) -> list[Thread]:
        """Open threads a resolution sentence names (``T003``) or is clearly about (shared words)."""
        open_threads = [t for t in self.registry.threads(project, status="OPEN")]
        named = set(_THREAD_REF.findall(sentence))
        if named:
            return [t for t in open_threads if t.id in named]
        mine = words(sentence)
        scored = [(len(mine & words(t.title)), t) for t in open_threads]
        best = max((n for n, _ in scored), default=0)
        if best < 2:
            return []  # "done!" alone does not say which thread: leave them open
        return [t for n, t in scored if n == best][:1]

    def _ask(
        self, options, context: str, candidate: str, text_key: str, project: str, turn_id: str, out: ExtractionOutcome
    ) -> dict | None:
        """decide() with validation; ``None`` (and a logged reason) when the draft must be used."""
        if self.engine is None:
            return None
        try:
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
