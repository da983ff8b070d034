"""The labelled memory corpus (``tests/fixtures/memory_corpus``): loading, the fixed split, sentence targets.

The split is by conversation and fixed by the id alone:
``int(sha256(id).hexdigest(), 16) % 10`` -> 0–5 train, 6–7 dev, 8–9 test.
Training and tuning read train and dev only; the test split is only reported.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from forge_tui.knowledge.pipeline.text import Sentence, split_sentences

#: corpus label -> classifier label (a revision is a decision that replaces one; artifacts are rules' work)
TARGET = {"decision": "decision", "revision": "decision", "question": "question", "resolution": "resolution",
          "constraint": "constraint", "request": "request"}
#: when one sentence carries several labels, the first of these wins
PRECEDENCE = ("decision", "resolution", "question", "constraint", "request")


def split_of(conv_id: str) -> str:
    bucket = int(hashlib.sha256(conv_id.encode("utf-8")).hexdigest(), 16) % 10
    return "train" if bucket <= 5 else "dev" if bucket <= 7 else "test"


@dataclass
class Conversation:
    id: str
    domain: str
    voice: str
    title: str
    turns: list[dict]
    labels: list[dict]
    expected: dict
    split: str

    def dict_turns(self) -> list[dict]:
        """Turns with stable ids (``c001:3``) for sources."""
        return [{"id": f"{self.id}:{i}", "role": t["role"], "content": t["content"]} for i, t in enumerate(self.turns)]

    def label_spans(self) -> list[tuple[int, int, int, dict]]:
        """(turn, start, end, label) for every label, located in its turn."""
        out = []
        for lab in self.labels:
            content = self.turns[lab["turn"]]["content"]
            start = content.find(lab["text"])
            if start >= 0:
                out.append((lab["turn"], start, start + len(lab["text"]), lab))
        return out

    def sentence_targets(self, turn: int, units: list[Sentence]) -> list[str]:
        """The classifier label of each unit of ``turn`` (``other`` when no label overlaps it)."""
        spans = [(s, e, lab) for t, s, e, lab in self.label_spans() if t == turn and lab["label"] in TARGET]
        out = []
        for u in units:
            found = {TARGET[lab["label"]] for s, e, lab in spans if s < u.end and u.start < e}
            out.append(next((p for p in PRECEDENCE if p in found), "other"))
        return out

    def units(self, turn: int) -> list[Sentence]:
        return [s for s in split_sentences(self.turns[turn]["content"]) if s.kind != "code"]


def load(folder: Path, splits: tuple[str, ...] | None = None) -> list[Conversation]:
    """Every ``c*.json``/``d*.json`` in ``folder`` (sorted by id), optionally only some splits."""
    out = []
    for path in sorted(folder.glob("[cd][0-9][0-9][0-9]_*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        conv = Conversation(data["id"], data.get("domain", ""), data.get("voice", ""), data.get("title", ""),
                            data["turns"], data["labels"], data.get("expected", {}), split_of(data["id"]))
        if splits is None or conv.split in splits:
            out.append(conv)
    return out
