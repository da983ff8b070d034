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

The **question** is embedded from the speakers' point of view: a speaker it names becomes "I" ("my"
for "Caroline's"): "When did I go to the support group?" meets "Caroline: I went to…" on what was
done, where "When did Caroline go…" meets every turn that says "Caroline" (who spoke is left to the
keyword half, which keeps the name, and to the context boost). MiniLM alone on LoCoMo's tuning
split: recall@5/@10 0.40/0.50 -> 0.52/0.65.

The embedded passage has no neighbours (a turn's vector must not change when the
next turn arrives). ``fingerprint`` identifies what was embedded: vectors whose
fingerprint differs (written before passages existed, or before an edit) still
serve search, and the embedding pipeline replaces them in the background
(``forge embeddings reembed`` does it at once).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from forge_tui.search.keyword_index import terms
from forge_tui.store.vectors import content_hash

#: Roles, not names: never read as a speaker a query names.
ROLE_NAMES = frozenset({"user", "assistant", "system"})
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


def names(lowered_query: str, speaker_name: str) -> bool:
    """Whether the query names ``speaker_name`` as a word ("Caroline's" counts, "Carolina" does not)."""
    name = speaker_name.lower().strip()
    if not name or name in ROLE_NAMES or name not in lowered_query:
        return False
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", lowered_query) is not None


def query_passage(query: str, speakers: Iterable[str]) -> str:
    """The text embedded for a query: each of ``speakers`` it names becomes "I" (possessive: "my")."""
    lowered = query.lower()
    text = query
    for name in sorted({s for s in speakers if names(lowered, s)}, key=len, reverse=True):
        word = re.escape(name.strip())
        text = re.sub(rf"(?<!\w){word}['’]s(?!\w)", "my", text, flags=re.IGNORECASE)
        text = re.sub(rf"(?<!\w){word}(?!\w)", "I", text, flags=re.IGNORECASE)
    # a query that was only a name ("Caroline") keeps it: "I" alone says nothing
    return (text if terms(text) else query)[:EMBED_CHARS]
