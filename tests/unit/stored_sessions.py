"""Write a hand-written conversation ([(role, text), ...]) into a store, one second per turn."""

from __future__ import annotations

from datetime import timedelta

from forge_tui.domain.ids import conversation_id, message_id
from forge_tui.domain.models import Conversation, Role, Turn, TurnStatus, utcnow


def store_session(store, pairs, project: str, title: str) -> str:
    start = utcnow()
    cid = conversation_id(project, title, start)
    conv = Conversation(id=cid, project=project, title=title, created_at=start, updated_at=start)
    turns = [Turn(id=message_id(cid, f"{i}", start + timedelta(seconds=i)), conversation_id=cid, seq=i,
                  role=Role(role), content=text, status=TurnStatus.COMPLETE,
                  created_at=start + timedelta(seconds=i), updated_at=start + timedelta(seconds=i))
             for i, (role, text) in enumerate(pairs)]
    store.write_conversation_whole(conv, turns)
    return cid
