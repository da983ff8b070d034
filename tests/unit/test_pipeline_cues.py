"""The cue groups name phrasings; these pin the reach of two of them (strong commitment, choice question) both ways."""

from __future__ import annotations

import pytest

from forge_tui.knowledge.pipeline.cues import CUES


@pytest.mark.parametrize("sentence", [
    "We have therefore chosen Ashby.", "We shall use mike, with the aliases as you describe.",
    "We are changing the governing law: New York rather than Delaware.", "ok changing: take-home is paid, 150 EUR flat",
    "I'm thinking I scrap the live sessions completely", "Teachable then, Maven made sense only with live stuff",
    "isc then, i want the hostnames.", "i've finally settled on the 2-column layout",
])
def test_a_stated_choice_is_a_strong_commitment(sentence):
    assert CUES["commit_strong"].search(sentence)


@pytest.mark.parametrize("sentence", [
    "what then?", "and then we saw the error again", "I shall consult the HR generalists.", "first then we deploy",
])
def test_plans_and_sequence_words_are_not(sentence):
    assert not CUES["commit_strong"].search(sentence)


@pytest.mark.parametrize("sentence", [
    "But other thing: should we also use clustering key on fct_orders?",
    "do we need a sync status screen for inspectors, or just an icon?",
    "Where I should write them, in my home or in /scratch?", "Redis or Memcached?",
])
def test_a_choice_put_to_the_conversation_is_a_choice_question(sentence):
    assert CUES["choice_question"].search(sentence)


@pytest.mark.parametrize("sentence", ["how do I list files?", "Can you write the script?", "what is the difference?"])
def test_asking_how_or_asking_for_work_is_not(sentence):
    assert not CUES["choice_question"].search(sentence)
