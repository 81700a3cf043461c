"""Calendars: public holidays and working days, counted as the law counts them.

A policy names its calendar with ``CalendarRules``: ``cn`` (the statutory
holidays, the days off the State Council substitutes for them, and its
adjusted working days, 调休: a Saturday or Sunday that is a working day),
``us`` (the legal public holidays of 5 U.S.C. 6103(a) on their actual dates),
``uk`` (the bank holidays of England and Wales), ``uk-sct`` (Scotland) or
``uk-nir`` (Northern Ireland). The dates come from the ``holidays`` package; a
policy adds dates (``add``), takes them away (``remove``), makes weekend days
working days (``working``) and says the last year it knows (``known_through``).
Past that year the dates are the statutory ones the package computes, and
``Calendar.provisional`` says so: a deadline counted from them must be marked
provisional, never silently guessed.

A working day is a day that is not a Saturday, Sunday or public holiday,
except an adjusted working day, which is a working day; a rest day is a day
that is not a working day. ``compile_calendar`` turns rules into a
``Calendar`` (cached by content); each year is computed once, on first use,
into sets for membership and a sorted tuple of working-day numbers, so that
working-day arithmetic is a bisection per year crossed.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Annotated, Literal, NamedTuple, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from staged_collection.errors import InputError

__all__ = [
    "CALENDARS",
    "FIRST_YEAR",
    "LAST_YEAR",
    "Calendar",
    "CalendarDay",
    "CalendarName",
    "CalendarRules",
    "compile_calendar",
    "preset_calendar",
]

CalendarName = Literal["cn", "uk", "uk-nir", "uk-sct", "us"]
CALENDARS: tuple[CalendarName, ...] = ("cn", "uk", "uk-nir", "uk-sct", "us")

FIRST_YEAR = 1950
"""The first year a calendar covers (the ``cn`` data in the package starts here)."""
LAST_YEAR = 2099
"""The last year a calendar covers (the package's Chinese lunar tables end in 2100)."""

PRESET_KNOWN_THROUGH = 2026
"""The last year the shipped presets' calendars are known."""


class _Source(NamedTuple):
    country: str
    subdiv: str | None
    observed: bool
    language: str | None


_SOURCES: dict[CalendarName, _Source] = {
    # A statutory holiday on a Saturday or Sunday is made up on a working day
    # (全国年节及纪念日放假办法 art. 6), so the package's "observed" days are days off.
    "cn": _Source("CN", None, observed=True, language="en_US"),
    # Regulation F counts the 6103(a) dates themselves: the Friday or Monday a
    # federal employee observes instead is a business day.
    "us": _Source("US", None, observed=False, language=None),
    # A substitute day is the bank holiday itself (Banking and Financial
    # Dealings Act 1971 Sch. 1), and Christmas Day and Good Friday stay holidays.
    "uk": _Source("GB", "ENG", observed=True, language=None),
    "uk-sct": _Source("GB", "SCT", observed=True, language=None),
    "uk-nir": _Source("GB", "NIR", observed=True, language=None),
}

_PRESET_CITATIONS: dict[CalendarName, str] = {
    "cn": "全国年节及纪念日放假办法 (2024 revision) arts. 2, 6; "
    "国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04)",
    "us": "5 U.S.C. 6103(a), on the dates it names (12 CFR 1006.34(b)(5))",
    "uk": "Banking and Financial Dealings Act 1971 s1, Sch. 1 (England and Wales)",
    "uk-sct": "Banking and Financial Dealings Act 1971 s1, Sch. 1 (Scotland)",
    "uk-nir": "Banking and Financial Dealings Act 1971 s1, Sch. 1 (Northern Ireland)",
}

HolidayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class CalendarRules(BaseModel):
    """The calendar a policy counts working days by, and where the law says so.

    ``add`` names extra holidays by date; ``remove`` lists dates that are not
    holidays after all; ``working`` lists Saturdays and Sundays that are working
    days (adjusted working days beyond the package's). ``known_through`` is the
    last year whose dates are known (announced); later dates are provisional.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    citation: str = Field(min_length=1)
    name: CalendarName
    known_through: int = Field(ge=FIRST_YEAR, le=LAST_YEAR)
    add: dict[dt.date, HolidayName] = Field(default_factory=dict)
    remove: frozenset[dt.date] = frozenset()
    working: frozenset[dt.date] = frozenset()

    @model_validator(mode="after")
    def _dates_agree(self) -> Self:
        for field, dates in (("add", self.add), ("remove", self.remove), ("working", self.working)):
            for day in sorted(dates):
                if not FIRST_YEAR <= day.year <= LAST_YEAR:
                    raise ValueError(
                        f"{field}: {day} is outside the years a calendar covers "
                        f"({FIRST_YEAR}-{LAST_YEAR})"
                    )
        for day in sorted(self.working):
            if day.weekday() < 5:
                raise ValueError(
                    f"working: {day} is a {day:%A}; an adjusted working day is a Saturday or "
                    "Sunday (to make a holiday on a weekday a working day, remove it)"
                )
        for day in sorted(self.add.keys() & (self.remove | self.working)):
            other = "remove" if day in self.remove else "working"
            raise ValueError(f"add: {day} is also in {other}; a date is one or the other")
        if self.name == "cn":
            _check_cn_known(self)
        return self


def _check_cn_known(rules: CalendarRules) -> None:
    # The State Council announces each year's days off and adjusted working
    # days late in the year before: a year the package has no schedule for is
    # known only if the policy lists its dates itself.
    own_years = {d.year for d in (*rules.add, *rules.working)}
    for year in range(rules.known_through, FIRST_YEAR - 1, -1):
        if _package_year("cn", year).working:
            return
        if year not in own_years:
            raise ValueError(
                f"known_through: the holidays package has no State Council schedule for cn "
                f"{year}; list that year's days off in add and its adjusted working days in "
                f"working, or lower known_through to the last year you know"
            )


def preset_calendar(name: str) -> CalendarRules:
    """The calendar ``name`` as the shipped presets use it: the package's dates, known through 2026.

    ``ValueError`` for a name that is not a calendar.
    """
    for known in CALENDARS:
        if name == known:
            return CalendarRules(
                name=known, known_through=PRESET_KNOWN_THROUGH, citation=_PRESET_CITATIONS[known]
            )
    raise ValueError(f"{name!r} is not a calendar; the calendars are {', '.join(CALENDARS)}")


@dataclass(frozen=True, slots=True)
class CalendarDay:
    """A day a calendar names: a holiday, or an adjusted working day (``kind="working"``)."""

    date: dt.date
    name: str
    kind: Literal["holiday", "working"]


class _PackageYear(NamedTuple):
    names: Mapping[dt.date, str]
    working: frozenset[dt.date]


@lru_cache(maxsize=1024)
def _package_year(name: CalendarName, year: int) -> _PackageYear:
    """The package's holidays and adjusted working days of one year."""
    import holidays  # imported on first use: it takes about 60 ms

    source = _SOURCES[name]
    # The next year too: a notice for next year can make a day of this year a
    # working day (cn 2002: 2001-12-29), and a holiday can be observed a year early.
    found = holidays.country_holidays(
        source.country,
        subdiv=source.subdiv,
        years=(year, year + 1),
        observed=source.observed,
        language=source.language,
    )
    names = {day: label for day, label in found.items() if day.year == year}
    working = frozenset(day for day in found.weekend_workdays if day.year == year)
    return _PackageYear(MappingProxyType(names), working)


class _Year(NamedTuple):
    names: Mapping[dt.date, str]
    holidays: frozenset[dt.date]
    working: frozenset[dt.date]
    days: tuple[int, ...]  # the ordinals of the year's working days, ascending


def _check_day(day: dt.date, field: str) -> dt.date:
    # A datetime is a date to Python, but it never equals one: refuse it
    # rather than find no holiday on any day.
    if type(day) is not dt.date:
        raise InputError(field, day, "a calendar counts dates: give a date (the local date)")
    return day


class Calendar:
    """Holidays and working days of one calendar; build it with ``compile_calendar``.

    Working-day counts take the starting day as day 0: ``add_working_days(d, 2)``
    is the second working day after ``d``, and ``working_days_between(d, e)`` is
    the n with ``add_working_days(d, n) == e`` when ``e`` is a working day.
    """

    __slots__ = ("_add", "_remove", "_working", "_years", "known_through", "name")

    def __init__(
        self,
        name: CalendarName,
        known_through: int,
        add: Mapping[dt.date, str],
        remove: frozenset[dt.date],
        working: frozenset[dt.date],
    ) -> None:
        self.name = name
        self.known_through = known_through
        self._add = MappingProxyType(dict(add))
        self._remove = remove
        self._working = working
        self._years: dict[int, _Year] = {}

    def __repr__(self) -> str:
        return f"Calendar({self.name!r}, known_through={self.known_through})"

    def _year(self, year: int) -> _Year:
        found = self._years.get(year)
        if found is None:
            if not FIRST_YEAR <= year <= LAST_YEAR:
                raise InputError(
                    "date",
                    year,
                    f"calendar {self.name} covers the years {FIRST_YEAR}-{LAST_YEAR}",
                )
            found = self._years[year] = self._build(year)
        return found

    def _build(self, year: int) -> _Year:
        package = _package_year(self.name, year)
        working = package.working | {d for d in self._working if d.year == year}
        names = {d: n for d, n in package.names.items() if d not in self._remove}
        names.update({d: n for d, n in self._add.items() if d.year == year})
        for day in working:
            names.pop(day, None)  # an adjusted working day is a working day
        holidays = frozenset(names)
        first = dt.date(year, 1, 1).toordinal()
        last = dt.date(year, 12, 31).toordinal()
        off = {d.toordinal() for d in holidays}
        on = {d.toordinal() for d in working}
        # Ordinal 1 (0001-01-01) was a Monday: (n - 1) % 7 is the weekday.
        days = tuple(
            n for n in range(first, last + 1) if n in on or ((n - 1) % 7 < 5 and n not in off)
        )
        return _Year(MappingProxyType(names), holidays, frozenset(working), days)

    # -- days -----------------------------------------------------------------------------

    def is_holiday(self, day: dt.date) -> bool:
        """Whether the calendar names ``day`` a public holiday (a substituted day off included)."""
        return _check_day(day, "day") in self._year(day.year).holidays

    def holiday_name(self, day: dt.date) -> str | None:
        """The name of the holiday on ``day``, or None."""
        return self._year(_check_day(day, "day").year).names.get(day)

    def is_adjusted_working_day(self, day: dt.date) -> bool:
        """Whether ``day`` is a Saturday or Sunday the calendar makes a working day (调休)."""
        return _check_day(day, "day") in self._year(day.year).working

    def is_working_day(self, day: dt.date) -> bool:
        """Not a Saturday, Sunday or public holiday, or else an adjusted working day."""
        year = self._year(_check_day(day, "day").year)
        if day.weekday() >= 5:
            return day in year.working
        return day not in year.holidays

    def is_rest_day(self, day: dt.date) -> bool:
        """Not a working day."""
        return not self.is_working_day(day)

    def provisional(self, day: dt.date) -> bool:
        """Whether ``day`` lies past the last year the calendar is known."""
        return _check_day(day, "day").year > self.known_through

    def holidays_in(self, year: int) -> tuple[CalendarDay, ...]:
        """The holidays and adjusted working days of ``year``, by date."""
        data = self._year(year)
        days = [CalendarDay(d, n, "holiday") for d, n in data.names.items()]
        days += [CalendarDay(d, "Adjusted working day (调休)", "working") for d in data.working]
        return tuple(sorted(days, key=lambda c: c.date))

    # -- counting -------------------------------------------------------------------------

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``day`` (before it when ``n`` is negative; 0: ``day``)."""
        _check_day(day, "day")
        if n == 0:
            return day
        ordinal = day.toordinal()
        year = day.year
        data = self._year(year)
        if n > 0:
            i = bisect_right(data.days, ordinal) + n - 1
            while i >= len(data.days):
                i -= len(data.days)
                year += 1
                data = self._year(year)
        else:
            i = bisect_left(data.days, ordinal) + n
            while i < 0:
                year -= 1
                data = self._year(year)
                i += len(data.days)
        return dt.date.fromordinal(data.days[i])

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after ``day``."""
        return self.add_working_days(day, 1)

    def working_day_on_or_after(self, day: dt.date) -> dt.date:
        """``day`` if it is a working day, else the next one (a deadline on a rest day moves)."""
        return day if self.is_working_day(day) else self.add_working_days(day, 1)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """The working days passed going from ``start`` to ``end``: negative going back.

        The day arrived at counts and the day left does not: forward, the working
        days after ``start`` up to and including ``end``; back, those from ``end``
        up to the day before ``start``. So for n != 0,
        ``working_days_between(d, add_working_days(d, n)) == n``.
        """
        _check_day(start, "start")
        _check_day(end, "end")
        if end >= start:
            return self._span(start, end, bisect_right)
        return -self._span(end, start, bisect_left)

    def _span(self, lo: dt.date, hi: dt.date, bisect: Callable[[tuple[int, ...], int], int]) -> int:
        count = bisect(self._year(hi.year).days, hi.toordinal())
        count -= bisect(self._year(lo.year).days, lo.toordinal())
        for year in range(lo.year, hi.year):
            count += len(self._year(year).days)
        return count


@lru_cache(maxsize=64)
def _compiled(
    name: CalendarName,
    known_through: int,
    add: tuple[tuple[dt.date, str], ...],
    remove: frozenset[dt.date],
    working: frozenset[dt.date],
) -> Calendar:
    return Calendar(name, known_through, dict(add), remove, working)


def compile_calendar(rules: CalendarRules) -> Calendar:
    """The ``Calendar`` for ``rules``, shared by every equal set of rules (the citation aside)."""
    return _compiled(
        rules.name,
        rules.known_through,
        tuple(sorted(rules.add.items())),
        rules.remove,
        rules.working,
    )
