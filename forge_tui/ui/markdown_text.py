"""Lists the way models write them, made into Markdown lists before a turn is rendered.

CommonMark only starts a list inside a paragraph for ``-``/``*``/``+`` bullets or a
list numbered from 1; models also write ``•`` bullets and go on numbering (``2.``,
``3.``) after a sentence, which would render as one run-on paragraph. Code fences
are left alone.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_LIST_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d{1,3}[.)])\s+\S")
_GLYPH_BULLET = re.compile(r"^(\s*)[•●◦▪‣·–]\s+(?=\S)")


def normalize_lists(text: str) -> str:
    """``•`` (and similar) bullets become ``-``; a list item right after a line of prose gets
    the blank line CommonMark needs to start a list there."""
    if not text:
        return text
    out: list[str] = []
    fenced = False
    previous_is_prose = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
            out.append(line)
            previous_is_prose = False
            continue
        if fenced:
            out.append(line)
            continue
        line = _GLYPH_BULLET.sub(r"\1- ", line)
        is_item = bool(_LIST_ITEM.match(line))
        if is_item and previous_is_prose:
            out.append("")
        out.append(line)
        stripped = line.strip()
        previous_is_prose = bool(stripped) and not is_item and not line.startswith((" ", "\t")) and \
            not stripped.startswith(("#", "|", ">"))
    return "\n".join(out)
