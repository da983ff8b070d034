"""Message topics (rules) and the pipeline's decision label on clear cases, plus floors on the labelled set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forge_tui.knowledge.pipeline.topics import LABELS, classify, code_blocks

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "classifier_set.jsonl"


@pytest.mark.parametrize(
    ("text", "role", "label"),
    [
        ("Let's go with PostgreSQL for the main database.", "user", "decision"),
        ("We decided to keep the API versioned under /v1.", "user", "decision"),  # an assistant alone only proposes
        ("From now on, every commit message starts with the issue number.", "user", "decision"),
        ("```python\ndef f(x):\n    return x\n```", "assistant", "code_pattern"),
        ("The fix is to pin numpy below 2.0.", "assistant", "solution"),
        ("That fixed it, thanks!", "user", "solution"),
        ("Traceback (most recent call last):\n  File \"a.py\", line 1\nKeyError: 'x'", "user", "error_recovery"),
        ("The deploy crashed halfway; I rolled back to the previous release.", "user", "error_recovery"),
        ("Batching the inserts cut the import time from 40 s to 6 s.", "assistant", "optimization"),
        ("Route billing questions to the finance agent.", "user", "routing"),
    ],
)
def test_clear_cases_get_their_label(text, role, label):
    assert label in classify(text, role)


@pytest.mark.parametrize(
    "text",
    ["Hi! How are you today?", "Should we use Redis for the session cache?", "Tell me a joke about compilers.", ""],
)
def test_small_talk_and_questions_get_no_decision(text):
    assert "decision" not in classify(text, "user")


def test_system_prompts_are_not_decisions():
    assert "decision" not in classify("You must always use British spelling. Let's use short answers.", "system")


def test_labels_follow_the_declared_order():
    labels = classify("We'll use a connection pool instead of a new connection per request; that cut latency by half.")
    assert labels == [lab for lab in LABELS if lab in labels]
    assert labels == ["decision", "optimization"]


def test_traceback_alone_is_not_a_code_pattern():
    text = 'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\n    import foo\nModuleNotFoundError: x'
    assert classify(text, "user") == ["error_recovery"]


def test_code_blocks_extracts_fenced_code():
    assert code_blocks("Use:\n```python\nx = 1\n```\nand\n```\ny = 2\n```") == ["x = 1\n", "y = 2\n"]
    assert code_blocks("no code here") == []


def test_labelled_set_is_large_enough_and_scores_hold():
    rows = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 60
    assert all(set(r["labels"]) <= set(LABELS) for r in rows)
    dev = [r for r in rows if r.get("split", "dev") == "dev"]
    got = [classify(r["text"], r["role"]) for r in dev]
    # topics are rules: pin today's behaviour on the tuning split
    topics = sum(sorted(set(g) - {"decision"}) == sorted(set(r["labels"]) - {"decision"}) for g, r in zip(got, dev))
    assert topics >= len(dev) - 2
    # "decision" is the learned sentence classifier's call (trained on the memory corpus, not on this set):
    # floors well below what it scores here, so retraining does not flip the test
    tp = sum("decision" in g and "decision" in r["labels"] for g, r in zip(got, dev))
    predicted = sum("decision" in g for g in got)
    wanted = sum("decision" in r["labels"] for r in dev)
    assert tp / wanted >= 0.6 and tp / predicted >= 0.35
