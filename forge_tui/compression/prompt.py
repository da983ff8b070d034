"""The compression prompt: a trimmed transcript plus the numbered candidates.

The model never sees or writes IDs: it gets numbered candidate lists and
answers with ``from: N`` (0 = something the candidates missed).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from forge_tui.knowledge.pipeline.candidates import Candidate

SYSTEM = (
    "You compress a work session into a YAML archive for the next session. "
    "Restate the decisions and open questions briefly, in your own words, each with 'from:' set to the number "
    "of the candidate it restates (0 if it is not in the list). Then write continuation_prompt: what was done, "
    "what is decided, and what to do next. Use only facts from the conversation."
)
MAX_MESSAGE_CHARS = 700


def _role(turn: Any) -> str:
    role = turn.get("role") if isinstance(turn, dict) else getattr(turn, "role", "user")
    return str(getattr(role, "value", role))


def _content(turn: Any) -> str:
    return (turn.get("content") if isinstance(turn, dict) else getattr(turn, "content", "")) or ""


def transcript_lines(turns: Sequence[Any], max_chars: int = MAX_MESSAGE_CHARS) -> list[str]:
    lines = []
    for t in turns:
        text = " ".join(_content(t).split())
        if len(text) > max_chars:
            text = text[: max_chars - 20] + " … " + text[-16:]
        lines.append(f"{_role(t)}: {text}")
    return lines


def candidate_block(title: str, cands: Sequence[Candidate]) -> str:
    if not cands:
        return f"{title}: none"
    rows = [f"{c.number}. {c.text}" + (f" [{c.status}]" if c.kind == "thread" else "") for c in cands]
    return f"{title}:\n" + "\n".join(rows)


def build_messages(
    turns: Sequence[Any],
    decisions: Sequence[Candidate],
    threads: Sequence[Candidate],
    inherited: str = "",
    fits: Callable[[list[dict]], bool] | None = None,
) -> list[dict]:
    """Chat messages for the compression request, trimmed until ``fits(messages)``.

    Trimming drops messages from the middle first (the start states the goal,
    the end states where the work is), then shortens each message.
    """
    lines = transcript_lines(turns)
    max_chars = MAX_MESSAGE_CHARS

    def render(kept: list[str]) -> list[dict]:
        parts = ["Conversation:", *kept, "", candidate_block("Decision candidates", decisions),
                 "", candidate_block("Open question candidates", threads)]
        if inherited:
            parts += ["", "Inherited context (earlier archives):", inherited]
        parts += ["", "Write the archive YAML now."]
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(parts)}]

    kept = list(lines)
    for _ in range(40):
        messages = render(kept)
        if fits is None or fits(messages):
            return messages
        if len(kept) > 4:
            mid = len(kept) // 2
            drop = max(1, len(kept) // 6)
            kept = kept[: mid - drop // 2] + ["…"] + kept[mid + (drop - drop // 2):]
            kept = [k for i, k in enumerate(kept) if not (k == "…" and i > 0 and kept[i - 1] == "…")]
        else:
            max_chars = max(80, max_chars // 2)
            kept = [k[:max_chars] for k in kept]
            decisions = list(decisions)[-12:]
            threads = list(threads)[-8:]
            if max_chars == 80:
                kept = kept[-2:]
    return render(kept[-1:])
