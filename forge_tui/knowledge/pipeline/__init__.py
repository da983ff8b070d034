"""The one extraction pipeline below the registry and the archives.

Layers, each usable alone:

* ``text``       — the sentence splitter and the tokeniser (``split_sentences``, ``tokens``, ``words``)
* ``artifacts``  — files, URLs, commands, code and identifiers, by rule
* ``cues``       — the cue word groups and the feature vector of a sentence in context
* ``model``      — the learned classifier's weights (``sentence_model.npz``, shipped in the package)
* ``classify``   — ``SentenceClassifier.label(turns)``: every sentence labelled
  decision / question / resolution / constraint / request / other
* ``link``       — values, titles, and what a new item does to old ones (restates, revises, repeats a question)
* ``resolve``    — which earlier question a resolution or a decision settles (a learned pair scorer,
  ``resolution_model.json``, trained by ``python -m forge_tui.knowledge.pipeline.train_resolve``)
* ``state``      — ``Tracker`` / ``extract_state``: the conversation's current decisions, questions,
  constraints, requests and artifacts
* ``candidates`` — the archive's numbered view of that state (``extract``)

Typical use::

    from forge_tui.knowledge.pipeline import extract_state, default_classifier
    state = extract_state(turns, default_classifier(embedder))   # embedder optional
    state.current_decisions(); state.open_questions()

Turns are dicts or objects with ``role``, ``content`` and ``id``.
"""

from __future__ import annotations

import threading
from typing import Any, Iterable

from forge_tui.knowledge.pipeline.candidates import Candidate, Extraction, to_extraction
from forge_tui.knowledge.pipeline.classify import Labelled, SentenceClassifier, TurnText, as_turns
from forge_tui.knowledge.pipeline.model import LABELS, SentenceModel
from forge_tui.knowledge.pipeline.state import (
    ConstraintItem,
    ConversationState,
    DecisionItem,
    QuestionItem,
    RequestItem,
    Tracker,
    extract_state,
)
from forge_tui.knowledge.pipeline.text import Sentence, sentences, split_sentences, tokens, words

_model_lock = threading.Lock()
_model: SentenceModel | None = None


def shipped_model() -> SentenceModel:
    """The packaged weights, read once per process (on first use, not at import)."""
    global _model
    with _model_lock:
        if _model is None:
            _model = SentenceModel.load()
        return _model


def default_classifier(embedder: Any = None) -> SentenceClassifier:
    """A classifier on the shipped weights; with ``embedder`` it uses embeddings once that is ready."""
    return SentenceClassifier(shipped_model(), embedder)


def extract(turns: Iterable[Any], embedder: Any = None) -> Extraction:
    """The archive's numbered candidates for ``turns`` (see ``candidates.to_extraction``)."""
    return to_extraction(extract_state(list(turns), default_classifier(embedder)))


__all__ = [
    "LABELS", "Candidate", "ConstraintItem", "ConversationState", "DecisionItem", "Extraction", "Labelled",
    "QuestionItem", "RequestItem", "Sentence", "SentenceClassifier", "SentenceModel", "Tracker", "TurnText",
    "as_turns", "default_classifier", "extract", "extract_state", "sentences", "shipped_model", "split_sentences",
    "to_extraction", "tokens", "words",
]  # fmt: skip
