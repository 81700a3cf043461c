"""Local dates, local times and the instants where they change, in IANA zones.

Everything here takes aware datetimes and zone names, and is correct through
DST: a local wall time may not exist (spring forward) or happen twice (fall
back), so intervals are built from the zone's own offsets, never by adding
hours to a local time.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from functools import cache, lru_cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from staged_collection.errors import NaiveDatetimeError

UTC = dt.UTC
_DAY = dt.timedelta(days=1)


_ZONE_NAME_MAX = 64  # the longest name in the tz database has 32 characters
_AREAS = frozenset(
    {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe"}
    | {"Indian", "Pacific"}
)
# The tz database's backward aliases of location zones that sit outside the ten areas:
# country folders (US/Eastern is America/New_York) and country names (Japan is
# Asia/Tokyo). Deliberately absent: Etc/* and UTC, GMT, UCT, Zulu... (fixed offsets),
# EST, MST, HST and EST5EDT, CET, WET... (POSIX-style rule zones named after an offset,
# not a place), Factory and localtime (no place at all, or the host's).
_ALIAS_FOLDERS = frozenset({"Brazil", "Canada", "Chile", "Mexico", "US"})
_ALIAS_NAMES = frozenset(
    {"Cuba", "Egypt", "Eire", "GB", "GB-Eire", "Hongkong", "Iceland", "Iran", "Israel"}
    | {"Jamaica", "Japan", "Kwajalein", "Libya", "NZ", "NZ-CHAT", "Navajo", "PRC", "Poland"}
    | {"Portugal", "ROC", "ROK", "Singapore", "Turkey", "W-SU"}
)


@cache
def _tzdata_zones() -> frozenset[str]:
    # The ``tzdata`` package's own list, so that what is accepted never depends on the
    # host's /usr/share/zoneinfo (absent, older, or with extra files such as ``localtime``).
    text = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(text.split())


@cache
def _known_zones() -> frozenset[str]:
    """The location zones: where a person can be, named by a place, following its DST.

    A name of the ``tzdata`` package's list that is ``Area/Location`` (``Asia/Shanghai``,
    ``America/Argentina/Salta``, and the backward ``Asia/Calcutta``) with one of the ten
    areas, or a backward alias of such a zone outside them (``US/Eastern``, ``Japan``).
    """
    return frozenset(
        name
        for name in _tzdata_zones()
        if name.partition("/")[0] in _AREAS | _ALIAS_FOLDERS or name in _ALIAS_NAMES
    )


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The zone of a name in the ``tzdata`` package's list; ``ValueError`` for anything else.

    Names that are not location zones (``UTC``, ``Etc/GMT+5``) load here for the
    library's own arithmetic; what a borrower or a policy may name is
    ``check_zone_name``'s to say.
    """
    if name not in _tzdata_zones():
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. 'Asia/Shanghai')")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - listed but unloadable
        raise ValueError(f"{name!r} is not an IANA time zone") from None


def check_zone_name(name: str) -> str:
    """``name`` if it is a location zone; else ``ValueError`` saying why it is refused."""
    if len(name) > _ZONE_NAME_MAX:
        raise ValueError("is not an IANA time zone name (at most 64 characters)")
    if name not in _known_zones():
        if name in _tzdata_zones():
            raise ValueError(
                f"{name!r} is an IANA zone of fixed offset or rule, not a location: name the "
                "place (e.g. 'America/New_York', not 'EST'), so that its DST is followed"
            )
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. 'Asia/Shanghai')")
    zone(name)
    return name


def require_aware(value: dt.datetime, field: str = "at") -> dt.datetime:
    """Refuse a naive datetime, naming the field."""
    if not isinstance(value, dt.datetime):
        raise NaiveDatetimeError(field, value)
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(field, value)
    return value


def local(at: dt.datetime, name: str) -> dt.datetime:
    return at.astimezone(zone(name))


def local_date(at: dt.datetime, name: str) -> dt.date:
    return at.astimezone(zone(name)).date()


def _resolve(day: dt.date, wall: dt.time, name: str, fold: int) -> dt.datetime:
    naive = dt.datetime.combine(day, wall)
    return naive.replace(tzinfo=zone(name), fold=fold).astimezone(UTC)


def first_instant_at_or_after(day: dt.date, wall: dt.time, name: str) -> dt.datetime:
    """The first instant whose local date is ``day`` and local time is ``wall`` or later.

    In a spring-forward gap that is the end of the gap; on a fall-back day it
    is the first of the two occurrences.
    """
    early = _resolve(day, wall, name, 0)
    late = _resolve(day, wall, name, 1)
    first = min(early, late)
    if _wall_of(first, name) >= (day, wall):
        return first
    # ``wall`` falls in a gap: both resolutions land on either side of the
    # jump; the first instant at or after ``wall`` is the jump itself.
    return transition_between(min(early, late), max(early, late), name)


def _wall_of(at: dt.datetime, name: str) -> tuple[dt.date, dt.time]:
    here = at.astimezone(zone(name))
    return here.date(), here.time().replace(tzinfo=None)


@lru_cache(maxsize=16384)
def day_start(day: dt.date, name: str) -> dt.datetime:
    """The first instant of a local date (not always 00:00: some zones skip midnight).

    Memoised: the day boundaries of a few zones over a few months are what every check
    and every ``next_allowed`` asks for, again and again.
    """
    return first_instant_at_or_after(day, dt.time(0, 0), name)


def day_after(day: dt.date) -> dt.date | None:
    """The next local date, or ``None`` past the last date there is (9999-12-31)."""
    return None if day == dt.date.max else day + _DAY


def day_start_or_none(day: dt.date, name: str) -> dt.datetime | None:
    """``day_start``, or ``None`` when that instant cannot be represented."""
    try:
        return day_start(day, name)
    except OverflowError:
        return None


def transition_between(lo: dt.datetime, hi: dt.datetime, name: str) -> dt.datetime:
    """The instant in ``(lo, hi]`` where the zone's UTC offset changes, to the microsecond.

    ``lo`` and ``hi`` must have different offsets. Offsets change on whole
    seconds, so a bisection over at most a day takes under 40 steps.
    """
    z = zone(name)
    before = lo.astimezone(z).utcoffset()
    lo_s, hi_s = lo, hi
    step = dt.timedelta(microseconds=1)
    while hi_s - lo_s > step:
        mid = lo_s + (hi_s - lo_s) / 2
        if mid.astimezone(z).utcoffset() == before:
            lo_s = mid
        else:
            hi_s = mid
    return hi_s


@lru_cache(maxsize=16384)
def wall_intervals(
    day: dt.date, start: dt.time, end: dt.time | None, name: str
) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    """Half-open UTC intervals of local date ``day`` whose wall time is in ``[start, end)``.

    ``end=None`` means to the end of the day. Usually one interval; a
    fall-back hour inside the window can split it in two, and a
    spring-forward gap can shorten it. Memoised per (date, window, zone): working
    it out through DST costs about 20 microseconds, looking it up a fraction of one.
    """
    lo = day_start(day, name)
    hi = day_start(day + _DAY, name)
    cuts = {lo, hi}
    for wall in (start, end) if end is not None else (start,):
        for fold in (0, 1):
            at = _resolve(day, wall, name, fold)
            if lo < at < hi:
                cuts.add(at)
    z = zone(name)
    if (
        lo.astimezone(z).utcoffset()
        != (hi - dt.timedelta(microseconds=1)).astimezone(z).utcoffset()
    ):
        _add_transitions(lo, hi, name, cuts)
    points = sorted(cuts)
    out: list[tuple[dt.datetime, dt.datetime]] = []
    for a, b in itertools.pairwise(points):
        wall = a.astimezone(z).time().replace(tzinfo=None)
        if start <= wall and (end is None or wall < end):
            if out and out[-1][1] == a:
                out[-1] = (out[-1][0], b)
            else:
                out.append((a, b))
    return tuple(out)


def _add_transitions(lo: dt.datetime, hi: dt.datetime, name: str, cuts: set[dt.datetime]) -> None:
    # A local day holds at most two offset changes in practice; split and recurse.
    z = zone(name)
    last = hi - dt.timedelta(microseconds=1)
    if lo.astimezone(z).utcoffset() == last.astimezone(z).utcoffset():
        return
    t = transition_between(lo, last, name)
    cuts.add(t)
    _add_transitions(t, hi, name, cuts)


def next_wall_in(
    at: dt.datetime,
    ranges: Sequence[tuple[dt.time, dt.time | None]],
    name: str,
    days: int = 3,
) -> dt.datetime | None:
    """The first instant at or after ``at`` whose wall time in ``name`` is in one of ``ranges``.

    Each range is ``[start, end)`` of local wall time within a day (``end=None``:
    to midnight). Looks ``days`` local dates ahead; ``None`` if none is found.
    """
    day = local_date(at, name)
    for offset in range(days):
        best: dt.datetime | None = None
        for start, end in ranges:
            for lo, hi in wall_intervals(day + offset * _DAY, start, end, name):
                if hi > at:
                    candidate = max(lo, at)
                    if best is None or candidate < best:
                        best = candidate
        if best is not None:
            return best
    return None
