"""The names a continuation must spell right, on one line: the archive's glossary.

Paths, URLs, commands in backticks and identifiers (``conflict_log``, ``PhotoUploadWorker.kt``,
``letsencrypt-prod``) are what a session most often loses: said once by the assistant in the
middle of an answer, never repeated, and costly to keep as whole statements. The glossary keeps
each such name once, as written, most salient first, in a few tokens each — the statements and
the structured items carry what the names are for (and which are current: the glossary names
what was mentioned, replaced names included).
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

from forge_tui.compression.facts import Statement
from forge_tui.knowledge.pipeline.artifacts import IDENT_RE, PATH_RE
from forge_tui.knowledge.pipeline.text import INLINE_CODE_RE, STOPWORDS, URL_RE

#: how the glossary statement starts (a reader of the archive sees what the list is)
LEAD = "Names mentioned: "
HYPHENATED_RE = re.compile(r"(?<![\w./-])[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+(?![\w/-])")
CAMEL_SNAKE_RE = re.compile(r"(?<![\w.])(?:[a-z]+[A-Z]\w*|[A-Za-z][A-Za-z0-9]*_\w+)(?![\w(])")
#: network addresses (IPv4, with a prefix length or port) and e-mail addresses: names a session
#: states once ("the NAS is on 192.168.20.7") that a continuation must spell exactly
ADDRESS_RE = re.compile(r"(?<![\w.])(?:\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2}|:\d{2,5})?|"
                        r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?![\w.]*\w)")
#: a name with its version or value ("ariadne 0.4.1", "Godot 4.2", "k3s v1.28.5+k3s1", "macro-F1 0.84",
#: "broker 192.168.4.20"): the number is the fact, the word says what it is
VERSIONED_RE = re.compile(r"(?<![\w.-])[A-Za-z][\w+-]*\s+v?\d+\.\d+(?:\.\d+)*(?:[+-][\w.]+)?(?![\w.]*\w)")
#: a name longer than this is a sentence in backticks, not a name
MAX_NAME = 60


#: how much each kind of match looks like a name (a hyphenated word is often just English)
_SHAPE = {URL_RE: 1.0, INLINE_CODE_RE: 1.0, PATH_RE: 1.0, ADDRESS_RE: 1.0, IDENT_RE: 0.9, CAMEL_SNAKE_RE: 0.9,
          VERSIONED_RE: 0.8, HYPHENATED_RE: 0.4}


#: words before a number that say nothing about what it is
_NOT_A_NAME = STOPWORDS | frozenset(
    "around near nearly about approx approximately roughly almost only just under over below above than from "
    "takes took gives gave got gets reported reports says said shows showed currently recent now still even "
    "before after since until default healthy maybe ca circa version versions".split())


def _plausible(name: str) -> bool:
    if ADDRESS_RE.fullmatch(name):
        return True
    if VERSIONED_RE.fullmatch(name) and name.split()[0].lower() in _NOT_A_NAME:
        return False  # "at 4.5", "around 0.1", "takes 1.8": a number, not what it is
    alnum = sum(ch.isalnum() for ch in name)
    return (3 <= len(name) <= MAX_NAME and alnum >= 0.6 * len(name) and any(ch.isalpha() for ch in name))


def names(text: str) -> list[tuple[str, float]]:
    """The names in ``text`` as written (backticks off) with how name-like their shape is, in
    order of appearance, once each."""
    found: list[tuple[int, str, float]] = []
    for rx, shape in _SHAPE.items():
        for m in rx.finditer(text):
            name = m.group(0).strip("`'\" ").rstrip(".,;:")
            if _plausible(name):
                found.append((m.start(), name, shape))
    best: dict[str, tuple[int, str, float]] = {}
    for at, name, shape in found:
        key = name.lower()
        if key not in best or shape > best[key][2]:
            best[key] = (min(at, best.get(key, (at,))[0]), name, shape)
    return [(name, shape) for _, name, shape in sorted(best.values())]


#: a glossary line is one ``facts`` item, whose text is at most this long (the archive spec's bound)
MAX_LINE = 400


def glossary(statements: Iterable[Statement], held: Iterable[str], room: int,
             count_text: Callable[[str], int]) -> list[str]:
    """Lines naming what the archive does not hold yet, within ``room`` tokens: each name once,
    ranked by the salience of the ``statements`` that say it (times how name-like it looks,
    then by how many say it), names inside longer ones left out; each line starts with ``LEAD``
    and is at most ``MAX_LINE`` characters. [] when nothing is missing or nothing fits."""
    held_text = "\n".join(held).lower()
    best: dict[str, tuple[float, int, str]] = {}
    for s in statements:
        for name, shape in names(s.text):
            key = name.lower()
            if key in held_text:
                continue
            p, count, _ = best.get(key, (0.0, 0, name))
            best[key] = (max(p, s.score * shape), count + 1, name)
    ranked = sorted(best.values(), key=lambda t: (-t[0], -t[1]))
    lines: list[list[str]] = []
    line_cost = count_text(LEAD) + 3
    cost, width = 0, MAX_LINE
    for _, _, name in ranked:
        low = name.lower()
        if any(low in c.lower() for line in lines for c in line):
            continue
        opens = width + len(name) + 2 > MAX_LINE  # a new line (and its lead) is needed
        extra = count_text(name) + 1 + (line_cost if opens else 0)
        if cost + extra > room:
            continue
        if opens:
            lines.append([])
            width = len(LEAD)
        lines[-1].append(name)
        cost += extra
        width += len(name) + 2
    return [LEAD + ", ".join(line) for line in lines]
