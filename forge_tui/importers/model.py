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


def as_text(value: Any) -> str:
    """A title or name from untrusted JSON: strings (and numbers) as text, anything else empty."""
    if isinstance(value, str):
        return clean_text(value).strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def as_list(value: Any) -> list[Any]:
    """A JSON array, or empty for anything else (an export with a string where a list belongs)."""
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    """A JSON object, or empty for anything else."""
    return value if isinstance(value, dict) else {}


def json_safe(value: Any, depth: int = 0) -> Any:
    """Source metadata kept beside a conversation, made storable: BSON has no integers
    beyond 64 bits, no NaN-safe equality, no ``$``/``.`` keys; deep values are cut."""
    if isinstance(value, str):
        return clean_text(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else str(value)
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if depth >= 8:
        return None
    if isinstance(value, list):
        return [json_safe(v, depth + 1) for v in value[:200]]
    if isinstance(value, dict):
        return {
            clean_text(str(k)).replace("$", "＄").replace(".", "．").replace("\x00", "") or "_": json_safe(v, depth + 1)
            for k, v in list(value.items())[:200]
        }
    return clean_text(str(value))


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
        self.extra = json_safe(self.extra)


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
    #: the conversation's own system prompt (a Forge export's ``system_prompt``), if it had one
    system_prompt: str | None = None

    def __post_init__(self) -> None:
        self.title = as_text(self.title) or "Untitled"
        self.source_id = clean_text(str(self.source_id))
        if self.project is not None:
            self.project = as_text(self.project) or None
        self.extra = json_safe(self.extra)


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
