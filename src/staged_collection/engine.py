"""The engine: one policy, any number of cases.

``Engine(policy)`` compiles the policy once (its guards, its fold rules and,
on the first move, its state machine), shared by every engine with the same
fingerprint. Every method is pure: a case in, a new case or an answer out; the
engine holds no per-case state and may be shared between threads.

A policy whose rules carry effective dates is compiled period by period (the
rules in force between two of its boundaries); every decision at an instant
is judged by the rules in force on that instant's local date in the policy's
``home_timezone``, and stamped with the fingerprint of the whole policy.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from pydantic_core import TzInfo

from staged_collection import _duties, _fold, _guards, _snapshot, _timeline
from staged_collection._contact import judge_contact, next_allowed
from staged_collection._contact import violations as written
from staged_collection._ledger import Schedule
from staged_collection._localtime import day_start_or_none, local, local_date, require_aware
from staged_collection._per_policy import PerPolicy
from staged_collection._trusted import trusted
from staged_collection.actions import (
    ActionRequest,
    ContactAttempt,
    Escalate,
    LegalAction,
    Refer,
    Report,
    WriteOff,
)
from staged_collection.borrower import Borrower
from staged_collection.case import Case, Folded, Profile
from staged_collection.decision import Decision, Violation
from staged_collection.errors import (
    CaseMismatchError,
    ContactRefused,
    CurrencyMismatchError,
    InputError,
    OutOfOrderError,
    TransitionNotAllowed,
)
from staged_collection.events import Contact, Event, Payment, Plan, Promise, Settlement
from staged_collection.loan import Loan
from staged_collection.money import Money
from staged_collection.outcome import Outcome, Revision
from staged_collection.policy import PRESETS, Policy, load_policy
from staged_collection.rules import RuleCode
from staged_collection.state import CaseState, Explanation, MoveRecord
from staged_collection.terms import LADDER, BureauStatus, Stage

if TYPE_CHECKING:
    from staged_collection._machine import CompiledMachine

__all__ = ["Engine"]

_UTC = dt.UTC
_HORIZON = dt.timedelta(days=3 * 366)  # how far ``next_allowed`` looks, unless told
# Zones whose every instant has an offset: an instant in one is aware without asking.
_ALWAYS_AWARE = frozenset({ZoneInfo, dt.timezone, type(TzInfo(0))})
_EARLIEST = dt.datetime(1900, 1, 1, tzinfo=_UTC)
_LATEST = dt.datetime(9000, 1, 1, tzinfo=_UTC)


class _Rules:
    """The rules of one period, compiled: the policy in force, its guards, its fold rules."""

    __slots__ = ("book", "fold", "policy", "until")

    def __init__(self, policy: Policy, fold: _fold.FoldRules, until: dt.datetime | None) -> None:
        self.policy = policy
        self.book = _guards.rulebook(policy)
        self.fold = fold
        self.until = until  # the first instant of the next period (None: the last period)


class _Compiled:
    """A policy compiled for the engine: per period of its timeline the guards and fold
    rules in force, and (lazily) the machine."""

    __slots__ = ("_machine", "fingerprint", "fold", "periods", "policy", "starts")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.fingerprint = policy.fingerprint
        # The fold counts every counter and gap of the whole timeline (what a check under
        # any period's rules reads) and keeps what the longest of them can read. What a rule
        # reads of the history (the failed calls in a row, the limitation's restarts, the
        # arrears stretch) it keeps whether or not the rule is in force yet: a rule that
        # starts later reads what happened before its start, as a counter does.
        whole = _fold.fold_rules(policy, self.dest)
        periods = _timeline.periods(policy)
        zone = policy.home_timezone
        self.periods = tuple(
            _Rules(
                p.policy,
                replace(
                    _fold.fold_rules(p.policy, self.dest),
                    specs=whole.specs,
                    keep_days=whole.keep_days,
                    failed_calls=whole.failed_calls,
                    limitation=whole.limitation,
                    arrears_instalments=whole.arrears_instalments,
                ),
                None if i + 1 == len(periods) else _start(periods[i + 1].start, zone),
            )
            for i, p in enumerate(periods)
        )
        # The first instant of each period after the first (its first local day in the home
        # zone), as UTC: a decision finds its period by comparing instants. A start past the
        # last instant an engine takes is left out, and so is its period, never reached.
        self.starts = tuple(
            r.until.astimezone(dt.UTC) for r in self.periods[:-1] if r.until is not None
        )
        self.fold = self.periods[-1].fold
        self._machine: CompiledMachine | None = None

    def at(self, at: dt.datetime) -> _Rules:
        """The rules in force at ``at``: those of its local date in the home zone. Cheapest
        with ``at`` in UTC, as the engine keeps it."""
        starts = self.starts
        if not starts:
            return self.periods[0]
        at = _instant_utc(at)
        if at >= starts[-1]:  # the usual question: today, after every change of rules
            return self.periods[-1]
        return self.periods[bisect_right(starts, at)]

    def rules_at(self, at: dt.datetime) -> tuple[Policy, dt.datetime | None]:
        rules = self.at(at)
        return rules.policy, rules.until

    @property
    def machine(self) -> CompiledMachine:
        # Loaded on the first move: the policy, the guards and ``check`` work
        # (and import) without the state machine and its dependency. The moves are the
        # same in every period (the ladder carries no dates); its guard labels are
        # those of the last period's rules.
        if self._machine is None:
            from staged_collection import _machine

            self._machine = _machine.compiled(self.periods[-1].book)
        return self._machine

    def dest(self, track: str, trigger: str, source: str) -> str | None:
        return self.machine.table.get((track, trigger, source))


_WITH_MONEY = frozenset({Payment, Promise, Settlement, Plan})


def _start(day: dt.date | None, zone: str) -> dt.datetime | None:
    return None if day is None else day_start_or_none(day, zone)


_COMPILED: PerPolicy[_Compiled] = PerPolicy()
_PRESETS: dict[str, Policy] = {}


def _compiled(policy: Policy) -> _Compiled:
    return _COMPILED.get(policy, lambda: _Compiled(policy))


def _policy_of(ref: Policy | str | Path) -> Policy:
    if isinstance(ref, Policy):
        return ref
    if isinstance(ref, str) and ref in PRESETS:
        # Presets never change while a process runs; policy files may, so they are read again.
        found = _PRESETS.get(ref)
        if found is None:
            found = _PRESETS[ref] = load_policy(ref)
        return found
    return load_policy(ref)


class Engine:
    """Runs cases under one policy: open, decide, apply, check, state, explain, replay,
    snapshot and restore."""

    __slots__ = ("_c",)

    def __init__(self, policy: Policy | str | Path) -> None:
        self._c = _compiled(_policy_of(policy))

    @property
    def policy(self) -> Policy:
        """The policy this engine runs (read-only: build another engine for another policy)."""
        return self._c.policy

    def __repr__(self) -> str:
        return f"Engine(policy={self.policy.name!r}, fingerprint={self.policy.fingerprint[:12]})"

    # -- cases ---------------------------------------------------------------

    def open_case(self, loan: Loan, borrower: Borrower) -> Case:
        """A new case: ``current``, nothing reported, no events, version 0."""
        zones = borrower.timezones
        rules = self._c.fold
        profile = Profile(
            loan_id=loan.id,
            borrower_id=borrower.id,
            currency=loan.currency,
            schedule=Schedule.of(loan),
            days_zone=zones[0] if zones else self.policy.home_timezone,
            work_phones=frozenset(borrower.work_phones),
            keep_days=rules.keep_days,
        )
        state = _fold.initial(zones, borrower.inconvenient, rules)
        return Case._new(
            policy=self.policy.fingerprint,
            version=0,
            state=state,
            profile=profile,
            base=state,
            base_version=0,
            log=None,
            breaches=None,
            sources=(loan, borrower),
        )

    def decide(
        self,
        case: Case,
        event: Event,
        *,
        breach: bool = False,
        others: Sequence[Case] = (),
    ) -> Outcome:
        """Judge ``event`` and, if the rules allow it (or it is a fact), record it.

        Returns the case after the event, the decision (for an action or a
        contact, allowed or refused; ``None`` for a fact), whether the event was
        recorded, and the revisions a late fact causes. A refused action is not
        recorded; a refused contact is recorded as a breach when ``breach`` is
        true (it happened). A fact dated before the case's last event (a late
        payment, a dispute received last week) is accepted: the case is refolded
        from its instant, and every later action it would have refused is
        reported in ``revisions``. Actions cannot be back-dated.
        """
        return self._decide(case, event, record_contact=breach, record_action=False, others=others)

    def apply(
        self, case: Case, event: Event, *, breach: bool = False, others: Sequence[Case] = ()
    ) -> Case:
        """``case`` with ``event`` recorded; ``case`` itself is unchanged.

        An action (an escalation, a referral, a report, ...) is checked first:
        refused, it raises ``TransitionNotAllowed`` carrying the decision, and
        nothing is recorded. A contact is checked as the attempt it was (with
        ``others``, the borrower's other cases, as ``check`` takes them):
        refused, it raises ``ContactRefused``; with ``breach=True`` it is
        recorded anyway, because it happened, and its decision is kept in
        ``case.breaches``.
        """
        outcome = self._decide(
            case, event, record_contact=breach, record_action=False, others=others
        )
        return recorded_case(outcome, event)

    def replay(
        self,
        loan: Loan,
        borrower: Borrower,
        events: Iterable[Event],
        *,
        on_refused: Literal["raise", "record"] = "raise",
        trusted: bool = False,
        breaches: bool = False,
    ) -> Case:
        """The case made by applying ``events`` in order to a new case.

        ``on_refused="record"`` keeps every refused action and contact as a
        breach, with its decision, and carries on: what a history would have
        looked like under this policy (the what-if primitive). ``trusted=True``
        folds a stored history that was judged when it happened, without judging
        it again (about a third cheaper). ``breaches=True`` records refused
        contacts only (refused actions still raise).
        """
        case = self.open_case(loan, borrower)
        record_all = on_refused == "record"
        if on_refused not in ("raise", "record"):
            raise InputError("on_refused", on_refused, "must be 'raise' or 'record'")
        for i, event in enumerate(events):
            try:
                if trusted:
                    case = self._fold_trusted(case, event)
                    continue
                outcome = self._decide(
                    case,
                    event,
                    record_contact=record_all or breaches,
                    record_action=record_all,
                    others=(),
                )
                case = recorded_case(outcome, event)
            except Exception as exc:
                exc.add_note(f"while replaying events[{i}] ({event.type} at {event.at})")
                raise
        return case

    def snapshot(self, case: Case) -> bytes:
        """The case's folded state as compact, versioned bytes (not its event log)."""
        self._own(case)
        return _snapshot.encode(case)

    def restore(self, data: bytes, *, migrate: bool = False) -> Case:
        """The case a snapshot holds, ready for the events after it.

        A snapshot taken under another policy raises ``CaseMismatchError`` unless
        ``migrate=True``: then what happened stays as it was (stage, notices,
        holds) and later decisions use this engine's policy. Its counters count
        the contacts the snapshot holds: those the other policy's rules could
        read (a window longer than its longest starts with fewer).
        """
        return _snapshot.decode(
            data, fingerprint=self.policy.fingerprint, rules=self._c.fold, migrate=migrate
        )

    # -- questions -----------------------------------------------------------

    def check(
        self,
        case: Case,
        action: ActionRequest,
        *,
        at: dt.datetime,
        others: Sequence[Case] = (),
    ) -> Decision:
        """May ``action`` happen at ``at``? Every violation found, with its code and citation.

        ``others``: the borrower's other cases, for counters keyed by debtor
        (``cn`` counts conversations per debtor across all their debts); their
        contacts made after ``at`` do not count. An instant before the case's
        last event is answered from the events up to then (the case as it was).
        """
        if others:
            self._others(others)
        case, utc = self._as_of(case, at)
        return self._judged(case, action, at, utc, others)[0]

    def next_allowed(
        self,
        case: Case,
        attempt: ContactAttempt,
        *,
        after: dt.datetime,
        others: Sequence[Case] = (),
        horizon: dt.timedelta = _HORIZON,
    ) -> dt.datetime | None:
        """The earliest instant at or after ``after`` when ``attempt`` would be allowed.

        Jumps from each refusal to the latest ``retry_at`` of its violations,
        and over a whole span the hours refuse at once (windows, stated
        inconvenient times and rest days in every zone), then checks again:
        a few checks whatever the zones and ranges. ``None`` when a violation
        has no end the case knows of (a cease, a hold until lifted) or nothing
        is allowed within ``horizon``: elapsed time from ``after``, the same
        whatever zone ``after`` is written in (a night the clocks change is as
        long as it really is). An ``after`` before the case's last event is
        answered from the events up to then, as ``check`` does.
        """
        self._others(others)
        case, utc = self._as_of(case, after, "after")
        return self._next(case, attempt, after, utc, others, horizon)

    def _next(
        self,
        case: Case,
        attempt: ContactAttempt,
        after: dt.datetime,
        utc: dt.datetime,
        others: Sequence[Case],
        horizon: dt.timedelta = _HORIZON,
    ) -> dt.datetime | None:
        """``next_allowed`` of a case already as of ``after`` (``utc``: the same in UTC)."""
        dated = self._c.rules_at if self._c.starts else None
        rules = self._c.at(utc).policy
        # Walked in UTC, as every instant it jumps to is: comparing instants of two zones
        # costs several times as much.
        found = next_allowed(rules, case, attempt, utc, others, horizon, rules_at=dated)
        return after if found == utc else found

    def _reach(
        self,
        case: Case,
        attempts: Sequence[ContactAttempt],
        at: dt.datetime,
        others: Sequence[Case] = (),
    ) -> list[tuple[bool, tuple[RuleCode, ...], dt.datetime | None]]:
        """Per attempt: allowed at ``at``, the codes refusing it, and the next instant it is
        allowed (``at`` itself when allowed). What ``check`` and ``next_allowed`` answer, for
        the sweep, which reads no message: none is written and no decision built, and the
        case is brought to ``at`` once for every channel."""
        if others:
            self._others(others)
        case, utc = self._as_of(case, at)
        policy = self._c.at(utc).policy
        out: list[tuple[bool, tuple[RuleCode, ...], dt.datetime | None]] = []
        for attempt in attempts:
            _, found = judge_contact(policy, case, attempt, at, others)
            if not found:
                out.append((True, (), at))
                continue
            nxt = None
            if all(v.retry_at is not None for v in found):
                nxt = self._next(case, attempt, at, utc, others)
            out.append((False, tuple(v.code for v in found), nxt))
        return out

    def state(self, case: Case, *, at: dt.datetime) -> CaseState:
        """The case as of ``at``: stage, bureau status, holds, DPD, amounts, and the duties
        and validation period of the rules in force then."""
        case, utc = self._as_of(case, at)
        policy = self._c.at(utc).policy
        f = _guards.facts(case, policy, at)
        currency = case._profile.currency
        paid_off = f.stage in (Stage.SETTLED, Stage.RESOLVED)
        balance = Decimal(0) if paid_off else f.schedule.balance(f.s.paid)
        validation = _duties.validation_period_ends(policy, f)
        # Every value below is already valid: build the models without a second pass.
        return trusted(
            CaseState,
            at=at,
            loan_id=case._profile.loan_id,
            stage=f.stage,
            bureau=f.s.bureau,
            bureau_disputed=f.s.bureau_disputed,
            holds=tuple(h.kind for h in f.holds),
            dpd=f.dpd,
            overdue=trusted(Money, amount=f.overdue, currency=currency),
            balance=trusted(Money, amount=balance, currency=currency)
            if balance
            else Money.zero(currency),
            placed_with=f.s.placement,
            promise_due=_guards.promise_open(f),
            plan_performing=_guards.plan_performing(f),
            duties=_duties.open_duties(policy, f),
            validation_period_ends=None if validation is None else validation[0],
        )

    def explain(self, case: Case, *, at: dt.datetime) -> Explanation:
        """Why the case is where it is at ``at``: DPD, thresholds, holds, notices, next moves."""
        state = self.state(case, at=at)
        case, utc = self._as_of(case, at)
        policy = self._c.at(utc).policy
        f = _guards.facts(case, policy, at)
        moves = tuple(
            MoveRecord(at=m.at, track=m.track, trigger=m.trigger, source=m.source, dest=m.dest)
            for m in f.s.moves
        )
        nexts = tuple(self._judged(case, r, at, utc)[0] for r in _next_requests(policy, f))
        reasons = _explain_lines(policy, case, f, state, moves, nexts)
        return Explanation(state=state, reasons=reasons, moves=moves, next=nexts)

    def diagram(self, fmt: str = "mermaid") -> str:
        """The compiled machine as Mermaid (or ``dot``) text, guard names on the edges."""
        return self._c.machine.diagram(fmt)

    # -- deciding ------------------------------------------------------------

    def _decide(
        self,
        case: Case,
        event: Event,
        *,
        record_contact: bool,
        record_action: bool,
        others: Sequence[Case],
    ) -> Outcome:
        if case.policy is not self._c.fingerprint:  # the same string, mostly: no compare
            self._own(case)
        if others:
            self._others(others)
        utc = _instant(event.at, f"{event.type}.at")
        if type(event) in _WITH_MONEY:
            self._same_currency(case, event)
        last = case._last or case._as_of_utc()  # (the attribute first: no call, mostly)
        if last is not None and utc < last:
            return self._late(case, event)
        decision: Decision | None = None
        violations: list[Violation] = []
        day: dt.date | None = None
        request = _request_of(event)
        if request is not None:
            decision, violations, day = self._judged(case, request, event.at, utc, others)
            recordable = record_contact if isinstance(event, Contact) else record_action
            if violations and not recordable:
                return Outcome(case, decision, recorded=False)
        state = self._fold(case, case._s, event, force=bool(violations), day=day, utc=utc)
        new = case._with(state, event=event, breach=decision if violations else None)
        if state.as_of is event.at:
            new._last = utc  # the new case's last instant, already in UTC
        return Outcome(new, decision, recorded=True)

    def _fold(
        self,
        case: Case,
        s: Folded,
        event: Event,
        *,
        force: bool,
        day: dt.date | None = None,
        utc: dt.datetime | None = None,
    ) -> Folded:
        profile = case._profile
        if day is None:
            day = local_date(event.at, profile.days_zone)
        k = _fold.Step(self._c.at(event.at if utc is None else utc).fold, profile, day, force)
        return _fold.record(_fold.advance(s, event.at, k), event, k)

    def _fold_trusted(self, case: Case, event: Event) -> Case:
        """``case`` with ``event`` folded in unjudged (a history the rules judged already)."""
        self._own(case)
        if case.as_of is not None and event.at < case.as_of:
            return self._late(case, event, judge=False).case
        return case._with(self._fold(case, case._s, event, force=True), event=event)

    def _late(self, case: Case, event: Event, *, judge: bool = True) -> Outcome:
        """A fact dated before the case's last event: refold from its instant."""
        if not _fold.REDUCERS[type(event)].late:
            raise OutOfOrderError(
                f"{event.type}.at",
                event.at.isoformat(),
                f"is before the case's last event ({_iso(case.as_of)}): a {event.type} is an "
                "action and cannot be back-dated; only facts may arrive late",
            )
        base = case._base
        if base.as_of is not None and event.at < base.as_of:
            raise OutOfOrderError(
                f"{event.type}.at",
                event.at.isoformat(),
                f"is before the snapshot this case was restored from ({_iso(base.as_of)}): "
                "replay its stored events to take a fact that late",
            )
        applied = case.events
        order = sorted(range(len(applied)), key=lambda i: applied[i].at)  # stable: ties keep order
        breached = {d.version: d for d in case.breaches}
        s = base
        position = case._base_version
        revisions: list[Revision] = []
        inserted = False
        for i in order:
            earlier = applied[i]
            if not inserted and earlier.at > event.at:
                s = self._fold(case, s, event, force=True)
                inserted = True
            if inserted and judge:
                revision = self._judge_again(case, s, earlier, position + i, breached)
                if revision is not None:
                    revisions.append(revision)
            s = self._fold(case, s, earlier, force=True)
        if not inserted:  # pragma: no cover - a late fact precedes at least the last event
            s = self._fold(case, s, event, force=True)
        new = case._with(s, event=event)
        return Outcome(new, None, recorded=True, revisions=tuple(revisions))

    def _judge_again(
        self,
        case: Case,
        s: Folded,
        event: Event,
        version: int,
        breached: dict[int, Decision],
    ) -> Revision | None:
        """An action already taken, judged on the refolded state: a revision if newly refused."""
        request = _request_of(event)
        if request is None:
            return None
        then = Case._new(
            policy=case.policy,
            version=version,
            state=s,
            profile=case._profile,
            base=case._base,
            base_version=case._base_version,
            log=None,
            breaches=None,
            sources=case._sources,
        )
        decision, violations, _ = self._judged(then, request, event.at, _instant_utc(event.at))
        known = breached.get(version)
        old = set() if known is None else set(known.codes)
        if not violations or {v.code for v in violations} <= old:
            return None
        return Revision(event=event, decision=decision)

    def _judged(
        self,
        case: Case,
        request: ActionRequest,
        at: dt.datetime,
        utc: dt.datetime,
        others: Sequence[Case] = (),
    ) -> tuple[Decision, list[Violation], dt.date]:
        """``request`` at ``at`` (``utc``: the same instant in UTC) judged by the rules in
        force then; the decision is stamped with the whole policy's fingerprint. Also the
        case's local date at ``at``."""
        rules = self._c.at(utc)
        violations: list[Violation]
        if isinstance(request, ContactAttempt):
            f, found = judge_contact(rules.policy, case, request, at, others)
            violations = written(found) if found else []
        else:
            f, violations = _guards.judge(rules.book, case, request, at)
        decision = _guards.make_decision(self.policy, case, request, at, f.stage, violations)
        return decision, violations, f.day

    # -- helpers -------------------------------------------------------------

    def _own(self, case: Case) -> None:
        if case.policy != self._c.fingerprint:
            raise CaseMismatchError(
                "case.policy",
                case.policy[:12],
                f"the case was opened under another policy than {self.policy.name!r} "
                f"({self.policy.fingerprint[:12]}); replay its events with this engine, or "
                "restore its snapshot with migrate=True",
            )

    def _others(self, others: Sequence[Case]) -> None:
        for i, other in enumerate(others):
            if other.policy != self._c.fingerprint:
                raise CaseMismatchError(
                    f"others[{i}].policy",
                    other.policy[:12],
                    "the borrower's other cases must run under this engine's policy",
                )

    def _as_of(self, case: Case, at: dt.datetime, field: str = "at") -> tuple[Case, dt.datetime]:
        """The case as of ``at``, and ``at`` in UTC."""
        utc = _instant(at, field)
        if case.policy is not self._c.fingerprint:  # the same string, mostly: no compare
            self._own(case)
        last = case._last or case._as_of_utc()  # (the attribute first: no call, mostly)
        if last is None or utc >= last:
            return case, utc
        # A question about the past: the case as it was, from what it knows of then.
        base = case._base
        if base.as_of is not None and at < base.as_of:
            raise InputError(
                field,
                at.isoformat(),
                f"is before the snapshot this case was restored from ({_iso(base.as_of)}): "
                "replay its stored events to ask about then",
            )
        then = Case._new(
            policy=case.policy,
            version=case._base_version,
            state=base,
            profile=case._profile,
            base=base,
            base_version=case._base_version,
            log=None,
            breaches=None,
            sources=case._sources,
        )
        for event in sorted((e for e in case.events if e.at <= at), key=lambda e: e.at):
            then = self._fold_trusted(then, event)
        return then, utc

    def _same_currency(self, case: Case, event: Event) -> None:
        currency = case._profile.currency
        amounts: list[tuple[str, Money]] = []
        if isinstance(event, Payment | Promise | Settlement):
            amounts.append((f"{event.type}.amount", event.amount))
        if isinstance(event, Plan):
            amounts += [
                (f"plan.installments[{i}].amount", item.amount)
                for i, item in enumerate(event.installments)
            ]
        for field, money in amounts:
            if money.currency != currency:
                raise CurrencyMismatchError(
                    field, str(money), f"the loan {case._profile.loan_id!r} is in {currency}"
                )


def recorded_case(outcome: Outcome, event: Event) -> Case:
    """The case ``event`` was recorded on; ``ContactRefused`` or ``TransitionNotAllowed``,
    carrying the decision, when the rules refused it and it was not recorded."""
    if outcome.recorded:
        return outcome.case
    assert outcome.decision is not None
    if isinstance(event, Contact):
        raise ContactRefused(outcome.decision)
    raise TransitionNotAllowed(outcome.decision)


def _request_of(event: Event) -> ActionRequest | None:
    """The action an event records (a contact's attempt, an escalation, ...), if any."""
    if isinstance(event, Contact):
        return event.attempt()
    action = getattr(event, "action", None)
    if callable(action):
        request: ActionRequest = action()
        return request
    return None


def _iso(at: dt.datetime | None) -> str:
    return "-" if at is None else at.isoformat()


def _instant(at: dt.datetime, field: str) -> dt.datetime:
    """``at`` in UTC, what the engine compares instants in (an instant of another zone
    compares with a UTC one at several times the cost, on every question). Refuses naive
    instants, and those the local calendars cannot handle (years before 1900 or after
    8999: local dates a day either side must exist)."""
    if type(at) is not dt.datetime or type(at.tzinfo) not in _ALWAYS_AWARE:
        # Another tzinfo may answer no offset (naive), a subclass may be anything.
        try:
            offset = at.utcoffset()
        except (AttributeError, TypeError):
            offset = None
        if offset is None or not isinstance(at, dt.datetime):
            require_aware(at, field)  # raises, naming the field
    if not 1901 <= at.year <= 8998 and not _EARLIEST <= at < _LATEST:
        raise InputError(field, at.isoformat(), "must lie between the years 1900 and 8999")
    return _instant_utc(at)


def _instant_utc(at: dt.datetime) -> dt.datetime:
    """An aware instant in UTC (itself when it is already)."""
    return at if at.tzinfo is _UTC else at.astimezone(_UTC)


def _next_requests(policy: Policy, f: _guards.Facts) -> list[ActionRequest]:
    """The moves ``explain`` judges: the next rung, legal action, a report, a write-off."""
    out: list[ActionRequest] = []
    if f.stage in (Stage.REMINDER, Stage.NEGOTIATION):
        nxt = LADDER[LADDER.index(f.stage) + 1]
        out.append(Escalate(to=nxt))
    if f.stage is Stage.FORMAL:
        out.append(Refer(agency="(any)", evaluated_on=f.day))
    if f.stage in policy.legal.from_stages:
        out.append(LegalAction())
    if f.s.bureau is not BureauStatus.REPORTED and not f.stage.terminal:
        out.append(Report())
    if not f.stage.terminal and f.stage is not Stage.CURRENT:
        out.append(WriteOff())
    return out


def _explain_lines(
    policy: Policy,
    case: Case,
    f: _guards.Facts,
    state: CaseState,
    moves: tuple[MoveRecord, ...],
    nexts: tuple[Decision, ...],
) -> tuple[str, ...]:
    here = local(f.at, f.zone)
    lines = [
        f"Loan {case._profile.loan_id} at {f.at.isoformat()} ({f.zone} {here:%Y-%m-%d %H:%M}): "
        f"stage {state.stage}, bureau {state.bureau}"
        + (" (disputed)" if state.bureau_disputed else "")
        + "."
    ]
    since = f.schedule.delinquent_since(f.s.paid, f.day)
    if since is not None and state.overdue.amount > 0:
        lines.append(
            f"{state.dpd} days past due: the oldest unpaid instalment fell due on {since}; "
            f"{state.overdue} overdue, {state.balance} owed in all."
        )
    else:
        lines.append(f"Nothing overdue; {state.balance} owed in all.")
    if f.s.frozen:
        lines.append("Days on a hold that stops the clock are not counted in DPD.")
    ladder_moves = [m for m in moves if m.track == "ladder"]
    if ladder_moves:
        last = ladder_moves[-1]
        lines.append(f"Entered {last.dest} on {last.at.isoformat()} by {last.trigger}.")
    if f.stage is not f.s.stage:
        threshold = policy.ladder.reminder.min_dpd
        frozen = case.frozen_spans()
        reached = _ledger_reached(f, threshold, frozen)
        lines.append(f"Entered {f.stage} automatically{reached}: DPD reached {threshold}.")
    for stage in LADDER[LADDER.index(f.stage) + 1 :] if f.stage in LADDER else ():
        rung = policy.ladder.rung(stage)
        met = "met" if state.dpd >= rung.min_dpd else "not yet"
        needs = f" and a {'/'.join(sorted(rung.notice.kinds))} notice" if rung.notice else ""
        lines.append(f"{stage} needs DPD >= {rung.min_dpd}{needs}: DPD {met}.")
    for hold in f.holds:
        until = f"until {hold.until}" if hold.until else "until lifted"
        lines.append(f"Hold: {hold.kind} since {hold.since.isoformat()}, {until}.")
    if state.promise_due:
        lines.append(f"Promise to pay by {state.promise_due} is open.")
    if state.plan_performing:
        lines.append("A repayment plan is performing.")
    for n in case.all_notices():
        status = "returned" if n.returned_at else ("delivered" if n.delivered else "not delivered")
        remedy = f", remedy by {n.remedy_date}" if n.remedy_date else ""
        lines.append(f"Notice {n.kind} sent {n.at.isoformat()}: {status}{remedy}.")
    if state.placed_with:
        lines.append(f"Placed with agency {state.placed_with}.")
    lines += _duties.explain_lines(policy, f, state)
    for d in nexts:
        what = d.action + (f" to {d.request.to}" if isinstance(d.request, Escalate) else "")
        if d.allowed:
            lines.append(f"Next: {what} is allowed now.")
        else:
            lines.append(f"Next: {what} is refused: " + "; ".join(v.message for v in d.violations))
    return tuple(lines)


def _ledger_reached(
    f: _guards.Facts, threshold: int, frozen: tuple[tuple[dt.date, dt.date | None], ...]
) -> str:
    from staged_collection._ledger import day_reaching

    day = day_reaching(f.schedule, f.s.paid, frozen, threshold)
    start = None if day is None else f.start_of(day)
    return "" if start is None else f" on {start.isoformat()}"
