"""Calendars: holidays and working days, against the package, a day-by-day count and the law."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from staged_collection.calendars import (
    CALENDARS,
    Calendar,
    CalendarRules,
    compile_calendar,
    preset_calendar,
)
from staged_collection.errors import InputError
from tests.builders import run_cli as run
from tests.strategies import calendar_dates, calendar_rules

D = dt.date

# What each calendar means, said again independently of the module: the package's
# entity, and whether its "observed" days count (not for us: Regulation F counts
# the 6103(a) dates themselves).
PACKAGE_ARGS: dict[str, dict[str, Any]] = {
    "cn": {"country": "CN"},
    "us": {"country": "US", "observed": False},
    "uk": {"country": "GB", "subdiv": "ENG"},
    "uk-sct": {"country": "GB", "subdiv": "SCT"},
    "uk-nir": {"country": "GB", "subdiv": "NIR"},
}


@cache
def package(name: str) -> holidays.HolidayBase:
    return holidays.country_holidays(**PACKAGE_ARGS[name], years=range(2019, 2037))


def reference_is_working_day(rules: CalendarRules, day: dt.date) -> bool:
    """The definition, read off the package and the rules' own lists."""
    if day in rules.working:
        return True
    if day in rules.add:
        return False
    if day in rules.remove and day.weekday() < 5:
        return True
    return bool(package(rules.name).is_working_day(day))


def days_from(start: dt.date, step: int) -> Iterator[dt.date]:
    day = start
    while True:
        day += dt.timedelta(days=step)
        yield day


def brute_add(cal: Calendar, day: dt.date, n: int) -> dt.date:
    """The n-th working day after (or before) ``day``, walking one day at a time."""
    if n == 0:
        return day
    seen = 0
    for d in days_from(day, 1 if n > 0 else -1):
        seen += cal.is_working_day(d)
        if seen == abs(n):
            return d
    raise AssertionError("unreachable")


def brute_between(cal: Calendar, start: dt.date, end: dt.date) -> int:
    """Working days passed from ``start`` to ``end``, one day at a time; back, negative."""
    step = 1 if end >= start else -1
    count = 0
    d = start
    while d != end:
        d += dt.timedelta(days=step)
        count += cal.is_working_day(d)  # the day stepped onto counts, the day left does not
    return step * count


presets = st.sampled_from(CALENDARS).map(lambda name: preset_calendar(name))
any_rules = st.one_of(presets, calendar_rules())
shifts = st.integers(min_value=-400, max_value=400)


# -- what a working day is ------------------------------------------------------------------


@given(rules=any_rules, day=calendar_dates())
def test_working_day_is_the_definition_over_the_package(rules: CalendarRules, day: dt.date) -> None:
    cal = compile_calendar(rules)
    assert cal.is_working_day(day) == reference_is_working_day(rules, day)
    assert cal.is_rest_day(day) != cal.is_working_day(day)
    if cal.is_holiday(day):
        assert not cal.is_adjusted_working_day(day)
        assert cal.holiday_name(day)
    if day in rules.add:
        assert cal.holiday_name(day) == rules.add[day]


@given(rules=any_rules, year=st.integers(2020, 2035))
def test_holidays_in_lists_exactly_the_calendars_holidays_and_working_weekends(
    rules: CalendarRules, year: int
) -> None:
    cal = compile_calendar(rules)
    listed = cal.holidays_in(year)
    assert [c.date for c in listed] == sorted(c.date for c in listed)
    every_day = [D(year, 1, 1) + dt.timedelta(days=i) for i in range(366)]
    every_day = [d for d in every_day if d.year == year]
    assert {c.date for c in listed if c.kind == "holiday"} == {
        d for d in every_day if cal.is_holiday(d)
    }
    assert {c.date for c in listed if c.kind == "working"} == {
        d for d in every_day if d.weekday() >= 5 and cal.is_working_day(d)
    }


# -- counting, against a day-by-day walk ----------------------------------------------------


@given(rules=any_rules, day=calendar_dates(), n=shifts)
def test_add_working_days_walks_the_calendar(rules: CalendarRules, day: dt.date, n: int) -> None:
    cal = compile_calendar(rules)
    result = cal.add_working_days(day, n)
    assert result == brute_add(cal, day, n)
    if n != 0:
        assert cal.is_working_day(result)
        assert cal.working_days_between(day, result) == n


@given(rules=any_rules, start=calendar_dates(), end=calendar_dates())
def test_working_days_between_counts_the_calendar(
    rules: CalendarRules, start: dt.date, end: dt.date
) -> None:
    cal = compile_calendar(rules)
    assert cal.working_days_between(start, end) == brute_between(cal, start, end)


@given(rules=any_rules, day=calendar_dates())
def test_next_working_day_and_on_or_after(rules: CalendarRules, day: dt.date) -> None:
    cal = compile_calendar(rules)
    after = next(d for d in days_from(day, 1) if cal.is_working_day(d))
    assert cal.next_working_day(day) == after
    expected = day if cal.is_working_day(day) else after
    assert cal.working_day_on_or_after(day) == expected


@given(rules=calendar_rules(), day=calendar_dates())
def test_provisional_past_known_through(rules: CalendarRules, day: dt.date) -> None:
    assert compile_calendar(rules).provisional(day) == (day.year > rules.known_through)


# -- known facts ----------------------------------------------------------------------------

# 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04), gov.cn
# /zhengce/content/202511/content_7047090.htm (read from the Xinhua reproduction at
# politics.gmw.cn/2025-11/04/content_38391083.htm): the days off and the days worked.
CN_2026_OFF = [
    (D(2026, 1, 1), D(2026, 1, 3)),
    (D(2026, 2, 15), D(2026, 2, 23)),
    (D(2026, 4, 4), D(2026, 4, 6)),
    (D(2026, 5, 1), D(2026, 5, 5)),
    (D(2026, 6, 19), D(2026, 6, 21)),
    (D(2026, 9, 25), D(2026, 9, 27)),
    (D(2026, 10, 1), D(2026, 10, 7)),
]
CN_2026_WORKED = {
    D(2026, 1, 4),
    D(2026, 2, 14),
    D(2026, 2, 28),
    D(2026, 5, 9),
    D(2026, 9, 20),
    D(2026, 10, 10),
}


def test_cn_2026_is_the_state_council_notice_day_by_day() -> None:
    cal = compile_calendar(preset_calendar("cn"))
    off = {a + dt.timedelta(days=i) for a, b in CN_2026_OFF for i in range((b - a).days + 1)}
    for i in range(365):
        day = D(2026, 1, 1) + dt.timedelta(days=i)
        expected = day in CN_2026_WORKED or (day.weekday() < 5 and day not in off)
        assert cal.is_working_day(day) == expected, day
    assert {c.date for c in cal.holidays_in(2026) if c.kind == "working"} == CN_2026_WORKED


def test_cn_2026_spring_festival() -> None:
    cal = compile_calendar(preset_calendar("cn"))
    assert all(cal.is_holiday(D(2026, 2, d)) for d in (16, 17, 18, 19, 20, 23))
    assert cal.holiday_name(D(2026, 2, 17)) == "Chinese New Year (Spring Festival)"
    # Saturday the 14th is worked; the break runs Sunday 15th to Monday 23rd.
    assert cal.is_adjusted_working_day(D(2026, 2, 14))
    assert cal.next_working_day(D(2026, 2, 13)) == D(2026, 2, 14)
    assert cal.next_working_day(D(2026, 2, 14)) == D(2026, 2, 24)
    assert cal.working_days_between(D(2026, 2, 13), D(2026, 3, 2)) == 7
    assert cal.is_working_day(D(2026, 2, 28))  # a Saturday, worked


def test_cn_limitation_ending_in_a_break_moves_to_its_next_working_day() -> None:
    # 民法典 art. 203 as DOMAIN 7 reads it: a last day that is not a working day moves.
    cal = compile_calendar(preset_calendar("cn"))
    assert cal.working_day_on_or_after(D(2026, 10, 3)) == D(2026, 10, 8)
    # A Sunday that is an adjusted working day is a working day: nothing moves.
    assert cal.working_day_on_or_after(D(2026, 9, 20)) == D(2026, 9, 20)
    assert cal.working_day_on_or_after(D(2026, 9, 19)) == D(2026, 9, 20)


# 5 U.S.C. 6103(a) applied to 2026 (OPM's 2026 list agrees, and shows 2026-07-03 as the
# day federal employees observe Independence Day instead of Saturday the 4th).
US_2026 = {
    D(2026, 1, 1),
    D(2026, 1, 19),
    D(2026, 2, 16),
    D(2026, 5, 25),
    D(2026, 6, 19),
    D(2026, 7, 4),
    D(2026, 9, 7),
    D(2026, 10, 12),
    D(2026, 11, 11),
    D(2026, 11, 26),
    D(2026, 12, 25),
}


def test_us_2026_federal_holidays_on_their_actual_dates() -> None:
    cal = compile_calendar(preset_calendar("us"))
    assert {c.date for c in cal.holidays_in(2026)} == US_2026
    assert cal.is_holiday(D(2026, 7, 4))
    assert not cal.is_holiday(D(2026, 7, 3))
    assert cal.is_working_day(D(2026, 7, 3))  # observed, but Regulation F counts it


def test_us_validation_receipt_counts_the_observed_friday() -> None:
    # 12 CFR 1006.34(b)(5): assumed received 5 days after sending, excluding Saturdays,
    # Sundays and 6103(a) holidays. Sent Tuesday 2026-06-30: 1, 2, 3, 6, 7 July.
    cal = compile_calendar(preset_calendar("us"))
    assert cal.add_working_days(D(2026, 6, 30), 5) == D(2026, 7, 7)
    # Sent Monday 2026-06-15: Juneteenth (Friday the 19th) does not count.
    assert cal.add_working_days(D(2026, 6, 15), 5) == D(2026, 6, 23)


# gov.uk/bank-holidays, England and Wales, 2026: 28 December is the substitute for
# Boxing Day (a Saturday).
UK_2026 = {
    D(2026, 1, 1),
    D(2026, 4, 3),
    D(2026, 4, 6),
    D(2026, 5, 4),
    D(2026, 5, 25),
    D(2026, 8, 31),
    D(2026, 12, 25),
    D(2026, 12, 28),
}


def test_uk_2026_england_and_wales_bank_holidays() -> None:
    cal = compile_calendar(preset_calendar("uk"))
    weekdays = [D(2026, 1, 1) + dt.timedelta(days=i) for i in range(365)]
    assert {d for d in weekdays if d.weekday() < 5 and cal.is_rest_day(d)} == UK_2026


def test_uk_post_across_easter_is_served_on_the_second_working_day() -> None:
    # Posted Thursday 2026-04-02: Good Friday and Easter Monday are not working days.
    cal = compile_calendar(preset_calendar("uk"))
    assert cal.add_working_days(D(2026, 4, 2), 2) == D(2026, 4, 8)


def test_uk_subdivisions_differ_where_the_law_does() -> None:
    eng, sct, nir = (compile_calendar(preset_calendar(n)) for n in ("uk", "uk-sct", "uk-nir"))
    # gov.uk: 2 January and St Andrew's Day are Scottish bank holidays, Easter Monday is not.
    assert sct.is_holiday(D(2026, 1, 2))
    assert not eng.is_holiday(D(2026, 1, 2))
    assert sct.is_holiday(D(2026, 11, 30))
    assert eng.is_working_day(D(2026, 11, 30))
    assert sct.is_working_day(D(2026, 4, 6))
    assert eng.is_rest_day(D(2026, 4, 6))
    # Northern Ireland: St Patrick's Day, and the Boyne's substitute Monday (12 July is a Sunday).
    assert nir.is_holiday(D(2026, 3, 17))
    assert nir.is_holiday(D(2026, 7, 13))
    assert eng.is_working_day(D(2026, 7, 13))


# -- additions, removals, working days and their errors -------------------------------------


def uk_with(**fields: Any) -> Calendar:
    return compile_calendar(CalendarRules(name="uk", known_through=2026, citation="ours", **fields))


def test_add_remove_and_working_change_the_count() -> None:
    base = compile_calendar(preset_calendar("uk"))
    cal = uk_with(
        add={D(2026, 12, 24): "Christmas Eve closure"},
        remove={D(2026, 12, 28)},
        working={D(2026, 12, 26)},
    )
    assert cal.is_holiday(D(2026, 12, 24))
    assert cal.holiday_name(D(2026, 12, 24)) == "Christmas Eve closure"
    assert not cal.is_holiday(D(2026, 12, 28))
    assert cal.is_working_day(D(2026, 12, 28))
    # Boxing Day (a Saturday) made a working day is no longer a holiday.
    assert cal.is_working_day(D(2026, 12, 26))
    assert not cal.is_holiday(D(2026, 12, 26))
    assert cal.is_adjusted_working_day(D(2026, 12, 26))
    assert base.add_working_days(D(2026, 12, 23), 1) == D(2026, 12, 24)
    assert cal.add_working_days(D(2026, 12, 23), 1) == D(2026, 12, 26)
    assert cal.add_working_days(D(2026, 12, 23), 2) == D(2026, 12, 28)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"working": {D(2026, 2, 16)}}, "working: 2026-02-16 is a Monday"),
        (
            {"add": {D(2026, 5, 1): "x"}, "remove": {D(2026, 5, 1)}},
            "add: 2026-05-01 is also in remove",
        ),
        ({"add": {D(2026, 5, 2): "x"}, "working": {D(2026, 5, 2)}}, "also in working"),
        ({"remove": {D(2100, 1, 1)}}, "remove: 2100-01-01 is outside"),
        ({"add": {D(2026, 5, 1): "  "}}, "at least 1 character"),
        ({"known_through": 2100}, "less than or equal to 2099"),
    ],
)
def test_rules_that_cannot_work_are_refused(fields: dict[str, Any], message: str) -> None:
    data: dict[str, Any] = {"name": "uk", "known_through": 2026, "citation": "ours", **fields}
    with pytest.raises(ValidationError, match=message):
        CalendarRules.model_validate(data)


def test_cn_known_through_a_year_without_a_schedule_needs_its_dates() -> None:
    with pytest.raises(ValidationError, match="no State Council schedule for cn 2027"):
        CalendarRules(name="cn", known_through=2027, citation="ours")
    # With the year's own dates (made up here), 2027 is known and not provisional.
    rules = CalendarRules(
        name="cn",
        known_through=2027,
        citation="ours",
        add={D(2027, 2, 12): "Spring Festival day off"},
        working={D(2027, 2, 20)},
    )
    cal = compile_calendar(rules)
    assert not cal.provisional(D(2027, 12, 31))
    assert cal.provisional(D(2028, 1, 1))
    assert cal.is_working_day(D(2027, 2, 20))
    assert cal.is_rest_day(D(2027, 2, 12))


def test_presets_are_known_through_2026() -> None:
    for name in CALENDARS:
        cal = compile_calendar(preset_calendar(name))
        assert not cal.provisional(D(2026, 12, 31))
        assert cal.provisional(D(2027, 1, 1))
    with pytest.raises(ValueError, match="'fr' is not a calendar"):
        preset_calendar("fr")


def test_past_known_through_the_statutory_dates_are_used() -> None:
    # 2027's Spring Festival by 全国年节及纪念日放假办法 arts. 2 and 6: the eve (5 February)
    # and the first three days (6-8), the two on a weekend made up on the 9th and 10th.
    # The days the State Council will add or make working days are not known yet.
    cal = compile_calendar(preset_calendar("cn"))
    assert cal.provisional(D(2027, 2, 8))
    assert all(cal.is_holiday(D(2027, 2, d)) for d in (5, 6, 7, 8, 9, 10))
    assert cal.add_working_days(D(2027, 2, 4), 1) == D(2027, 2, 11)
    assert not any(c.kind == "working" for c in cal.holidays_in(2027))


def test_compiled_calendars_are_shared_by_content() -> None:
    a = compile_calendar(preset_calendar("cn"))
    b = compile_calendar(preset_calendar("cn").model_copy(update={"citation": "another"}))
    c = compile_calendar(CalendarRules(name="cn", known_through=2025, citation="x"))
    assert a is b
    assert c is not a
    assert c.known_through == 2025


def test_a_datetime_or_a_year_out_of_range_is_refused() -> None:
    cal = compile_calendar(preset_calendar("us"))
    with pytest.raises(InputError, match="give a date"):
        cal.is_working_day(dt.datetime(2026, 7, 3, tzinfo=dt.UTC))
    with pytest.raises(InputError, match="covers the years 1950-2099"):
        cal.add_working_days(D(2099, 12, 30), 5)
    with pytest.raises(InputError, match="covers the years 1950-2099"):
        cal.holidays_in(1900)


# -- the command line -----------------------------------------------------------------------


def test_calendar_show_lists_holidays_and_adjusted_working_days() -> None:
    result = run("calendar", "show", "cn", "2026")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "2026-02-14  Sat  working  Adjusted working day (调休)" in lines
    assert "2026-02-17  Tue  holiday  Chinese New Year (Spring Festival)" in lines
    assert not any("provisional" in line for line in lines)


def test_calendar_show_json_marks_a_provisional_year() -> None:
    result = run("calendar", "show", "us", "2027", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["provisional"] is True
    assert doc["known_through"] == 2026
    assert {"date": "2027-07-04", "weekday": "Sun", "kind": "holiday"}.items() <= (
        doc["days"][5].items()
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("fr", "2026"), "calendar: 'fr' is not a calendar"),
        (("cn", "3000"), "year: '3000' is not a year from 1950 to 2099"),
        (("uk", "-5"), "year: '-5' is not a year"),
        (("uk", "next"), "year: 'next' is not a year"),
    ],
)
def test_calendar_show_refuses_in_one_line(args: tuple[str, str], message: str) -> None:
    result = run("calendar", "show", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {message}")
