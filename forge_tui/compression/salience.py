"""How likely a statement is to carry a value the next session needs: a small learned model.

Every prose sentence (long ones cut at clauses) and every short code line of a conversation is a
*unit*. A logistic regression over a few features — who said it, how far from the end, what kind
of values it holds (paths, versions, quantities, identifiers, inline code, names), whether those
values come up again later, decision and rule cues — gives the probability that the unit holds
one of the key facts a person would want kept. It was trained on the memory corpus's train+dev
conversations (``python -m forge_tui.compression.train_salience``) and ships as a small JSON file;
the archive's key statements are chosen by it (``facts.choose``).
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from forge_tui.knowledge.pipeline import cues
from forge_tui.knowledge.pipeline.artifacts import IDENT_RE, PATH_RE
from forge_tui.knowledge.pipeline.text import INLINE_CODE_RE, URL_RE, split_sentences

WEIGHTS = Path(__file__).with_name("salience_weights.json")
MAX_CODE_LINE = 120
MAX_UNIT_CHARS = 240
SETTING_RE = re.compile(r"^\s*[-\w.\"'\[\]]{2,60}\s*[:=]\s*\S|^\s*--?[\w-]{2,}[ =]\S")
NUMBER_RE = re.compile(r"(?<![\w.])\d+(?:[.,:]\d+)*")
VALUE_RE = re.compile(
    r"\b\d+(?:[.,]\d+)?\s?(?:ms|s|sec|seconds?|minutes?|min|hours?|h|days?|weeks?|months?|years?|%|percent|"
    r"[kmgt]i?b|k|rows?|entries|items|epochs?|replicas?|workers?|threads?|retries|users?|px|bps|x)\b"
    r"|\bv?\d+(?:\.\d+)+\w*|\b\d+e-?\d+\b|\b\d{1,2}:\d{2}\b|[$€£]\s?\d[\d,.]*|\d[\d,.]*\s?(?:€|eur|usd)\b",
    re.I,
)
CAMEL_SNAKE_RE = re.compile(r"\b(?:[a-z]+[A-Z]\w*|[A-Za-z]+_\w+|[A-Z]{2,}\d*[a-z]*\d*)\b")
NAME_RE = re.compile(r"(?<=[a-z0-9,;:(] )[A-Z][\w.+-]*(?: [A-Z][\w.+-]*)*|\b[A-Za-z]+(?:-[A-Za-z0-9]+)+\b"
                     r"|\"[^\"\n]{2,40}\"|'[^'\n]{2,40}'")
SUMMARY_RE = re.compile(r"\b(so far|in short|summary|to summari[sz]e|recap|final(ly)?|decided|locked|settled|"
                        r"current|going forward|from now on|now (is|are|uses?))\b", re.I)
BOLD_RE = re.compile(r"\*\*[^*]+\*\*")
_CUE_NAMES = ("commit", "commit_strong", "revise", "must", "open", "resolve", "restate", "request", "ack_only")
_SIGNAL_KINDS = (("url", URL_RE), ("path", PATH_RE), ("value", VALUE_RE), ("inline", INLINE_CODE_RE),
                 ("ident", IDENT_RE), ("camel", CAMEL_SNAKE_RE), ("name", NAME_RE), ("number", NUMBER_RE))
CLAUSE_BREAK = re.compile(r"[,;:]\s+|\s+(?:and|but|so|then|which|because|while|or)\s+|\s+[-–—]\s+")
CLAUSE_TARGET = 160
#: sentences longer than this are cut at clauses
SPLIT_ABOVE = 240


@dataclass
class Unit:
    """A statement of one turn: its text, where it sits and the values it holds."""

    text: str
    turn: int  # index among the turns given
    role: str
    kind: str  # prose | item | code
    signals: frozenset[str]
    by_kind: dict[str, int]
    p: float = 0.0  # probability of holding a key value (set by ``score``)


def clauses(sentence: str) -> list[str]:
    """A long run-on sentence as pieces of about ``CLAUSE_TARGET`` characters, cut at clause
    boundaries (so a value at its end is not lost to truncation); short sentences stay whole."""
    if len(sentence) <= SPLIT_ABOVE:
        return [sentence]
    pieces: list[str] = []
    current = ""
    pos = 0
    for m in CLAUSE_BREAK.finditer(sentence):
        part = sentence[pos:m.end()]
        pos = m.end()
        if current and len(current) + len(part) > CLAUSE_TARGET:
            pieces.append(current.strip())
            current = ""
        current += part
    current += sentence[pos:]
    if current.strip():
        pieces.append(current.strip())
    return [p for p in pieces if p]


def signals(text: str) -> tuple[frozenset[str], dict[str, int]]:
    """The value-bearing tokens of a statement (lower-cased), and how many of each kind."""
    found: list[str] = []
    by_kind: dict[str, int] = {}
    for kind, rx in _SIGNAL_KINDS:
        hits = [m.group(0).lower().strip("`'\"") for m in rx.finditer(text)]
        hits = [h for h in hits if h]
        by_kind[kind] = len(hits)
        found += hits
    return frozenset(found), by_kind


def _role(turn: Any) -> str:
    role = turn.get("role") if isinstance(turn, dict) else getattr(turn, "role", "user")
    return str(getattr(role, "value", role))


def _content(turn: Any) -> str:
    return str((turn.get("content") if isinstance(turn, dict) else getattr(turn, "content", "")) or "")


def units(turns: Sequence[Any]) -> list[Unit]:
    """Every unit of ``turns`` in order (system turns left out), exact duplicates once."""
    out: list[Unit] = []
    seen: set[str] = set()
    for i, turn in enumerate(turns):
        role = _role(turn)
        if role == "system":
            continue
        for s in split_sentences(_content(turn)):
            if s.kind == "code":
                pieces = [ln.strip() for ln in s.text.splitlines() if 3 <= len(ln.strip()) <= MAX_CODE_LINE]
            else:
                pieces = [c for c in clauses(" ".join(s.text.split()))]
            for text in pieces:
                key = text.lower()
                if key in seen or len(text) < 4:
                    continue
                seen.add(key)
                if len(text) > MAX_UNIT_CHARS:
                    text = text[: MAX_UNIT_CHARS - 1] + "…"
                sig, by_kind = signals(text)
                out.append(Unit(text, i, role, s.kind, sig, by_kind))
    return out


FEATURES = (
    "bias", "user", "item", "code", "setting", "first_turn", "last_turn", "from_end_1", "from_end_2_3",
    "from_end_4_7", "rel_pos", "log_len", "no_signal", "any_strong", "final_share", "later_count",
    "bold", "summary", "question", *(f"sig_{k}" for k, _ in _SIGNAL_KINDS), *(f"cue_{c}" for c in _CUE_NAMES),
)


def features(unit: Unit, n_turns: int, later: dict[str, int]) -> list[float]:
    """The feature vector of ``unit`` (order: ``FEATURES``); ``later``: each signal's last turn."""
    from_end = n_turns - 1 - unit.turn
    text = unit.text
    hits = cues.hits(text) if unit.kind != "code" else {}
    strong = unit.by_kind["url"] + unit.by_kind["path"] + unit.by_kind["value"] + unit.by_kind["inline"] + unit.by_kind["ident"]
    final = [s for s in unit.signals if later.get(s, unit.turn) <= unit.turn]
    row = [
        1.0, float(unit.role == "user"), float(unit.kind == "item"), float(unit.kind == "code"),
        float(bool(SETTING_RE.match(text))), float(unit.turn == 0), float(from_end == 0), float(from_end == 1),
        float(2 <= from_end <= 3), float(4 <= from_end <= 7), unit.turn / max(1, n_turns - 1),
        math.log(1 + len(text)), float(not unit.signals), float(strong > 0),
        len(final) / len(unit.signals) if unit.signals else 0.0,
        math.log(1 + sum(1 for s in unit.signals if later.get(s, unit.turn) > unit.turn)),
        float(bool(BOLD_RE.search(text))), float(bool(SUMMARY_RE.search(text))), float("?" in text),
        *(math.log(1 + unit.by_kind[k]) for k, _ in _SIGNAL_KINDS),
        *(float(bool(hits.get(c))) for c in _CUE_NAMES),
    ]
    return row


def last_turns(all_units: Sequence[Unit]) -> dict[str, int]:
    """Each signal's last turn among ``all_units``."""
    later: dict[str, int] = {}
    for u in all_units:
        for s in u.signals:
            later[s] = max(later.get(s, -1), u.turn)
    return later


@functools.lru_cache(maxsize=1)
def weights() -> tuple[float, ...]:
    data = json.loads(WEIGHTS.read_text())
    if tuple(data["features"]) != FEATURES:
        raise ValueError(f"{WEIGHTS.name} was trained on other features; retrain with "
                         "`python -m forge_tui.compression.train_salience`")
    return tuple(float(w) for w in data["weights"])


def score(all_units: Sequence[Unit], n_turns: int) -> None:
    """Set each unit's ``p``: the model's probability that it holds a key value."""
    w = weights()
    later = last_turns(all_units)
    for u in all_units:
        z = sum(a * b for a, b in zip(w, features(u, n_turns, later)))
        u.p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
