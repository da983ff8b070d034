"""Turn windows: a turn is scored with the turns around it, and with the dates the query names.

A turn alone is often a poor unit of evidence: "It's a mix of drama and romance!" answers "What genre
is Joanna's screenplay?" only beside the turns before it. The fused score (``fusion``) sees each turn
alone, so before the context boost (``rerank.CONTEXT_BOOST``) the fused candidates are looked at
again:

* the turns one and two places before and after the ``EXPAND_TOP`` best candidates join the
  candidates (two places: the same speaker's next or previous turn), with their own fused score;
* every candidate gains ``NEIGHBOUR_WEIGHT`` times the better fused score of the turns just before
  and after it in its conversation (a window of three turns, scored at query time, so a turn's
  stored vector never depends on what came after it);
* when the query names a day, month or year (``query_dates``), a turn written then (or in the week
  after) gains ``DATE_BOOST``.

The three numbers were chosen on LoCoMo samples 0-4 only (bench/locomo_retrieval.py; numpy grids over
cached vectors): neighbour weight 0.1/0.2/0.3 (max of the two neighbours beat their mean), expansion
of the best 0/5/10/20/50, date boost 0.5-4 and a window of 0/7/14/30 days after the date. The hit's
own ``score`` stays its fused score: these only decide the order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from forge_tui.search.query_dates import dates_in, in_spans

NEIGHBOUR_WEIGHT = 0.2
EXPAND_TOP = 10
DATE_BOOST = 2.0


def with_neighbours(
    fused: dict[str, float], score_of: Callable[[str], float], previous_of: Mapping[str, str],
    next_of: Mapping[str, str], expand_top: int = EXPAND_TOP,
) -> dict[str, float]:
    """``fused`` plus the turns up to two places around its ``expand_top`` best, each with its fused score."""
    out = dict(fused)
    for doc_id in sorted(fused, key=lambda d: (-fused[d], d))[:max(0, expand_top)]:
        before, after = previous_of.get(doc_id), next_of.get(doc_id)
        around = (before, after, previous_of.get(before) if before else None, next_of.get(after) if after else None)
        for other in around:
            if other and other not in out:
                out[other] = score_of(other)
    return out


def ordering_scores(
    query: str, fused: dict[str, float], score_of: Callable[[str], float], previous_of: Mapping[str, str],
    next_of: Mapping[str, str], created_at: Mapping[str, datetime | None],
    weight: float = NEIGHBOUR_WEIGHT, date_boost: float = DATE_BOOST,
) -> dict[str, float]:
    """What the candidates are ordered by: fused score + ``weight`` x the better neighbour's + dates named."""
    spans = dates_in(query)

    def score(doc_id: str | None) -> float | None:
        if not doc_id:
            return None
        return fused[doc_id] if doc_id in fused else score_of(doc_id)

    out = {}
    for doc_id, own in fused.items():
        around = [s for s in (score(previous_of.get(doc_id)), score(next_of.get(doc_id))) if s is not None]
        value = own + weight * max(around, default=0.0)
        if spans and in_spans(created_at.get(doc_id), spans):
            value += date_boost
        out[doc_id] = value
    return out
