"""``_hours.free_from`` against a minute-by-minute scan: it must answer the first minute every
zone allows, never later (``next_allowed`` would miss an allowed minute) and never a refused one.

The hours: a channel's window, windows for particular weekdays (which hold together with it),
the borrower's inconvenient ranges (some across midnight) and rest days, in one or two zones,
around the days clocks change.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from staged_collection._hours import free_from
from staged_collection.borrower import LocalTimeRange
from staged_collection.testing import edge_instants

ZONES = (
    "Asia/Shanghai",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Havana",
    "America/Santiago",
)
HOURS = [dt.time(h, m) for h in (0, 1, 2, 6, 8, 9, 10, 12, 16, 18, 20, 21, 22) for m in (0, 30)]
SCAN = dt.timedelta(days=9)

Span = tuple[dt.time, dt.time]


@st.composite
def spans(draw: st.DrawFn) -> Span:
    start, end = sorted(draw(st.lists(st.sampled_from(HOURS), min_size=2, max_size=2, unique=True)))
    return start, end


def allowed(
    t: dt.datetime,
    zones: tuple[str, ...],
    window: Span | None,
    by_weekday: dict[int, Span],
    ranges: tuple[LocalTimeRange, ...],
    rest: frozenset[int],
) -> bool:
    for zone in zones:
        here = t.astimezone(ZoneInfo(zone))
        wall = here.time().replace(tzinfo=None)
        if here.isoweekday() in rest:
            return False
        if window is not None and not window[0] <= wall < window[1]:
            return False
        special = by_weekday.get(here.isoweekday())
        if special is not None and not special[0] <= wall < special[1]:
            return False
        for r in ranges:
            inside = r.start <= wall < r.end if r.start < r.end else wall >= r.start or wall < r.end
            if inside:
                return False
    return True


@settings(max_examples=120, deadline=None)
@given(
    zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=2, unique=True).map(tuple),
    window=st.one_of(st.none(), spans()),
    by_weekday=st.dictionaries(st.integers(1, 7), spans(), max_size=3),
    ranges=st.lists(
        st.sampled_from([("12:00", "14:00"), ("20:00", "09:00"), ("08:00", "08:30")]), max_size=1
    ),
    rest=st.frozensets(st.integers(1, 7), max_size=2),
    data=st.data(),
)
def test_free_from_is_the_first_minute_every_zone_allows(
    zones: tuple[str, ...],
    window: Span | None,
    by_weekday: dict[int, Span],
    ranges: list[tuple[str, str]],
    rest: frozenset[int],
    data: st.DataObject,
) -> None:
    at = data.draw(edge_instants(zones)).replace(second=0)
    spans_ = tuple(LocalTimeRange.model_validate({"start": a, "end": b}) for a, b in ranges)

    def is_rest(day: dt.date) -> bool:
        return day.isoweekday() in rest

    found = free_from(at, zones, window, spans_, is_rest if rest else None, by_weekday)
    t = at
    while t < at + SCAN and (found is None or t < found):
        assert not allowed(t, zones, window, by_weekday, spans_, rest), (
            f"{t.isoformat()} is allowed, free_from said {found}"
        )
        t += dt.timedelta(minutes=1)
    if found is not None and found < at + SCAN:
        assert allowed(found, zones, window, by_weekday, spans_, rest)


@settings(max_examples=80, deadline=None)
@given(
    zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=2, unique=True).map(tuple),
    window=st.one_of(st.none(), spans()),
    by_weekday=st.dictionaries(st.integers(1, 7), spans(), max_size=3),
    rest=st.frozensets(st.integers(1, 7), max_size=6),
    data=st.data(),
)
def test_a_memo_shared_by_many_questions_answers_as_none_would(
    zones: tuple[str, ...],
    window: Span | None,
    by_weekday: dict[int, Span],
    rest: frozenset[int],
    data: st.DataObject,
) -> None:
    # ``next_allowed`` keeps the allowed intervals of the days ahead per hours, for every case
    # and question with those hours: asked in any order, at instants hours or days apart (a
    # long rest makes it look further ahead), a shared memo answers what a fresh one does.
    instants = data.draw(st.lists(edge_instants(zones), min_size=2, max_size=8))

    def is_rest(day: dt.date) -> bool:
        return day.isoweekday() in rest

    test = is_rest if rest else None
    memo: dict[tuple[tuple[dt.date, ...], int], list[tuple[dt.datetime, dt.datetime]]] = {}
    for at in instants:
        fresh = free_from(at, zones, window, (), test, by_weekday)
        assert free_from(at, zones, window, (), test, by_weekday, memo) == fresh, at
        assert free_from(at, zones, window, (), test, by_weekday, memo) == fresh, at
