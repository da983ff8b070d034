"""One entry point per file format: ``open_source(kind, path) -> (total, stream)``.

Loading happens here, before anything is written, so a bad file fails with one
clear ``ImportInputError`` and the CLI knows the total for its progress bar.
"""

from __future__ import annotations

from pathlib import Path

from forge_tui.importers.chatgpt import iter_chatgpt_conversations, load_chatgpt_export
from forge_tui.importers.claude import iter_claude_conversations, load_claude_export
from forge_tui.importers.model import ParseStream
from forge_tui.importers.transcript import iter_transcript, load_transcript

FILE_KINDS = ("claude", "chatgpt", "transcript")


def open_source(kind: str, path: str | Path) -> tuple[int, ParseStream]:
    """(number of source conversations, stream of ParsedConversation | Skip)."""
    if kind == "claude":
        raw = load_claude_export(path)
        return len(raw), iter_claude_conversations(raw)
    if kind == "chatgpt":
        raw = load_chatgpt_export(path)
        return len(raw), iter_chatgpt_conversations(raw)
    if kind == "transcript":
        data = load_transcript(path)
        total = 1
        if isinstance(data, list) and data and all(isinstance(x, dict) and "messages" in x for x in data):
            total = len(data)
        elif isinstance(data, dict) and isinstance(data.get("conversations"), list):
            total = len(data["conversations"])
        return total, iter_transcript(data, Path(path).name)
    raise ValueError(f"unknown import kind {kind!r}; use one of {', '.join(FILE_KINDS)}")
