"""Turn windows and dates a query names: the ordering the context boost starts from (no models, no DB)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from forge_tui.search.fusion import Ranking, fuse, fused_score
from forge_tui.search.query_dates import DateSpan, dates_in, in_spans
from forge_tui.search.windows import DATE_BOOST, NEIGHBOUR_WEIGHT, ordering_scores, with_neighbours


def spans(query):
    return [(s.start, s.end) for s in dates_in(query)]


def test_dates_in_reads_days_months_and_years():
    day = datetime(2022, 11, 9)
    assert spans("What dish did Nate make on 9 November, 2022?") == [(day, day + timedelta(days=1))]
    assert spans("what did we ship on November 9th, 2022") == [(day, day + timedelta(days=1))]
    assert spans("the 9th of November 2022 release") == [(day, day + timedelta(days=1))]
    assert spans("What did Maria donate in December 2023?") == [(datetime(2023, 12, 1), datetime(2024, 1, 1))]
    assert spans("plans for February, 2024") == [(datetime(2024, 2, 1), datetime(2024, 3, 1))]
    assert spans("How many times did she go to the beach in 2023?") == [(datetime(2023, 1, 1), datetime(2024, 1, 1))]
    # a day is not read again as its month or year; two dates give two spans
    assert len(spans("between 1 May 2023 and June 2023")) == 2


@pytest.mark.parametrize("query", [
    "", "what did we decide last week?", "port 8080 and version 3.2024.1", "may I ask about March?",
    "the build 2023-05-01", "31 February, 2023 is not a day", "in the year 1850",
])
def test_dates_in_ignores_what_is_not_a_named_date(query):
    assert dates_in(query) == ()


def test_in_spans_counts_the_week_after_and_any_time_zone():
    span = (DateSpan(datetime(2023, 5, 8), datetime(2023, 5, 9)),)
    assert in_spans(datetime(2023, 5, 8, 18, 30), span)
    assert in_spans(datetime(2023, 5, 14), span)  # "last Monday I…", told a few days later
    assert not in_spans(datetime(2023, 5, 17), span)
    assert not in_spans(datetime(2023, 5, 7, 23), span)
    assert in_spans(datetime(2023, 5, 8, 1, tzinfo=timezone(timedelta(hours=-5))), span)  # 06:00 UTC
    assert not in_spans(None, span)
    assert not in_spans(datetime(2023, 5, 8), ())


# a conversation c1..c6 (c3 the best match) and an unrelated turn x
PREVIOUS = {"c2": "c1", "c3": "c2", "c4": "c3", "c5": "c4", "c6": "c5"}
NEXT = {v: k for k, v in PREVIOUS.items()}
EVERY = {"c1": 0.1, "c2": 0.5, "c3": 2.0, "c4": -0.2, "c5": 0.3, "c6": 0.0, "x": 0.9}


def test_with_neighbours_adds_turns_up_to_two_places_around_the_best():
    fused = {"c3": 2.0, "x": 0.9}
    out = with_neighbours(fused, EVERY.__getitem__, PREVIOUS, NEXT, expand_top=1)
    assert out == {"c3": 2.0, "x": 0.9, "c1": 0.1, "c2": 0.5, "c4": -0.2, "c5": 0.3}
    assert with_neighbours(fused, EVERY.__getitem__, PREVIOUS, NEXT, expand_top=0) == fused


def test_ordering_scores_lift_a_turn_beside_a_strong_match():
    fused = {"c4": -0.2, "x": 0.0, "c3": 2.0}
    order = ordering_scores("what genre is it", fused, EVERY.__getitem__, PREVIOUS, NEXT, {})
    assert order["c4"] == pytest.approx(-0.2 + NEIGHBOUR_WEIGHT * 2.0)  # the better neighbour counts
    assert order["c3"] == pytest.approx(2.0 + NEIGHBOUR_WEIGHT * 0.5)
    assert order["x"] == 0.0  # no neighbours: its own score
    assert order["c4"] > order["x"]


def test_ordering_scores_lift_turns_written_on_a_date_the_query_names():
    fused = {"a": 1.0, "b": 0.5}
    created = {"a": datetime(2022, 3, 1), "b": datetime(2022, 11, 10, 9)}
    order = ordering_scores("What did Nate cook on 9 November, 2022?", fused, lambda d: 0.0, {}, {}, created)
    assert order == {"a": 1.0, "b": pytest.approx(0.5 + DATE_BOOST)}
    assert ordering_scores("What did Nate cook?", fused, lambda d: 0.0, {}, {}, created) == fused


def test_fused_score_scores_any_document_as_fuse_scores_its_candidates():
    semantic = Ranking.from_list("semantic", [("a", 0.9), ("b", 0.1), ("c", 0.5)])
    keyword = Ranking.from_list("keyword", [("b", 3.0), ("c", 1.0), ("d", 0.0)])
    fused = fuse([semantic, keyword], 0.6)
    score = fused_score([semantic, keyword], 0.6)
    assert set(fused) == {"a", "b", "c"}  # "d" matched no keyword
    assert all(fused[d] == pytest.approx(score(d)) for d in fused)
    assert score("d") == pytest.approx(0.4 * keyword.z("d"))  # not a semantic candidate: average there
    assert fused_score([semantic], 0.6)("a") == pytest.approx(semantic.z("a"))


def test_query_passage_asks_as_the_speakers_it_names():
    from forge_tui.search.passages import names, query_passage

    speakers = {"Caroline", "Mel", "user"}
    assert query_passage("When did Caroline go to the support group?", speakers) == "When did I go to the support group?"
    assert query_passage("What is caroline's relationship status?", speakers) == "What is my relationship status?"
    assert query_passage("Did Mel and Caroline both paint?", speakers) == "Did I and I both paint?"
    # a longer name is not half-replaced, a name inside another word is not a name, roles are not names
    assert query_passage("What did Melanie say?", speakers) == "What did Melanie say?"
    assert query_passage("what did the user ask for", speakers) == "what did the user ask for"
    assert query_passage("Caroline", speakers) == "Caroline"  # "I" alone would say nothing
    assert query_passage("x" * 5000, speakers) == "x" * 2000
    assert names("did caroline's talk help", "Caroline") and not names("carolina", "Caroline")
    assert not names("the assistant said", "assistant")
