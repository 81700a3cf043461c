"""``staged-collection demo``: a collections manager's mornings over a synthetic portfolio.

Borrowers in a few zones pay, promise, break promises, dispute, ask to stop.
Each simulated morning the chunk asks the sweep's questions
(``portfolio.answers.ask``) of every open case with something overdue and no
wait the strategy knows of: its state and duties, the verdict on every
escalation, and per channel the strategy dials when a contact is next
allowed. The strategy acts on the answers: it serves the notices the duties
and the next rung call for, escalates only where the verdict allows, and its
dialer places each planned attempt at ``Engine.next_allowed`` when that falls
on the same local day before its 21:00 cut-off, and skips it otherwise. A
small, labelled share of deliberate mistakes (calls dialled blind, referrals
naming an agency whose evaluation has lapsed) keeps the rules refusing
something. Every attempt and move goes through the engine at the instant it
happens, allowed or refused, and every decision is written to a JSON Lines
log. As the run ends the sweep answers once more for every case: the
report's stages, amounts and duties.

The portfolio is split into chunks run in worker processes; each loan's random
stream depends only on the seed and the loan's index, so the result does not
depend on the number of workers.

The portfolio persists: every event is recorded through the event store
(``staged_collection.store``, SQLite), which judges it as ``Engine.apply`` would and
keeps it with its decision; each chunk is one transaction, written when the chunk is
done, with the simulated instant as the store's clock. Without the store extra
(SQLAlchemy) the demo records through the engine alone and says it stored nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from staged_collection.actions import (
    ActionRequest,
    ContactAttempt,
    Escalate,
    LegalAction,
    Refer,
    WriteOff,
)
from staged_collection.actions import Report as ReportAction
from staged_collection.borrower import Borrower
from staged_collection.case import Case
from staged_collection.decision import Decision
from staged_collection.engine import Engine
from staged_collection.events import (
    Cease,
    Contact,
    Dispute,
    DisputeResolved,
    Escalated,
    Event,
    ForbearanceAssessed,
    Hold,
    LegalActionTaken,
    Notice,
    Payment,
    Promise,
    Referred,
    Reported,
    WrittenOff,
)
from staged_collection.loan import Loan
from staged_collection.money import Money
from staged_collection.policy import load_policy
from staged_collection.terms import LADDER, BureauStatus, Channel, Stage

if TYPE_CHECKING:
    from staged_collection.policy import NoticeRule
    from staged_collection.portfolio.answers import Contact as Reach
    from staged_collection.portfolio.answers import Plan, Verdict
    from staged_collection.state import CaseState, Duty
    from staged_collection.store import Transaction

__all__ = [
    "BLIND",
    "LATER",
    "NEVER",
    "STALE",
    "DemoConfig",
    "DemoResult",
    "Figures",
    "demo_command",
    "run_demo",
]

_CURRENCY = {"CN": "CNY", "US": "USD", "GB": "GBP"}
_ZONES = {
    "CN": [("Asia/Shanghai", 80), ("Asia/Urumqi", 8), ("Asia/Hong_Kong", 7), ("Asia/Tokyo", 5)],
    "US": [
        ("America/New_York", 40),
        ("America/Chicago", 25),
        ("America/Denver", 10),
        ("America/Phoenix", 5),
        ("America/Los_Angeles", 17),
        ("Pacific/Honolulu", 3),
    ],
    "GB": [("Europe/London", 90), ("Europe/Dublin", 6), ("Europe/Madrid", 4)],
}
_TWO_ZONES = 0.1  # the share of borrowers who may be in a second zone
# profile: (share, conversation odds, keeps a promise, pays late by up to N days or never)
_PROFILES = {
    "good": (0.62, 0.65, 0.9, 3),
    "late": (0.20, 0.45, 0.7, 40),
    "struggling": (0.12, 0.35, 0.4, 90),
    "gone": (0.06, 0.05, 0.1, None),
}


@dataclass(frozen=True)
class DemoConfig:
    loans: int = 10_000
    days: int = 120
    policy: str = "cn"
    seed: int = 7
    out: Path = Path("out/decisions.jsonl")
    workers: int = 2
    start: dt.date = dt.date(2026, 3, 1)
    store: Path | None = None  # default: collection.db beside ``out``
    chunk: int = 250  # loans per chunk: a worker's unit of work and one store transaction

    @property
    def store_path(self) -> Path:
        return self.store if self.store is not None else self.out.parent / "collection.db"

    @property
    def last_day(self) -> dt.date:
        return self.start + dt.timedelta(days=self.days - 1)


@dataclass
class Figures:
    """Cases in one stage as the run ends, and what they owe."""

    cases: int = 0
    balance: Decimal = Decimal(0)
    overdue: Decimal = Decimal(0)

    def merge(self, other: Figures) -> None:
        self.cases += other.cases
        self.balance += other.balance
        self.overdue += other.overdue


@dataclass
class ChunkResult:
    """What one chunk of loans did: counts, the weekly funnel, its part of the log."""

    decisions: int = 0
    contacts: Counter[str] = field(default_factory=Counter)  # "allowed" or a rule code
    moves: Counter[str] = field(default_factory=Counter)  # refused moves by code too
    # The deliberate mistakes made (by name), and the refusals among contacts and moves
    # that came of them (keyed as in ``contacts`` and ``moves``).
    mistakes: Counter[str] = field(default_factory=Counter)
    deliberate: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)  # planned attempts not placed
    refused: Counter[str] = field(default_factory=Counter)  # contacts and moves refused
    asked: int = 0  # the sweep's morning questions asked, one per case and morning
    events: Counter[str] = field(default_factory=Counter)
    funnel: dict[int, Counter[str]] = field(default_factory=dict)  # week -> stage -> cases
    currency: str = ""
    collected: Decimal = Decimal(0)  # paid during the run
    end: dict[str, Figures] = field(default_factory=dict)  # stage -> figures as the run ends
    duties: Counter[str] = field(default_factory=Counter)  # open as the run ends, by code
    duties_overdue: Counter[str] = field(default_factory=Counter)
    log: Path | None = None
    stored: Counter[str] = field(default_factory=Counter)  # streams, events, decision lines

    def merge(self, other: ChunkResult) -> None:
        self.decisions += other.decisions
        self.stored.update(other.stored)
        self.contacts.update(other.contacts)
        self.moves.update(other.moves)
        self.mistakes.update(other.mistakes)
        self.deliberate.update(other.deliberate)
        self.skipped.update(other.skipped)
        self.refused.update(other.refused)
        self.asked += other.asked
        self.events.update(other.events)
        for week, stages in other.funnel.items():
            self.funnel.setdefault(week, Counter()).update(stages)
        self.currency = self.currency or other.currency
        self.collected += other.collected
        for stage, figures in other.end.items():
            self.end.setdefault(stage, Figures()).merge(figures)
        self.duties.update(other.duties)
        self.duties_overdue.update(other.duties_overdue)


@dataclass
class DemoResult:
    config: DemoConfig
    fingerprint: str
    seconds: float
    totals: ChunkResult
    log: Path
    lines: int
    store: str | None = None  # the store's URL, or why nothing was stored
    stored: bool = False


# -- the portfolio ---------------------------------------------------------------------------


class _Clock:
    """The simulated instant: the store stamps it as when the lender learned of an event."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class _Books:
    """Where the demo records what happens to its cases: through a store transaction (the
    store judges each event as ``Engine.apply`` does), or the engine alone."""

    def __init__(
        self, engine: Engine, out: ChunkResult, tx: Transaction | None, clock: _Clock
    ) -> None:
        self.engine = engine
        self.out = out
        self.tx = tx
        self.clock = clock

    def open(self, loan: Loan, borrower: Borrower) -> Case:
        if self.tx is None:
            return self.engine.open_case(loan, borrower)
        self.out.stored["streams"] += 1
        return self.tx.open(loan, borrower)

    def apply(self, case: Case, event: Event) -> Case:
        if self.tx is None:
            return self.engine.apply(case, event)
        self.clock.now = event.at
        result = self.tx.append(case.loan.id, [event], expected_version=case.version)
        self.out.stored["events"] += 1
        self.out.stored["decision lines"] += len(result.decisions) + len(result.revisions)
        return result.case


@dataclass
class _Loan:
    rng: random.Random
    profile: str
    case: Case
    zone: ZoneInfo
    zone_name: str
    pays: dict[dt.date, Decimal]  # scheduled payments by local date
    dues: list[tuple[dt.date, Decimal]]
    due_dates: list[dt.date] = field(default_factory=list)
    due_totals: list[Decimal] = field(default_factory=list)  # running totals
    attempts: dict[tuple[str, str], ContactAttempt] = field(default_factory=dict)
    paid: Decimal = Decimal(0)
    last_talk: dt.date | None = None
    notices: set[str] = field(default_factory=set)
    dispute_ends: dt.date | None = None
    ceased: bool = False
    agency: str = ""
    waits: dt.date | None = None  # the last day of a wait the strategy knows of

    def wait(self, until: dt.date) -> None:
        if self.waits is None or until > self.waits:
            self.waits = until


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([w[0] for w in weighted], weights=[w[1] for w in weighted])[0]


def _local(day: dt.date, hour: int, minute: int, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def _make_loan(i: int, config: DemoConfig, books: _Books) -> _Loan:
    rng = random.Random(config.seed * 1_000_003 + i)
    engine = books.engine
    jurisdiction = engine.policy.jurisdiction
    currency = _CURRENCY.get(jurisdiction, "CNY")
    zones = _ZONES.get(jurisdiction, _ZONES["CN"])
    zone_name = _pick(rng, zones)
    profiles = [(name, int(p[0] * 100)) for name, p in _PROFILES.items()]
    profile = _pick(rng, profiles)
    months = rng.choice([3, 6, 6, 9, 12, 12])
    per = Decimal(rng.randrange(200, 3000)) * 10
    opened = config.start - dt.timedelta(days=rng.randrange(10, 240))
    first_due = opened + dt.timedelta(days=30)
    dues = []
    for m in range(months):
        month = first_due.month - 1 + m
        due = first_due.replace(year=first_due.year + month // 12, month=month % 12 + 1, day=1)
        dues.append((due, per))
    loan = Loan.model_validate(
        {
            "id": f"L{i:06d}",
            "currency": currency,
            "principal": str(per * months),
            "opened": opened,
            "installments": [{"due": d, "amount": str(a)} for d, a in dues],
        }
    )
    phones = (f"+86138{i:08d}",) if jurisdiction == "CN" else (f"+1415{i:07d}",)
    timezones: tuple[str, ...] = (zone_name,)
    if rng.random() < _TWO_ZONES:
        # A phone from elsewhere: contacts must fall inside the hours in both zones.
        timezones += (_pick(rng, [z for z in zones if z[0] != zone_name]),)
    borrower = Borrower(id=f"B{i:06d}", timezones=timezones, phones=phones)
    late_by = _PROFILES[profile][3]
    pays: dict[dt.date, Decimal] = {}
    for due, amount in dues:
        if late_by is None or (profile == "struggling" and rng.random() < 0.35):
            continue  # never paid unless the borrower is talked round
        when = due + dt.timedelta(days=rng.randint(-3, late_by))
        pays[when] = pays.get(when, Decimal(0)) + amount
    zone = ZoneInfo(zone_name)
    state = _Loan(rng, profile, books.open(loan, borrower), zone, zone_name, pays, dues)
    state.due_dates = [d for d, _ in dues]
    running = Decimal(0)
    for _, amount in dues:
        running += amount
        state.due_totals.append(running)
    # The history before the demo starts: the payments already made.
    for day in sorted(d for d in pays if d < config.start):
        _pay(books, state, day, pays.pop(day), None)
    return state


def _pay(books: _Books, s: _Loan, day: dt.date, amount: Decimal, out: ChunkResult | None) -> None:
    if s.case.stage.terminal:
        return
    before = s.case.stage
    # Late in the evening: after whatever else happens to the case that day.
    money = Money(amount=amount, currency=s.case.loan.currency)
    event = Payment(at=_local(day, 23, 30, s.zone), amount=money)
    s.case = books.apply(s.case, event)
    s.paid += amount
    if out is not None:
        out.collected += amount
        out.events["payments"] += 1
        if before in LADDER[1:] and s.case.stage is Stage.CURRENT:
            out.events["cures"] += 1
        if s.case.stage is Stage.RESOLVED:
            out.events["resolved"] += 1


def _overdue(s: _Loan, day: dt.date) -> bool:
    """The lender's own books: is anything due before ``day`` unpaid?"""
    k = bisect_left(s.due_dates, day)
    return bool(k) and s.paid < s.due_totals[k - 1]


# -- the strategy ----------------------------------------------------------------------------

# The channels the strategy dials in each stage (``_Run._contacts``): the morning's questions
# ask about these only. An overdue case still recorded as current is in reminder by then.
_DIALLED = {
    Stage.CURRENT: (Channel.CALL, Channel.SMS),
    Stage.REMINDER: (Channel.CALL, Channel.SMS),
    Stage.NEGOTIATION: (Channel.CALL,),
    Stage.FORMAL: (Channel.CALL, Channel.AI_VOICE),
    Stage.THIRD_PARTY: (Channel.CALL,),
}
# The dialer's day ends at 21:00 local: an attempt with no allowed instant before then
# waits for another day's plan.
_CUTOFF = dt.time(21, 0)
# The deliberate mistakes, so that the report still shows the rules refusing something:
# an agent who dials by hand at the planned slot (or late at night) instead of at the
# dialer's instant, and a referral naming an agency whose evaluation has lapsed.
BLIND = "dialled blind"
STALE = "stale agency evaluation"
# Why a planned attempt was not placed.
LATER = "not allowed before the cut-off"
NEVER = "never allowed, as far as the case knows"
_BLIND_SHARE = 0.03  # of planned calls and AI voice calls
_STALE_SHARE = 0.1  # of referrals
_DUTY_NOTICE = {"duty.validation_notice": "validation", "duty.arrears_notice": "arrears"}
_BUREAU_NOTICE = {"CN": "pre_reporting", "US": "validation", "GB": "default"}


class _Run:
    """One chunk of loans through every day of the demo: each morning the sweep's questions
    for every case with something overdue, and a strategy that acts on the answers."""

    def __init__(self, config: DemoConfig, books: _Books, out: ChunkResult, log: Any) -> None:
        from staged_collection.portfolio.answers import Plan

        self.config = config
        self.books = books
        engine = self.engine = books.engine
        self.out = out
        self.log = log
        self.plans: dict[tuple[Channel, ...], Plan] = {}
        # As the run ends the report needs states, duties and verdicts, not contacts.
        self.end_plan = Plan(engine, channels=())
        policy = engine.policy
        self.bureau_notice = _notice(policy.bureau.notice, _BUREAU_NOTICE.get(policy.jurisdiction))
        lad = policy.ladder
        # The notice each rung waits for, served a few days before its threshold.
        self.rung_notices = {
            Stage.REMINDER: (lad.negotiation.min_dpd, _notice(lad.negotiation.notice)),
            Stage.NEGOTIATION: (lad.formal.min_dpd, _notice(lad.formal.notice)),
            Stage.FORMAL: (lad.third_party.min_dpd, _notice(lad.third_party.notice)),
        }
        self.legal_notice = _notice(policy.legal.notice)

    def record(self, decision: Decision) -> None:
        self.out.decisions += 1
        self.log.write(decision.to_log_line())
        self.log.write("\n")

    def move(
        self,
        s: _Loan,
        request: ActionRequest,
        at: dt.datetime,
        event: Any,
        mistake: str = "",
    ) -> bool:
        """Check a move, log the decision, and make it if allowed."""
        decision = self.engine.check(s.case, request, at=at)
        self.record(decision)
        if mistake:
            self.out.mistakes[mistake] += 1
        if not decision.allowed:
            self.out.refused["moves deliberate" if mistake else "moves"] += 1
            for code in decision.codes:
                key = f"refused {decision.action}: {code}"
                self.out.moves[key] += 1
                if mistake:
                    self.out.deliberate[key] += 1
            return False
        s.case = self.books.apply(s.case, event)
        self.out.moves[decision.action] += 1
        return True

    def contact(
        self, s: _Loan, attempt: ContactAttempt, at: dt.datetime, day: dt.date, mistake: str = ""
    ) -> None:
        decision = self.engine.check(s.case, attempt, at=at)
        self.record(decision)
        if mistake:
            self.out.mistakes[mistake] += 1
        if not decision.allowed:
            self.out.refused["contacts deliberate" if mistake else "contacts"] += 1
            for code in decision.codes:
                self.out.contacts[str(code)] += 1
                if mistake:
                    self.out.deliberate[str(code)] += 1
            return
        self.out.contacts["allowed"] += 1
        rng = s.rng
        talk_odds = _PROFILES[s.profile][1]
        if attempt.channel in ("sms", "letter", "app_push", "email"):
            outcome = "delivered"
        elif rng.random() < talk_odds * (0.5 if attempt.recipient == "third_party" else 1):
            outcome = "conversation"
        else:
            outcome = rng.choice(["no_answer", "no_answer", "voicemail", "busy"])
        fields = attempt.model_dump(exclude={"action"})
        s.case = self.books.apply(s.case, Contact(at=at, outcome=outcome, **fields))
        if outcome == "conversation" and attempt.recipient == "borrower":
            s.last_talk = day
            self._promise(s, at, day)

    def _promise(self, s: _Loan, at: dt.datetime, day: dt.date) -> None:
        rng = s.rng
        if rng.random() > 0.35:
            return
        owed = sum((a for d, a in s.dues if d < day), Decimal(0)) - s.paid
        if owed <= 0:
            return
        due = day + dt.timedelta(days=rng.randint(3, 10))
        money = Money(amount=owed, currency=s.case.loan.currency)
        s.case = self.books.apply(s.case, Promise(at=at, amount=money, due=due))
        s.wait(due)
        self.out.events["promises"] += 1
        if rng.random() < _PROFILES[s.profile][2]:
            when = due - dt.timedelta(days=rng.randint(0, 3))
            s.pays[when] = s.pays.get(when, Decimal(0)) + owed
        else:
            self.out.events["promises broken"] += 1

    def day(self, s: _Loan, day: dt.date) -> None:
        self._collect(s, day)
        if day in s.pays:
            _pay(self.books, s, day, s.pays.pop(day), self.out)

    def stage(self, s: _Loan, day: dt.date) -> str:
        """The case's stage as ``day`` begins (local midnight): the recorded one, unless the
        engine has since moved it on by itself (current to reminder, once something is
        overdue; every other automatic move is made as the event that causes it is)."""
        stage = s.case.stage
        if stage is Stage.CURRENT and _overdue(s, day):
            stage = self.engine.state(s.case, at=_local(day, 0, 0, s.zone)).stage
        return stage.value

    def end(self, s: _Loan, at: dt.datetime) -> None:
        """The sweep's answer for the case as the run ends: its stage, amounts and duties."""
        from staged_collection.portfolio.answers import ask

        case = s.case
        answer = ask(
            self.end_plan, case, (), at, case_id=case.loan_id, borrower_id=case.borrower_id
        )
        state = answer.state
        figures = self.out.end.setdefault(state.stage.value, Figures())
        figures.cases += 1
        figures.balance += state.balance.amount
        figures.overdue += state.overdue.amount
        for duty in answer.duties or ():
            self.out.duties[str(duty.code)] += 1
            if duty.overdue:
                self.out.duties_overdue[str(duty.code)] += 1

    def _collect(self, s: _Loan, day: dt.date) -> None:
        from staged_collection.portfolio.answers import ask

        if s.case.stage.terminal or not _overdue(s, day):
            return  # nothing to do: the morning's questions are not asked
        self._borrower(s, day)
        if s.waits is not None and day <= s.waits:
            return  # a promise, hold or dispute the strategy knows of: nothing to do yet
        case, z = s.case, s.zone
        answer = ask(
            self._plan(s, day),
            case,
            (),
            _local(day, 8, 20, z),
            case_id=case.loan_id,
            borrower_id=case.borrower_id,
        )
        self.out.asked += 1
        state = answer.state
        if state.holds or state.promise_due is not None or state.stage.terminal:
            return  # the strategy waits out holds and open promises
        dpd = state.dpd
        self._notices(s, day, state, answer.duties or ())
        verdicts = {v.action: v for v in answer.verdicts}

        def allowed(action: str) -> bool:
            verdict = verdicts.get(action)
            return verdict is not None and verdict.allowed

        # The report (09:05), then the ladder (09:10), legal action (09:25), write-off (09:35):
        # each only where the morning's verdict allows it; the engine judges it again then.
        if allowed("report") and dpd >= 30:
            at = _local(day, 9, 5, z)
            self.move(s, ReportAction(), at, Reported(at=at))
        at = _local(day, 9, 10, z)
        if allowed("escalate:negotiation"):
            self.move(s, Escalate(to=Stage.NEGOTIATION), at, Escalated(at=at, to=Stage.NEGOTIATION))
        elif allowed("escalate:formal"):
            self.move(s, Escalate(to=Stage.FORMAL), at, Escalated(at=at, to=Stage.FORMAL))
        elif allowed("refer"):
            self._refer(s, day, at)
        if (
            state.stage in (Stage.FORMAL, Stage.THIRD_PARTY)
            and dpd >= 120
            and s.rng.random() < 0.01
        ):
            self._legal(s, day, verdicts.get("legal_action"))
        if allowed("write_off") and s.rng.random() < 0.3:
            at = _local(day, 9, 35, z)
            self.move(s, WriteOff(), at, WrittenOff(at=at))
        if s.case.stage.terminal:
            return
        self._contacts(s, day, s.case.stage, dpd, answer.contacts)

    def _plan(self, s: _Loan, day: dt.date) -> Plan:
        """The questions for the channels the strategy may dial today."""
        if s.ceased:
            channels: tuple[Channel, ...] = (Channel.LETTER,) if day.weekday() == 0 else ()
        else:
            channels = _DIALLED.get(s.case.stage, ())
            if s.case.stage is Stage.FORMAL and day.weekday() == 2:
                channels += (Channel.LETTER,)
        plan = self.plans.get(channels)
        if plan is None:
            from staged_collection.portfolio.answers import Plan as _Plan

            plan = self.plans[channels] = _Plan(self.engine, channels=channels)
        return plan

    def _notices(self, s: _Loan, day: dt.date, state: CaseState, duties: tuple[Duty, ...]) -> None:
        """The notices the morning calls for, at 08:30: the duties the answer lists open, the
        bureau's notice from 15 days past due, and the next rung's a few days before it."""
        z = s.zone
        kinds: list[tuple[str, int | None]] = []
        for duty in duties:
            kind = _DUTY_NOTICE.get(str(duty.code))
            if kind is not None:
                kinds.append((kind, None))
        if self.bureau_notice and state.bureau is BureauStatus.NOT_REPORTED and state.dpd >= 15:
            kinds.append(self.bureau_notice)
        threshold, rung = self.rung_notices.get(state.stage, (0, None))
        if rung and state.dpd >= threshold - 6:
            kinds.append(rung)
        if self.legal_notice and state.stage is Stage.FORMAL and state.dpd >= 110:
            kinds.append(self.legal_notice)
        for kind, remedy_days in kinds:
            if kind in s.notices:
                continue
            s.notices.add(kind)
            # Served by post a few working days on: the remedy date leaves a week's margin.
            remedy = None if remedy_days is None else day + dt.timedelta(days=remedy_days + 7)
            notice = Notice(at=_local(day, 8, 30, z), kind=kind, remedy_date=remedy)
            s.case = self.books.apply(s.case, notice)

    def _refer(self, s: _Loan, day: dt.date, at: dt.datetime) -> None:
        rng = s.rng
        stale = rng.random() < _STALE_SHARE
        evaluated = day - dt.timedelta(days=400 if stale else 90)
        agency = f"agency-{rng.randint(1, 4)}"
        if self.move(
            s,
            Refer(agency=agency, evaluated_on=evaluated),
            at,
            Referred(at=at, agency=agency, evaluated_on=evaluated),
            mistake=STALE if stale else "",
        ):
            s.agency = agency

    def _legal(self, s: _Loan, day: dt.date, verdict: Verdict | None) -> None:
        if verdict is None:
            return
        z = s.zone
        if verdict.allowed:
            at = _local(day, 9, 25, z)
            self.move(s, LegalAction(), at, LegalActionTaken(at=at))
        elif "legal.forbearance_required" in verdict.codes:
            # The law asks for forbearance to be weighed first: weigh it, act another day.
            s.case = self.books.apply(s.case, ForbearanceAssessed(at=_local(day, 9, 20, z)))

    def _borrower(self, s: _Loan, day: dt.date) -> None:
        rng, z, books = s.rng, s.zone, self.books
        if s.dispute_ends == day:
            s.case = books.apply(s.case, DisputeResolved(at=_local(day, 8, 0, z)))
            s.dispute_ends = None
        elif s.dispute_ends is None and rng.random() < 0.002:
            s.case = books.apply(s.case, Dispute(at=_local(day, 8, 0, z)))
            s.dispute_ends = day + dt.timedelta(days=rng.randint(7, 21))
            s.wait(s.dispute_ends - dt.timedelta(days=1))
            self.out.events["disputes"] += 1
        if not s.ceased and rng.random() < 0.0008:
            s.case = books.apply(s.case, Cease(at=_local(day, 8, 5, z)))
            s.ceased = True
            self.out.events["asked to stop"] += 1
        if rng.random() < 0.0015:
            hold = Hold(
                at=_local(day, 8, 10, z), kind="hardship", until=day + dt.timedelta(days=30)
            )
            s.case = books.apply(s.case, hold)
            s.wait(day + dt.timedelta(days=30))
            self.out.events["hardship holds"] += 1

    def _contacts(
        self, s: _Loan, day: dt.date, stage: Stage, dpd: int, reach: tuple[Reach, ...]
    ) -> None:
        rng, z = s.rng, s.zone
        number = s.case.borrower.phones[0]
        slots: list[tuple[int, int, str, str]] = []  # hour, minute, channel, placed_by
        if s.ceased:
            if day.weekday() == 0:
                slots.append((10, 0, "letter", "lender"))
        elif stage is Stage.REMINDER:
            if dpd % 3 == 1:
                slots.append((10, 0, "sms", "lender"))
            slots.append((11, 0, "call", "lender"))
        elif stage is Stage.NEGOTIATION:
            slots += [
                (10, 0, "call", "lender"),
                (15, 0, "call", "lender"),
                (19, 30, "call", "lender"),
            ]
        elif stage is Stage.FORMAL:
            slots += [(9, 30, "call", "lender"), (14, 0, "ai_voice", "lender")]
            if day.weekday() == 2:
                slots.append((10, 0, "letter", "lender"))
        elif stage is Stage.THIRD_PARTY:
            agency = s.agency or "agency-1"
            slots += [
                (9, 40, "call", agency),
                (12, 0, "call", agency),
                (16, 0, "call", agency),
                (20, 30, "call", agency),
            ]
        planned: list[tuple[dt.datetime, ContactAttempt, bool]] = []
        for hour, minute, channel, placed_by in slots:
            blind = channel in ("call", "ai_voice") and rng.random() < _BLIND_SHARE
            if blind and rng.random() < 0.5:
                hour, minute = rng.choice([(22, 30), (21, 40), (22, 5)])  # and late at night
            attempt = s.attempts.get((channel, placed_by))
            if attempt is None:
                attempt = ContactAttempt(channel=channel, number=number, placed_by=placed_by)
                s.attempts[(channel, placed_by)] = attempt
            planned.append((_local(day, hour, minute, z), attempt, blind))
        silent = s.last_talk is None or (day - s.last_talk).days >= 3
        if silent and stage is not Stage.CURRENT and not s.ceased and rng.random() < 0.15:
            relay = ContactAttempt(
                channel="call",
                recipient="third_party",
                relation="emergency_contact",
                number=f"+86139{rng.randint(0, 99_999_999):08d}",
                purpose=rng.choice(["relay", "relay", "location", "collection"]),
            )
            planned.append((_local(day, 17, 0, z), relay, False))
        # The morning's answer per channel: when a contact is next allowed (None: never, as
        # far as the case knows). A channel not allowed before the cut-off is not dialled.
        nexts = {c.channel: c.next for c in reach}
        cutoff = dt.datetime.combine(day, _CUTOFF, tzinfo=z)
        for slot, attempt, blind in sorted(planned, key=lambda p: p[0]):
            if s.case.stage.terminal:
                break
            last = s.case.as_of
            after = slot if last is None or slot >= last else last
            if blind:
                self.contact(s, attempt, after, day, mistake=BLIND)
                continue
            if attempt.recipient == "borrower":
                first = nexts.get(attempt.channel, after)
                if first is None or first >= cutoff:
                    self.out.skipped[NEVER if first is None else LATER] += 1
                    continue
            at = self.engine.next_allowed(s.case, attempt, after=after)
            if at is None or at >= cutoff:
                self.out.skipped[NEVER if at is None else LATER] += 1
                continue
            self.contact(s, attempt, at, day)


def _notice(rule: NoticeRule | None, preferred: str | None = None) -> tuple[str, int | None] | None:
    """The kind of notice the strategy serves for ``rule`` (one of its kinds), and the
    days the remedy date must give, if any."""
    if rule is None:
        return None
    kinds = sorted(str(k) for k in rule.kinds)
    kind = preferred if preferred in kinds else kinds[0]
    return kind, rule.min_remedy_days


_Chunk = tuple[DemoConfig, int, int, Path, str | None]


def _run_chunk(args: _Chunk) -> ChunkResult:
    config, first, last, part, store_url = args
    engine = Engine(load_policy(config.policy))
    out = ChunkResult(log=part)
    start = dt.datetime(config.start.year, config.start.month, config.start.day, tzinfo=dt.UTC)
    clock = _Clock(start)
    if store_url is None:
        _simulate(config, _Books(engine, out, None, clock), first, last, part)
        return out
    from staged_collection.store import EventStore

    store = EventStore(store_url, engine=engine, clock=clock, create=False, busy_timeout=600)
    try:
        with store.transaction() as tx:  # written as the chunk ends
            _simulate(config, _Books(engine, out, tx, clock), first, last, part)
    finally:
        store.close()
    return out


def _simulate(config: DemoConfig, books: _Books, first: int, last: int, part: Path) -> None:
    out = books.out
    loans = [_make_loan(i, config, books) for i in range(first, last)]
    out.currency = loans[0].case.loan.currency if loans else ""
    with part.open("w", encoding="utf-8") as log:
        run = _Run(config, books, out, log)
        for offset in range(config.days):
            day = config.start + dt.timedelta(days=offset)
            for s in loans:
                run.day(s, day)
            if offset % 7 == 6 or offset == config.days - 1:
                after = day + dt.timedelta(days=1)
                out.funnel[offset // 7] = Counter(run.stage(s, after) for s in loans)
        # The morning after: every case as the run ends (local midnight), from the sweep.
        after = config.last_day + dt.timedelta(days=1)
        for s in loans:
            run.end(s, _local(after, 0, 0, s.zone))


def _new_store(config: DemoConfig) -> str | None:
    """A new, empty store for the portfolio; ``None`` without the store extra."""
    try:
        from staged_collection.store import EventStore
    except ImportError:
        return None
    path = config.store_path
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        old.unlink(missing_ok=True)  # the demo's own output from an earlier run
    url = f"sqlite:///{path}"
    EventStore(url, engine=Engine(load_policy(config.policy))).close()
    return url


def _chunks(config: DemoConfig, store_url: str | None) -> Iterator[_Chunk]:
    parts = config.out.parent / f".{config.out.name}.parts"
    parts.mkdir(parents=True, exist_ok=True)
    for n, first in enumerate(range(0, config.loans, config.chunk)):
        last = min(first + config.chunk, config.loans)
        yield config, first, last, parts / f"{n:05d}.jsonl", store_url


def run_demo(config: DemoConfig, progress: Callable[[int, int], None] | None = None) -> DemoResult:
    """Simulate the portfolio; ``progress(done, total)`` is called as chunks finish.

    Needs the sweep (pyarrow, the ``sweep`` extra): each morning asks its questions.
    """
    import staged_collection.portfolio.answers  # noqa: F401  # fails here, before any work

    started = time.perf_counter()
    policy = load_policy(config.policy)
    config.out.parent.mkdir(parents=True, exist_ok=True)
    store_url = _new_store(config)
    chunks = list(_chunks(config, store_url))
    totals = ChunkResult()
    done = 0
    results: dict[Path, ChunkResult] = {}
    if config.workers <= 1:
        for chunk in chunks:
            results[chunk[3]] = r = _run_chunk(chunk)
            totals.merge(r)
            done += chunk[2] - chunk[1]
            if progress:
                progress(done, config.loans)
    else:
        with ProcessPoolExecutor(max_workers=config.workers) as pool:
            for chunk, r in zip(chunks, pool.map(_run_chunk, chunks), strict=True):
                results[chunk[3]] = r
                totals.merge(r)
                done += chunk[2] - chunk[1]
                if progress:
                    progress(done, config.loans)
    lines = 0
    with config.out.open("w", encoding="utf-8") as log:
        for chunk in chunks:
            part = chunk[3]
            with part.open(encoding="utf-8") as f:
                for line in f:
                    log.write(line)
                    lines += 1
            part.unlink()
    chunks[0][3].parent.rmdir()
    return DemoResult(
        config,
        policy.fingerprint,
        time.perf_counter() - started,
        totals,
        config.out,
        lines,
        store=store_url or "SQLAlchemy is not installed (pip install SQLAlchemy, the store extra)",
        stored=store_url is not None,
    )


# -- the command ---------------------------------------------------------------------------


@click.command("demo")
@click.option("--loans", default=10_000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--days", default=120, show_default=True, type=click.IntRange(1, 3650))
@click.option(
    "--policy",
    "-p",
    default="cn",
    show_default=True,
    metavar="P",
    help="A preset or a policy file.",
)
@click.option("--seed", default=7, show_default=True, type=int)
@click.option(
    "--out",
    default="out/decisions.jsonl",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the decision log (JSON Lines) goes.",
)
@click.option(
    "--store",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the portfolio is stored (SQLite)  [default: collection.db beside --out]",
)
@click.option(
    "--workers",
    default=min(os.cpu_count() or 1, 4),
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes.",
)
def demo_command(
    loans: int, days: int, policy: str, seed: int, out: Path, store: Path | None, workers: int
) -> None:
    """Collect a synthetic portfolio day by day, every attempt through the engine (the main job)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from staged_collection.cli import out as console
    from staged_collection.demo_report import render

    load_policy(policy)  # a bad policy fails here, before any work
    try:
        import staged_collection.portfolio.answers  # noqa: F401
    except ImportError as exc:
        raise click.ClickException(f"the demo's mornings ask the sweep: {exc}") from None
    config = DemoConfig(
        loans=loans, days=days, policy=policy, seed=seed, out=out, workers=workers, store=store
    )
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"{loans:,} loans x {days} days ({policy})", total=loans)
        result = run_demo(config, lambda done, total: bar.update(task, completed=done))
    render(result, console)
