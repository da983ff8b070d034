"""What a default archive keeps in its budget, in order: the structured state (open threads,
constraints, then current decisions and artifacts while they fit in ``STATE_SHARE``), key
statements (distinct values, wherever they were said), a glossary of the names (paths, URLs,
identifiers) nothing else holds, then the most recent turns verbatim in whatever room is left.

Truncation to the last N tokens wins on final values said at the end; the state and the key
statements win on what was said earlier. On the memory corpus's train+dev split, statements
chosen by the salience model kept more key facts per token than a verbatim tail of any share
(0.81 with no reserved tail, 0.77 with 35 %, 0.73 with all of the room), so the tail only takes
what the statements leave (``TAIL_SHARE`` = 0).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from forge_tui.compression import assemble
from forge_tui.compression.facts import choose, key_statements
from forge_tui.compression.glossary import glossary
from forge_tui.compression.tail import recent_turns

#: share of the budget the structured state may use before it gives way (threads and
#: constraints excepted); chosen on the memory corpus's train+dev split
STATE_SHARE = 0.3
#: share of the room after the state that the verbatim tail takes before key statements are chosen
TAIL_SHARE = 0.0
#: share of the room after the state kept for the glossary (names held nowhere else). 5-fold
#: cross-validation by conversation over the memory corpus's train+dev split (salience refitted per
#: fold, fixed header times): key facts 0.842 at 0.1, 0.845 at 0.15, 0.848 at 0.2, 0.855 at 0.3,
#: 0.858 at 0.4, 0.851 at 0.5; 0.3 keeps most of the gain with room for whole statements (with
#: named values in the glossary: 0.856 at 0.2, 0.870 at 0.3, 0.873 at 0.4)
GLOSSARY_SHARE = 0.3


def state_texts(archive: dict) -> list[str]:
    """The texts the structured items hold (a statement repeating one adds nothing)."""
    texts = [d["text"] for d in archive.get("decisions", [])]
    texts += [t["title"] for t in archive.get("threads", [])] + [t.get("resolution", "") for t in archive.get("threads", [])]
    texts += [a["name"] for a in archive.get("artifacts", [])]
    return texts + [c["quote"] for c in archive.get("constraints", [])] + [archive.get("continuation_prompt", "")]


def fill_default(archive: dict, turns: Sequence[Any], budget: int, measure: Callable[[dict], int],
                 count_text: Callable[[str], int], source_of: Callable[[Any], str],
                 superseded: Sequence[str] = ()) -> list[str]:
    """Fit ``archive``'s items to ``budget`` tokens, then add key statements and the recent turns.
    ``superseded``: texts of replaced decisions, never kept as statements (their values are no
    longer true). Returns ``kind:label`` of each item left out."""
    dropped = assemble.fit_to_budget(archive, budget, measure, reserve=1 - STATE_SHARE)
    room = budget - measure(archive) - 8  # the "facts:" and "turns:" keys
    if room <= 0:
        return dropped
    tail, first = recent_turns(turns, int(room * TAIL_SHARE), count_text, source_of)
    held = state_texts(archive) + [t["content"] for t in tail]
    earlier = list(turns[:first + 1]) if first < len(turns) else list(turns)
    statements = key_statements(earlier, held + list(superseded), source_of=source_of, n_turns=len(turns))
    tail_cost = measure({"turns": tail}) if tail else 0
    names_room = int(room * GLOSSARY_SHARE)
    chosen = choose(statements, room - tail_cost - names_room, count_text, covered=held)
    facts = [{"text": s.text} for s in chosen]
    if names_room:
        facts += [{"text": line} for line in glossary(statements, held + [s.text for s in chosen], names_room,
                                                         count_text)]
    if facts:
        archive["facts"] = facts
    # what the statements left goes back to the tail
    spare = budget - measure(archive) - 4
    tail, _ = recent_turns(turns, spare, count_text, source_of)
    if tail:
        archive["turns"] = tail
    _trim(archive, budget, measure, turns, count_text, source_of, chosen)
    return dropped


def _trim(archive: dict, budget: int, measure: Callable[[dict], int], turns: Sequence[Any],
          count_text: Callable[[str], int], source_of: Callable[[Any], str], chosen: list) -> None:
    """The estimates were optimistic: shrink the tail, then drop the weakest statements."""
    over = measure(archive) - budget
    room = measure({"turns": archive["turns"]}) if archive.get("turns") else 0
    while over > 0 and archive.get("turns"):
        room = max(0, min(room - over - 2, int(room * 0.95)))  # shrinks every round
        tail, _ = recent_turns(turns, room, count_text, source_of)
        if tail:
            archive["turns"] = tail
        else:
            archive.pop("turns")
        over = measure(archive) - budget
    weakest = sorted(chosen, key=lambda s: s.score)
    while over > 0 and weakest:
        drop = weakest.pop(0).text
        archive["facts"] = [f for f in archive["facts"] if f["text"] != drop]
        if not archive["facts"]:
            archive.pop("facts")
        over = measure(archive) - budget
