"""Retrieval questions made from Forge's own labelled memory corpus, for training the reranker.

``tests/fixtures/memory_corpus`` (written for Forge, ours to ship) holds 60 working conversations with
every decision, revision, constraint, artifact, open question and resolution labelled. All of them are
indexed as one project's history (as a user's months of work would be), and each labelled item becomes
a question whose evidence is the turn(s) that carry it:

- a decision (all turns labelled with its id, restatements included): "what did we decide on ...",
- a constraint: "what limit or requirement do we have for ...",
- an artifact (every turn labelled with it): "which file/command/... did we use for ..." over a
  couple of the conversation title's words and a couple of the artifact's own,
- an open question (its turns and the resolution's): "did we settle ...".

The question is a template over a few content words of the label's ``value`` (or ``title``, else
``text``) with words dropped, so that it never repeats the evidence sentence. Which words are dropped is fixed by
a hash of the label, so the set is the same on every run. The split is the corpus' own, by
conversation (``split_of``): train and dev for training and choices, test only reported.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from forge_tui.knowledge.pipeline.corpus import Conversation, load
from forge_tui.search.keyword_index import STOPWORDS

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "memory_corpus"
PROJECT = "corpus"
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.+-]*[A-Za-z0-9]|\d+[A-Za-z%]*")
_TEMPLATES = {
    "decision": ("what did we decide on {}", "which option did we go with for {}", "remind me what we picked: {}"),
    "constraint": ("what limit do we have on {}", "what was the requirement about {}", "any hard rule for {}"),
    "artifact": ("which {kind} did we use for {}", "where is the {kind} for {}", "what was the {kind} in {}"),
    "question": ("did we ever settle {}", "what happened with the open question on {}", "is {} still open"),
}


def _hash(text: str) -> int:
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest(), 16)


def _words(text: str, seed: int, keep: int = 5) -> str:
    """A few content words of ``text``: stopwords out, about a third of the rest dropped, at most ``keep``."""
    words = [w for w in _WORD.findall(text) if w.lower() not in STOPWORDS]
    kept = [w for i, w in enumerate(words) if len(words) <= 2 or (seed >> i) % 3 != 0]
    return " ".join((kept or words)[:keep]).lower()


def _question(kind: str, topic: str, seed: int, artifact_kind: str = "file") -> str | None:
    if not topic:
        return None
    template = _TEMPLATES[kind][seed % len(_TEMPLATES[kind])]
    return template.format(topic, kind=artifact_kind)


def questions_of(conv: Conversation) -> list[dict]:
    """The retrieval questions of one conversation, each with its evidence turn ids."""
    def turn_id(turn: int) -> str:
        return f"{conv.id}:{turn}"

    by_id: dict[str, set[int]] = {}
    for lab in conv.labels:
        if lab.get("id"):
            by_id.setdefault(lab["id"], set()).add(lab["turn"])
        if lab["label"] == "resolution" and lab.get("resolves"):
            by_id.setdefault(lab["resolves"], set()).add(lab["turn"])
    out, seen = [], set()
    for lab in conv.labels:
        kind = "decision" if lab["label"] == "revision" else lab["label"]
        if kind not in _TEMPLATES:
            continue
        key = lab.get("id") or f"{kind}:{lab['text']}"
        if key in seen:
            continue
        seen.add(key)
        seed = _hash(f"{conv.id}/{key}")
        if kind == "artifact":
            turns = {x["turn"] for x in conv.labels if x["label"] == "artifact" and x["text"] == lab["text"]}
            topic = f"{_words(conv.title, seed, 2)} {_words(lab['text'].replace('/', ' '), seed >> 8, 2)}".strip()
            text = _question(kind, topic, seed, str(lab.get("kind") or "file"))
        else:
            turns = by_id.get(lab.get("id") or "", {lab["turn"]})
            source = lab.get("value") or lab.get("title") or lab["text"]
            text = _question(kind, _words(source, seed), seed)
        if text:
            out.append({"group": conv.id, "split": conv.split, "project": PROJECT, "question": text,
                        "evidence": {turn_id(t) for t in turns}})
    return out


def load_corpus(folder: Path = CORPUS) -> tuple[list[dict], list[dict]]:
    """Turns of every conversation (as message documents of one project) and the questions."""
    docs, questions = [], []
    for conv in load(folder):
        for seq, turn in enumerate(conv.turns):
            docs.append({"_id": f"{conv.id}:{seq}", "project": PROJECT, "conversation_id": conv.id, "seq": seq,
                         "role": turn["role"], "content": turn["content"], "source": {}})
        questions.extend(questions_of(conv))
    return docs, questions
