"""Dates a query names, as time spans its turns can fall in.

"What dish did Nate make on 9 November, 2022?", "what did we decide in March 2024?": a question that
names a day, a month or a year is asking about what was said then, which neither search half can see
(the words "9 november 2022" rarely occur in the turn itself). ``dates_in`` finds such dates (day
month year, month day year, month year, a bare year 1900-2099) and ``in_spans`` says whether a turn's
``created_at`` falls in one of them or in the week after (a turn often tells what happened "last
Friday"). Relative dates ("yesterday", "last week") are not read: they need a reference day the query
does not carry. Measured on LoCoMo (bench/locomo_retrieval.py, chosen on samples 0-4): 13 % of the
questions name a date; the week after beat the day alone, two weeks and a month.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")
_MONTH = "|".join(_MONTHS)
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?({_MONTH}),? ((?:19|20)\d\d)\b", re.IGNORECASE)
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH}) (\d{{1,2}})(?:st|nd|rd|th)?,? ((?:19|20)\d\d)\b", re.IGNORECASE)
_MONTH_YEAR = re.compile(rf"\b({_MONTH}),? (?:of )?((?:19|20)\d\d)\b", re.IGNORECASE)
_YEAR = re.compile(r"(?<![\w.:/-])((?:19|20)\d\d)(?![\w.:/-])")
#: A turn up to this long after a named date still counts as being about it.
AFTER = timedelta(days=7)


@dataclass(frozen=True)
class DateSpan:
    """``[start, end)`` in UTC, without a time zone (how the store's datetimes compare)."""

    start: datetime
    end: datetime


def dates_in(query: str) -> tuple[DateSpan, ...]:
    """The days, months and years ``query`` names, in the order found (impossible dates are skipped)."""
    spans: list[DateSpan] = []
    rest = query
    for pattern, day_group, month_group in ((_DAY_MONTH_YEAR, 1, 2), (_MONTH_DAY_YEAR, 2, 1)):
        for m in pattern.finditer(rest):
            day = _day(int(m.group(3)), _month(m.group(month_group)), int(m.group(day_group)))
            if day is not None:
                spans.append(DateSpan(day, day + timedelta(days=1)))
        rest = pattern.sub(" ", rest)
    for m in _MONTH_YEAR.finditer(rest):
        year, month = int(m.group(2)), _month(m.group(1))
        start = datetime(year, month, 1)
        spans.append(DateSpan(start, start + timedelta(days=calendar.monthrange(year, month)[1])))
    rest = _MONTH_YEAR.sub(" ", rest)
    for m in _YEAR.finditer(rest):
        year = int(m.group(1))
        spans.append(DateSpan(datetime(year, 1, 1), datetime(year + 1, 1, 1)))
    return tuple(spans)


def in_spans(when: datetime | None, spans: tuple[DateSpan, ...], after: timedelta = AFTER) -> bool:
    """Whether ``when`` (a turn's ``created_at``) falls in one of ``spans`` or up to ``after`` past its end."""
    if when is None or not spans:
        return False
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc).replace(tzinfo=None)
    return any(span.start <= when < span.end + after for span in spans)


def _month(name: str) -> int:
    return _MONTHS.index(name.lower()) + 1


def _day(year: int, month: int, day: int) -> datetime | None:
    try:
        return datetime(year, month, day)
    except ValueError:
        return None
