"""Working-day arithmetic: a bisection per year crossed against a day-by-day walk.

Run: python bench/bench_calendars.py

Limitation, notice service and duties count working days on every check, so
the calendar answers from years computed once: ``is_working_day`` is a set
lookup, ``add_working_days`` a bisection in each year it crosses. The walk is
what a naive count costs (one ``is_working_day`` per calendar day). The aim:
``add_working_days`` over a few hundred days well under the walk, and not
growing with ``n``.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import interleaved, table

from staged_collection.calendars import Calendar, compile_calendar, preset_calendar

START = dt.date(2026, 1, 15)


def walk(cal: Calendar, day: dt.date, n: int) -> dt.date:
    while n:
        day += dt.timedelta(days=1)
        n -= cal.is_working_day(day)
    return day


def main() -> None:
    cal = compile_calendar(preset_calendar("cn"))
    end = dt.date(2027, 6, 30)
    candidates = {
        "is_working_day": (lambda: cal.is_working_day(START), 20_000),
        "compile_calendar (cached)": (lambda: compile_calendar(preset_calendar("cn")), 2_000),
        "working_days_between, 18 months": (lambda: cal.working_days_between(START, end), 5_000),
    }
    for n in (2, 5, 300):
        candidates[f"add_working_days(d, {n})"] = (
            lambda n=n: cal.add_working_days(START, n),
            5_000,
        )
        candidates[f"walk {n} working days"] = (lambda n=n: walk(cal, START, n), 200)
    timed = interleaved(candidates)
    base = timed["is_working_day"]
    rows = [(name, seconds * 1e6, seconds / base) for name, seconds in timed.items()]
    print("cn calendar, ratio against one is_working_day:\n")
    print(table(rows, ("operation", "per call", "vs lookup")))


if __name__ == "__main__":
    main()
