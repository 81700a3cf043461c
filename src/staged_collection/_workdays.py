"""Working-day arithmetic for deadlines, with the provisional mark the law asks for.

Each answer comes with ``provisional``: true when a day it counted lies past
the last year the calendar is known (DOMAIN section 7: never silently guessed),
or outside the years any calendar covers, where only Saturdays and Sundays are
taken as rest days. Without a calendar the same weekday-only count applies,
provisional too.
"""

from __future__ import annotations

import datetime as dt

from staged_collection.calendars import FIRST_YEAR, LAST_YEAR, Calendar

_DAY = dt.timedelta(days=1)


def _covered(calendar: Calendar | None, *days: dt.date) -> bool:
    return calendar is not None and all(FIRST_YEAR <= d.year <= LAST_YEAR for d in days)


def _weekday_after(day: dt.date, n: int) -> dt.date:
    while n > 0:
        day += _DAY
        if day.weekday() < 5:
            n -= 1
    return day


def add_working_days(calendar: Calendar | None, day: dt.date, n: int) -> tuple[dt.date, bool]:
    """The ``n``-th working day after ``day`` (``n >= 0``), and whether it is provisional."""
    try:
        # A generous bound: no calendar has a run of rest days longer than a month.
        if _covered(calendar, day, day + dt.timedelta(days=2 * n + 31)):
            assert calendar is not None
            found = calendar.add_working_days(day, n)
            return found, calendar.provisional(found)
        return _weekday_after(day, n), True
    except OverflowError:
        return dt.date.max, True


def working_day_on_or_after(calendar: Calendar | None, day: dt.date) -> tuple[dt.date, bool]:
    """``day`` if it is a working day, else the next one, and whether that is provisional."""
    try:
        if _covered(calendar, day, day + dt.timedelta(days=31)):
            assert calendar is not None
            found = calendar.working_day_on_or_after(day)
            return found, calendar.provisional(found)
        return (day if day.weekday() < 5 else _weekday_after(day, 1)), True
    except OverflowError:
        return day, True
