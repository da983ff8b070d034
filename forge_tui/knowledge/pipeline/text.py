"""The one sentence splitter and the one tokeniser every extraction step uses.

Sentences keep their character offsets in the turn, so a sentence is always an
exact substring of what was said (labels, sources and verbatim constraints rely
on it). The splitter never breaks inside a code fence, inline code, a URL, a
path or a dotted number (``10.0.0.12``, ``v3.11.4``, ``2.5``), nor after common
abbreviations; each list item and each line is its own unit; fenced code is a
unit of kind ``code`` that prose classifiers skip.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

FENCE_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)", re.M | re.S)
URL_RE = re.compile(r"https?://[^\s<>()\[\]\"'`]+")
INLINE_CODE_RE = re.compile(r"`[^`\n]{1,400}`")
#: a token with a dot inside: paths, file names, versions, IPs, dotted.config.keys, e.g. / i.e.
#: (starting only where a run of its characters starts: a 1 MB word without a dot stays linear)
_DOTTED_RE = re.compile(r"(?<![\w~/-])[\w~/-]*\w[./]\w(?:[\w./:-]*\w)?")
_LIST_MARK_RE = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,3}[.)]|[a-zA-Z][.)])[ \t]+")
_ABBREV = (
    "e.g", "i.e", "etc", "vs", "approx", "incl", "mr", "mrs", "ms", "dr", "st", "no", "fig", "cf", "resp", "ca",
    "min", "max", "avg", "est", "dept", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
    "dec",
)  # fmt: skip
_ABBREV_RE = re.compile(r"(?:^|(?<=[\s(]))(?:" + "|".join(re.escape(a) for a in _ABBREV) + r")\.", re.I)
_BOUNDARY_RE = re.compile(r"[.!?…]+[\"')\]]*(?=\s)|[;](?=\s+(?:but|so|and then|then|however)\b)")
MAX_SENTENCE_CHARS = 2000


@dataclass(frozen=True)
class Sentence:
    """One unit of a turn: ``text == content[start:end]``; ``kind`` is prose, item (list) or code."""

    text: str
    start: int
    end: int
    kind: str = "prose"
    index: int = 0  # position among the turn's units


def _mask(text: str) -> str:
    """Same length as ``text``, with every protected span's punctuation hidden from the splitter."""
    chars = list(text)
    for rx in (URL_RE, INLINE_CODE_RE, _DOTTED_RE, _ABBREV_RE):
        for m in rx.finditer(text):
            end = m.end()
            while rx is URL_RE and end > m.start() and text[end - 1] in ".,;:!?)":
                end -= 1
            for i in range(m.start(), end):
                if chars[i] in ".!?;…":
                    chars[i] = "_"
    return "".join(chars)


def split_sentences(text: str) -> list[Sentence]:
    """Every unit of ``text`` in order: prose sentences, list items and code blocks."""
    if not text:
        return []
    out: list[Sentence] = []
    pos = 0
    for fence in FENCE_RE.finditer(text):
        _split_prose(text, pos, fence.start(), out)
        body_start, body_end = fence.start(3), fence.end(3)
        if text[body_start:body_end].strip():
            out.append(Sentence(text[body_start:body_end], body_start, body_end, "code"))
        pos = fence.end()
    _split_prose(text, pos, len(text), out)
    return [Sentence(s.text, s.start, s.end, s.kind, i) for i, s in enumerate(out)]


def _split_prose(text: str, begin: int, end: int, out: list[Sentence]) -> None:
    line_start = begin
    while line_start < end:
        nl = text.find("\n", line_start, end)
        line_end = end if nl == -1 else nl
        line = text[line_start:line_end]
        kind = "prose"
        offset = line_start
        mark = _LIST_MARK_RE.match(line)
        if mark:
            kind, offset = "item", line_start + mark.end()
        _split_line(text, offset, line_end, kind, out)
        line_start = line_end + 1


def _split_line(text: str, begin: int, end: int, kind: str, out: list[Sentence]) -> None:
    segment = text[begin:end]
    masked = _mask(segment)
    cut = 0
    for m in _BOUNDARY_RE.finditer(masked):
        _emit(text, begin + cut, begin + m.end(), kind, out)
        cut = m.end()
    _emit(text, begin + cut, end, kind, out)


def _emit(text: str, start: int, end: int, kind: str, out: list[Sentence]) -> None:
    while start < end and text[start] in " \t\r":
        start += 1
    while end > start and text[end - 1] in " \t\r":
        end -= 1
    if end - start < 2 or not any(c.isalnum() for c in text[start:end]):
        return
    while end - start > MAX_SENTENCE_CHARS:  # a pasted wall of text without punctuation
        out.append(Sentence(text[start : start + MAX_SENTENCE_CHARS], start, start + MAX_SENTENCE_CHARS, kind))
        start += MAX_SENTENCE_CHARS
    out.append(Sentence(text[start:end], start, end, kind))


def sentences(text: str) -> list[str]:
    """The prose sentences and list items of ``text`` (code blocks left out)."""
    return [s.text for s in split_sentences(text) if s.kind != "code"]


# -- the tokeniser -----------------------------------------------------------------

_TOKEN_RE = re.compile(r"[a-z0-9_]+(?:['’][a-z]+)?(?:[./:@+-][a-z0-9_]+)*%?")
STOPWORDS = frozenset(
    "the a an and or but to of in on for with we i you it is are be this that should would will can could use "
    "using let's lets go going have has do does did not no yes so as at by from into our your my me us they them "
    "what how why when which who there here then than now just also still need about more some any all one "
    "question open issue thanks ok okay it's that's i'm we're i'll we'll you're don't was were been its "
    "these those their there's if else".split()
)


def tokens(text: str) -> list[str]:
    """Lower-case tokens; paths, versions, IPs and dotted keys stay whole (``10.0.0.1``, ``src/app.py``)."""
    return [t.rstrip("./:-") for t in _TOKEN_RE.findall(text.lower()) if t.rstrip("./:-")]


@functools.lru_cache(maxsize=65536)
def content_words(text: str) -> frozenset[str]:
    """Significant tokens: no stopwords, no one-letter words (digits kept).

    Cached: linking compares each new decision with every earlier one, so the same texts are
    tokenised again and again (quadratic on a 3,000-turn session without the cache)."""
    return frozenset(t for t in tokens(text) if t not in STOPWORDS and (len(t) > 2 or any(c.isdigit() for c in t)))


def words(text: str) -> set[str]:
    """Significant tokens plus adjacent pairs joined (``read replica`` also gives ``readreplica``).

    The joined pairs let "read-replica" and "read replica" meet; used for "same subject" checks.
    """
    toks = tokens(text)
    joined = {a + b for a, b in zip(toks, toks[1:]) if a not in STOPWORDS and b not in STOPWORDS}
    parts = {p for t in toks for p in re.split(r"[./:@+-]", t) if len(p) >= 3}
    return {w for w in [*toks, *joined, *parts] if len(w) >= 3 and w not in STOPWORDS}


def overlap(a: str, b: str) -> float:
    """Share of the smaller side's content words found in the other (0..1)."""
    wa, wb = content_words(a), content_words(b)
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / min(len(wa), len(wb))
