"""The cue groups name phrasings; these pin the strong-commitment group's reach both ways."""

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
