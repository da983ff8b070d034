"""The examples of one task, split into train and held-out sets by conversation.

The split is a hash of each example's group (its conversation), so it is stable as the
history grows: an example never moves from the held-out set into training, and no
conversation is cut in two (which would leak near-copies into the held-out set).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

from forge_tui.dataset.lora import DatasetSummary, LoraRecord, iter_lora_records
from forge_tui.domain.models import Task
from forge_tui.store.repository import Store
from forge_tui.training.errors import TrainingError

#: which dataset kinds teach which task; chat learns from all of them
TASK_KINDS: dict[Task, tuple[str, ...]] = {
    Task.COMPRESSION: ("compression",),
    Task.DECISIONS: ("decision", "thread"),
    Task.CODE: ("code_pattern",),
    Task.CHAT: ("compression", "decision", "thread", "code_pattern"),
}
HOW_TO_GET_MORE: dict[Task, str] = {
    Task.COMPRESSION: "compress more conversations (F5 or `forge compress ID`)",
    Task.DECISIONS: "record decisions with rationales and resolve threads (the knowledge graph does it as you work)",
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


def task_examples(store: Store, task: Task, project: str | None = None,
                  min_train: int = MIN_TRAIN_EXAMPLES) -> TaskExamples:
    """The task's examples from the store, split; ``TrainingError`` when too few to train on."""
    summary = DatasetSummary()
    kinds = TASK_KINDS[task]
    records = [r for r in iter_lora_records(store, project, summary) if r.kind in kinds]
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
