"""What every parser yields: source-neutral conversations, messages and skips."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator, Union


class ImportInputError(Exception):
    """The input as a whole cannot be imported; the message names the problem and the fix."""


def clean_text(text: str) -> str:
    """JSON can smuggle in lone surrogates (``"\\udc80"``), which neither UTF-8 nor BSON
    can encode: replace them rather than fail the whole conversation."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


@dataclass
class ParsedMessage:
    source_id: str | None
    role: str  # "user" | "assistant" | "system"
    content: str
    created_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.content = clean_text(self.content)
        if self.source_id is not None:
            self.source_id = clean_text(self.source_id)


@dataclass
class ParsedConversation:
    source_id: str
    title: str
    created_at: datetime | None
    updated_at: datetime | None
    project: str | None
    messages: list[ParsedMessage]
    #: Which importer produced it ("claude", "chatgpt", "transcript", "forgeos");
    #: part of the deterministic ID, so the same uuid from two sources never collides.
    source: str = "transcript"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.title = clean_text(self.title)
        self.source_id = clean_text(self.source_id)


@dataclass(frozen=True)
class Skip:
    """Something the parser could not import, and why (counted in the summary)."""

    what: str
    reason: str
    whole: bool = False  # a whole source conversation was skipped (advances progress)


ParseItem = Union[ParsedConversation, Skip]
ParseStream = Iterator[ParseItem]


def parse_timestamp(value: Any) -> datetime | None:
    """ISO-8601 strings (with ``Z``), epoch seconds (int/float) or datetimes -> aware UTC,
    truncated to milliseconds (BSON precision, so re-imports compare equal)."""
    if value is None or value == "":
        return None
    dt: datetime | None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, bool):
        return None
    elif isinstance(value, (int, float)):
        seconds = float(value)
        if seconds > 1e11:  # epoch milliseconds
            seconds /= 1000.0
        try:
            dt = datetime.fromtimestamp(seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            try:
                return parse_timestamp(float(text))
            except ValueError:
                return None
    else:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    dt = dt.astimezone(timezone.utc)
    return dt.replace(microsecond=(dt.microsecond // 1000) * 1000)
