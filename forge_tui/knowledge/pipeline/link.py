"""From labelled sentences to state: values, titles, and what a new item does to old ones.

The same functions serve a whole conversation (``state.Tracker``) and the live
registry (which passes its stored decisions and open threads as candidates),
so the archive and the registry link items the same way:

* a decision that says the same value as an active decision is a restatement
  (merged: both turns become sources);
* a decision on the same subject with another value, or with a revision cue and
  a recent decision to revise, supersedes it;
* a question asked again merges into the open one (which question a resolution
  or a decision settles is ``resolve.py``'s learned linker).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from forge_tui.knowledge.pipeline.cues import CUE_CHARS, CUES
from forge_tui.knowledge.pipeline.text import content_words

_LEAD = re.compile(
    r"^(?:(?:ok(?:ay)?|so|alright|all right|right|yes|yeah|yep|fine|great|good|cool|perfect|well|hm+|hmm|then|"
    r"and|but|also|actually|nah|no|oh|wait|honestly|final answer|decision|decided|update|edit|note)\b[\s,:;.!-]*)+",
    re.I,
)
_REVISION_CLAUSE = re.compile(
    r"\b(?:scrap|scratch|drop|forget(?: about)?|ditch|no more|not|instead of|rather than|replace)\s+[^,;.]*[,;.]\s*",
    re.I,
)
_REPLACED = re.compile(r"[^\s,;:]+\s*(?:->|→)\s*(?=\S)")
_COMMIT_HEAD = re.compile(
    r"^.*?\b(?:we(?:'ll| will)? (?:go with|use|move to|switch to|stick with|keep|pick|adopt)|let'?s (?:go with|use|"
    r"do|move to|switch to|stick with|keep|pick|start with)|go(?:ing)? with|settled on|i'?ve settled on|"
    r"switch(?:ing)? to|mov(?:e|ing) to|stick(?:ing)? with|opt(?:ing)? for|renam(?:e|ing) (?:it )?to|"
    r"chose|pick(?:ing)?|use|final answer:?|decision:?|plan is:?|we'?re going with|going forward,?)\s+",
    re.I,
)
_TAIL = re.compile(r"\s*(?:\bit is\b|\bit's\b|\bthen\b|\bfor now\b|\binstead\b|\bfinal\b|\block it( in)?\b|"
                   r"\bthat'?s settled\b|\bthat settles it\b|[.!,;:]|\s)+$", re.I)
_QUESTION_LEAD = re.compile(
    r"^(?:(?:one thing i don'?t know yet|open question|question|tbd|todo|to do|still undecided(?: on)?|"
    r"not sure yet|not sure(?= (?:whether|if|how|what|which)\b)|i'?m not sure|"
    r"we (?:still )?need to (?:decide|figure out)|still need to (?:decide|figure out)|need to figure out|"
    r"haven'?t decided(?: yet)?|don'?t know yet|leave (?:it|this|that) open until[^,:]*|unclear|"
    r"(?:we'?ll )?decide later)\b[\s,:;-]*)+",
    re.I,
)
TITLE_CHARS = 80
SAME_TOPIC = 0.6  # share of content words that makes two statements about one thing without a revision cue
FOLLOW_UP = 0.2  # share that makes an assistant's decision right after the user's a restatement of it
SAME_VALUE = 0.6


def decision_value(text: str) -> str:
    """The chosen value a decision sentence states ("ok redis it is" -> "redis")."""
    return _bare_value(text) or text.strip()


def _bare_value(text: str) -> str:
    """``decision_value`` without the fallback: "" when the sentence only confirms ("final answer", "thats settled")."""
    value = _LEAD.sub("", text.strip())
    value = _REVISION_CLAUSE.sub("", value)
    value = _REPLACED.sub("", value)  # "reserve 20% → 15%": the value is 15%
    head = _COMMIT_HEAD.match(value)
    if head and head.end() < len(value):
        value = value[head.end():]
    return _TAIL.sub("", value).strip(" ,.;:!-—")


def _asked(text: str) -> str:
    """What a question sentence asks, its cue words and filler removed ("" for "not sure yet", "TBD")."""
    title = _LEAD.sub("", " ".join(text.split()).strip(" ,.;:!?-—"))
    title = _QUESTION_LEAD.sub("", title)
    title = re.sub(r"\b(?:tbd|to be decided|to be determined|(?:is )?(?:still )?(?:an )?open question(?: for now)?|"
                   r"still open|for now|yet)\b", "", title, flags=re.I)
    title = re.sub(r"\s+([,:;.])", r"\1", re.sub(r"\s{2,}", " ", title)).strip(" ,.;:!?-—")
    return _LEAD.sub("", title)


def status_only(text: str) -> bool:
    """A sentence that only says something is still open ("not sure yet", "TBD", "still undecided on that"):
    about the question just asked, never a question of its own."""
    return not content_words(_asked(text)) - {"sure", "undecided", "decided", "unclear", "know"}


def status_asks(text: str, before: str, before_label: str) -> bool:
    """Is ``text`` a bare status ("TBD", "not sure yet") making a question of the sentence right before it,
    one asked with a question mark but read as no question ("reference checks before or after offer? TBD")?"""
    return (before_label not in ("question", "decision") and status_only(text)
            and before.rstrip(" \t\r\n)\"'").endswith("?") and len(content_words(before)) >= 2)


def question_title(text: str, before: str = "") -> str:
    """A short, meaningful title: cue words and filler removed, one line, at most ~80 chars."""
    title = _asked(text)
    if len(content_words(title)) < 2 and before:
        title = " ".join(before.split()).strip(" ,.;:!?-—")  # "TBD." alone: the sentence before names it
    if not title:
        title = " ".join(text.split()).strip(" ?")
    if len(title) > TITLE_CHARS:
        cut = title[:TITLE_CHARS].rsplit(" ", 1)[0]
        title = cut.rstrip(" ,;:") + "…"
    return title[:1].upper() + title[1:]


AGREEMENT_WORDS = frozenset(
    "sounds good great fine perfect nice cool works for me do that ship like this let's lets go ahead agreed yes yeah "
    "yep sure deal love right exactly lgtm makes sense sense plan suggestion proposal option approach idea then "
    "please thanks thank first second third one latter former said suggested proposed way settled lock locked "
    "done confirmed decided final deal good".split()
)


def own_words(text: str) -> set[str]:
    """What a sentence says beyond agreeing ("sounds good, do that" -> nothing; "ok redis it is" -> redis)."""
    return {w for w in content_words(_bare_value(text)) if w not in AGREEMENT_WORDS}


_STRONG_AGREE = re.compile(
    r"\b(do that|do it|sounds? (good|great|right|fine)|like that|ship it|go ahead|as (you )?(said|suggested|proposed)|"
    r"works for me|let'?s do (that|it)|that works|agreed|deal|the (first|second|third|latter|former) (one|option)|"
    r"option (a|b|c|1|2|3|one|two|three)|your (suggestion|proposal|plan))\b", re.I)


def accepts_proposal(text: str) -> bool:
    """Does this (user) sentence accept the previous turn's proposal rather than state its own choice?"""
    if not CUES["agree"].search(text):
        return False
    return not own_words(text) or bool(_STRONG_AGREE.search(text))


def accepted_value(proposal: str, text: str) -> str:
    """The proposal, with the user's change when they add one ("ok do that — with Y instead")."""
    return f"{proposal} — {text.strip()}" if is_reversal(text) else proposal


@dataclass(frozen=True)
class Known:
    """An existing item a new one may link to: id, statement and value (or title) words."""

    id: str
    text: str
    value: str = ""
    turn: int | None = None  # the turn it was last stated in, when known (same conversation)


def cosine(a, b) -> float:
    """Cosine similarity of two vectors (0 when either is all zeros)."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(np.dot(a, b) / (na * nb)) if na and nb else 0.0


def _share(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


_REVERSAL = re.compile(r"\b(scrap|scratch that|instead|actually|change of plan|changed my mind|no longer|not anymore|"
                       r"switch(ing|ed)? (to|from|back)|revert|replace|drop|forget|on second thought|rather than)\b",
                       re.I)


def is_revision_cue(text: str) -> bool:
    return bool(CUES["revise"].search(text))


#: words that announce a changed value ("bump X to N", "change: …", "Correction:", "2m -> 5m", "renaming to")
_SAYS_CHANGE = re.compile(r"\b(bump\w*|chang(e|es|ed|ing)|correction|switch\w*|renam\w*|revis\w*|replac\w*|back to|"
                          r"from now|moves? to|moving to)\b|->|→", re.I)


def says_change(text: str) -> bool:
    """Does the sentence announce a changed value ("bump warn to 1200", "We change to 4 gaps per week")?"""
    return bool(_SAYS_CHANGE.search(text[:CUE_CHARS]))


_SETTLED = r"(answered|closed|resolved|settled|solved)"
_CLOSES = re.compile(
    r"\b((that|this|which) (settles|answers|resolves|closes|solves)|questions? (is |are |was )?(now )?" + _SETTLED
    + r"|(that|this) one('?s| is| was)? (now )?" + _SETTLED + r"|(is|are) (now )?settled|settles it|answered:"
    + r"|(that|this)('s| is) (now )?(settled|answered|resolved))", re.I)


def closes_question(text: str) -> bool:
    """Says outright that a question is settled ("that answers the bf16 question", "question closed")."""
    return bool(_CLOSES.search(text))


def is_reversal(text: str) -> bool:
    """An explicit change of mind (narrower than the revision cue: "now" and "then" are not enough)."""
    return bool(_REVERSAL.search(text))


def may_open_decision(role: str) -> bool:
    """Only the user makes a decision; the assistant proposes and restates.

    An assistant's proposal becomes a decision when the user accepts it (the
    accepting sentence records the proposal), and an assistant sentence that
    confirms a decision merges into it (``restated``). One that matches nothing
    is prose about a choice, not the choice.
    """
    return role != "assistant"


_NEGATED = re.compile(r"\b(?:not|no|instead of|rather than|statt)\s+(?:the\s+|a\s+|per\s+)?([\w.%$€-]+)", re.I)


def negated(text: str) -> set[str]:
    """The words a sentence takes back ("per quarter not month" -> {"month"}, "r, no jamovi" -> {"jamovi"})."""
    return {w for m in _NEGATED.finditer(text) for w in content_words(m.group(1))}


def restated(text: str, value: str, active: list[Known], follows: Sequence[str] = ()) -> str | None:
    """The active decision this one says again, or None.

    A decision that affirmed a word this one takes back ("per quarter not
    month" after "per month") is never the one it restates. ``follows``: ids of decisions made in the turn
    just before by the other speaker; an assistant confirming the user's decision ("Locked: AdamW…")
    shares only a few words with it and is still a restatement.
    """
    mine_v, mine_t = content_words(value), content_words(text)
    dropped = negated(text)
    # a decision that affirmed what this one drops; one that dropped it too ("X, no Y" said again) still matches
    active = [k for k in active if not dropped & ((content_words(k.value) | content_words(k.text)) - negated(k.text))]
    if follows and not own_words(text) and not is_reversal(text):
        return follows[-1]  # "That's settled.", "lock it", "done": confirms what was just decided
    if follows and not is_reversal(text):
        scored = [(_share(mine_t, content_words(k.text) | content_words(k.value)), k.id) for k in active
                  if k.id in follows]
        if scored and max(scored)[0] >= FOLLOW_UP:
            return max(scored)[1]
    best, best_score = None, 0.0
    changes = is_revision_cue(text) or says_change(text)
    for k in active:
        theirs_v = content_words(k.value or k.text)
        score = _share(mine_v, theirs_v)
        if score >= SAME_VALUE and score > best_score and not (changes and score < 1.0):
            best, best_score = k.id, score
        elif (best is None and not changes and min(len(mine_t), len(content_words(k.text))) >= 3
              and _share(mine_t, content_words(k.text)) >= 0.8):
            best, best_score = k.id, 0.8
    return best


_QUANTITY = re.compile(r"([$€£¥])\s?\d[\d,.]*|\d[\d,.]*\s?(%|ms|px|gb|mb|kb|tb|ppm|rpm|kg|km|cm|mm|eur|usd|min|"
                       r"h|s|d|k|x|°c|µa|ma|v|w)(?![\w])", re.I)


def units(text: str) -> set[str]:
    """The units of the quantities in ``text`` ("€45" -> "€", "224px" -> "px", "30%" -> "%")."""
    return {(m.group(1) or m.group(2) or "").lower() for m in _QUANTITY.finditer(text)} - {""}


SIMILAR_SUBJECT = 0.75  # cosine of two decisions' embeddings that makes them one subject without a cue
SIMILAR_WITH_CUE = 0.55  # the same with a revision cue ("actually", "instead", "bump")


def similar_revision(text: str, value: str, active: list[Known], similar: dict[str, float] | None) -> str | None:
    """The active decision whose embedding is close enough to be the same subject with another value."""
    if not similar:
        return None
    mine_v = content_words(value)
    floor = SIMILAR_WITH_CUE if is_revision_cue(text) else SIMILAR_SUBJECT
    near = [(similar.get(k.id, 0.0), k.id) for k in active if _share(mine_v, content_words(k.value or k.text)) < SAME_VALUE]
    return max(near)[1] if near and max(near)[0] >= floor else None


def revised(text: str, value: str, active: list[Known], turn: int | None = None,
            similar: dict[str, float] | None = None) -> str | None:
    """The active decision this one replaces, or None.

    A revision says so ("actually", "instead", "scrap", "switch", "bump", "now"…)
    and is about the same thing (shared words, including the old value named in
    "scrap redis"); with the cue and no shared words, the most recent decision
    within the last few turns. Without a cue, only a near-identical subject with
    a different value counts. ``similar`` (decision id -> cosine of the sentence
    embeddings, when an embedder is ready) finds the same subject in other words
    ("$4.99 monthly" after "premium $5.99/mo").
    """
    mine = content_words(text)
    mine_v = content_words(value)
    cue = is_revision_cue(text)
    best, best_score = None, 0.0
    for k in active:
        theirs = content_words(k.text) | content_words(k.value)
        score = _share(mine, theirs)
        if cue and units(value) & units(k.value or k.text):
            score = max(score, 0.5)  # "let's go €50 instead" after "€45": the same quantity, a new amount
        if score > best_score and _share(mine_v, content_words(k.value or k.text)) < SAME_VALUE:
            best, best_score = k.id, score
    if best is not None and ((cue and best_score > 0) or best_score >= SAME_TOPIC):
        return best
    near = similar_revision(text, value, active, similar)
    if near is not None:
        return near
    last = active[-1] if active else None
    if cue and last and last.turn is not None and turn is not None and turn - last.turn <= 4:
        return last.id
    return None


def continues_question(first: str, second: str) -> bool:
    """Is ``second`` (the very next sentence) the same question ("ariadne or codespan? not sure yet which one")?"""
    own = content_words(question_title(second))
    return len(own) <= 1 or _share(own, content_words(first)) >= 0.3


_STILL_OPEN = re.compile(r"\b(still (open|undecided|unclear|pending|not decided)|leave (it|this|that) open|"
                         r"(stays?|remains?|keep (it|this|that)) open|park (it|this|that))\b", re.I)
MENTION_WORDS = 5  # "leave it open until then": a re-mention names little beyond its status


def duplicate_question(text: str, open_questions: list[Known]) -> str | None:
    """The open question this one asks again, or None.

    Most of its words in an open question; or a status update ("live push still
    open", "leave it open until the review") that shares a word with one, or that
    names next to nothing (then the latest open question).
    """
    mine = content_words(text)
    for q in open_questions:
        if _share(mine, content_words(q.text) | content_words(q.value)) >= 0.5:
            return q.id
    if not open_questions or not _STILL_OPEN.search(text):
        return None
    scored = [(_share(mine, content_words(q.text) | content_words(q.value)), i) for i, q in enumerate(open_questions)]
    score, i = max(scored)
    if score > 0:
        return open_questions[i].id
    return open_questions[-1].id if len(content_words(question_title(text))) <= MENTION_WORDS else None
