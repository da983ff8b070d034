"""The examples of one task, split into train and held-out sets by conversation.

The split is a hash of each example's group (its conversation), so it is stable as the
history grows: an example never moves from the held-out set into training, and no
conversation is cut in two (which would leak near-copies into the held-out set).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator

from forge_tui.dataset.lora import MIN_TIER, DatasetSummary, LoraRecord, iter_lora_records, registry_group
from forge_tui.domain.models import Task
from forge_tui.store.repository import Store
from forge_tui.training.errors import TrainingError

#: which dataset kinds teach which task; chat learns from all of them. The decisions task
#: learns decide()'s own request and answer shape (see ``decide_records``)
TASK_KINDS: dict[Task, tuple[str, ...]] = {
    Task.COMPRESSION: ("compression",),
    Task.DECISIONS: ("decide_decision", "decide_thread"),
    Task.CODE: ("code_pattern",),
    Task.CHAT: ("compression", "decision", "thread", "code_pattern"),
}
HOW_TO_GET_MORE: dict[Task, str] = {
    Task.COMPRESSION: "compress more conversations (F5 or `forge compress ID`)",
    Task.DECISIONS: "keep working: the knowledge graph records decisions and open questions from your turns "
                    "(pin missed ones by hand)",
    Task.CODE: "have more coding conversations or import them (`forge import`)",
    Task.CHAT: "import history (`forge import`) or keep working",
}
MIN_TRAIN_EXAMPLES = 4
HELD_OUT_PERCENT = 20


@dataclass
class TaskExamples:
    task: Task
    train: list[LoraRecord] = field(default_factory=list)
    held_out: list[LoraRecord] = field(default_factory=list)
    summary: DatasetSummary = field(default_factory=DatasetSummary)

    @property
    def total(self) -> int:
        return len(self.train) + len(self.held_out)

    def counts(self) -> Counter:
        return Counter(r.kind for r in self.train + self.held_out)


def is_held_out(group: str, percent: int = HELD_OUT_PERCENT) -> bool:
    digest = hashlib.sha256(group.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def split_records(task: Task, records: list[LoraRecord], percent: int = HELD_OUT_PERCENT) -> TaskExamples:
    out = TaskExamples(task)
    for record in records:
        (out.held_out if is_held_out(record.group, percent) else out.train).append(record)
    if not out.held_out and len({r.group for r in out.train}) >= 2:
        # tiny histories: hash luck can leave nothing held out; hold out the smallest-hash group
        last = min({r.group for r in out.train}, key=lambda g: hashlib.sha256(g.encode()).hexdigest())
        out.held_out = [r for r in out.train if r.group == last]
        out.train = [r for r in out.train if r.group != last]
    return out


def decide_records(store: Store, project: str | None, summary: DatasetSummary) -> Iterator[LoraRecord]:
    """Registry entries as the decide() exchange that records them at run time: the same system
    prompt, few-shot examples and ``Message (role): …\nCandidate: …`` context, answered with the
    entry's fields in the grammar's YAML. Entries without their source sentence and turn, speculative,
    rejected or dismissed ones are left out."""
    from forge_tui.knowledge.decide import DECISION_OPTIONS, THREAD_OPTIONS, answer_yaml, candidate_context

    for kind, collection in (("decide_decision", "decisions"), ("decide_thread", "threads")):
        docs = (store.knowledge.decision_docs(project, active_only=False) if collection == "decisions"
                else store.knowledge.thread_docs(project))
        for doc in docs:
            sentence = (doc.get("statement") if kind == "decide_decision" else doc.get("question")) or ""
            turn = store.get_turn(doc["sources"][0]) if doc.get("sources") else None
            bad = (doc.get("status") in ("rejected", "dismissed") or doc.get("dismissed")
                   or float(doc.get("tier", 1.0) or 0.0) < MIN_TIER)
            if bad or not sentence.strip() or turn is None:
                summary.excluded[f"{collection} not usable for decide() examples"] += 1
                continue
            context = candidate_context(turn.role.value, turn.content, sentence)
            if kind == "decide_decision":
                options = DECISION_OPTIONS
                answer = answer_yaml({"text": doc.get("text", ""), "rationale": doc.get("rationale") or "",
                                      "tier": round(float(doc.get("tier", 1.0)), 1),
                                      "priority": doc.get("priority") or "medium"})
            else:
                options = THREAD_OPTIONS
                answer = answer_yaml({"title": doc.get("title", ""), "priority": doc.get("priority") or "medium"})
            messages = options.messages(context) + [{"role": "assistant", "content": answer}]
            yield LoraRecord(kind, registry_group(doc), {"messages": messages})


def task_examples(store: Store, task: Task, project: str | None = None,
                  min_train: int = MIN_TRAIN_EXAMPLES) -> TaskExamples:
    """The task's examples from the store, split; ``TrainingError`` when too few to train on."""
    summary = DatasetSummary()
    kinds = TASK_KINDS[task]
    source = decide_records(store, project, summary) if task is Task.DECISIONS else iter_lora_records(
        store, project, summary)
    records = [r for r in source if r.kind in kinds]
    examples = split_records(task, records)
    examples.summary = summary
    if len(examples.train) < min_train:
        where = f" in project '{project}'" if project else ""
        raise TrainingError(
            f"too few examples for the {task.value} adapter{where}: {examples.total} exist "
            f"({len(examples.train)} for training after holding out {len(examples.held_out)}), "
            f"at least {min_train} training examples are needed. To get more, {HOW_TO_GET_MORE[task]}."
        )
    return examples
