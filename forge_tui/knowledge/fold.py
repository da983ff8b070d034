"""Fold one turn's labelled sentences into the registry, linking them as the archive does.

The links come from ``pipeline.link`` with the registry's own items as the
known ones: a restatement merges into the decision it repeats (both turns as
sources), a revision supersedes the decision it replaces (both kept), "sounds
good, do that" records the previous assistant turn's proposal, a resolution
closes the open thread it answers (that turn as the resolution source), a
question asked again joins the open thread. Constraints are recorded verbatim
as decisions of kind ``constraint``. Items pinned by hand are never superseded
or merged into by extraction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from forge_tui.knowledge.pipeline import cues, link, resolve, revise
from forge_tui.knowledge.pipeline.classify import Labelled, TurnText
from forge_tui.knowledge.pipeline.state import proposal_in
from forge_tui.knowledge.records import Decision, RecordOutcome, Thread
from forge_tui.knowledge.registry import Registry

DRAFT_TIER = 0.3  # the pipeline's draft is a guess: low confidence until a model or a person confirms it
MAX_PER_KIND = 6  # per turn: a pasted document must not flood the registry
RECENT_TURNS = 4  # a bare "actually, switch it" revises a decision at most this many turns back

#: (kind, sentence, draft fields) -> the fields to record (a capable model may reword; None = keep the draft)
Reword = Callable[[str, str, dict], dict]
#: seq -> the labelled sentences of the conversation's turns just before it (``resolve.LOOK_BACK`` of them)
Recent = Callable[[int], list[Labelled]]


@dataclass
class Folded:
    decisions: list[RecordOutcome]
    opened: list[Thread]
    closed: list[Thread]


class RegistryFolder:
    def __init__(
        self, registry: Registry, project: str, conversation_id: str | None, reword: Reword | None = None,
        embed: Callable[[str], list[float]] | None = None, recent: Recent | None = None,
        linker: resolve.Linker | None = None, reviser: revise.Reviser | None = None,
    ):
        """``reword``: a model's wording on top of the drafts; ``embed``: vectors for the conflict policy;
        ``recent``: earlier sentences a resolution may settle; ``linker``: default the shipped one."""
        self.registry = registry
        self.recent = recent
        self.linker = linker if linker is not None else resolve.shipped_linker()
        self.reviser = reviser if reviser is not None else revise.shipped_reviser()
        self.embed = embed
        self.project = project
        self.conv_id = conversation_id
        self.reword = reword

    def fold(self, labelled: list[Labelled], turn: TurnText, seq: int, prev: TurnText | None) -> Folded:
        out = Folded([], [], [])
        counts: dict[str, int] = {}
        previous = previous_text = ""
        for at, item in enumerate(labelled):
            counts[item.label] = counts.get(item.label, 0) + 1
            if counts[item.label] > MAX_PER_KIND:
                continue
            closed = None
            if item.label not in ("resolution", "question") and (
                    item.second == "resolution" or link.closes_question(item.text)):
                closed = self._resolution(item, turn, seq, out)  # "so that answers the bf16 question, bf16 it is"
            if item.label == "decision":
                recorded = self._decision(item, turn, seq, prev, closed is None, out)
                if recorded is not None:
                    out.decisions.append(recorded)
            elif item.label == "constraint":
                out.decisions.append(self._constraint(item, turn))
            elif item.label == "question":
                joined = None
                if at and link.status_asks(item.text, labelled[at - 1].text, labelled[at - 1].label):  # "offer? TBD"
                    out.opened.append(self._question(labelled[at - 1], turn, seq))
                    joined = out.opened[-1].id
                elif out.opened and previous == "question" and link.continues_question(previous_text, item.text):
                    joined = out.opened[-1].id
                elif out.opened and link.status_only(item.text):
                    joined = out.opened[-1].id  # "jamovi or r. the students are scared of r. not sure yet"
                joined = joined or self._asked_just_before(item, turn)
                out.opened.append(self._question(item, turn, seq, joined))
            elif item.label == "resolution":
                self._resolution(item, turn, seq, out)
            previous, previous_text = item.label, item.text
        return out

    # -- known items ------------------------------------------------------------------
    def _active(self, seq: int) -> tuple[list[link.Known], dict[str, Decision], dict[str, int]]:
        """Active decisions as link candidates (``turn`` set when stated in the last ``RECENT_TURNS``), by id,
        and the last turn of this conversation that stated each one."""
        decisions = [d for d in self.registry.decisions(self.project) if d.kind == "decision"]
        decisions.sort(key=lambda d: (d.created_at is None, d.created_at))
        here = [d for d in decisions if self.conv_id is not None and d.conversation_id == self.conv_id]
        last_seq = _last_seqs(self.registry, here)
        known = []
        for d in decisions:
            recent = seq - last_seq.get(d.id, -(10**6)) <= RECENT_TURNS
            known.append(link.Known(d.id, d.statement or d.text, d.value or link.decision_value(d.statement or d.text),
                                    seq - 1 if recent else None))
        return known, {d.id: d for d in decisions}, last_seq

    def _similar(self, statement: str, known: list[link.Known], by_id: dict[str, Decision]) -> dict[str, float] | None:
        """Cosine of ``statement`` with each known decision's stored embedding (when there is an embedder)."""
        stored = {k.id: by_id[k.id].embedding for k in known if by_id[k.id].embedding}
        if self.embed is None or not stored:
            return None
        mine = self.embed(statement)
        return {kid: link.cosine(mine, vec) for kid, vec in stored.items() if len(vec) == len(mine)}

    def _open_threads(self, seq: int | None = None) -> list[link.Known]:
        """Open threads; with ``seq``, each one's last asking turn when it was in this conversation."""
        threads = self.registry.threads(self.project, "OPEN")
        here = [t for t in threads if self.conv_id is not None and t.conversation_id == self.conv_id]
        last = _last_seqs(self.registry, here) if seq is not None else {}
        return [link.Known(t.id, t.question or t.title, t.title, last.get(t.id)) for t in threads]

    # -- one sentence -------------------------------------------------------------------
    def _decision(self, item: Labelled, turn: TurnText, seq: int, prev: TurnText | None, may_close: bool,
                  out: Folded) -> RecordOutcome | None:
        accepts = (item.role == "user" and prev is not None and prev.role == "assistant"
                   and link.accepts_proposal(item.text))
        value = (link.accepted_value(proposal_in(prev.content), item.text) if accepts and prev
                 else link.decision_value(item.text))
        statement = value if accepts else item.text
        known, by_id, last_seq = self._active(seq)
        free = [k for k in known if not by_id[k.id].pinned]
        follows = [k.id for k in known if k.turn is not None and by_id[k.id].sources
                   and prev is not None and by_id[k.id].sources[-1] == prev.source]
        same = link.restated(statement, value, known, follows)
        if same is None and not link.may_open_decision(item.role):
            return None
        # similar wording without a revision cue is left to the conflict policy (it asks the user)
        similar = self._similar(statement, free, by_id) if link.is_revision_cue(statement) else None
        old = None if same else self._revised(statement, value, seq, free, last_seq, similar)
        draft = {"text": (f"{value} (agreed: {item.text})" if accepts else item.text)[:400], "rationale": "",
                 "tier": DRAFT_TIER, "priority": cues.guess_priority(item.text)}
        fields = self.reword("decision", statement, draft) if self.reword and not same else draft
        outcome = self.registry.record_decision(
            self.project, fields["text"], statement=statement, rationale=fields.get("rationale") or "",
            tier=float(fields["tier"]), priority=fields["priority"], sources=[turn.source],
            conversation_id=self.conv_id, who="extractor", value=value, restates=same, revises=old,
            embedding=self.embed(fields["text"]) if self.embed and not same else None,
            why=f"stated in turn {seq}" + (" (agreeing to the proposal before it)" if accepts else ""),
        )  # fmt: skip
        if may_close and outcome.action != "merged" and link.may_open_decision(item.role):
            self._resolution(item, turn, seq, out, "decision", statement)  # the decision settles a question
        return outcome

    def _revised(self, statement: str, value: str, seq: int, free: list[link.Known], last_seq: dict[str, int],
                 similar: dict[str, float] | None) -> str | None:
        """The decision this one replaces: the archive's reviser over the same candidates, then embeddings."""
        stated = [revise.Stated(k.id, k.text, k.value, last_seq.get(k.id), bool(cues.CUES["tentative"].search(k.text)))
                  for k in free]
        new = revise.Stated("", statement, value, seq, bool(cues.CUES["tentative"].search(statement)))
        hit = self.reviser.choose(new, stated)
        return hit.key if hit is not None else link.similar_revision(statement, value, free, similar)

    def _constraint(self, item: Labelled, turn: TurnText) -> RecordOutcome:
        return self.registry.record_decision(
            self.project, item.text[:1000], statement=item.text, tier=DRAFT_TIER,
            priority=cues.guess_priority(item.text), sources=[turn.source], conversation_id=self.conv_id,
            who="extractor", kind="constraint", why="a rule stated in the conversation",
        )  # fmt: skip

    def _question(self, item: Labelled, turn: TurnText, seq: int, joined: str | None = None) -> Thread:
        """``joined``: the thread the sentence just before opened (one question in two sentences)."""
        same = joined or link.duplicate_question(item.text, self._open_threads())
        title = link.question_title(item.text)
        if self.reword and same is None:
            title = self.reword("thread", item.text, {"title": title, "priority": "medium"}).get("title", title)
        return self.registry.open_thread(
            self.project, title, priority=cues.guess_priority(item.text), sources=[turn.source],
            conversation_id=self.conv_id, who="extractor", why=f"asked in turn {seq}", question=item.text,
            same_as=same,
        )  # fmt: skip

    def _asked_just_before(self, item: Labelled, turn: TurnText) -> str | None:
        """The open thread asked by the sentence right before this one in the same turn, when this one goes on
        with it ("ariadne or codespan? not sure yet which one"); the re-read may find the two apart."""
        for thread in self.registry.threads(self.project, "OPEN"):
            if turn.source not in thread.sources or not thread.question:
                continue
            asked = re.search(r"\s+".join(map(re.escape, thread.question.split())), turn.content)
            if (asked and asked.end() <= item.sentence.start
                    and not turn.content[asked.end():item.sentence.start].strip(" \t\r\n-*•")
                    and link.continues_question(thread.question, item.text)):
                return thread.id
        return None

    def _resolution(self, item: Labelled, turn: TurnText, seq: int, out: Folded, label: str = "resolution",
                    text: str = "") -> Thread | None:
        """Close the thread ``item`` settles, as the archive does (``resolve.Linker`` over the same candidates):
        an open thread, or an earlier question-like sentence never recorded (opened from its turn, then closed)."""
        threads = {t.id: t for t in self.registry.threads(self.project, "OPEN")}
        candidates = [resolve.Asked(k.id, k.text, k.turn, "user", 1.0, k.value) for k in self._open_threads(seq)
                      if turn.source not in threads[k.id].sources]
        if self.recent is not None:  # a sentence is taken when a thread asks it (as the archive's questions do)
            held = {(src, " ".join(t.question.split())) for t in self.registry.threads(self.project) for src in t.sources}
            candidates += resolve.sentence_candidates(
                self.recent(seq), seq, lambda it: (it.source, " ".join(it.text.split())) in held)
        target = self.linker.choose(resolve.closing_of(item, label, text, seq), candidates)
        if target is None:
            return None
        tid = target.key
        if not tid:
            opened = self.registry.open_thread(
                self.project, link.question_title(target.text), priority=cues.guess_priority(target.text),
                sources=[target.source], conversation_id=self.conv_id, who="extractor", question=target.text,
                why="asked earlier and settled in this turn",
            )  # fmt: skip
            out.opened.append(opened)
            tid = opened.id
        closed = self.registry.resolve_thread(
            self.project, tid, resolution=item.text[:300], sources=[turn.source], who="extractor",
            why="answered by a decision" if label == "decision" else "answered in the conversation")
        out.closed.append(closed)
        return closed


def _last_seqs(registry: Registry, items: Sequence[Decision | Thread]) -> dict[str, int]:
    """The latest turn (``seq``) that stated each decision (or asked each thread), in one query."""
    sources = {src: d.id for d in items for src in d.sources[-3:]}
    if not sources:
        return {}
    out: dict[str, int] = {}
    for doc in registry.store.message_docs(sources, {"seq": 1}):
        did = sources[doc["_id"]]
        out[did] = max(out.get(did, -(10**6)), int(doc.get("seq", -(10**6))))
    return out
