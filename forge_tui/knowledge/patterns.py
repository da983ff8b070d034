"""Pattern store: code that keeps coming back, merged by a normalised fingerprint.

Two snippets that differ only in names, literals, comments and layout share a
fingerprint (``def f(a): return a + 1`` and ``def g(x): return x + 2``), so
the second sighting merges into the first and raises its confidence instead of
adding a duplicate. ``use`` counts retrievals, so often-used patterns rank first.
"""

from __future__ import annotations

import hashlib
import keyword
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Sequence


from forge_tui.domain.ids import entity_id
from forge_tui.knowledge.errors import KnowledgeError
from forge_tui.store.codec import aware

if TYPE_CHECKING:  # pragma: no cover
    from forge_tui.knowledge.registry import Registry


FIRST_CONFIDENCE = 0.5
CONFIDENCE_GAIN = 0.3  # each further sighting closes 30 % of the gap to 1.0
_KEEP = set(keyword.kwlist) | {
    "function", "const", "let", "var", "return", "fn", "impl", "struct", "self", "this", "new", "null",
    "SELECT", "FROM", "WHERE", "INSERT", "INTO", "UPDATE", "SET", "DELETE", "JOIN", "ORDER", "BY", "GROUP",
    "print", "len", "range", "open", "dict", "list", "str", "int", "float",
}  # fmt: skip
_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|\d+(?:\.\d+)?|[A-Za-z_]\w*|\S')


def normalise_code(code: str) -> list[str]:
    """Tokens with comments, layout, literals and local names abstracted away."""
    text = re.sub(r"(?m)(#|//).*$", "", code)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    names: dict[str, str] = {}
    out = []
    for tok in _TOKEN.findall(text):
        if tok[0] in "\"'":
            out.append("STR")
        elif tok[0].isdigit():
            out.append("NUM")
        elif tok[0].isalpha() or tok[0] == "_":
            out.append(tok if tok in _KEEP or tok.upper() in _KEEP else names.setdefault(tok, f"v{len(names)}"))
        else:
            out.append(tok)
    return out


def has_code(block: str) -> bool:
    """Is anything left of ``block`` once comments and layout are removed (what a pattern is made of)?"""
    return bool(normalise_code(block))


def fingerprint(code: str) -> str:
    tokens = normalise_code(code)
    if not tokens:
        raise KnowledgeError("A code pattern needs some code; this snippet is empty after removing comments.")
    return hashlib.sha256(" ".join(tokens).encode("utf-8")).hexdigest()[:32]


@dataclass
class Pattern:
    uid: str
    id: str
    project: str
    fingerprint: str
    code: str
    language: str = ""
    confidence: float = FIRST_CONFIDENCE
    occurrences: int = 1
    retrieval_count: int = 0
    sources: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "Pattern":
        return cls(
            uid=doc["_id"], id=doc["id"], project=doc["project"], fingerprint=doc["fingerprint"],
            code=doc.get("code", ""), language=doc.get("language", ""),
            confidence=float(doc.get("confidence", FIRST_CONFIDENCE)), occurrences=int(doc.get("occurrences", 1)),
            retrieval_count=int(doc.get("retrieval_count", 0)), sources=list(doc.get("sources") or []),
            created_at=aware(doc.get("created_at")), updated_at=aware(doc.get("updated_at")),
        )  # fmt: skip


class PatternStore:
    """Patterns per project; ids ``P001``… and events come from the registry."""

    def __init__(self, registry: "Registry"):
        self.registry = registry
        self._docs = registry.store.knowledge

    def absorb(
        self, project: str, code: str, *, language: str = "", sources: Sequence[str] = (), who: str = "system"
    ) -> tuple[Pattern, bool]:
        """Merge ``code`` into its pattern (or create one). Returns ``(pattern, created)``."""
        fp = fingerprint(code)
        now = self.registry.clock()
        merged = self._merge(project, fp, sources, now)
        if merged is not None:
            self.registry.events.log(project, "pattern_merged", merged.id, who=who, at=now, confidence=merged.confidence)
            return merged, False
        pid = self.registry.next_short_id(project, "P")
        doc = {
            "_id": entity_id(project, "pattern", fp), "id": pid, "project": project, "fingerprint": fp,
            "code": code.strip("\n"), "language": language, "confidence": FIRST_CONFIDENCE, "occurrences": 1,
            "retrieval_count": 0, "sources": list(dict.fromkeys(sources)), "created_at": now, "updated_at": now,
        }  # fmt: skip
        if not self._docs.insert_pattern(doc):  # another writer created it between our read and insert
            merged = self._merge(project, fp, sources, now)
            if merged is None:
                raise KnowledgeError(f"Pattern {pid} of project '{project}' could be neither created nor merged.")
            return merged, False
        self.registry.events.log(project, "pattern_created", pid, who=who, at=now)
        return Pattern.from_doc(doc), True

    def _merge(self, project: str, fp: str, sources: Sequence[str], now: datetime) -> Pattern | None:
        current = self._docs.pattern_confidence(project, fp)
        if current is None:
            return None
        uid, confidence = current
        gained = confidence + (1.0 - confidence) * CONFIDENCE_GAIN
        doc = self._docs.absorb_into_pattern(uid, round(gained, 4), sources, now)
        return Pattern.from_doc(doc) if doc else None

    def use(self, project: str, pid: str, *, who: str = "system") -> Pattern:
        """Record one retrieval of a pattern (it ranks higher afterwards)."""
        now = self.registry.clock()
        doc = self._docs.count_pattern_use(project, pid.strip().upper(), now)
        if doc is None:
            raise KnowledgeError(f"No pattern '{pid}' in project '{project}'.")
        self.registry.events.log(project, "pattern_used", doc["id"], who=who, at=now)
        return Pattern.from_doc(doc)

    def get(self, project: str, pid: str) -> Pattern:
        doc = self._docs.pattern_doc(project, pid.strip().upper())
        if doc is None:
            raise KnowledgeError(f"No pattern '{pid}' in project '{project}'.")
        return Pattern.from_doc(doc)

    def patterns(self, project: str, limit: int = 0) -> list[Pattern]:
        """Best first: confidence, then how often they were used."""
        return [Pattern.from_doc(d) for d in self._docs.pattern_docs(project, limit)]
