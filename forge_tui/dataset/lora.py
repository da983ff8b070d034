"""Chat-format JSONL (``{"messages": [...]}``) for fine-tuning a LoRA adapter on your own work.

Kinds of example, following the seed:

* ``compression`` — a conversation and the archive it was compressed into
  (``compressed_into`` lineage edges + the ``archives`` collection);
* ``decision`` — decisions with tier >= 0.3 and a rationale (``decisions``);
* ``thread`` — resolved threads with their resolution (``threads``);
* ``code_pattern`` — turns the classifier labelled ``code_pattern``, with the
  turn they answer (or the reply they got).

Excluded: raw chit-chat (unlabelled turns are never used on their own),
speculative decisions (tier < 0.3), rejected decisions, items dismissed by hand
(hand-pinned and hand-edited ones are in the registry and so included),
abandoned threads and everything they cite, and turns that did not complete.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple


from forge_tui.domain.models import Role, Turn, TurnStatus
from forge_tui.store.codec import turn_from_doc
from forge_tui.store.private_files import open_private
from forge_tui.store.repository import Store

MIN_TIER = 0.3
KINDS = ("compression", "decision", "thread", "code_pattern")
SYSTEM_COMPRESS = (
    "You compress a conversation into a Forge archive: YAML with decisions (with rationale and tier), "
    "threads, artifacts, constraints quoted verbatim, and a continuation prompt."
)
SYSTEM_KNOWLEDGE = "You are Forge, a careful engineering assistant for the project '{project}'."

#: Counts tokens in one text; the default is an approximation (4 characters per token).
Tokenizer = Callable[[str], int]


def approx_tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4) if text else 0


@dataclass
class DatasetSummary:
    counts: Counter = field(default_factory=Counter)  # kind -> examples written
    excluded: Counter = field(default_factory=Counter)  # reason -> items left out
    tokens: int = 0
    path: Path | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def lines(self, exact: bool = False) -> list[str]:
        approx = "" if exact else "≈"
        out = [f"Wrote {self.total} example(s), {approx}{self.tokens} tokens" + (f" to {self.path}" if self.path else "")]
        out += [f"  {kind}: {self.counts.get(kind, 0)}" for kind in KINDS]
        out += [f"  excluded {reason}: {n}" for reason, n in sorted(self.excluded.items())]
        return out


def _render_transcript(turns: list[Turn]) -> str:
    return "\n\n".join(f"[{t.role.value}] {t.content.strip()}" for t in turns if t.content.strip())


def _archive_text(doc: dict[str, Any]) -> str | None:
    text = doc.get("yaml") or doc.get("yaml_text")
    if isinstance(text, str) and text.strip():
        return text.strip()
    data = doc.get("data") or doc.get("archive")
    if isinstance(data, dict):
        from forge_tui.protocol.render import dump_archive

        return dump_archive(data).strip()
    return None


def compression_examples(store: Store, project: str | None, summary: DatasetSummary) -> Iterator[tuple[str, dict]]:
    for edge in store.edges_of_kind("compressed_into"):
        conv = store.get_conversation(edge["src"])
        if conv is None or (project is not None and conv.project != project):
            continue
        archive = store.get_archive(edge["dst"])
        text = _archive_text(archive) if archive else None
        if not text:
            summary.excluded["compression without archive text"] += 1
            continue
        turns = [t for t in store.active_turns(conv.id) if t.status is TurnStatus.COMPLETE and text not in t.content]
        transcript = _render_transcript(turns)
        if not transcript:
            continue
        yield conv.id, {"messages": [
            {"role": "system", "content": SYSTEM_COMPRESS},
            {"role": "user", "content": f"Conversation '{conv.title}' (project {conv.project}):\n\n{transcript}"},
            {"role": "assistant", "content": text},
        ]}


def _abandoned(store: Store, project: str | None) -> tuple[set[str], set[str]]:
    """(ids of abandoned threads, turn ids they cite)."""
    ids: set[str] = set()
    sources: set[str] = set()
    for doc in store.knowledge.abandoned_thread_docs(project):
        ids.add(f"{doc.get('project')}/{doc.get('id')}")
        sources.update(str(s) for s in doc.get("sources") or [])
    return ids, sources


def decision_examples(store: Store, project: str | None, summary: DatasetSummary, abandoned: set[str]) -> Iterator[tuple[str, dict]]:
    for doc in store.knowledge.decision_docs(project, active_only=False):
        tier = float(doc.get("tier", 0.0) or 0.0)
        if tier < MIN_TIER:
            summary.excluded["speculative decisions (tier < 0.3)"] += 1
            continue
        if doc.get("status") == "rejected":
            summary.excluded["rejected decisions"] += 1
            continue
        if doc.get("status") == "dismissed":
            summary.excluded["decisions dismissed by hand"] += 1
            continue
        thread = doc.get("thread") or doc.get("thread_id")
        if thread and f"{doc.get('project')}/{thread}" in abandoned:
            summary.excluded["decisions of abandoned threads"] += 1
            continue
        rationale = (doc.get("rationale") or "").strip()
        if not rationale:
            summary.excluded["decisions without rationale"] += 1
            continue
        answer = f"Decision {doc.get('id')}: {doc['text']}\nRationale: {rationale}\nTier: {tier:.1f}"
        if doc.get("priority"):
            answer += f" · priority: {doc['priority']}"
        if doc.get("status") == "superseded" and doc.get("superseded_by"):
            answer += f"\nStatus: superseded by {doc['superseded_by']}"
        yield registry_group(doc), {"messages": [
            {"role": "system", "content": SYSTEM_KNOWLEDGE.format(project=doc.get("project"))},
            {"role": "user", "content": f"Record this decision with its rationale: {doc['text']}"},
            {"role": "assistant", "content": answer},
        ]}


def thread_examples(store: Store, project: str | None, summary: DatasetSummary) -> Iterator[tuple[str, dict]]:
    for doc in store.knowledge.thread_docs(project):
        status = str(doc.get("status", "")).upper()
        if doc.get("dismissed"):
            summary.excluded["threads dismissed by hand"] += 1
            continue
        if status == "ABANDONED":
            summary.excluded["abandoned threads"] += 1
            continue
        resolution = (doc.get("resolution") or "").strip()
        if status != "RESOLVED" or not resolution:
            continue  # open questions teach nothing yet
        yield registry_group(doc), {"messages": [
            {"role": "system", "content": SYSTEM_KNOWLEDGE.format(project=doc.get("project"))},
            {"role": "user", "content": f"How was this open question resolved? {doc.get('title')}"},
            {"role": "assistant", "content": f"Thread {doc.get('id')} is resolved: {resolution}"},
        ]}


def code_pattern_examples(store: Store, project: str | None, summary: DatasetSummary, cited: set[str]) -> Iterator[tuple[str, dict]]:
    for doc in store.labelled_message_docs("code_pattern", project):
        turn = turn_from_doc(doc)
        if turn.id in cited:
            summary.excluded["code patterns of abandoned threads"] += 1
            continue
        if turn.status is not TurnStatus.COMPLETE or not turn.content.strip():
            continue
        if turn.role is Role.ASSISTANT:  # the message it answers: its parent, when it names one (a version)
            parent = turn.parent_id if turn.parent_id not in (None, turn.conversation_id) else None
            other = (store.message_doc(parent) if parent is not None
                     else store.message_doc_at(turn.conversation_id, turn.seq - 1))
            pair = [other, doc]
        else:
            other = store.message_doc_at(turn.conversation_id, turn.seq + 1)
            pair = [doc, other]
        if other is None or pair[0].get("role") != "user" or pair[1].get("role") != "assistant":
            summary.excluded["code patterns without a question/answer pair"] += 1
            continue
        yield turn.conversation_id, {"messages": [
            {"role": "system", "content": SYSTEM_KNOWLEDGE.format(project=doc.get("project"))},
            {"role": "user", "content": pair[0]["content"]},
            {"role": "assistant", "content": pair[1]["content"]},
        ]}


class LoraRecord(NamedTuple):
    kind: str
    group: str  # the conversation it comes from (or the registry entry): held-out splits never cut a group
    example: dict


def registry_group(doc: dict) -> str:
    """A registry entry's conversation (or, lacking one, its first source turn, else its own id)."""
    sources = doc.get("sources") or []
    return str(doc.get("conversation_id") or (sources[0] if sources else None) or f"{doc.get('project')}/{doc.get('id')}")


def iter_lora_records(store: Store, project: str | None = None, summary: DatasetSummary | None = None) -> Iterator[LoraRecord]:
    """Every example with its kind and group, in a stable order."""
    summary = summary if summary is not None else DatasetSummary()
    abandoned, cited = _abandoned(store, project)
    yield from (LoraRecord("compression", g, e) for g, e in compression_examples(store, project, summary))
    yield from (LoraRecord("decision", g, e) for g, e in decision_examples(store, project, summary, abandoned))
    yield from (LoraRecord("thread", g, e) for g, e in thread_examples(store, project, summary))
    yield from (LoraRecord("code_pattern", g, e) for g, e in code_pattern_examples(store, project, summary, cited))


def iter_lora_examples(store: Store, project: str | None = None, summary: DatasetSummary | None = None) -> Iterator[tuple[str, dict]]:
    """(kind, example) pairs in a stable order."""
    for record in iter_lora_records(store, project, summary):
        yield record.kind, record.example


def build_lora_dataset(
    store: Store, out_path: str | Path, *, project: str | None = None, tokenizer: Tokenizer | None = None
) -> DatasetSummary:
    """Write the JSONL file (atomically: a temp file renamed at the end) and return counts and tokens."""
    count = tokenizer or approx_tokens
    summary = DatasetSummary(path=Path(out_path).expanduser())
    summary.path.parent.mkdir(parents=True, exist_ok=True)
    tmp = summary.path.with_name(summary.path.name + ".part")
    with open_private(tmp, "w", encoding="utf-8") as fh:
        for kind, example in iter_lora_examples(store, project, summary):
            fh.write(json.dumps(example, ensure_ascii=False) + "\n")
            summary.counts[kind] += 1
            summary.tokens += sum(count(m["content"]) for m in example["messages"])
    tmp.replace(summary.path)
    return summary
