"""The issue's phrasings, in wordings that are NOT in the memory corpus, through the one pipeline.

Two kinds of checks:

* the learned classifier (shipped weights, cue path: no embedder in unit tests)
  labels each phrasing in a realistic context (a user turn after an assistant
  answer that proposed something);
* the state rules (with a scripted labeller, as in test_pipeline_state.py):
  only the user opens decisions, "still open" re-mentions merge into the open
  question, a resolution that names nothing closes only a recent question.

Plus a floor on the corpus's DEV split for the shipped weights (fast: cue path).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from forge_tui.knowledge.pipeline import SentenceClassifier, extract_state, shipped_model
from forge_tui.knowledge.pipeline.corpus import load
from forge_tui.knowledge.pipeline.scoring import Scores, score
from test_pipeline_state import Scripted, conv  # the scripted labeller (tests/unit is on sys.path)

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "memory_corpus"

PROPOSAL = ("For the queue you could use RabbitMQ or NATS. I'd suggest NATS JetStream with a 7-day retention, "
            "and a dead-letter subject for poison messages.")


@pytest.fixture(scope="module")
def classifier():
    return SentenceClassifier(shipped_model(), None)


def label_of(classifier, text: str, prev: str = PROPOSAL, role: str = "user") -> str:
    turns = [{"id": "a", "role": "user", "content": "how should we queue the thumbnail jobs?"},
             {"id": "b", "role": "assistant", "content": prev},
             {"id": "c", "role": role, "content": text}]
    labelled = [x for x in classifier.label(turns, only=[2])]
    assert labelled, text
    return labelled[0].label


@pytest.mark.parametrize("text", [
    "final answer: NATS with seven days of retention.",
    "I've settled on NATS.",
    "NATS it is.",
    "ok NATS, lock it.",
    "sounds good, do that.",
    "ship it like that.",
    "ok do that, but with 3 days retention instead.",
    "scrap RabbitMQ, we move to NATS.",
    "renaming the subject to thumbs.dead then.",
    "bump the retention to 14 days.",
    "let's go with JetStream.",
    "we'll use the dead-letter subject as you said.",
])
def test_decision_phrasings_are_decisions(classifier, text):
    assert label_of(classifier, text) == "decision"


@pytest.mark.parametrize("text", [
    "List 50 programming languages with their release year.",
    "Can you write me a short essay on the history of message queues?",
    "Explain how JetStream stores messages on disk.",
])
def test_requests_are_not_decisions(classifier, text):
    assert label_of(classifier, text) == "request"


@pytest.mark.parametrize("text", [
    "Message queues decouple producers from consumers, which lets each side scale on its own.",
    "Historically, brokers such as RabbitMQ implemented AMQP, while Kafka popularised the log abstraction.",
    "We use the term at-least-once delivery when a message may arrive more than once.",
])
def test_essay_prose_is_not_a_decision(classifier, text):
    assert label_of(classifier, text, role="assistant") != "decision"


@pytest.mark.parametrize("text", [
    "not sure yet whether we shard the thumbnails by tenant.",
    "still undecided on the retry backoff.",
    "one thing I don't know yet: who owns the thumbnail bucket.",
])
def test_open_question_phrasings_are_questions(classifier, text):
    assert label_of(classifier, text) == "question"


@pytest.mark.parametrize("text", [
    "we need to keep p95 enqueue latency below 20 ms, always.",
    "under no circumstances do we drop a paid customer's job.",
    "never store the raw uploads longer than 24 hours.",
])
def test_constraint_phrasings_are_constraints(classifier, text):
    assert label_of(classifier, text) == "constraint"


# -- state rules (scripted labels) ----------------------------------------------------------------


def test_only_the_user_opens_a_decision_the_assistant_restates_it():
    turns = conv("ok, JetStream it is.", "Locked: JetStream with 7-day retention. We'll also use Grafana for this.")
    state = extract_state(turns, Scripted({"it is": "decision", "Locked": "decision", "Grafana": "decision"}))
    assert [d.text for d in state.decisions] == ["ok, JetStream it is."]
    assert state.decisions[0].sources == ["m0", "m1"]


def test_a_still_open_mention_merges_into_the_open_question():
    turns = conv("not sure yet whether we shard the thumbnails by tenant.", "Noted.",
                 "sharding still open, leave it open until the load test.", "Sure.", "leave it open until then.")
    state = extract_state(turns, Scripted({"not sure yet": "question", "leave it open": "question"}))
    assert len(state.questions) == 1 and state.questions[0].sources == ["m0", "m2", "m4"]


def test_a_bare_resolution_closes_only_a_recent_question():
    turns = conv("not sure yet whether we shard by tenant.", "ok.", "bump retention to 14 days.", "Done.",
                 "also the logo is blue now.", "Nice.", "done.")
    state = extract_state(turns, Scripted({"not sure yet": "question", "done.": "resolution"}))
    assert state.questions[0].status == "OPEN"  # "done." six turns later is not an answer to it
    turns = conv("not sure yet whether we shard by tenant.", "ok.", "we measured it; question answered.")
    state = extract_state(turns, Scripted({"not sure yet": "question", "question answered": "resolution"}))
    assert state.questions[0].status == "RESOLVED" and state.questions[0].resolved_by == "m2"


def test_a_revision_by_subject_supersedes_and_stale_value_is_not_current():
    turns = conv("let's start with RabbitMQ for the thumbnail queue.", "OK.", "actually switch the queue to NATS.")
    state = extract_state(turns, Scripted({"start with": "decision", "switch": "decision"}))
    assert [d.status for d in state.decisions] == ["superseded", "active"]
    assert all("rabbitmq" not in d.value.lower() for d in state.current_decisions())


# -- the shipped weights on the DEV split (floors below the bench figures, so they are stable) ------


def test_shipped_model_beats_a_floor_on_dev(classifier):
    convs = load(CORPUS, ("dev",))
    scores = Scores()
    for c in convs:
        score(c, extract_state(c.dict_turns(), classifier), scores)
    assert scores.decision_recall >= 0.7 and scores.decision_precision >= 0.55, (
        scores.decision_recall, scores.decision_precision)
    assert scores.question_status >= 0.7 and scores.stale_current <= 5
