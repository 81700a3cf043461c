"""When the hours allow a contact: the channel's window (and its window for the weekday, where
the policy sets one), the borrower's stated inconvenient times and the rest days, in every zone
at once, as intervals of instants.

``free_from`` answers "the first instant at or after t that every zone allows" by
interval arithmetic over local days, so ``next_allowed`` crosses a whole refused
span in one step however many zones and ranges refuse it (stepping from one
range's end to the next would cost a check per range).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from functools import lru_cache

from staged_collection._localtime import day_start, local, local_date, wall_intervals
from staged_collection.borrower import LocalTimeRange

Interval = tuple[dt.datetime, dt.datetime]
_DAY = dt.timedelta(days=1)
_MIDNIGHT = dt.time(0)
_FIRST_LOOK = 3  # local days looked at first (tomorrow morning, mostly); doubled if none
_LONGEST_LOOK = 800  # then the hours never allow it within the horizon that matters


@lru_cache(maxsize=8192)
def _window(day: dt.date, start: dt.time, end: dt.time | None, zone: str) -> tuple[Interval, ...]:
    return wall_intervals(day, start, end, zone)


@lru_cache(maxsize=8192)
def _whole_day(day: dt.date, zone: str) -> tuple[Interval, ...]:
    return ((day_start(day, zone), day_start(day + _DAY, zone)),)


def _minus(keep: list[Interval], cut: list[Interval]) -> list[Interval]:
    """``keep`` without ``cut`` (both sorted lists of half-open intervals)."""
    if not cut:
        return keep
    out: list[Interval] = []
    cut = sorted(cut)
    for lo, hi in keep:
        for c_lo, c_hi in cut:
            if c_hi <= lo or c_lo >= hi:
                continue
            if c_lo > lo:
                out.append((lo, c_lo))
            lo = max(lo, c_hi)
            if lo >= hi:
                break
        if lo < hi:
            out.append((lo, hi))
    return out


def _both(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """The intersection of two sorted lists of half-open intervals."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


Span = tuple[dt.time, dt.time]


def _allowed_in_zone(
    zone: str,
    first: dt.date,
    days: int,
    window: Span | None,
    ranges: tuple[LocalTimeRange, ...],
    rest: Callable[[dt.date], bool] | None,
    by_weekday: Mapping[int, Span],
) -> list[Interval]:
    out: list[Interval] = []
    for offset in range(days):
        day = first + offset * _DAY
        if rest is not None and rest(day):
            continue
        allowed = list(
            _window(day, window[0], window[1], zone) if window else _whole_day(day, zone)
        )
        special = by_weekday.get(day.isoweekday())
        if special is not None:  # both windows hold on that weekday: the stricter wins
            allowed = _both(allowed, list(_window(day, special[0], special[1], zone)))
        cut: list[Interval] = []
        for r in ranges:
            if r.start < r.end:
                cut += _window(day, r.start, r.end, zone)
            else:  # across midnight: the evening and the early morning of the same local day
                cut += _window(day, r.start, None, zone)
                cut += _window(day, _MIDNIGHT, r.end, zone)
        out += _minus(allowed, cut)
    return out


def free_from(
    at: dt.datetime,
    zones: tuple[str, ...],
    window: Span | None,
    ranges: tuple[LocalTimeRange, ...],
    rest: Callable[[dt.date], bool] | None,
    by_weekday: Mapping[int, Span] | None = None,
    memo: dict[tuple[tuple[dt.date, ...], int], list[Interval]] | None = None,
) -> dt.datetime | None:
    """The first instant at or after ``at`` whose hours every zone allows; ``None`` if none
    comes within about two years (a rest day every day, say) or past the calendar's end.

    ``by_weekday``: windows for particular ISO weekdays (1 = Monday), which hold on those
    days together with ``window``. ``memo``: the allowed intervals already worked out for
    these hours (the same zones, windows, ranges and rest days), by the local dates they
    start from: every case with the same hours asks about the same few days.
    """
    weekdays: Mapping[int, Span] = by_weekday or {}
    if zones and _free_at(at, zones, window, ranges, rest, weekdays):
        return at  # the usual answer once the other rules are past: no intervals to build
    look = _FIRST_LOOK
    try:
        while look <= _LONGEST_LOOK:
            firsts = tuple(local_date(at, zone) - _DAY for zone in zones)
            common = None if memo is None else memo.get((firsts, look))
            if common is None:
                common = _common(zones, firsts, look, window, ranges, rest, weekdays)
                if memo is not None:
                    if len(memo) >= _MEMO_SIZE:
                        memo.clear()
                    memo[(firsts, look)] = common
            for lo, hi in common:
                if hi > at:
                    return max(lo, at)
            look *= 2
    except OverflowError:
        return None
    return None


_MEMO_SIZE = 512  # local days a ``free_from`` memo keeps (a dialer asks about a few)


def _common(
    zones: tuple[str, ...],
    firsts: tuple[dt.date, ...],
    look: int,
    window: Span | None,
    ranges: tuple[LocalTimeRange, ...],
    rest: Callable[[dt.date], bool] | None,
    weekdays: Mapping[int, Span],
) -> list[Interval]:
    """The intervals every zone allows, over ``look + 1`` local days from each zone's first."""
    common: list[Interval] | None = None
    for zone, first in zip(zones, firsts, strict=True):
        mine = _allowed_in_zone(zone, first, look + 1, window, ranges, rest, weekdays)
        common = mine if common is None else _both(common, mine)
        if not common:
            break
    return common or []


def _free_at(
    at: dt.datetime,
    zones: tuple[str, ...],
    window: Span | None,
    ranges: tuple[LocalTimeRange, ...],
    rest: Callable[[dt.date], bool] | None,
    by_weekday: Mapping[int, Span],
) -> bool:
    """Do the hours allow ``at`` itself in every zone? The wall-time test of the contact
    guard's own (``_contact._time``), without the intervals."""
    for zone in zones:
        here = local(at, zone)
        wall = here.time()
        if window is not None and not window[0] <= wall < window[1]:
            return False
        special = by_weekday.get(here.isoweekday()) if by_weekday else None
        if special is not None and not special[0] <= wall < special[1]:
            return False
        for r in ranges:
            if r.contains(wall):
                return False
        if rest is not None and rest(here.date()):
            return False
    return True
