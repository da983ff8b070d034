"""The continuation prompt: a short briefing for the next session, in prose."""

from __future__ import annotations

import re

from forge_tui.compression import assemble
from forge_tui.knowledge.pipeline.text import tokens, words

#: spoken openers that say nothing in a briefing ("ok so", "fine,", "- ")
_FILLER = re.compile(r"^(?:[-*•>\s]+|(?:ok(?:ay)?|fine|yes|yeah|yep|good|great|so|and|alright|right|sure|"
                     r"perfect|cool|then|well|hmm+)\b[,.!:;]?\s*)+", re.I)


#: a small model sometimes answers with a line of the prompt's numbered candidate list
#: ("1. let's start with pest … [OPEN]"): an echo, not a briefing (and often a replaced choice)
_ECHO = re.compile(r"^\s*\d+[.)]\s|\[(?:OPEN|RESOLVED|ABANDONED)\]|"
                   r"^\s*(?:conversation|decided|still open|user|assistant|decision candidates)\s*:", re.I)


#: this many words in a row found verbatim in the conversation make a copy, not a briefing
COPIED_RUN = 10


def _whole_sentences(text: str) -> str:
    """``text`` up to its last complete sentence (a briefing cut off by its length bound ends
    mid-clause); "" when not even one sentence is complete."""
    if text.endswith((".", "!", "?", "…")):
        return text
    ends = [m.end() for m in re.finditer(r"[.!?…](?=\s)", text)]
    return text[: ends[-1]] if ends else ""


def vet_briefing(model_text: str, vocab: set[str], anchors: list[str] | None = None,
                 source: str = "") -> tuple[str, str]:
    """The model's continuation prompt and "" when it is a briefing, else "" and why not.

    A briefing is grounded in the conversation, is not an echo of the prompt (its candidate
    list, its section labels) nor a copy of a turn (a small model often repeats the opening
    request: ``COPIED_RUN`` words in a row from ``source``), does not loop ("I'm glad to see
    that you're…" three times), and, when the session decided or left open anything
    (``anchors``: those items' texts), names at least one of them. It is cut to its last
    whole sentence.
    """
    text = _whole_sentences(model_text.strip())
    if not model_text.strip():
        return "", "its briefing was empty"
    if not text or not text[0].isalnum():
        return "", "its briefing was not a whole sentence"
    if _ECHO.search(text):
        return "", "its briefing echoed the prompt"
    said_here = tokens(text)
    if len(said_here) >= 12 and len(set(said_here)) < 0.6 * len(said_here):
        return "", "its briefing repeated itself"
    if source and len(said_here) >= COPIED_RUN:
        said = " " + " ".join(tokens(source)) + " "
        if any(f" {' '.join(said_here[i:i + COPIED_RUN])} " in said
               for i in range(len(said_here) - COPIED_RUN + 1)):
            return "", "its briefing copied a turn word for word"
    if anchors and not words(text) & set().union(*(words(a) for a in anchors)):
        return "", "its briefing named nothing decided or still open"
    if len(words(text)) < 6:
        return "", "its briefing was too short"
    if not assemble.grounded(text, vocab, 0.6):
        return "", "its briefing was not grounded in the conversation"
    return text, ""


def _brief(text: str, limit: int = 90) -> str:
    """``text`` on one line in at most ``limit`` characters, cut at a word boundary ("…")."""
    text = " ".join(text.split()).rstrip(".;:,")
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-—–(") + "…"


def clean(text: str, limit: int) -> str:
    """A statement as a clause of a briefing: fillers off the front, first letter as written."""
    stripped = _FILLER.sub("", " ".join(text.split()))
    return _brief(stripped or text, limit)


def _join(label: str, items: list[str]) -> str:
    if not items:
        return ""
    body = "; ".join(items)
    return f"{label} {body}" + ("" if body.endswith(("?", "!", "…")) else ".")


def _surest(decisions: list[dict], n: int) -> list[dict]:
    """The ``n`` current decisions the extraction is surest of (highest tier; the later on a tie),
    in conversation order. Held out by conversation on the memory corpus's train+dev split, the two
    surest were real decisions 70 times in 86, the two latest 66."""
    live = [(i, d) for i, d in enumerate(decisions) if d.get("status", "active") == "active"]
    best = sorted(live, key=lambda item: (-float(item[1].get("tier", 0.8)), -item[0]))[:n]
    return [d for _, d in sorted(best, key=lambda item: item[0])]


def continuation_prose(title: str, decisions: list[dict], threads: list[dict], constraints: list[dict], *,
                       compact: bool = False) -> str:
    """A briefing for the next session: what we are doing, what is decided (current values only),
    what is still open and what must not be done. Answered questions are
    never listed as open. ``compact``: fewer, shorter clauses (a default archive lists every
    item below it, so the briefing only points at the main ones)."""
    n_dec, n_open, n_rules, size = (2, 2, 1, 60) if compact else (3, 3, 2, 80)
    live = [clean(d.get("text", ""), size) for d in _surest(decisions, n_dec)]
    open_ = [clean(t["title"], size) for t in threads if t.get("status") == "OPEN"][:n_open]
    rules = [clean(c["quote"], size) for c in constraints][:n_rules]
    parts = [f"We are continuing the work on \"{_brief(title, 80)}\"." if title else "We are continuing earlier work."]
    parts.append(_join("The current choices are:" if len(live) > 1 else "The current choice is:", live))
    parts.append(_join("Still open:", open_))
    parts.append(_join("Keep to the rule:" if len(rules) == 1 else "Keep to these rules:", rules))
    if not (live or open_ or rules):
        parts.append("Nothing was decided or left open; the statements below are what was said.")
    return " ".join(p for p in parts if p)
