"""Hypothesis strategies for the library's models, consistent with each other.

Every strategy builds valid objects the way a lender's backend would (from
JSON-like data, through validation), so a test that draws them exercises the
same paths as production.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import Enum
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo

from hypothesis import strategies as st
from pydantic import AwareDatetime, BaseModel

from staged_collection._iso4217 import MINOR_UNITS
from staged_collection.actions import ContactAttempt
from staged_collection.borrower import Borrower, PhoneNumber, TimeZoneName
from staged_collection.events import EVENT_TYPES, Event, parse_event
from staged_collection.loan import Installment, Loan
from staged_collection.money import Money
from staged_collection.policy import PRESETS, Policy, load_policy
from staged_collection.terms import Channel, HoldKind, NoticeKind, Outcome

__all__ = [
    "DST_ZONES",
    "borrowers",
    "contact_attempts",
    "edge_instants",
    "events",
    "histories",
    "installment_schedules",
    "loans",
    "money",
    "policies",
]

DST_ZONES: tuple[str, ...] = (
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Dublin",  # negative DST in the tz database
    "Australia/Lord_Howe",  # a 30-minute shift
    "America/Havana",  # changes at midnight
    "America/Santiago",  # falls back across midnight
    "Pacific/Chatham",  # +12:45 / +13:45
)
"""Zones whose clocks change, some in awkward ways: where local-time bugs hide."""

_STEADY_ZONES = ("Asia/Shanghai", "Asia/Kolkata", "Asia/Tokyo", "America/Phoenix", "Africa/Abidjan")
_START = dt.date(2026, 1, 1)
# From the vocabulary itself, so that a new channel or outcome is drawn without a change here.
_CHANNELS = tuple(c.value for c in Channel)
_OUTCOMES = tuple(o.value for o in Outcome)


def money(
    currency: str = "CNY", *, min_value: int = 1, max_value: int = 10_000_000
) -> st.SearchStrategy[Money]:
    """Positive amounts in ``currency``, in its minor units (``min_value`` and up)."""
    places = MINOR_UNITS[currency]
    return st.integers(min_value=min_value, max_value=max_value).map(
        lambda units: Money(amount=Decimal(units).scaleb(-places), currency=currency)
    )


@st.composite
def installment_schedules(
    draw: st.DrawFn,
    currency: str = "CNY",
    *,
    first_due: dt.date = _START,
    max_size: int = 12,
) -> tuple[Installment, ...]:
    """A schedule: increasing due dates from ``first_due``, positive amounts."""
    n = draw(st.integers(min_value=1, max_value=max_size))
    gaps = draw(st.lists(st.integers(min_value=1, max_value=45), min_size=n, max_size=n))
    amounts = draw(
        st.lists(money(currency, min_value=100, max_value=500_000), min_size=n, max_size=n)
    )
    due = first_due - dt.timedelta(days=gaps[0])
    out = []
    for gap, amount in zip(gaps, amounts, strict=True):
        due += dt.timedelta(days=gap)
        out.append(Installment(due=due, amount=amount))
    return tuple(out)


@st.composite
def loans(
    draw: st.DrawFn,
    currency: str = "CNY",
    *,
    first_due: dt.date = _START,
    max_installments: int = 12,
) -> Loan:
    """A loan in ``currency`` opened before its first instalment."""
    schedule = draw(installment_schedules(currency, first_due=first_due, max_size=max_installments))
    total = sum((i.amount.amount for i in schedule), Decimal(0))
    opened = schedule[0].due - dt.timedelta(days=draw(st.integers(min_value=0, max_value=60)))
    return Loan.model_validate(
        {
            "id": draw(st.from_regex(r"[A-Z][A-Z0-9\-]{0,11}", fullmatch=True)),
            "currency": currency,
            "principal": f"{total} {currency}",
            "opened": opened,
            "installments": [i.model_dump() for i in schedule],
        }
    )


@st.composite
def borrowers(
    draw: st.DrawFn, *, zones: tuple[str, ...] | None = None, max_zones: int = 2, dst: bool = True
) -> Borrower:
    """A borrower in one or several zones (with DST by default), with phones and, sometimes,
    stated inconvenient times and a work phone."""
    pool = zones or ((*DST_ZONES, *_STEADY_ZONES) if dst else _STEADY_ZONES)
    chosen = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=max_zones, unique=True))
    ranges = draw(
        st.lists(
            st.sampled_from([("12:00", "14:00"), ("20:00", "09:00"), ("08:00", "08:30")]),
            max_size=1,
        )
    )
    return Borrower.model_validate(
        {
            "id": draw(st.from_regex(r"B[0-9]{1,6}", fullmatch=True)),
            "timezones": chosen,
            "phones": ["+8613800000000", "+14155550100"],
            "work_phones": draw(st.sampled_from([[], ["+14155550199"]])),
            "inconvenient": [{"start": a, "end": b} for a, b in ranges],
        }
    )


@st.composite
def edge_instants(
    draw: st.DrawFn,
    zones: tuple[str, ...] = DST_ZONES,
    *,
    walls: tuple[str, ...] = ("08:00", "21:00", "22:00", "00:00", "02:00", "02:30"),
    days: tuple[dt.date, ...] = (
        dt.date(2026, 3, 8),
        dt.date(2026, 3, 29),
        dt.date(2026, 4, 5),
        dt.date(2026, 9, 27),
        dt.date(2026, 10, 4),
        dt.date(2026, 10, 25),
        dt.date(2026, 11, 1),
        dt.date(2026, 6, 15),
    ),
) -> dt.datetime:
    """An aware UTC instant a second, a minute or an hour around a local wall time (a window
    edge, midnight, the hours clocks change at), often on a day the clocks change."""
    zone = ZoneInfo(draw(st.sampled_from(zones)))
    day = draw(st.sampled_from(days))
    wall = dt.time.fromisoformat(draw(st.sampled_from(walls)))
    nudge = draw(st.sampled_from([0, 0, 0, -1, 1, -60, 60, -3600, 3600]))
    naive = dt.datetime.combine(day, wall) + dt.timedelta(seconds=nudge)
    fold = draw(st.sampled_from([0, 1]))
    return naive.replace(tzinfo=zone, fold=fold).astimezone(dt.UTC)


def _contact_fields(draw: st.DrawFn, phones: tuple[str, ...]) -> dict[str, Any]:
    third = draw(st.integers(0, 5)) == 0
    channel = draw(st.sampled_from(_CHANNELS))
    return {
        "channel": channel,
        "recipient": "third_party" if third else "borrower",
        "relation": draw(st.sampled_from(["emergency_contact", "spouse", "neighbour"]))
        if third
        else None,
        "number": draw(st.sampled_from([*phones, "+8613900000000"])) if phones else None,
        "purpose": draw(st.sampled_from(["location", "relay", "collection"]))
        if third
        else "collection",
        "initiated_by": draw(st.sampled_from(["collector"] * 6 + ["borrower"])),
        "placed_by": draw(st.sampled_from(["lender"] * 5 + ["agency-1"])),
        "at_work": draw(st.integers(0, 9)) == 0,
        "collectors": draw(st.integers(1, 3)) if channel == "field_visit" else 1,
    }


@st.composite
def contact_attempts(
    draw: st.DrawFn, phones: tuple[str, ...] = ("+8613800000000",)
) -> ContactAttempt:
    """A contact a collector might try: mostly calls and messages to the borrower."""
    return ContactAttempt.model_validate(_contact_fields(draw, phones))


_EVENT_KINDS = tuple(EVENT_TYPES)  # every type of the ``Event`` union, and nothing by hand
_HOLD_KINDS = tuple(k.value for k in HoldKind if k is not HoldKind.DISPUTE)
_NOTICE_KINDS = tuple(k.value for k in NoticeKind)


@st.composite
def events(draw: st.DrawFn, loan: Loan, at: dt.datetime, kind: str | None = None) -> Event:
    """One event of any type (or of ``kind``) at ``at``, consistent with ``loan``."""
    kind = kind or draw(st.sampled_from(_EVENT_KINDS))
    day = at.date()
    cur = loan.currency

    def amount(hi: int) -> str:
        return str(draw(money(cur, max_value=hi)).amount)

    fields: dict[str, Any] = {}
    if kind == "payment":
        fields = {"amount": amount(int(loan.total_due.amount * 100))}
    elif kind == "contact":
        fields = _contact_fields(draw, ("+8613800000000",))
        fields["outcome"] = draw(st.sampled_from(_OUTCOMES))
    elif kind == "promise":
        fields = {
            "amount": amount(500_000),
            "due": day + dt.timedelta(days=draw(st.integers(0, 20))),
        }
    elif kind == "plan":
        n = draw(st.integers(0, 3))
        fields = {
            "kind": draw(st.sampled_from(["instalments", "extension", "relief"])),
            "installments": [
                {"due": day + dt.timedelta(days=15 * (i + 1)), "amount": amount(100_000)}
                for i in range(n)
            ],
        }
    elif kind == "notice":
        fields = {
            "kind": draw(st.sampled_from(_NOTICE_KINDS)),
            "delivered": draw(st.sampled_from([True, True, True, False])),
            "remedy_date": day + dt.timedelta(days=draw(st.integers(0, 30))),
            "method": draw(st.sampled_from([None, None, "post", "hand", "electronic"])),
        }
        if draw(st.integers(0, 5)) == 0:
            fields["served_on"] = day + dt.timedelta(days=draw(st.integers(0, 4)))
    elif kind == "undeliverable":
        fields = {"kind": draw(st.sampled_from(["pre_reporting", "validation", "formal_demand"]))}
    elif kind in ("hold", "hold_lifted"):
        fields = {"kind": draw(st.sampled_from(_HOLD_KINDS))}
        if kind == "hold" and draw(st.booleans()):
            fields["until"] = day + dt.timedelta(days=draw(st.integers(0, 30)))
    elif kind == "cease":
        fields = {"channels": draw(st.lists(st.sampled_from(_CHANNELS), max_size=2, unique=True))}
        if draw(st.integers(0, 3)) == 0:  # a third party asks to stop
            fields["recipient"] = "third_party"
            fields["relation"] = draw(st.sampled_from(["emergency_contact", "spouse", "neighbour"]))
    elif kind == "preference":
        fields = {
            "no_work_contact": draw(st.none() | st.booleans()),
            "inconvenient": draw(st.none() | st.just([{"start": "12:00", "end": "13:00"}])),
        }
    elif kind == "consent":
        until = at + dt.timedelta(hours=draw(st.integers(1, 24 * 10)))
        fields = {"channel": draw(st.sampled_from(["call", "ai_voice", "sms"])), "until": until}
    elif kind == "appointment":
        fields = {"visit_at": at + dt.timedelta(hours=draw(st.integers(1, 24 * 5)))}
    elif kind == "escalate":
        fields = {"to": draw(st.sampled_from(["negotiation", "formal"]))}
    elif kind == "refer":
        fields = {
            "agency": draw(st.sampled_from(["agency-1", "agency-2"])),
            "evaluated_on": day - dt.timedelta(days=draw(st.integers(0, 500))),
        }
    elif kind == "settle":
        fields = {"amount": amount(500_000)}
    elif kind not in _PLAIN:
        fields = draw(_fields_of(EVENT_TYPES[kind], cur, at))
    return parse_event({"type": kind, "at": at, **fields}, currency=cur)


# Types whose only fields are ``at`` and ``type`` (and those drawn above by hand).
_PLAIN = frozenset(
    name
    for name, model in EVENT_TYPES.items()
    if set(model.model_fields) <= {"type", "at", "recorded_at"}
)


def _fields_of(
    model: type[BaseModel], currency: str, at: dt.datetime
) -> st.SearchStrategy[dict[str, Any]]:
    """Any event type's fields, drawn from their annotations: a new event type is drawn
    without a change here (its hand-written strategy, if any, only makes it likelier to
    be accepted)."""
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in model.model_fields.items():
        if name in ("type", "at", "recorded_at"):
            continue
        value = _value_of(info.annotation, currency, at)
        if not info.is_required():
            value = st.none() | value if info.default is None else value
        parts[name] = value
    return st.fixed_dictionaries(parts)


def _value_of(annotation: Any, currency: str, at: dt.datetime) -> st.SearchStrategy[Any]:
    if annotation == TimeZoneName:
        return st.sampled_from((*DST_ZONES[:3], *_STEADY_ZONES[:2]))
    if annotation == PhoneNumber:
        return st.just("+8613800000000")
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _value_of(args[0], currency, at)
    if origin in (Union, UnionType):
        return st.one_of(*(_value_of(a, currency, at) for a in args if a is not type(None)))
    if origin is Literal:
        return st.sampled_from([getattr(a, "value", a) for a in args])
    if origin is tuple:
        return st.lists(_value_of(args[0], currency, at), max_size=2).map(tuple)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return st.sampled_from([m.value for m in annotation])
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.integers(1, 5)
    if annotation is str:
        return st.sampled_from(["agency-1", "x"])
    if annotation is dt.date:
        return st.integers(0, 30).map(lambda d: at.date() + dt.timedelta(days=d))
    if annotation is dt.time:
        return st.integers(0, 24 * 4 - 1).map(lambda q: dt.time(q // 4, 15 * (q % 4)))
    if annotation in (dt.datetime, AwareDatetime):
        return st.integers(1, 24 * 10).map(lambda h: at + dt.timedelta(hours=h))
    if annotation is Money:
        return money(currency, max_value=100_000).map(lambda m: str(m.amount))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _fields_of(annotation, currency, at)
    return st.nothing()  # an annotation this strategy cannot draw: say so by drawing none


@st.composite
def histories(
    draw: st.DrawFn, loan: Loan, *, start: dt.datetime | None = None, max_size: int = 30
) -> list[Event]:
    """Time-ordered events for ``loan`` from ``start`` (default: the day it opened).

    Candidates, not verdicts: some will be refused by the rules when applied.
    """
    at = start or dt.datetime.combine(loan.opened, dt.time(9), tzinfo=dt.UTC)
    out: list[Event] = []
    for _ in range(draw(st.integers(min_value=0, max_value=max_size))):
        at += dt.timedelta(minutes=draw(st.integers(min_value=0, max_value=60 * 24 * 15)))
        out.append(draw(events(loan, at)))
    return out


@st.composite
def policies(draw: st.DrawFn, presets: tuple[str, ...] = PRESETS) -> Policy:
    """A preset with its figures varied within sane ranges: thresholds, windows, caps, waits;
    and, half the time, a lender's own rules (a weekday's window, a minimum gap, a cap per
    calendar week, rest days for letters), some of them starting or ending on a date."""
    base = load_policy(draw(st.sampled_from(presets)))
    data = base.model_dump(mode="json")
    data["name"] = f"{base.name}-varied"
    ladder = data["ladder"]
    negotiation = draw(st.integers(15, 45))
    formal = negotiation + draw(st.integers(15, 45))
    third = formal + draw(st.integers(15, 45))
    ladder["negotiation"]["min_dpd"] = negotiation
    ladder["formal"]["min_dpd"] = formal
    ladder["third_party"]["min_dpd"] = third
    ladder["write_off"]["min_dpd"] = third + draw(st.integers(30, 120))
    ladder["skip_allowed"] = draw(st.booleans())
    start = draw(st.integers(6, 10))
    end = draw(st.integers(19, 23))
    for window in data["contact"]["quiet_hours"]["windows"].values():
        window["start"], window["end"] = f"{start:02d}:00", f"{end:02d}:00"
    for counter in data["contact"]["counters"]:
        counter["limit"] = draw(st.integers(1, 10))
    if data["contact"]["cooldown"] is not None:
        data["contact"]["cooldown"]["days"] = draw(st.integers(1, 10))
    if data["bureau"]["notice"] is not None:
        data["bureau"]["notice"]["wait_days"] = draw(st.integers(0, 30))
    data["bureau"]["min_dpd"]["days"] = draw(st.integers(1, 60))
    if draw(st.booleans()):
        _lenders_own_rules(draw, data["contact"], start, end)
    return Policy.model_validate(data)


_SOME_DAYS = tuple(dt.date(2026, m, d) for m in (1, 2, 3, 4, 6, 10) for d in (1, 15, 30) if d < 29)


def _dates(draw: st.DrawFn) -> dict[str, str]:
    """Sometimes a start, sometimes an end (local dates in the home zone), often neither."""
    first, last = sorted(draw(st.lists(st.sampled_from(_SOME_DAYS), min_size=2, max_size=2)))
    which = draw(st.sampled_from(["", "", "from", "to", "both"]))
    out = {}
    if which in ("from", "both"):
        out["effective_from"] = first.isoformat()
    if which in ("to", "both"):
        out["effective_to"] = last.isoformat()
    return out


def _lenders_own_rules(draw: st.DrawFn, contact: dict[str, Any], start: int, end: int) -> None:
    """A lender's own rules added to a policy document: a window for a weekday, a minimum
    gap, a cap per calendar week and rest days for letters, each perhaps dated."""
    cite = "Lender collection manual (drawn)"
    day = draw(st.sampled_from(["saturday", "sunday", "monday", "friday"]))
    later = min(start + draw(st.integers(0, 3)), 12)
    window = {"start": f"{later:02d}:00", "end": f"{end - draw(st.integers(0, 3)):02d}:00"}
    contact["quiet_hours"]["weekdays"] = {
        day: {"call": {**window, "citation": cite, **_dates(draw)}}
    }
    contact["min_gaps"] = [
        {
            "name": "calls",
            "channels": ["call", "ai_voice"],
            "minutes": draw(st.sampled_from([30, 120, 240, 24 * 60])),
            "key": draw(st.sampled_from(["person_debt", "number", "debt", "debtor"])),
            "citation": cite,
            **_dates(draw),
        }
    ]
    contact["counters"] = [
        *contact["counters"],
        {
            "name": "weekly_calls",
            "key": "debtor",
            "window": "calendar_week",
            "channels": ["call", "ai_voice"],
            "outcomes": ["conversation", "no_answer", "voicemail", "busy"],
            "limit": draw(st.integers(2, 12)),
            "citation": cite,
            **_dates(draw),
        },
    ]
    if contact.get("rest_days") is None and draw(st.booleans()):
        contact["rest_days"] = {"weekdays": [7], "letters": True, "citation": cite, **_dates(draw)}
