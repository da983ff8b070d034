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
#: the briefing-only task (a small model): plain lists, nothing to number or echo back
BRIEFING_SYSTEM = (
    "You brief the next session of this work. In two or three sentences write continuation_prompt: what we "
    "are doing, what is decided and what is still open. Use only facts from the conversation."
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


def candidate_block(title: str, cands: Sequence[Candidate], numbered: bool = True) -> str:
    if not cands:
        return f"{title}: none"
    if not numbered:
        return f"{title}:\n" + "\n".join(f"- {c.text}" for c in cands)
    rows = [f"{c.number}. {c.text}" + (f" [{c.status}]" if c.kind == "thread" else "") for c in cands]
    return f"{title}:\n" + "\n".join(rows)


def build_messages(
    turns: Sequence[Any],
    decisions: Sequence[Candidate],
    threads: Sequence[Candidate],
    inherited: str = "",
    fits: Callable[[list[dict]], bool] | None = None,
    room_chars: int = 12000,
    briefing: bool = False,
) -> list[dict]:
    """Chat messages for the compression request, sized to the model's context.

    The candidates (the latest ones when there are many) take at most ~40 % of ``room_chars``,
    the transcript's first turn (where the goal is stated) and as many of its last turns as fit
    take the rest; ``fits(messages)`` then confirms with the model's own token count, and the
    whole is halved until it fits. However long the conversation, this costs a handful of
    token counts — the deterministic extraction has already read all of it. ``briefing``: the
    model writes only the continuation prompt (what is decided and still open, listed plainly;
    answered questions left out).
    """
    if briefing:
        decisions = [c for c in decisions if c.status != "superseded"]
        threads = [c for c in threads if c.status == "OPEN"]
    lines = transcript_lines(turns)
    budget = room_chars
    for _ in range(12):
        messages = _render(lines, decisions, threads, inherited, budget, briefing)
        if fits is None or fits(messages):
            return messages
        budget //= 2
    return _render(lines[-1:], decisions[-2:], threads[-2:], "", 400)


def _render(lines: list[str], decisions: Sequence[Candidate], threads: Sequence[Candidate], inherited: str,
            budget: int, briefing: bool = False) -> list[dict]:
    cand_budget = int(budget * 0.4)
    decisions, threads = _latest(decisions, cand_budget * 2 // 3), _latest(threads, cand_budget // 3)
    head = [f"{c.number}. {c.text}" for c in decisions]
    room = budget - sum(len(x) + 1 for x in head) - sum(len(c.text) + 12 for c in threads) - len(inherited[:budget // 5])
    kept: list[str] = []
    if lines:
        first = lines[0][: max(80, room // 4)]
        kept, room = [first], room - len(first)
        tail: list[str] = []
        for line in reversed(lines[1:]):
            line = line if len(line) <= max(120, room) else line[: max(120, room) - 2] + " …"
            if len(line) > room:
                break
            tail.append(line)
            room -= len(line) + 1
        if len(tail) < len(lines) - 1:
            kept.append("…")
        kept += list(reversed(tail))
    if briefing:
        parts = ["Conversation:", *kept, "", candidate_block("Decided", decisions, numbered=False),
                 "", candidate_block("Still open", threads, numbered=False)]
    else:
        parts = ["Conversation:", *kept, "", candidate_block("Decision candidates", decisions),
                 "", candidate_block("Open question candidates", threads)]
    if inherited:
        parts += ["", "Inherited context (earlier archives):", inherited[: budget // 5]]
    parts += ["", "Write the briefing YAML now." if briefing else "Write the archive YAML now."]
    return [{"role": "system", "content": BRIEFING_SYSTEM if briefing else SYSTEM},
            {"role": "user", "content": "\n".join(parts)}]


def _latest(cands: Sequence[Candidate], chars: int) -> list[Candidate]:
    """The latest candidates whose texts fit in ``chars`` (numbers unchanged)."""
    out: list[Candidate] = []
    for c in reversed(list(cands)):
        chars -= len(c.text) + 6
        if chars < 0:
            break
        out.append(c)
    return list(reversed(out))
