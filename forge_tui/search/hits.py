"""What a search returns: hits (one message each, with its snippet and why it matched) and notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from forge_tui.search.snippets import mark


@dataclass(frozen=True)
class SearchHit:
    project: str
    conversation_id: str
    conversation_title: str
    message_id: str
    seq: int
    role: str
    created_at: datetime | None
    snippet: str
    spans: tuple[tuple[int, int], ...]  # matched words inside ``snippet``
    score: float  # fused standardised score: how far above the searched messages' average it stands
    matched_by: tuple[str, ...]  # ("semantic",), ("keyword",) or both
    relevance: float | None = None  # the reranker's probability that it answers the query (hybrid only)

    def marked_snippet(self, open_mark: str = "«", close_mark: str = "»") -> str:
        return mark(self.snippet, list(self.spans), open_mark, close_mark)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "conversation_id": self.conversation_id,
            "conversation_title": self.conversation_title,
            "message_id": self.message_id,
            "seq": self.seq,
            "role": self.role,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "snippet": self.snippet,
            "spans": [list(s) for s in self.spans],
            "score": round(self.score, 6),
            "matched_by": list(self.matched_by),
            "relevance": None if self.relevance is None else round(self.relevance, 6),
        }


@dataclass
class SearchResult:
    hits: list[SearchHit]
    notes: list[str] = field(default_factory=list)  # one-line explanations (keyword-only, mismatch…)
    semantic: bool = False  # whether the semantic half took part
