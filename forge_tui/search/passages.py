"""What search indexes for a message: its *passage*, not just its bare text.

Measured on LoCoMo (bench/locomo_retrieval.py, tuned on samples 0-4), a turn on
its own is a poor search unit: "I went yesterday, it was so powerful" says
nothing about who went where. Two additions paid off:

* the **speaker** before the text (the transcript's ``name`` when the source has
  one, else the role): questions name people ("What did Caroline research?"),
  and the embedding of "Caroline: I researched adoption agencies" answers them
  (MiniLM recall@5 0.22 -> 0.40);
* for the keyword index, the **previous turn** as well, its words counting half
  as much as the message's own: a reply's words often live in the question it
  answers (BM25 recall@5 0.52 -> 0.60), yet the turn that says a thing should
  still rank above the one after it.

The embedded passage has no neighbours (a turn's vector must not change when the
next turn arrives). ``fingerprint`` identifies what was embedded: vectors whose
fingerprint differs (written before passages existed, or before an edit) still
serve search, and the embedding pipeline replaces them in the background
(``forge embeddings reembed`` does it at once).
"""

from __future__ import annotations

from typing import Any

from forge_tui.store.vectors import content_hash

#: Bumped whenever ``passage`` changes, so stored vectors are re-embedded.
PASSAGE_FORMAT = "speaker/1"
#: Characters of a passage that are embedded (MiniLM reads ~256 tokens ≈ 1,000 chars anyway).
EMBED_CHARS = 2000
#: Characters of the previous turn added to a message's keyword text.
PREVIOUS_CHARS = 600


def speaker(doc: dict[str, Any]) -> str:
    """Who said it: the source's speaker name when there is one, else the role."""
    source = doc.get("source")
    name = source.get("name") if isinstance(source, dict) else None
    if isinstance(name, str) and name.strip():
        return " ".join(name.split())[:60]
    return str(doc.get("role") or "user")


def passage(doc: dict[str, Any]) -> str:
    """The text embedded for a message: ``speaker: content``."""
    return f"{speaker(doc)}: {doc.get('content') or ''}"[:EMBED_CHARS]


def fingerprint(doc: dict[str, Any]) -> str:
    """Identifies the embedded passage (format and text): a stored vector is current when it matches."""
    return content_hash(f"{PASSAGE_FORMAT}\n{passage(doc)}")


def keyword_context(previous: dict[str, Any] | None) -> str:
    """What the keyword index holds beside a message's passage: the previous turn's opening."""
    if previous is None or not isinstance(previous.get("content"), str):
        return ""
    return f"{speaker(previous)}: {previous['content'][:PREVIOUS_CHARS]}"
