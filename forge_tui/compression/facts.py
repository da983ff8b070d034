"""Key statements: the values, names and paths a continuation needs beyond the structured items.

Truncation is a strong baseline because the end of a session holds the final values. An
archive beats it only if it keeps those values wherever they were said — in a prose sentence
("bump min replicas to 6"), in a line of a config block (``maxReplicas: 12``), in a user's aside.
This module scores every prose sentence and every short code line by how much *value* it
carries (numbers with units, versions, paths, identifiers, quoted code) per token, favouring
later turns, the user's words and values that come up again; statements already held by a
decision, constraint or thread are skipped. The budget fitter keeps the best ones that fit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from forge_tui.knowledge.pipeline.artifacts import IDENT_RE, PATH_RE
from forge_tui.knowledge.pipeline.text import FENCE_RE, INLINE_CODE_RE, URL_RE, sentences, words

#: a short line of config or code that sets something: ``key: value``, ``key = value``, ``--flag value``
SETTING_RE = re.compile(r"^\s*[-\w.\"'\[\]]{2,60}\s*[:=]\s*\S|^\s*--?[\w-]{2,}[ =]\S")
NUMBER_RE = re.compile(r"(?<![\w.])\d+(?:[.,:]\d+)*")
#: quantities: a number with a unit, decimals, versions, dates, times
VALUE_RE = re.compile(
    r"\b\d+(?:[.,]\d+)?\s?(?:ms|s|sec|seconds?|minutes?|min|hours?|h|days?|weeks?|months?|years?|%|percent|"
    r"[kmgt]i?b|k|rows?|entries|items|epochs?|replicas?|workers?|threads?|retries|users?|px|bps|x)\b"
    r"|\bv?\d+(?:\.\d+)+\w*|\b\d+e-?\d+\b|\b\d{1,2}:\d{2}\b|[$€£]\s?\d[\d,.]*",
    re.I,
)
CAMEL_SNAKE_RE = re.compile(r"\b(?:[a-z]+[A-Z]\w*|[A-Za-z]+_\w+|[A-Z]{2,}\w*)\b")
#: names: capitalised words inside a sentence (not its first word), hyphenated compounds, quoted terms
NAME_RE = re.compile(r"(?<=[a-z0-9,;:(] )[A-Z][\w.+-]*(?: [A-Z][\w.+-]*)*|\b[A-Za-z]+(?:-[A-Za-z0-9]+)+\b"
                     r"|\"[^\"\n]{2,40}\"|'[^'\n]{2,40}'")
MAX_FACT_CHARS = 240
MAX_CODE_LINE = 120


@dataclass
class Statement:
    text: str
    source: str
    score: float  # value per token, before what the other chosen statements already cover
    signals: frozenset[str] = frozenset()
    weight: float = 1.0  # recency and role
    code: bool = False  # a line of a code block (a lossless archive keeps the whole block instead)


def choose(statements: Sequence[Statement], room: int, count_text) -> list[Statement]:
    """The statements that cover the most distinct values within ``room`` tokens (greedy).

    A value said five times is worth keeping once: each pick's gain counts only values no
    earlier pick holds, so the budget spreads over the session instead of one repeated fact.
    """
    costs = {id(s): count_text(s.text) + 3 for s in statements}  # "- text: " and the line end
    covered: set[str] = set()
    chosen: list[Statement] = []
    pool = [s for s in statements if costs[id(s)] <= room]
    while pool and room > 0:
        best, best_gain = None, 0.0
        for s in pool:
            gain = len(s.signals - covered) * s.weight / costs[id(s)]
            if gain > best_gain:
                best, best_gain = s, gain
        if best is None:
            break
        chosen.append(best)
        covered |= best.signals
        room -= costs[id(best)]
        pool = [s for s in pool if s is not best and costs[id(s)] <= room]
    order = {id(s): i for i, s in enumerate(statements)}
    return sorted(chosen, key=lambda s: order[id(s)])


def _signals(text: str) -> list[str]:
    """The value-bearing tokens of a statement (lower-cased)."""
    found: list[str] = []
    for rx in (URL_RE, PATH_RE, VALUE_RE, INLINE_CODE_RE, IDENT_RE, CAMEL_SNAKE_RE, NAME_RE, NUMBER_RE):
        found += [m.group(0).lower() for m in rx.finditer(text)]
    return list(dict.fromkeys(s for s in found if len(s) >= 1))


def _code_lines(text: str) -> list[str]:
    out: list[str] = []
    for m in FENCE_RE.finditer(text):
        for line in m.group(3).splitlines():
            line = line.strip()
            if 3 <= len(line) <= MAX_CODE_LINE and (SETTING_RE.match(line) or line.count(",") >= 2):
                out.append(line)
    return out


CLAUSE_BREAK = re.compile(r"[,;:]\s+|\s+(?:and|but|so|then|which|because|while|or)\s+|\s+[-–—]\s+")
CLAUSE_TARGET = 160


def clauses(sentence: str) -> list[str]:
    """A long run-on sentence as pieces of about ``CLAUSE_TARGET`` characters, cut at clause
    boundaries (so a value at its end is not lost to truncation); short sentences stay whole."""
    if len(sentence) <= MAX_FACT_CHARS:
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


def _role(turn: Any) -> str:
    role = turn.get("role") if isinstance(turn, dict) else getattr(turn, "role", "user")
    return str(getattr(role, "value", role))


def _get(turn: Any, key: str) -> str:
    return str((turn.get(key) if isinstance(turn, dict) else getattr(turn, key, "")) or "")


def key_statements(turns: Sequence[Any], covered: Iterable[str] = (), source_of=None) -> list[Statement]:
    """Candidate facts, best first. ``covered``: texts the archive already holds."""
    covered_words = [words(c) for c in covered if c]
    units: list[tuple[int, str, str, str, bool]] = []  # (turn index, role, text, source, code line)
    for i, turn in enumerate(turns):
        role = _role(turn)
        if role == "system":
            continue
        text = _get(turn, "content")
        source = source_of(turn) if source_of else _get(turn, "id")
        units += [(i, role, c, source, False) for s in sentences(text) for c in clauses(s)]
        units += [(i, role, line, source, True) for line in _code_lines(text)]
    later_signals: dict[str, int] = {}
    for i, _role_, text, _s, _c in units:
        for sig in _signals(text):
            later_signals[sig] = max(later_signals.get(sig, -1), i)
    n = max(1, len(turns) - 1)
    seen: set[str] = set()
    out: list[Statement] = []
    for i, role, text, source, code in units:
        text = " ".join(text.split())
        key = text.lower()
        if key in seen or len(text) < 4:
            continue
        seen.add(key)
        sigs = _signals(text)
        if not sigs:
            continue
        mine = words(text)
        if mine and any(len(mine & cw) / len(mine) >= 0.8 for cw in covered_words):
            continue
        recurring = sum(1 for s in sigs if later_signals.get(s, i) > i)
        value = len(sigs) + 0.5 * recurring
        length = max(8, len(text)) / 4  # about four characters a token
        weight = (0.45 + 0.55 * i / n) * (1.25 if role == "user" else 1.0)
        if len(text) > MAX_FACT_CHARS:
            text = text[: MAX_FACT_CHARS - 1] + "…"
        out.append(Statement(text, source, value / length * weight, frozenset(sigs), weight, code))
    out.sort(key=lambda s: -s.score)
    return out
