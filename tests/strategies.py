"""Hypothesis strategies shared by the tests.

Loans and borrowers come from the public kit (``staged_collection.testing``);
the histories here are weighted to climb the ladder, for the replay tests.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import reject
from hypothesis import strategies as st
from pydantic import ValidationError

from staged_collection import Event, parse_event
from staged_collection.calendars import CALENDARS, CalendarRules
from staged_collection.events import EVENT_TYPES
from staged_collection.testing import borrowers, loans
from staged_collection.testing.strategies import _fields_of

__all__ = [
    "CALENDAR_YEARS",
    "CURRENCIES",
    "START",
    "borrowers",
    "calendar_dates",
    "calendar_rules",
    "histories",
    "loans",
]

CURRENCIES = {"cn": "CNY", "us": "USD", "uk": "GBP"}
START = dt.date(2026, 1, 1)


_KINDS: dict[str, Any] = {
    "payment": lambda d, day: {"amount": str(Decimal(d(st.integers(1, 30_000))) / 100)},
    "promise": lambda d, day: {
        "amount": str(Decimal(d(st.integers(1, 300_000))) / 100),
        "due": str(day + dt.timedelta(days=d(st.integers(0, 20)))),
    },
    "plan": lambda d, day: {
        "kind": d(st.sampled_from(["instalments", "extension", "relief"])),
        "installments": [
            {"due": str(day + dt.timedelta(days=15 * (i + 1))), "amount": "50.00"}
            for i in range(d(st.integers(1, 3)))
        ],
    },
    "plan_broken": lambda d, day: {},
    "notice": lambda d, day: {
        "kind": d(
            st.sampled_from(
                ["reminder", "pre_reporting", "formal_demand", "validation", "default", "arrears"]
            )
        ),
        "delivered": d(st.sampled_from([True, True, True, False])),
        "remedy_date": str(day + dt.timedelta(days=d(st.integers(0, 30)))),
    },
    "undeliverable": lambda d, day: {"kind": d(st.sampled_from(["pre_reporting", "validation"]))},
    "dispute": lambda d, day: {},
    "dispute_resolved": lambda d, day: {},
    "hold": lambda d, day: {
        "kind": d(st.sampled_from(["bankruptcy", "hardship", "breathing_space", "complaint"])),
        "until": d(st.sampled_from([None, 3, 10, 30])) and str(day + dt.timedelta(days=10)),
    },
    "hold_lifted": lambda d, day: {
        "kind": d(st.sampled_from(["bankruptcy", "hardship", "breathing_space", "complaint"]))
    },
    "cease": lambda d, day: {"channels": d(st.lists(st.sampled_from(["call", "sms"]), max_size=1))},
    "attorney": lambda d, day: {},
    "contact": lambda d, day: {
        "channel": d(st.sampled_from(["call", "sms", "ai_voice", "letter"])),
        "outcome": d(st.sampled_from(["conversation", "no_answer", "busy", "delivered"])),
        "number": "+8613800000000",
    },
    "escalate": lambda d, day: {"to": d(st.sampled_from(["negotiation", "formal"]))},
    "refer": lambda d, day: {"agency": "A1", "evaluated_on": str(START + dt.timedelta(days=60))},
    "recall": lambda d, day: {},
    "report": lambda d, day: {},
    "legal_action": lambda d, day: {},
    "forbearance_assessed": lambda d, day: {},
    "settle": lambda d, day: {"amount": "10.00"},
    "write_off": lambda d, day: {},
}


# How often each kind is drawn: mostly the ladder, so that histories climb it;
# the case-ending and case-freezing kinds rarely, so that they do not end it early.
_WEIGHTS = {
    "escalate": 12,
    "notice": 10,
    "refer": 6,
    "report": 6,
    "contact": 6,
    "payment": 6,
    "legal_action": 4,
    "write_off": 4,
    "hold_lifted": 4,
    "dispute_resolved": 6,
    "settle": 1,
}
_DRAWN = sorted(kind for kind in EVENT_TYPES for _ in range(_WEIGHTS.get(kind, 2)))


@st.composite
def histories(draw: st.DrawFn, currency: str = "CNY", max_size: int = 40) -> list[Event]:
    """Time-ordered candidate events; some will be refused by the rules, which is the point."""
    n = draw(st.integers(min_value=0, max_value=max_size))
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    out: list[Event] = []
    for _ in range(n):
        at += dt.timedelta(minutes=draw(st.integers(min_value=0, max_value=60 * 24 * 30)))
        kind = draw(st.sampled_from(_DRAWN))
        if kind in _KINDS:
            fields = _KINDS[kind](draw, at.date())
        else:  # a type with no hand-written fields here: drawn from its annotations
            fields = draw(_fields_of(EVENT_TYPES[kind], currency, at))
        try:
            event = parse_event({"type": kind, "at": at.isoformat(), **fields}, currency=currency)
        except ValidationError:
            reject()  # drawn from annotations, it may break a rule between fields
        out.append(event)
    return out


CALENDAR_YEARS = (2020, 2035)
"""The years the calendar properties draw dates from."""


def calendar_dates(weekend: bool | None = None) -> st.SearchStrategy[dt.date]:
    """Dates in ``CALENDAR_YEARS``; only Saturdays and Sundays with ``weekend=True``."""
    first, last = CALENDAR_YEARS
    dates = st.dates(dt.date(first, 1, 1), dt.date(last, 12, 31))
    return dates.filter(lambda d: d.weekday() >= 5) if weekend else dates


@st.composite
def calendar_rules(draw: st.DrawFn) -> CalendarRules:
    """A calendar with a few dates added, removed and made working days.

    ``known_through`` stays within the years the package knows for every calendar.
    """
    working = draw(st.frozensets(calendar_dates(weekend=True), max_size=6))
    remove = draw(st.frozensets(calendar_dates(), max_size=6))
    add = draw(
        st.dictionaries(
            calendar_dates().filter(lambda d: d not in working and d not in remove),
            st.sampled_from(["Company closure", "Local holiday"]),
            max_size=6,
        )
    )
    return CalendarRules(
        name=draw(st.sampled_from(CALENDARS)),
        known_through=draw(st.integers(2020, 2026)),
        add=add,
        remove=remove,
        working=working,
        citation="a lender's own calendar",
    )
