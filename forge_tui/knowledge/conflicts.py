"""Conflict policy: pure functions deciding what a new decision does to old ones.

Only decisions that *overlap* are compared — same key, subject or artifact, or
(when both carry vectors) embedding cosine above a threshold. This is what keeps
true facts from being invalidated by unrelated statements (the failure seen in
Graphiti, where 41 % of facts got invalidated). For an overlapping pair:

* different scope ("5 % in backtests only" vs "2 % live") -> no conflict, except an
  explicit reversal scoped against a general rule ("switch to X instead while we
  prototype"), which is ``ambiguous``;
* a restatement -> ``restatement`` (merged into the old one);
* another project -> ``cross_project`` (blocked: shown, never merged or superseded);
* a newer statement with the same key, or the same subject/artifact plus an
  explicit reversal ("instead", "switch to", "no longer"...) -> ``supersede``;
* anything else -> ``ambiguous`` (surfaced for the user to choose).

The registry applies the verdicts (``Registry.record_decision``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Protocol, Sequence

NONE, RESTATEMENT, SUPERSEDE, AMBIGUOUS, CROSS_PROJECT = (
    "none",
    "restatement",
    "supersede",
    "ambiguous",
    "cross_project",
)

EMBEDDING_OVERLAP = 0.85  # cosine above which two statements are about the same thing
EMBEDDING_RESTATEMENT = 0.97  # cosine above which they say the same thing

_SCOPES = {
    "backtest": "backtest", "backtests": "backtest", "backtesting": "backtest",
    "live": "live", "live trading": "live",
    "paper": "paper", "paper trading": "paper",
    "production": "production", "prod": "production",
    "staging": "staging",
    "development": "development", "dev": "development",
    "prototype": "prototype", "the prototype": "prototype",
    "ci": "ci",
    "local": "local", "locally": "local",
}  # fmt: skip
_SCOPE_WORDS = sorted(_SCOPES, key=len, reverse=True)
_SCOPE_RE = re.compile(
    r"\b(?:(?:in|for|during|on|with)\s+)?(" + "|".join(re.escape(w) for w in _SCOPE_WORDS) + r")\b(?:\s+only)?",
    re.IGNORECASE,
)
_REVERSAL = re.compile(
    r"\b(instead|rather than|switch(ed|ing)? (to|from|over)|no longer|not anymore|any ?more|replac\w*|"
    r"chang\w* (it |that )?to|move (away from|to)|drop(ped)?|revert\w*|actually|scrap\w*|from now on)\b",
    re.IGNORECASE,
)
_STOP = set(
    "a an the this that these those we we'll i i'll let's lets let us our you your it its is are be will shall "
    "should would going to go with use using used keep stick set settle settled on decide decided agreed agree "
    "choose chose chosen pick picked adopt standardise standardize and or but so of for in at by as from only "
    "all every also just now then please ok okay actually instead rather than".split()
)
_ARTIFACT = re.compile(r"`([^`]{2,60})`|\b([\w./-]+\.(?:py|js|ts|tsx|toml|json|ya?ml|md|sql|rs|go|sh|cfg|ini|txt))\b")
_SUBJECT_PATTERNS = [
    re.compile(r"\bfor\s+(?:the\s+|our\s+|all\s+)?(?P<s>[a-z][\w -]{1,40}?)(?=\s+(?:instead|rather|only|because|since|so|from|until|and|while|when|unless|if|as|to|with)\b|[.,;:!)]|$)", re.I),
    re.compile(r"\bset\s+(?:the\s+)?(?P<s>[a-z][\w -]{1,40}?)\s+to\b", re.I),
    re.compile(r"\bas\s+(?:the\s+|our\s+)(?P<s>[a-z][\w -]{1,40}?)(?=[.,;:!]|$|\s+(?:instead|rather|because)\b)", re.I),
    re.compile(r"^(?:the\s+)?(?P<s>[a-z][\w -]{1,40}?)\s+(?:should be|must be|will be|is|=)\s", re.I),
]  # fmt: skip


class Comparable(Protocol):
    """What the policy reads from a decision (``records.Decision`` satisfies it)."""

    project: str
    text: str
    scope: str
    subject: str
    key: str
    artifacts: list[str]
    created_at: datetime | None
    embedding: list[float] | None


@dataclass(frozen=True)
class Facets:
    scope: str
    subject: str
    key: str
    artifacts: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    kind: str
    basis: str = ""
    reason: str = ""


# -- facets derived from text ---------------------------------------------------


def derive_scope(text: str) -> str:
    """The environment a decision is limited to, or ``""`` when it applies everywhere."""
    found = sorted({_SCOPES[m.group(1).lower()] for m in _SCOPE_RE.finditer(text)})
    return "+".join(found)


def _strip_scope(text: str) -> str:
    return _SCOPE_RE.sub(" ", text)


def _tokens(text: str) -> list[str]:
    text = re.sub(r"['’](s|ll|re|d|ve|m|t)\b", "", text)
    return re.findall(r"[a-z0-9][a-z0-9_.%/+-]*[a-z0-9%]|[a-z0-9]", text.lower())


def content_tokens(text: str) -> list[str]:
    return [t.rstrip(".") for t in _tokens(_strip_scope(text)) if t not in _STOP]


def decision_key(text: str) -> str:
    """Skeleton of a statement with numbers masked: same key, different value -> same setting."""
    words = content_tokens(text)
    if not any(re.search(r"\d", w) for w in words):
        return ""  # a key only identifies a *value* setting ("risk # % per trade")
    return " ".join(re.sub(r"\d+(\.\d+)?", "#", w) for w in words)


def derive_subject(text: str) -> str:
    """What a decision is about ("database" in "use SQLite for the database")."""
    clean = _strip_scope(text).strip()
    for pattern in _SUBJECT_PATTERNS:
        match = pattern.search(clean)
        if match:
            words = [w for w in _tokens(match.group("s")) if w not in _STOP]
            if words and not any(re.search(r"\d", w) for w in words):
                return " ".join(words[-3:])
    return ""


def derive_artifacts(text: str) -> tuple[str, ...]:
    found = {(m.group(1) or m.group(2)).strip().lower() for m in _ARTIFACT.finditer(text)}
    return tuple(sorted(found))


def facets(text: str) -> Facets:
    return Facets(derive_scope(text), derive_subject(text), decision_key(text), derive_artifacts(text))


# -- comparisons ------------------------------------------------------------------


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def overlap_basis(new: Comparable, old: Comparable, threshold: float = EMBEDDING_OVERLAP) -> str:
    """Why two decisions are about the same thing, or ``""`` when they are not."""
    if new.key and new.key == old.key:
        return "key"
    if new.subject and new.subject == old.subject:
        return "subject"
    if set(new.artifacts or ()) & set(old.artifacts or ()):
        return "artifact"
    if new.embedding and old.embedding and cosine(new.embedding, old.embedding) >= threshold:
        return "embedding"
    return ""


def said(d: Comparable) -> str:
    """The words compared: the verbatim sentence when known, else the recorded text."""
    return getattr(d, "statement", "") or d.text


def is_restatement(new: Comparable, old: Comparable) -> bool:
    a, b = content_tokens(said(new)), content_tokens(said(old))
    if a and a == b:
        return True
    sa, sb = set(a), set(b)
    nums_a = {t for t in sa if re.search(r"\d", t)}
    nums_b = {t for t in sb if re.search(r"\d", t)}
    if sa and sb and nums_a == nums_b and len(sa & sb) / len(sa | sb) >= 0.85:
        return True
    if new.embedding and old.embedding and nums_a == nums_b:
        return cosine(new.embedding, old.embedding) >= EMBEDDING_RESTATEMENT
    return False


def has_reversal(text: str) -> bool:
    return bool(_REVERSAL.search(text))


def assess(new: Comparable, old: Comparable) -> Verdict:
    """The policy for one pair (``new`` is the incoming statement)."""
    basis = overlap_basis(new, old)
    if not basis:
        return Verdict(NONE)
    restated = is_restatement(new, old)
    if (new.scope or "") != (old.scope or ""):
        scopes = f"{new.scope or 'general'} vs {old.scope or 'general'}"
        if new.scope and old.scope or not has_reversal(said(new)) or restated:
            return Verdict(NONE, basis, f"different scopes ({scopes})")
        # "switch to X instead … while we prototype" against a general rule: narrowing or replacing? ask
        if new.project == old.project:
            return Verdict(AMBIGUOUS, basis, f"reversal with a different scope ({scopes})")
    if new.project != old.project:
        if restated:
            return Verdict(NONE, basis, "same decision in another project")
        return Verdict(CROSS_PROJECT, basis, f"clashes with a decision in project '{old.project}'")
    if restated:
        return Verdict(RESTATEMENT, basis, "restates it")
    if new.created_at and old.created_at and new.created_at < old.created_at:
        return Verdict(AMBIGUOUS, basis, "the incoming statement is older than the recorded one")
    if basis == "key":
        return Verdict(SUPERSEDE, basis, "same setting, new value")
    if has_reversal(said(new)):
        return Verdict(SUPERSEDE, basis, f"explicit reversal on the same {basis}")
    return Verdict(AMBIGUOUS, basis, f"same {basis}, different statement")


def plan(new: Comparable, existing: Iterable[Comparable]) -> list[tuple[Comparable, Verdict]]:
    """Every overlapping pair's verdict; ``none`` verdicts dropped."""
    out = []
    for old in existing:
        verdict = assess(new, old)
        if verdict.kind != NONE:
            out.append((old, verdict))
    return out
