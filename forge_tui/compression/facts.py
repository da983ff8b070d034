"""Key statements: the values, names and paths a continuation needs beyond the structured items.

Truncation is a strong baseline because the end of a session holds the final values. An
archive beats it only if it also keeps the values said earlier — in a prose sentence ("bump min
replicas to 6"), in a line of a config block (``maxReplicas: 12``), in a user's aside. Every
unit of the conversation gets the salience model's probability of holding such a value
(``salience.py``, learned on the memory corpus); the budget is then spent greedily on the most
probable *new* content per token: a value said five times is kept once, preferably where it was
said last (its final value), and statements the archive's items already hold are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from forge_tui.compression import salience
from forge_tui.compression.salience import clauses
from forge_tui.knowledge.pipeline.text import content_words, words

__all__ = ["Statement", "choose", "clauses", "key_statements"]

#: a statement whose content the archive already holds to this share is skipped
COVERED_SHARE = 0.8


@dataclass
class Statement:
    text: str
    source: str
    score: float  # the salience model's probability that it holds a key value
    signals: frozenset[str] = frozenset()  # values and content words (what "new" is measured on)
    weight: float = 1.0
    code: bool = False  # a line of a code block
    position: int = 0  # the unit's place in the conversation
    values: frozenset[str] = frozenset()  # the value-bearing tokens alone


def _terms(text: str, sigs: frozenset[str]) -> frozenset[str]:
    return frozenset(sigs | content_words(text))


def key_statements(turns: Sequence[Any], covered: Iterable[str] = (), source_of: Callable[[Any], str] | None = None,
                   n_turns: int | None = None) -> list[Statement]:
    """Candidate statements of ``turns``, most probable first. ``covered``: texts the archive
    already holds; ``n_turns``: the conversation's length when ``turns`` is its beginning."""
    covered = [c for c in covered if c]
    covered_words = [words(c) for c in covered]
    covered_text = "\n".join(covered).lower()
    units = salience.units(turns)
    salience.score(units, n_turns or len(turns))
    out: list[Statement] = []
    for position, u in enumerate(units):
        mine = words(u.text)
        # a value held nowhere verbatim ("10.0.20.5" is not held by "10", "0", "20" and "5") keeps it
        if (mine and all(v in covered_text for v in u.signals)
                and any(len(mine & cw) / len(mine) >= COVERED_SHARE for cw in covered_words)):
            continue
        if not u.signals and (u.text.rstrip().endswith(":") or len(content_words(u.text)) < 3):
            continue  # "Yes, a few ways:", "second one.": nothing a continuation could use
        turn = turns[u.turn]
        source = source_of(turn) if source_of else str((turn.get("id") if isinstance(turn, dict) else turn.id) or "")
        out.append(Statement(u.text, source, u.p, _terms(u.text, u.signals), 1.0, u.kind == "code", position,
                             u.signals))
    out.sort(key=lambda s: -s.score)
    return out


#: what a new value is worth beside the share of new content (chosen on the corpus's train+dev split)
VALUE_WEIGHT = 0.15


def _gain(s: Statement, held: set[str]) -> float:
    """The statement's probability times how much of it is new: the share of its terms not held
    yet, plus ``VALUE_WEIGHT`` for each new value."""
    if s.values and not s.values - held:
        return 0.0  # its values are all held already: a repeat, however it is worded
    new_share = len(s.signals - held) / len(s.signals)
    return s.score * (new_share + VALUE_WEIGHT * len(s.values - held))


def choose(statements: Sequence[Statement], room: int, count_text: Callable[[str], int],
           covered: Iterable[str] = ()) -> list[Statement]:
    """The statements with the most probable new content within ``room`` tokens (greedy, by
    ``_gain`` per token against what earlier picks and ``covered`` hold), in conversation order."""
    costs = {id(s): count_text(s.text) + 3 for s in statements}  # "- text: " and the line end
    held: set[str] = set()
    for text in covered:
        held |= content_words(text)
    chosen: list[Statement] = []
    pool = [s for s in statements if costs[id(s)] <= room and s.signals]
    while pool and room > 0:
        best, best_gain = None, 0.0
        for s in pool:
            gain = _gain(s, held) / costs[id(s)]
            if gain > best_gain:
                best, best_gain = s, gain
        if best is None:
            break
        chosen.append(best)
        held |= best.signals
        room -= costs[id(best)]
        pool = [s for s in pool if s is not best and costs[id(s)] <= room]
    return sorted(chosen, key=lambda s: s.position)
