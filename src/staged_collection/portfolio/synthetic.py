"""A synthetic book: borrowers, loans and their histories, generated day by day through the engine.

Every action and contact in a history was judged by the engine when it was
generated (with the borrower's other cases, so per-debtor caps count across
loans): refused ones are dropped, except a few contacts recorded as breaches,
as a real book has them. Each borrower's random stream depends only on the
seed and the borrower's index, so a book is the same whatever slice of it is
generated. For tests, benchmarks and trying the sweep; not a model of any
real portfolio.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from staged_collection.borrower import Borrower
from staged_collection.case import Case
from staged_collection.engine import Engine
from staged_collection.events import Event, parse_event
from staged_collection.loan import Loan
from staged_collection.policy import Policy
from staged_collection.portfolio.book import BookCase, pseudonym
from staged_collection.terms import LADDER, BureauStatus, Stage

__all__ = ["END", "synthetic_book"]

END = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
"""The default end of a synthetic book's histories (every event is before it)."""

_CURRENCY = {"CN": "CNY", "US": "USD", "GB": "GBP"}
_ZONES = {
    "CN": (("Asia/Shanghai", 80), ("Asia/Urumqi", 10), ("Asia/Hong_Kong", 10)),
    "US": (
        ("America/New_York", 40),
        ("America/Chicago", 25),
        ("America/Denver", 10),
        ("America/Los_Angeles", 20),
        ("Pacific/Honolulu", 5),
    ),
    "GB": (("Europe/London", 90), ("Europe/Dublin", 10)),
}
_BUREAU_NOTICE = {"CN": "pre_reporting", "US": "validation", "GB": "default"}
_DEMAND = {"CN": "formal_demand", "GB": "arrears", "US": "reminder"}
# profile: (share, odds a call connects, keeps a promise, pays late by up to N days, or never)
_PROFILES: dict[str, tuple[int, float, float, int | None]] = {
    "good": (25, 0.6, 0.9, 4),
    "late": (30, 0.45, 0.6, 60),
    "struggling": (30, 0.3, 0.35, 120),
    "gone": (15, 0.05, 0.1, None),
}
_CHANNELS = (
    ("call", 48),
    ("sms", 18),
    ("ai_voice", 12),
    ("email", 6),
    ("app_push", 6),
    ("letter", 5),
    ("field_visit", 2),
)
_KEY = b"synthetic book"
_CENT = Decimal("0.01")


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([w[0] for w in weighted], weights=[w[1] for w in weighted])[0]


@dataclass
class _Sim:
    """One loan being generated."""

    loan: Loan
    zone: ZoneInfo
    case: Case
    end: dt.datetime  # every event is before it
    events: list[Event] = field(default_factory=list)
    pays: dict[dt.date, Decimal] = field(default_factory=dict)
    dispute_ends: dt.date | None = None


def synthetic_book(
    borrowers: int,
    *,
    policy: Policy | str | Path = "cn",
    seed: int = 7,
    end: dt.datetime = END,
    days: int = 90,
    second_loan: float = 0.25,
    first: int = 0,
) -> Iterator[BookCase]:
    """The cases of ``borrowers`` borrowers (numbered from ``first``), a quarter with two loans.

    Histories run for ``days`` local days before ``end``; payments due earlier
    are in the history too.
    """
    engine = Engine(policy)
    for i in range(first, first + borrowers):
        yield from _borrower_cases(engine, i, seed, end, days, second_loan)


def _borrower_cases(
    engine: Engine, i: int, seed: int, end: dt.datetime, days: int, second_loan: float
) -> Iterator[BookCase]:
    rng = random.Random(seed * 1_000_003 + i)
    jurisdiction = engine.policy.jurisdiction
    zones = _ZONES.get(jurisdiction, _ZONES["CN"])
    zone_name = _pick(rng, zones)
    phones = (pseudonym(f"phone {i}", _KEY), pseudonym(f"phone {i} b", _KEY))
    work = (pseudonym(f"work {i}", _KEY),) if rng.random() < 0.2 else ()
    inconvenient = [{"start": "12:00", "end": "13:30"}] if rng.random() < 0.08 else []
    borrower = Borrower.model_validate(
        {
            "id": f"B{i:07d}",
            "timezones": [zone_name],
            "phones": phones,
            "work_phones": work,
            "inconvenient": inconvenient,
        }
    )
    profile = _pick(rng, tuple((name, p[0]) for name, p in _PROFILES.items()))
    zone = ZoneInfo(zone_name)
    last_day = (end - dt.timedelta(microseconds=1)).astimezone(zone).date()
    start = last_day - dt.timedelta(days=days - 1)
    n_loans = 2 if rng.random() < second_loan else 1
    sims = [
        _open(engine, rng, borrower, f"L{i:07d}-{k}", profile, zone, start, end)
        for k in range(n_loans)
    ]
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        for sim in sims:
            others = [s.case for s in sims if s is not sim]
            _day(engine, rng, sim, others, profile, day, jurisdiction, phones)
    for sim in sims:
        yield BookCase(loan=sim.loan, borrower=borrower, events=tuple(sim.events))


def _open(
    engine: Engine,
    rng: random.Random,
    borrower: Borrower,
    loan_id: str,
    profile: str,
    zone: ZoneInfo,
    start: dt.date,
    end: dt.datetime,
) -> _Sim:
    currency = _CURRENCY.get(engine.policy.jurisdiction, "CNY")
    months = rng.choice((3, 6, 6, 9, 12, 12, 24))
    per = Decimal(rng.randrange(200, 3000)) * 10
    opened = start - dt.timedelta(days=rng.randrange(40, 300))
    dues = []
    for m in range(months):
        month = opened.month + m  # the first instalment falls a month after opening
        dues.append(dt.date(opened.year + month // 12, month % 12 + 1, 1))
    loan = Loan.model_validate(
        {
            "id": loan_id,
            "currency": currency,
            "principal": str(per * months),
            "opened": opened,
            "installments": [{"due": d, "amount": str(per)} for d in dues],
        }
    )
    sim = _Sim(loan, zone, engine.open_case(loan, borrower), end)
    late_by = _PROFILES[profile][3]
    for due in dues:
        if late_by is None or (profile == "struggling" and rng.random() < 0.4):
            continue  # unpaid unless the borrower is talked round
        when = due + dt.timedelta(days=rng.randint(-3, late_by))
        sim.pays[when] = sim.pays.get(when, Decimal(0)) + per
    for day in sorted(d for d in sim.pays if d < start):
        _record(engine, sim, _event(sim, "payment", day, 23, 30, amount=str(sim.pays.pop(day))))
    return sim


def _at(sim: _Sim, day: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=sim.zone).astimezone(
        dt.UTC
    )


def _event(sim: _Sim, type_: str, day: dt.date, hour: int, minute: int, **fields: Any) -> Event:
    data = {"type": type_, "at": _at(sim, day, hour, minute), **fields}
    return parse_event(data, currency=sim.loan.currency)


def _record(
    engine: Engine,
    sim: _Sim,
    event: Event,
    others: list[Case] | None = None,
    *,
    breach: bool = False,
) -> bool:
    """Apply ``event`` if the rules allow it (or record a refused contact as a breach)."""
    if sim.case.stage.terminal or event.at >= sim.end:
        return False
    outcome = engine.decide(sim.case, event, breach=breach, others=others or ())
    if outcome.recorded:
        sim.case = outcome.case
        sim.events.append(event)
    return outcome.recorded


def _day(
    engine: Engine,
    rng: random.Random,
    sim: _Sim,
    others: list[Case],
    profile: str,
    day: dt.date,
    jurisdiction: str,
    phones: tuple[str, ...],
) -> None:
    if sim.case.stage.terminal:
        return
    state = engine.state(sim.case, at=_at(sim, day, 7, 0))
    stage, dpd = state.stage, state.dpd
    plan: list[tuple[int, int, str, dict[str, Any]]] = []  # hour, minute, type, fields
    _borrower_events(rng, sim, day, jurisdiction, stage, plan)
    if state.overdue.amount > 0:
        _lender_events(rng, sim, stage, dpd, jurisdiction, day, plan)
        _contacts(rng, profile, stage, jurisdiction, phones, plan)
    if day in sim.pays:
        plan.append((23, 30, "payment", {"amount": str(sim.pays.pop(day))}))
    for hour, minute, kind, fields in sorted(plan, key=lambda p: (p[0], p[1])):
        breach = bool(fields.pop("_breach", False))
        event = _event(sim, kind, day, hour, minute, **fields)
        recorded = _record(engine, sim, event, others, breach=breach)
        if recorded and kind == "contact" and fields["outcome"] == "conversation":
            _after_talk(engine, rng, sim, profile, day, hour, minute)


def _borrower_events(
    rng: random.Random,
    sim: _Sim,
    day: dt.date,
    jurisdiction: str,
    stage: Stage,
    plan: list[tuple[int, int, str, dict[str, Any]]],
) -> None:
    if sim.dispute_ends == day:
        plan.append((8, 1, "dispute_resolved", {}))
        sim.dispute_ends = None
    elif sim.dispute_ends is None and stage in LADDER[1:] and rng.random() < 0.004:
        plan.append((8, 1, "dispute", {}))
        sim.dispute_ends = day + dt.timedelta(days=rng.randint(5, 20))
    roll = rng.random()
    if roll < 0.0015:
        until = day + dt.timedelta(days=rng.randint(7, 40))
        plan.append((8, 2, "hold", {"kind": "hardship", "until": until}))
    elif roll < 0.002:
        channels = rng.choice([[], ["call"], ["sms", "email"], ["ai_voice"]])
        plan.append((8, 3, "cease", {"channels": channels}))
    elif roll < 0.003:
        plan.append((8, 4, "preference", {"inconvenient": [{"start": "18:00", "end": "20:00"}]}))
    elif roll < 0.004 and jurisdiction == "US":
        until = _at(sim, day, 8, 5) + dt.timedelta(days=rng.randint(1, 10))
        plan.append((8, 5, "consent", {"channel": "call", "until": until}))
    elif roll < 0.0045 and jurisdiction == "US":
        plan.append((8, 6, "attorney", {}))


def _lender_events(
    rng: random.Random,
    sim: _Sim,
    stage: Stage,
    dpd: int,
    jurisdiction: str,
    day: dt.date,
    plan: list[tuple[int, int, str, dict[str, Any]]],
) -> None:
    kinds = {n.kind for n in sim.case.all_notices()}
    notice = _BUREAU_NOTICE.get(jurisdiction, "pre_reporting")
    if dpd >= 8 and notice not in kinds and rng.random() < 0.3:
        remedy = day + dt.timedelta(days=rng.choice((10, 16, 20))) if notice == "default" else None
        delivered = rng.random() < 0.95
        plan.append(
            (8, 30, "notice", {"kind": notice, "remedy_date": remedy, "delivered": delivered})
        )
    demand = _DEMAND.get(jurisdiction, "formal_demand")
    if stage is Stage.NEGOTIATION and dpd >= 45 and demand not in kinds and rng.random() < 0.3:
        plan.append((8, 45, "notice", {"kind": demand}))
    if sim.case.bureau is not BureauStatus.REPORTED and dpd >= 20 and rng.random() < 0.1:
        plan.append((9, 5, "report", {}))
    if stage in (Stage.REMINDER, Stage.NEGOTIATION) and dpd >= 28 and rng.random() < 0.35:
        target = "negotiation" if stage is Stage.REMINDER else "formal"
        plan.append((9, 10, "escalate", {"to": target}))
    if stage is Stage.FORMAL and dpd >= 85 and rng.random() < 0.2:
        evaluated = day - dt.timedelta(days=rng.choice((30, 90, 200, 400)))
        agency = f"agency-{rng.randint(1, 3)}"
        plan.append((9, 15, "refer", {"agency": agency, "evaluated_on": evaluated}))
    if stage in (Stage.FORMAL, Stage.THIRD_PARTY) and dpd >= 100 and rng.random() < 0.01:
        plan.append((9, 20, "forbearance_assessed", {}))
        plan.append((9, 25, "legal_action", {}))
    if stage is Stage.FORMAL and rng.random() < 0.02:
        visit = _at(sim, day + dt.timedelta(days=1), 10, 0)
        plan.append((9, 30, "appointment", {"visit_at": visit}))
    if dpd >= 170 and rng.random() < 0.04:
        plan.append((9, 35, "write_off", {}))


def _contacts(
    rng: random.Random,
    profile: str,
    stage: Stage,
    jurisdiction: str,
    phones: tuple[str, ...],
    plan: list[tuple[int, int, str, dict[str, Any]]],
) -> None:
    talk = _PROFILES[profile][1]
    for _ in range(rng.choice((0, 1, 1, 2, 3, 4))):
        channel = _pick(rng, _CHANNELS)
        hour, minute = rng.randint(7, 22), rng.choice((0, 10, 20, 30, 40, 50))
        fields: dict[str, Any] = {"channel": channel, "number": rng.choice(phones)}
        if channel in ("call", "ai_voice"):
            fields["outcome"] = (
                "conversation"
                if rng.random() < talk
                else rng.choice(("no_answer", "no_answer", "voicemail", "busy", "not_in_service"))
            )
        else:
            fields["outcome"] = "delivered" if rng.random() < 0.95 else "undeliverable"
        if channel == "field_visit":
            hour, minute = 10, 0
            fields["collectors"] = 2
        if rng.random() < 0.06:
            fields["initiated_by"] = "borrower"
        if stage is Stage.THIRD_PARTY and rng.random() < 0.7:
            fields["placed_by"] = f"agency-{rng.randint(1, 3)}"
        if rng.random() < 0.03:
            fields.update(
                recipient="third_party",
                relation="emergency_contact",
                purpose="location" if jurisdiction == "US" else "relay",
                number=pseudonym(f"contact {rng.random()}", _KEY),
            )
        fields["_breach"] = rng.random() < 0.05
        plan.append((hour, minute, "contact", fields))


def _after_talk(
    engine: Engine,
    rng: random.Random,
    sim: _Sim,
    profile: str,
    day: dt.date,
    hour: int,
    minute: int,
) -> None:
    """A conversation may end in a promise to pay, kept or not, or (rarely) a plan."""
    if rng.random() > 0.3:
        return
    owed = engine.state(sim.case, at=_at(sim, day, hour, minute)).overdue.amount
    if owed <= 0:
        return
    due = day + dt.timedelta(days=rng.randint(2, 10))
    if rng.random() < 0.15:
        installments = [
            {"due": due + dt.timedelta(days=30 * k), "amount": str((owed / 2).quantize(_CENT))}
            for k in range(2)
        ]
        _record(
            engine,
            sim,
            _event(sim, "plan", day, hour, minute, kind="instalments", installments=installments),
        )
        return
    _record(engine, sim, _event(sim, "promise", day, hour, minute, amount=str(owed), due=due))
    if rng.random() < _PROFILES[profile][2]:
        when = due - dt.timedelta(days=rng.randint(0, 2))
        sim.pays[when] = sim.pays.get(when, Decimal(0)) + owed
