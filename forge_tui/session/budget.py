"""How full a model's context is, and what a reply that ended tells the user.

* ``fill_percent`` is the one percentage Forge shows for a context — the
  sidebar's token meter, the overflow dialog and the auto-compress question all
  call it, so they never disagree. It is not capped: a prompt that needs 127 %
  of ``n_ctx`` says so.
* ``reply_room`` is the room a prompt must leave for its reply before it is sent.
* ``plan_truncation`` finds the fewest oldest turns to leave out of one request
  so that it fits (the overflow dialog's "leave out the oldest turns").
* ``reply_outcome`` maps an engine's result to the turn's stored status and the
  note shown inside the turn: a reply that could not be generated is ``error``
  with the reason, never a blank ``complete``; one stopped by
  ``max_reply_tokens`` or the end of the context is ``truncated``.

Counting is the engine's own (``KnowledgeEngine.count_tokens``, the model's real
tokenizer and chat template); this module only does the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from forge_tui.domain.models import Role, Turn, TurnStatus
from forge_tui.engine.base import GenerationResult

#: the least room a reply is given (the engines refuse a prompt that leaves less)
MIN_REPLY_ROOM = 16
#: a prompt may not take more than this share of the context away from its reply
REPLY_SHARE = 8


def fill_percent(used: int, n_ctx: int) -> int:
    """``used`` as a whole percentage of ``n_ctx`` (0 when the size is unknown)."""
    if n_ctx <= 0:
        return 0
    return round(100 * used / n_ctx)


def fill_label(used: int, n_ctx: int) -> str:
    """``"3,100 / 4,096 tokens (76%)"``: the meter's line, also used in dialogs."""
    return f"{used:,} / {n_ctx:,} tokens ({fill_percent(used, n_ctx)}%)"


def reply_room(n_ctx: int, max_reply_tokens: int) -> int:
    """Tokens a prompt must leave free: ``max_reply_tokens``, but at most an eighth of the context
    (a 1,024-token reply limit must not refuse every prompt of a 512-token model)."""
    return max(MIN_REPLY_ROOM, min(max_reply_tokens, n_ctx // REPLY_SHARE))


@dataclass(frozen=True)
class Overflow:
    """A message held back because the prompt it makes would not fit.

    ``prompt_tokens`` counts the whole request (system prompt, archive, retrieved
    context, every turn and the new message); ``drop_turns`` is how many of the
    oldest turns leaving out would make it fit, None when even the message alone does not.
    """

    conversation_id: str
    text: str
    prompt_tokens: int
    n_ctx: int
    reply_room: int
    model: str
    drop_turns: int | None
    system: str | None = None
    #: why compress-and-continue is not possible here (None: it is)
    cannot_compress: str | None = None

    @property
    def can_compress(self) -> bool:
        return self.cannot_compress is None

    @property
    def percent(self) -> int:
        return fill_percent(self.prompt_tokens, self.n_ctx)

    def explain(self) -> str:
        """One paragraph for the dialog and the banner."""
        room = self.n_ctx - self.prompt_tokens
        if room < 0:
            where = f"that is {-room:,} more than '{self.model}' holds"
        else:
            where = f"leaving {room:,} for the reply, which needs {self.reply_room:,}"
        return (f"With this message the conversation needs {fill_label(self.prompt_tokens, self.n_ctx)}: "
                f"{where}. Nothing was sent.")


def plan_truncation(turns: Sequence[Turn], count: Callable[[Sequence[Turn]], int], budget: int) -> int | None:
    """The fewest leading turns to leave out so that ``count(kept) <= budget``, or None.

    Cuts fall only before a user turn (a request never opens with a reply: chat
    templates such as Gemma's want user first), system turns are always kept (they
    are part of the system prompt), and the last turn — the new message — always stays.
    ``count`` is called O(log n) times (the count only shrinks as more is left out).
    """
    cuts = [i for i, t in enumerate(turns) if i > 0 and t.role is Role.USER]
    if not cuts or cuts[-1] != len(turns) - 1:
        cuts.append(len(turns) - 1)

    def kept(cut: int) -> list[Turn]:
        return [t for t in turns[:cut] if t.role is Role.SYSTEM] + list(turns[cut:])

    if count(kept(cuts[-1])) > budget:
        return None
    low, high = 0, len(cuts) - 1  # the answer is the first cut that fits
    while low < high:
        middle = (low + high) // 2
        if count(kept(cuts[middle])) <= budget:
            high = middle
        else:
            low = middle + 1
    cut = cuts[low]
    return sum(1 for t in turns[:cut] if t.role is not Role.SYSTEM)


def without_oldest(turns: Sequence[Turn], drop: int) -> list[Turn]:
    """``turns`` less its ``drop`` oldest non-system turns (system turns stay: they are the system prompt)."""
    kept: list[Turn] = []
    for t in turns:
        if drop and t.role is not Role.SYSTEM:
            drop -= 1
            continue
        kept.append(t)
    return kept


def reply_outcome(result: GenerationResult, max_reply_tokens: int) -> tuple[TurnStatus, str | None]:
    """The stored status of a finished reply and the note shown inside it (``Turn.error``)."""
    if result.finish == "cancelled":
        return TurnStatus.CANCELLED, None
    if result.finish == "error":
        return TurnStatus.ERROR, result.error or "The model stopped with an error but gave no reason."
    if not result.text.strip():
        if result.finish == "context":
            return TurnStatus.ERROR, result.error or "The conversation fills this model's context: nothing was generated."
        return TurnStatus.ERROR, result.error or (
            "The model ended its reply without writing anything. Send again, rephrase, or pick another model (ctrl+m).")
    if result.finish == "length":
        return TurnStatus.TRUNCATED, (
            f"Stopped at max_reply_tokens ({max_reply_tokens}): ask it to go on, or raise max_reply_tokens "
            "in forge.toml.")
    if result.finish == "context":
        return TurnStatus.TRUNCATED, result.error or "The reply reached the end of the model's context and was stopped."
    return TurnStatus.COMPLETE, result.error
