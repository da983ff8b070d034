"""The continuation prompt: readable prose for the next session."""

from __future__ import annotations

from forge_tui.compression import assemble
from forge_tui.knowledge.pipeline.text import words


def _continuation(model_text: str, vocab: set[str], title: str, decisions: list[dict], threads: list[dict],
                  constraints: list[dict]) -> str:
    """The model's continuation prompt when it is grounded in the conversation, else a built one."""
    text = model_text.strip()
    built = continuation_prose(title, decisions, threads, constraints)
    if text and assemble.grounded(text, vocab, 0.6) and len(words(text)) >= 6:
        return text
    return built


def _brief(text: str, limit: int = 90) -> str:
    text = " ".join(text.split()).rstrip(".;:,")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def continuation_prose(title: str, decisions: list[dict], threads: list[dict], constraints: list[dict]) -> str:
    """Readable prose for the next session: what we are doing, what is decided (current values
    only), what is still open, what must not be done."""
    live = [_brief(d["text"], 60) for d in decisions if d["status"] == "active"][-3:]
    open_ = [_brief(t["title"], 60) for t in threads if t["status"] == "OPEN"][:3]
    rules = [_brief(c["quote"], 70) for c in constraints][:2]
    parts = [f"We are continuing the work on \"{_brief(title, 80)}\"." if title else "We are continuing earlier work."]
    for label, items in (("Settled so far", live), ("Still open", open_), ("Rules that hold", rules)):
        if items:
            text = f"{label}: " + "; ".join(items)
            parts.append(text if text.endswith(("?", "!", "…")) else text + ".")
    if not (live or open_ or rules):
        parts.append("Nothing was decided or left open; the facts below are what was said.")
    return " ".join(parts)
