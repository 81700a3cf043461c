"""Hypothesis strategies shared by the tests: loans, borrowers and event histories."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from staged_collection import Borrower, Event, Loan, parse_event

ZONES = (
    "Asia/Shanghai",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Havana",
    "Pacific/Chatham",
    "Asia/Kolkata",
)
CURRENCIES = {"cn": "CNY", "us": "USD", "uk": "GBP"}
START = dt.date(2026, 1, 1)


@st.composite
def loans(draw: st.DrawFn, currency: str = "CNY") -> Loan:
    n = draw(st.integers(min_value=1, max_value=8))
    gaps = draw(st.lists(st.integers(min_value=14, max_value=40), min_size=n, max_size=n))
    cents = draw(st.lists(st.integers(min_value=100, max_value=500_000), min_size=n, max_size=n))
    dues, day = [], START
    for gap in gaps:
        day += dt.timedelta(days=gap)
        dues.append(day)
    total = sum(cents)
    return Loan.model_validate(
        {
            "id": draw(st.sampled_from(["L1", "L2", "loan-9"])),
            "currency": currency,
            "principal": str(Decimal(total) / 100),
            "opened": START,
            "installments": [
                {"due": d, "amount": str(Decimal(c) / 100)}
                for d, c in zip(dues, cents, strict=True)
            ],
        }
    )


@st.composite
def borrowers(draw: st.DrawFn) -> Borrower:
    zones = draw(st.lists(st.sampled_from(ZONES), min_size=1, max_size=3, unique=True))
    return Borrower(id="B1", timezones=tuple(zones), phones=("+8613800000000", "+14155550100"))


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
_DRAWN = sorted(kind for kind in _KINDS for _ in range(_WEIGHTS.get(kind, 2)))


@st.composite
def histories(draw: st.DrawFn, currency: str = "CNY", max_size: int = 40) -> list[Event]:
    """Time-ordered candidate events; some will be refused by the rules, which is the point."""
    n = draw(st.integers(min_value=0, max_value=max_size))
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    out: list[Event] = []
    for _ in range(n):
        at += dt.timedelta(minutes=draw(st.integers(min_value=0, max_value=60 * 24 * 30)))
        kind = draw(st.sampled_from(_DRAWN))
        fields = _KINDS[kind](draw, at.date())
        out.append(parse_event({"type": kind, "at": at.isoformat(), **fields}, currency=currency))
    return out
