"""Reading input files with errors a user can act on (encoding, truncation, format)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator

from forge_tui.importers.model import ImportInputError, Skip
from forge_tui.protocol.safe_yaml import YamlRefused, load_plain_yaml


def decode_text(data: bytes, where: str) -> str:
    """UTF-8 (with or without BOM). Anything else is a clear error, not a traceback."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportInputError(
            f"{where} is not UTF-8 text (invalid byte at offset {exc.start}). "
            "Re-save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8`) and import again."
        ) from None


def loads_json(data: bytes, where: str) -> Any:
    text = decode_text(data, where)
    del data
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        hint = (
            "the file looks truncated (it ends mid-document); download the export again"
            if exc.pos >= len(text.rstrip()) - 1 or not text.rstrip().endswith(("]", "}"))
            else "fix the JSON syntax"
        )
        raise ImportInputError(f"{where}: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); {hint}.") from None


def read_json(path: Path) -> Any:
    return loads_json(read_bytes(path), str(path))


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ImportInputError(f"{path} does not exist. Check the path and try again.") from None
    except IsADirectoryError:
        raise ImportInputError(f"{path} is a folder; give the export file inside it.") from None
    except OSError as exc:
        raise ImportInputError(f"cannot read {path}: {exc.strerror}.") from None


def loads_yaml(text: str, where: str) -> Any:
    try:
        return load_plain_yaml(text)
    except YamlRefused as exc:
        reason = str(exc).replace("not valid YAML: ", "invalid YAML: ", 1)
        raise ImportInputError(f"{where}: {reason}; fix it and import again.") from None


def loads_jsonl(text: str, where: str) -> list[Any]:
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ImportInputError(f"{where}: line {lineno} is not valid JSON ({exc.msg}); fix or remove it.") from None
    return rows


#: What a parser may raise on a value of an unexpected shape (a string where a list
#: belongs, an unhashable id, a number too large for a date, nesting too deep).
MALFORMED = (TypeError, AttributeError, ValueError, KeyError, IndexError, OverflowError, RecursionError)


def guarded(parse, raw: Any, index: int) -> Iterator[Any]:
    """``parse(raw, index)``'s items; if the conversation is malformed in a way the parser did
    not foresee, it becomes one counted skip with the reason, and the import goes on."""
    try:
        yield from parse(raw, index)
    except MALFORMED as exc:
        detail = " ".join(str(exc).split())[:120]
        yield Skip(f"conversation #{index}", f"malformed ({type(exc).__name__}: {detail})", whole=True)


def drain(conversations: Iterable[Any], parse) -> Iterator[Any]:
    """Yield ``parse(raw, index)`` results one source conversation at a time. A list is
    consumed as it goes, so the raw JSON is freed conversation by conversation; any
    other iterable (a streaming parser) is read lazily."""
    if isinstance(conversations, list):
        conversations.reverse()
        index = 0
        while conversations:
            raw = conversations.pop()
            index += 1
            yield from guarded(parse, raw, index)
        return
    for index, raw in enumerate(conversations, 1):
        yield from guarded(parse, raw, index)
