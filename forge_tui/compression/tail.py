"""The end of a conversation, verbatim, in a given number of tokens.

Truncation to the last N tokens is a strong baseline because a session's end holds its final
values. A default archive therefore keeps the most recent turns as they were said in the room
its structured state and key statements leave: whole turns while they fit, then the end of the
turn before them, cut where a sentence, list item or line starts and marked with a leading "…".
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from forge_tui.knowledge.pipeline.text import split_sentences

#: tokens a turn costs in the archive beyond its content (``- role: user``, ``source: m12``, the
#: literal block's indentation is counted per line below)
TURN_OVERHEAD = 12
#: a partial turn is kept only if at least this many tokens of it fit (a stub says nothing)
MIN_PARTIAL_TOKENS = 24
ELLIPSIS = "… "


def _role(turn: Any) -> str:
    role = turn.get("role") if isinstance(turn, dict) else getattr(turn, "role", "user")
    return str(getattr(role, "value", role))


def _content(turn: Any) -> str:
    return str((turn.get("content") if isinstance(turn, dict) else getattr(turn, "content", "")) or "")


def turn_cost(text: str, count_text: Callable[[str], int]) -> int:
    """Tokens ``text`` costs as a turn of the archive (content, keys, one indent per line)."""
    return count_text(text) + TURN_OVERHEAD + text.count("\n")


def suffix_within(text: str, room: int, count_text: Callable[[str], int]) -> str:
    """The longest end of ``text`` starting at a unit boundary that fits ``room`` tokens ("" if none)."""
    starts = sorted({s.start for s in split_sentences(text)} | {0})
    lo, hi = 0, len(starts) - 1
    best = ""
    # the cost grows as the start moves back: binary search on the unit boundaries
    while lo <= hi:
        mid = (lo + hi) // 2
        piece = text[starts[mid]:].strip()
        candidate = piece if starts[mid] == 0 else ELLIPSIS + piece
        if piece and turn_cost(candidate, count_text) <= room:
            best, hi = candidate, mid - 1
        else:
            lo = mid + 1
    return best


def recent_turns(turns: Sequence[Any], room: int, count_text: Callable[[str], int],
                 source_of: Callable[[Any], str]) -> tuple[list[dict], int]:
    """The last turns that fit in ``room`` tokens, oldest first, and the index of the first turn
    kept (whole or in part; ``len(turns)`` when none fits)."""
    kept: list[dict] = []
    first = len(turns)
    for i in range(len(turns) - 1, -1, -1):
        turn = turns[i]
        if _role(turn) == "system":
            continue
        text = _content(turn).strip()
        if not text:
            continue
        cost = turn_cost(text, count_text)
        if cost > room:
            if room >= MIN_PARTIAL_TOKENS + TURN_OVERHEAD:
                part = suffix_within(text, room, count_text)
                if part:
                    kept.append({"role": _role(turn), "content": part, "source": source_of(turn)})
                    first = i
            break
        kept.append({"role": _role(turn), "content": text, "source": source_of(turn)})
        room -= cost
        first = i
    kept.reverse()
    return kept, first
