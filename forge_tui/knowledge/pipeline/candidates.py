"""The archive's view of a conversation's state: numbered candidates the model may restate.

Compression shows the model numbered decisions and threads (``from: 3``) and
keeps artifacts and constraints verbatim; this turns a ``ConversationState``
into that shape, so the archive holds exactly what the registry would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from forge_tui.knowledge.pipeline.artifacts import PATH_RE, plausible_path
from forge_tui.knowledge.pipeline.cues import guess_priority
from forge_tui.knowledge.pipeline.state import ConversationState
from forge_tui.knowledge.pipeline.text import URL_RE


@dataclass
class Candidate:
    number: int  # 1-based, as shown to the model
    text: str  # the sentence, verbatim (an accepted proposal: the proposal)
    source: str  # message id
    role: str
    kind: str  # "decision" | "thread"
    priority: str = "medium"
    tier: float = 0.8
    status: str = "OPEN"  # threads: OPEN/RESOLVED/ABANDONED; decisions: active/superseded
    supersedes: list[int] = field(default_factory=list)  # candidate numbers (decisions)
    closed_by: str | None = None
    value: str = ""  # decisions: the chosen value; threads: the resolution
    title: str = ""  # threads: a short title
    sources: list[str] = field(default_factory=list)


@dataclass
class Extraction:
    artifacts: list[dict] = field(default_factory=list)
    constraints: list[dict] = field(default_factory=list)
    decisions: list[Candidate] = field(default_factory=list)
    threads: list[Candidate] = field(default_factory=list)


def scope_of(sentence: str) -> str:
    m = PATH_RE.search(URL_RE.sub(" ", sentence))
    if m and plausible_path(m.group(0)):
        return m.group(0).rstrip(".")[:200]
    return "project"


def to_extraction(state: ConversationState) -> Extraction:
    ex = Extraction(artifacts=list(state.artifacts))
    numbers = {d.id: i + 1 for i, d in enumerate(state.decisions)}
    for d in state.decisions:
        text = d.text if not d.accepts else f"{d.value} (agreed: {d.text})"
        tier = round(min(1.0, 0.5 + 0.5 * d.confidence) if d.role == "user" else 0.4 + 0.4 * d.confidence, 2)
        ex.decisions.append(Candidate(
            numbers[d.id], text[:400], d.sources[0], d.role, "decision", guess_priority(d.text), tier=tier,
            status=d.status, supersedes=[numbers[s] for s in d.supersedes], value=d.value, sources=list(d.sources),
        ))  # fmt: skip
    for i, q in enumerate(state.questions, 1):
        ex.threads.append(Candidate(
            i, q.text[:300], q.sources[0], q.role, "thread", guess_priority(q.text), status=q.status,
            closed_by=q.resolved_by, value=q.resolution, title=q.title, sources=list(q.sources),
        ))  # fmt: skip
    seen: set[str] = set()
    for c in state.constraints:
        quote = re.sub(r"^\s+|\s+$", "", c.quote)[:1000]
        if quote in seen:
            continue
        seen.add(quote)
        ex.constraints.append({"quote": quote, "priority": guess_priority(quote), "scope": scope_of(quote),
                               "source": c.source})
    return ex
