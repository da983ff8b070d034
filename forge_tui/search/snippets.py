"""Search result snippets: a window of the message around the matched words,
with the spans of those words so the UI can highlight them (and the CLI can
mark them with «…»)."""

from __future__ import annotations

import re

from forge_tui.search.keyword_index import term_spans, terms

_SPACE = re.compile(r"\s+")


def make_snippet(content: str, query: str, width: int = 180) -> tuple[str, list[tuple[int, int]]]:
    """``(snippet, spans)``: whitespace collapsed, about ``width`` characters, spans into the snippet."""
    text = _SPACE.sub(" ", content or "").strip()
    wanted = set(terms(query))
    spans = term_spans(text, wanted) if wanted else []
    if len(text) <= width:
        return text, spans
    if spans:
        # centre the window on the densest cluster of matches
        best_start, best_count = spans[0][0], 0
        for i, (start, _) in enumerate(spans):
            count = sum(1 for s, _ in spans[i:] if s < start + width * 0.6)
            if count > best_count:
                best_start, best_count = start, count
        begin = max(0, best_start - width // 4)
    else:
        begin = 0
    if begin > 0:
        space = text.find(" ", begin)
        begin = space + 1 if 0 <= space < begin + 20 else begin
    end = min(len(text), begin + width)
    if end < len(text):
        space = text.rfind(" ", begin, end)
        end = space if space > begin + width // 2 else end
    prefix = "…" if begin > 0 else ""
    suffix = "…" if end < len(text) else ""
    snippet = prefix + text[begin:end] + suffix
    shift = len(prefix) - begin
    inside = [(s + shift, e + shift) for s, e in spans if s >= begin and e <= end]
    return snippet, inside


def mark(snippet: str, spans: list[tuple[int, int]], open_mark: str = "«", close_mark: str = "»") -> str:
    """The snippet as plain text with matched words wrapped in markers."""
    out, pos = [], 0
    for start, end in sorted(spans):
        if start < pos:
            continue
        out.append(snippet[pos:start])
        out.append(open_mark + snippet[start:end] + close_mark)
        pos = end
    out.append(snippet[pos:])
    return "".join(out)
