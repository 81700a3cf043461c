"""Limitation periods: when one ends, and which restarts count.

A period runs ``years`` from the later of the last instalment's due date and
the last restart that counted, and ends on the same calendar date ``years`` on
(29 February becomes 28 February: 民法典 art. 202, and the same in England and
Wales), moved to the next working day where the policy says so (民法典 art.
203). A restart counts only while the period runs: made after its last day, it
revives nothing (民法典 art. 192; Limitation Act 1980 s29(7)).

The fold keeps where the period runs from (``Restarted``), restart by restart,
in the order they happened; the guard asks when it ends.
"""

from __future__ import annotations

import calendar
import datetime as dt

from staged_collection._workdays import working_day_on_or_after
from staged_collection.calendars import Calendar
from staged_collection.case import Restarted
from staged_collection.policy import Limitation


def years_after(day: dt.date, years: int) -> dt.date:
    """The same calendar date ``years`` on (29 February becomes 28 February); the last
    representable date when that lies past it."""
    year = day.year + years
    if year > dt.MAXYEAR:
        return dt.date.max
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return day.replace(year=year)


def period_end(start: dt.date, rule: Limitation, calendar: Calendar | None) -> tuple[dt.date, bool]:
    """The last day of a period running from ``start``, and whether a calendar past the
    year it is known (or none at all) decided it."""
    end = years_after(start, rule.years)
    if not rule.ends_on_working_day or end == dt.date.max:
        return end, False
    return working_day_on_or_after(calendar, end)


def restart(
    run: Restarted,
    day: dt.date,
    reason: str,
    last_due: dt.date,
    rule: Limitation,
    calendar: Calendar | None,
) -> Restarted:
    """``run`` after a restart on local date ``day``: it counts if the period still runs."""
    start = run.day or last_due
    if day <= start:
        return run
    end, _ = period_end(start, rule, calendar)
    if day > end:
        return run  # the period has run: nothing revives it
    return Restarted(day, reason)
