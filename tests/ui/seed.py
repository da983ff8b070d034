"""Deterministic conversations written through the real store (fixed timestamps and ids)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from forge_tui.domain.ids import conversation_id, message_id
from forge_tui.domain.models import Conversation, Role, Turn, TurnStatus

BASE = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def seed_conversation(store, project: str, title: str, turns: list[tuple[str, str, str]], minutes: int = 0,
                      model: str = "smollm2") -> Conversation:
    """``turns``: (role, content, status). ``minutes`` orders conversations (larger = newer)."""
    at = BASE + timedelta(minutes=minutes)
    conv = Conversation(id=conversation_id(project, title, at.isoformat()), project=project, title=title,
                        created_at=at, updated_at=at, model=model)
    built = []
    for seq, (role, content, status) in enumerate(turns):
        ts = at + timedelta(seconds=seq)
        built.append(Turn(id=message_id(conv.id, f"{seq}:{role}", ts), conversation_id=conv.id, seq=seq,
                          role=Role(role), content=content, status=TurnStatus(status), created_at=ts,
                          updated_at=ts, model=model if role == "assistant" else None))
    store.write_conversation_whole(conv, built)
    return conv


PLAN_TURNS = [
    ("user", "How should we store archives? Keep it short.", "complete"),
    ("assistant", "Store each archive as its **own document**:\n\n- `archives` collection, one per compression\n"
                  "- lineage edges `compressed_into` / `continued_from`\n\n```python\nstore.add_edge(conv, arc, "
                  "\"compressed_into\")\n```", "complete"),
    ("user", "And if the reply is cut off?", "complete"),
    ("assistant", "The partial text is kept and the turn is marked", "cancelled"),
]


def seed_library(store) -> dict[str, Conversation]:
    """Three projects, five conversations."""
    return {
        "plan": seed_conversation(store, "default", "Archive storage plan", PLAN_TURNS, minutes=50),
        "bugs": seed_conversation(store, "default", "Streaming bug in the pane",
                                  [("user", "Why does the pane flicker?", "complete"),
                                   ("assistant", "Because every token re-rendered the whole reply", "interrupted")],
                                  minutes=40),
        "risk": seed_conversation(store, "trading", "Position sizing rules",
                                  [("user", "Never risk more than 2 % live.", "complete")], minutes=30),
        "backtest": seed_conversation(store, "trading", "Backtest harness",
                                      [("user", "Set up the harness", "complete"),
                                       ("assistant", "Done.", "complete")], minutes=20),
        "notes": seed_conversation(store, "research", "Reading notes on grammars",
                                   [("user", "Summarise GBNF limits", "complete"),
                                    ("assistant", "Oops", "error")], minutes=10),
    }
