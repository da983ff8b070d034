"""The decisions adapter learns decide()'s own exchange: same prompt, same context, the entry's answer."""

from __future__ import annotations

from datetime import datetime, timezone

from forge_tui.domain.ids import conversation_id, message_id
from forge_tui.domain.models import Conversation, Role, Task, Turn
from forge_tui.knowledge.decide import DECISION_OPTIONS, THREAD_OPTIONS, answer_yaml, candidate_context
from forge_tui.training.examples import decide_records, task_examples
from forge_tui.dataset.lora import DatasetSummary

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
SAID = "The cache is slow. Let's use Redis for the session cache since we already run it."


def _turn(store) -> Turn:
    cid = conversation_id("p", "cache", T0)
    turn = Turn(id=message_id(cid, "0", T0), conversation_id=cid, seq=0, role=Role.USER, content=SAID,
                created_at=T0, updated_at=T0)
    store.write_conversation_whole(Conversation(id=cid, project="p", title="Cache", created_at=T0, updated_at=T0),
                                   [turn])
    return turn


def test_decide_records_mirror_the_runtime_request(store):
    turn = _turn(store)
    sentence = "Let's use Redis for the session cache since we already run it."
    store.db.decisions.insert_many([
        {"_id": "d1", "project": "p", "id": "D001", "text": "Use Redis for the session cache",
         "rationale": "already running", "tier": 1.0, "priority": "high", "status": "active",
         "statement": sentence, "sources": [turn.id], "conversation_id": turn.conversation_id},
        {"_id": "d2", "project": "p", "id": "D002", "text": "Use Memcached", "rationale": "", "tier": 0.9,
         "priority": "low", "status": "dismissed", "statement": sentence, "sources": [turn.id]},
        {"_id": "d3", "project": "p", "id": "D003", "text": "No source", "tier": 1.0, "status": "active"},
    ])
    store.db.threads.insert_one({"_id": "t1", "project": "p", "id": "T001", "title": "Pick a cache TTL",
                                 "priority": "medium", "status": "OPEN", "question": "The cache is slow.",
                                 "sources": [turn.id]})
    summary = DatasetSummary()
    records = list(decide_records(store, "p", summary))
    assert [r.kind for r in records] == ["decide_decision", "decide_thread"]
    decision, thread = (r.example["messages"] for r in records)
    context = candidate_context("user", SAID, sentence)
    assert decision[:-1] == DECISION_OPTIONS.messages(context)
    assert decision[-1] == {"role": "assistant", "content": answer_yaml(
        {"text": "Use Redis for the session cache", "rationale": "already running", "tier": 1.0,
         "priority": "high"})}
    assert thread[:-1] == THREAD_OPTIONS.messages(candidate_context("user", SAID, "The cache is slow."))
    assert records[0].group == turn.conversation_id
    assert summary.excluded["decisions not usable for decide() examples"] == 2
    assert task_examples(store, Task.DECISIONS, "p", min_train=0).total == 2
