"""One entry point per file format: ``open_source(kind, path) -> (total, stream)``.

Loading happens here, before anything is written, so a bad file fails with one
clear ``ImportInputError`` and the CLI knows the total for its progress bar.
"""

from __future__ import annotations

from pathlib import Path

from forge_tui.importers.chatgpt import iter_chatgpt_conversations, load_chatgpt_export
from forge_tui.importers.claude import iter_claude_conversations, load_claude_export
from forge_tui.importers.model import ImportInputError, ParseStream, Skip
from forge_tui.importers.transcript import iter_transcript, load_transcript

FILE_KINDS = ("claude", "chatgpt", "transcript")
TRANSCRIPT_SUFFIXES = (".json", ".jsonl", ".ndjson", ".yaml", ".yml")


def transcript_files(folder: str | Path) -> list[Path]:
    """Transcripts directly in ``folder`` (e.g. what `forge export --all` wrote), sorted by name."""
    return sorted(p for p in Path(folder).expanduser().iterdir() if p.is_file() and p.suffix.lower() in TRANSCRIPT_SUFFIXES)


def _iter_folder(files: list[Path]) -> ParseStream:
    """One file's problem is that file's skip, not the end of the whole import."""
    for path in files:
        try:
            data = load_transcript(path)
            yield from iter_transcript(data, path.name)
        except ImportInputError as exc:
            yield Skip(path.name, str(exc), whole=True)


def open_source(kind: str, path: str | Path) -> tuple[int, ParseStream]:
    """(number of source conversations, stream of ParsedConversation | Skip)."""
    if kind == "claude":
        raw = load_claude_export(path)
        return len(raw), iter_claude_conversations(raw)
    if kind == "chatgpt":
        raw = load_chatgpt_export(path)
        return len(raw), iter_chatgpt_conversations(raw)
    if kind == "transcript":
        if Path(path).expanduser().is_dir():
            files = transcript_files(path)
            if not files:
                raise ImportInputError(f"{path} holds no .json, .jsonl, .yaml or .yml transcripts.")
            return len(files), _iter_folder(files)
        data = load_transcript(path)
        total = 1
        if isinstance(data, list) and data and all(isinstance(x, dict) and "messages" in x for x in data):
            total = len(data)
        elif isinstance(data, dict) and isinstance(data.get("conversations"), list):
            total = len(data["conversations"])
        return total, iter_transcript(data, Path(path).name)
    raise ValueError(f"unknown import kind {kind!r}; use one of {', '.join(FILE_KINDS)}")
