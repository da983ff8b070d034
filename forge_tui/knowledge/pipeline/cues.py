"""The one set of cues: word groups that hint at a sentence's role, as features.

Cues are not decisions by themselves: each group is one binary feature of the
learned classifier (``model.py``), next to the sentence embedding, the speaker,
the position and what the previous turn did (proposed something, asked
something). The classifier learns how much each cue counts, and when no
embedder is loaded it runs on these features alone.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from forge_tui.knowledge.pipeline import lexical

_I = re.IGNORECASE

CUES: dict[str, re.Pattern[str]] = {
    "commit": re.compile(
        r"\b(we'?ll|we will|i'?ll|let'?s|we'?re going|i'?m going|going with|go with|we use|use|pick|picking|"
        r"stick with|sticking with|keep|adopt|standardi[sz]e on|move to|moving to|switch(ing)? to|settled on|"
        r"i'?ve settled|decided|decision|chose|chosen|opt(ing)? for|we go|plan is|final answer|final pick|"
        r"from now on|going forward|rename|renaming|bump|set .{1,30} to)\b", _I),
    "commit_strong": re.compile(
        r"\b(let'?s (go with|use|do|switch to|move to|stick with|keep|pick)|we'?ll (go with|use|keep|switch|move|"
        r"stick)|we will (go with|use|keep)|we'?re going with|going with|settled on|i'?ve settled|(we|i) (have )?"
        r"(decided|chose|agreed|picked)|decided (to|on)|final answer|lock (it|that)|locked in|that'?s settled|"
        r"from now on|going forward|we go with|go with|switch(ing)? to|scrap|renam(e|ing) (it )?to|bump\w* .{1,30}"
        r" to|make it|it is then|it'?s decided|(we|i) (have |'ve )?(therefore |now |finally |just |then |also )?"
        r"(decided|chosen|chose|picked|settled on|gone with|opted for)|(we|i) shall (use|go|take|keep|adopt|request|"
        r"move|switch)|(we'?re|we are|i'?m|i am) (changing|switching|moving|going) (to|the|it|from)|changing(?=:)|"
        r"(i|we) (scrap|drop|ditch)|^(?!(and|but|so|what|how|why|since|even|back|just|only|if)\b)[\w.+-]+"
        r"( [\w.+-]+)? then(?!\s+(we|i|you|it|they|he|she)\b))\b", _I),
    "it_is": re.compile(r"\b(it is|it's|that is|that's) (then|it|final|settled|decided)\b|\bit is[.!]?$|\bit'?s[.!]?$|"
                        r"\b(lock (it|that) in|lock it|locked|confirmed|final|done deal|then\.?$)", _I),
    "agree": re.compile(r"^(ok(ay)?|yes|yep|yeah|sure|great|perfect|agreed|sounds (good|great|right|fine)|"
                        r"works for me|fine|deal|do it|do that|ship it|go ahead|love it|nice|right|exactly|lgtm|"
                        r"makes sense)\b|\b(sounds good|do that|ship it|like that|as you (said|suggested|proposed)|"
                        r"your (suggestion|proposal|plan|option)|option (a|b|c|1|2|3|one|two)|the (first|second|"
                        r"third|latter|former) (one|option)|that approach|go ahead)\b", _I),
    "revise": re.compile(r"\b(actually|instead|scrap|scratch|change of plan|changed my mind|no longer|not anymore|"
                         r"rather than|replace|replacing|revert|drop|dropping|switch|move away|on second thought|"
                         r"wait|forget|reconsider|new plan|after all|then$|now)\b", _I),
    "tentative": re.compile(r"\b(start with|for now|tentativ\w*|for the time being|to begin with|initially|"
                            r"provisional\w*|as a first|until we know|placeholder)\b", _I),
    "open": re.compile(r"\b(not sure|unsure|undecided|tbd|to be decided|to be determined|leave (it|that|this) open|"
                       r"open question|don'?t know (yet|if|whether)|no idea (yet)?|haven'?t decided|still "
                       r"(need to|have to|deciding|thinking|figuring|open|unclear|undecided)|figure out|decide later|"
                       r"revisit|park (it|that|this)|unclear|unknown|pending|one thing i|open point|to check|"
                       r"we'?ll see|later|until)\b", _I),
    "resolve": re.compile(r"\b(settle[sd]?|that settles|answer(s|ed)?|resolved?|that answers|question (is )?"
                          r"answered|closed?|decided|so (it'?s|we)|turns out|confirmed|figured (it )?out|"
                          r"the answer is|then$|that one'?s|done)\b", _I),
    "must": re.compile(r"\b(must|mustn'?t|never|always|has to|have to|need(s)? to stay|required|requirement|"
                       r"mandatory|under no circumstances|no more than|at most|at least|not exceed|below|above|"
                       r"within|cannot|can'?t|don'?t ever|may not|not allowed|forbidden|only ever|strictly|"
                       r"non-negotiable|hard (limit|rule|requirement)|budget|limit|cap|max(imum)?|min(imum)?|"
                       r"keep .{1,30} under|stay (under|below|within))\b", _I),
    "negative": re.compile(r"\b(no|not|never|don'?t|do not|doesn'?t|won'?t|shouldn'?t|avoid|without)\b", _I),
    "request": re.compile(r"^(please |pls |can you|could you|would you|will you|write|list|give|show|make|create|"
                          r"generate|explain|help|draft|sketch|add|fix|implement|refactor|convert|translate|"
                          r"summari[sz]e|compare|review|check|tell me|walk me|how (do|can|would|should) (i|we)|"
                          r"what (is|are|does|would)|why)\b|\b(can you|could you|please|i need you to|"
                          r"help me|for me)\b", _I),
    "proposal": re.compile(r"\b(i'?d (suggest|recommend|go with|propose)|i (suggest|recommend|propose)|you could|"
                           r"we could|how about|what about|option|consider|my suggestion|my recommendation|"
                           r"i would|one approach|the simplest|alternatively|recommend)\b", _I),
    "hedge": re.compile(r"\b(maybe|perhaps|might|could|possibly|probably|i think|i guess|would|should we|"
                        r"what if|wondering)\b", _I),
    "we_i": re.compile(r"\b(we|we'?ll|we'?re|i|i'?ll|i'?m|i'?ve|us|our|let'?s)\b", _I),
    "you": re.compile(r"\b(you|your)\b", _I),
    "number": re.compile(r"\d"),
    "code": re.compile(r"`|[\w-]+/[\w.-]+|\w\.\w{1,5}\b|https?://|[A-Z][A-Z0-9]*_[A-Z0-9_]+|--\w"),
    "restate": re.compile(r"^(locked( in)?|renamed|changed|set|updated|noted|switched|done|agreed|confirmed|fixed|"
                          r"pinned|decided|recorded|got it|understood|perfect|great|ok(ay)?|good( call| choice)?)\b"
                          r"[^.?!]{0,12}?(:|—|–| - |,)", _I),
    "then_end": re.compile(r"\b(then|it is|it's|for now|from now on|going forward|instead)[.!]?$", _I),
    "key_value": re.compile(r"^[\w /.-]{2,30}:\s*\S|^[\w .-]{2,30}\s(=|->|→)\s*\S"),
    "yes_no": re.compile(r"\b(yes|no|yep|nope|definitely|sure)\b", _I),
    "take": re.compile(r"\b(i|we) (take|do|keep|stay|pick|want|prefer|need)\b|\bso (i|we)\b|\bstays?\b|"
                       r"\bbecomes?\b|\bnow (is|are|starts?|ends?)\b", _I),
    "report": re.compile(r"\b(ran|tried|tested|checked|measured|measure|found|saw|noticed|looks like|seems|"
                         r"turns out|was|were|did|got|say|says|said|think|thought|wondering)\b", _I),
    "ack_only": re.compile(r"^(ok(ay)?|good|great|fine|nice|cool|thanks|thank you|hmm+|ah|oh|wow|right|hi|hello|hey|"
                           r"fair enough|good point|makes sense|got it|i see|interesting|lol|perfect|yes|yep|"
                           r"sure)[\s,.!]*(thanks|then|this is clear|that helps)?[\s.!]*$", _I),
    # a choice put to the conversation ("should we also use a clustering key?", "do we need a status screen, or
    # just an icon?", "where should I write them, home or /scratch?"), not a request for content
    "choice_question": re.compile(r"(?<!how )(?<!what )(?<!why )\b(should|shall|do|must) (we|i)\b[^?]{0,120}\?|"
                                  r"\b(which|where|what|when|whether|how many|how much) (should|shall|do) (we|i)\b|"
                                  r"\bwhere i should\b|\bor\b[^?.!]{1,60}\?\s*$", _I),
    "wh": re.compile(r"^(what|which|how|why|when|where|who|should|shall|do|does|is|are|can|could|would|will)\b", _I),
}

CUE_CHARS = 600  # cues are read from a sentence's first 600 characters (a pasted wall stays linear-time)

FEATURE_NAMES: tuple[str, ...] = (
    "bias", "user", "assistant", "data_like", "turn_log", "first_sentence", "last_sentence",
    "list_item", "question_mark", "question_mark_end", "short", "long", "log_len",
    *(f"cue_{name}" for name in CUES),
    "prev_assistant_proposes", "prev_asks", "prev_user", "agree_after_proposal", "open_then_question",
    "has_next", "next_confirms", "next_overlap", "next_head", "next_asks_back",
    "prev_overlap", "user_x_prev_overlap", "answer_to_ask", "short_answer", "picks_offered",
    "next_first_overlap", "user_x_next_first_overlap", "prev_wants_report", "past_tense", "reports_number",
    "opening_message", "rules_twice",
    *(f"assistant_x_{name}" for name in ("commit", "commit_strong", "it_is", "revise", "open", "resolve", "must", "restate",
                                         "take", "key_value", "then_end")),
    *lexical.NAMES,
)
_CROSSED = ("commit", "commit_strong", "it_is", "revise", "open", "resolve", "must", "restate", "take", "key_value", "then_end")


@dataclass(frozen=True)
class Context:
    """Where a sentence sits: speaker, turn and sentence position, what the previous turn did."""

    role: str = "user"
    turn_index: int = 0  # only what is known live: nothing about turns still to come
    sentence_index: int = 0
    n_sentences: int = 1
    kind: str = "prose"
    prev_role: str = ""
    prev_proposes: bool = False
    prev_asks: bool = False
    # the reply, when it is known (batch, or a turn re-read once answered); all zero live
    has_next: bool = False
    next_confirms: bool = False  # the reply opens with "Locked:", "Noted —", "Updated:"… about this sentence
    next_overlap: float = 0.0  # share of this sentence's words the reply repeats
    next_head: bool = False  # the reply opens with a confirmation at all
    next_asks_back: bool = False  # the reply's first sentence is a question
    # share of this sentence's words the previous turn (the other speaker's) used: an answer picking
    # one of the offered options ("isc then", "binary search yes") repeats the option's words
    prev_overlap: float = 0.0
    next_first_overlap: float = 0.0  # share of this sentence's words the reply's opening sentences repeat
    prev_wants_report: bool = False  # the previous (assistant) turn asked the user to run, measure or tell something


_PAST = re.compile(r"\b(?!(?:need|feed|speed|seed|indeed|embed|bed|red|shed|based|used|ed)\b)[a-z]{2,}ed\b", _I)
#: "run 2: macro-F1 0.84", "MaxArraySize is 1001", "B = 41,800": a measured or quoted number, not a choice
_REPORTS_NUMBER = re.compile(r"\b(is|are|was|were|says|came|comes|got|gives|took|takes)\s+(about |around |only |now )?"
                             r"[$€£~]?\d|[:=]\s*[$€£~]?\d[\d,.]*\s*(%|ms|s|gb|mb|eur|usd|k|x)?\b", _I)
#: a sentence that opens by asking for content ("List 50 languages…", "Give me ten names…"): a request,
#: never a choice, whatever its words (in the corpus no user decision opens this way)
ASKS_FOR_WORK = re.compile(r"^\W*(please |pls )?(list|write|explain|give me|show me|draft|sketch|summari[sz]e|"
                           r"generate|translate|compare|describe|tell me|outline|walk me)\b", _I)
WANTS_REPORT = re.compile(r"\b(let me know|tell me|paste|send me|share (the|your)|what do you (get|see)|report back|"
                          r"run (this|it|the)|try (this|it|running)|measure|check (what|whether|if|how)|can you (run|check|"
                          r"measure|try|paste|send|share))\b", _I)


def hits(text: str) -> dict[str, bool]:
    return {name: bool(rx.search(text)) for name, rx in CUES.items()}


def features(text: str, ctx: Context) -> np.ndarray:
    """The cue feature vector of one sentence (``len(FEATURE_NAMES)`` floats)."""
    stripped = text.strip()
    h = hits(stripped[:CUE_CHARS])
    n_words = len(stripped.split())
    values = [
        1.0,
        float(ctx.role == "user"),
        float(ctx.role == "assistant"),
        float(sum(c.isalpha() for c in stripped) < 0.5 * max(1, len(stripped.replace(" ", "")))),
        math.log1p(ctx.turn_index) / 3.0,
        float(ctx.sentence_index == 0),
        float(ctx.sentence_index == ctx.n_sentences - 1),
        float(ctx.kind == "item"),
        float("?" in stripped),
        float(stripped.endswith("?")),
        float(n_words <= 6),
        float(n_words >= 30),
        math.log1p(len(stripped)) / 8.0,
        *(float(v) for v in h.values()),
        float(ctx.prev_role == "assistant" and ctx.prev_proposes),
        float(ctx.prev_asks),
        float(ctx.prev_role == "user"),
        float(h["agree"] and ctx.prev_proposes and ctx.role == "user"),
        float(h["open"] and "?" in stripped),
        float(ctx.has_next),
        float(ctx.next_confirms),
        ctx.next_overlap,
        float(ctx.next_head),
        float(ctx.next_asks_back),
        ctx.prev_overlap,
        float(ctx.role == "user") * ctx.prev_overlap,
        float(ctx.role == "user" and ctx.prev_asks and ctx.prev_role == "assistant"),
        float(ctx.role == "user" and n_words <= 8 and ctx.prev_role == "assistant" and "?" not in stripped
              and not h["request"]),
        float(ctx.role == "user" and ctx.prev_overlap >= 0.5 and "?" not in stripped and not h["request"]),
        ctx.next_first_overlap,
        float(ctx.role == "user") * ctx.next_first_overlap,
        float(ctx.prev_wants_report and ctx.role == "user"),
        min(1.0, len(_PAST.findall(stripped[:CUE_CHARS])) / 2.0),
        float(bool(_REPORTS_NUMBER.search(stripped[:CUE_CHARS]))),
        # the user's first message, answered: the brief ("we are migrating X to Y"), rarely a choice; the
        # training's no-context copies of later messages also sit at turn 0, so position alone cannot say it
        float(ctx.role == "user" and ctx.turn_index == 0 and ctx.has_next),
        # two rule words ("keep it below 20 ms, always"; "never more than 3"): a rule, even when it opens like
        # a plan ("we need to…")
        float(len({m.group(0).lower() for m in CUES["must"].finditer(stripped[:CUE_CHARS])}) >= 2),
        *(float(ctx.role == "assistant" and h[name]) for name in _CROSSED),
    ]
    return np.concatenate([np.asarray(values, dtype=np.float32), lexical.features(stripped)])


def proposes(text: str) -> bool:
    """Does a turn put a proposal on the table (what an "ok, do that" would accept)?"""
    return bool(CUES["proposal"].search(text) or CUES["commit"].search(text))


def asks(text: str) -> bool:
    return "?" in text or bool(CUES["open"].search(text))


_CRITICAL = re.compile(r"\b(critical|blocker|security|data loss|production|urgent|never|under no circumstances)\b|!", _I)
_HIGH = re.compile(r"\b(important|must|always|has to|required|bug|broken|fail\w*|crash\w*|error)\b", _I)
_LOW = re.compile(r"\b(maybe|nice to have|later|someday|eventually|minor|optional)\b", _I)


def guess_priority(text: str) -> str:
    """critical / high / medium / low from the words used."""
    if _CRITICAL.search(text):
        return "critical"
    if _HIGH.search(text):
        return "high"
    if _LOW.search(text):
        return "low"
    return "medium"
