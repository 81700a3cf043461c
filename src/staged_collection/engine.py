"""The engine: one policy, any number of cases.

``Engine(policy)`` compiles the policy once (its guards and its state machine,
shared by every engine with the same fingerprint). Every method is pure: a
case in, a new case or an answer out; the engine holds no per-case state and
may be shared between threads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from staged_collection import _fold, _guards
from staged_collection._contact import judge_contact
from staged_collection._ledger import Schedule
from staged_collection._localtime import local, require_aware
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
from staged_collection.case import Case, push
from staged_collection.decision import Decision
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
from staged_collection.policy import Policy, load_policy
from staged_collection.state import CaseState, Explanation, MoveRecord
from staged_collection.terms import LADDER, BureauStatus, Stage

if TYPE_CHECKING:
    from staged_collection._machine import CompiledMachine

__all__ = ["Engine"]


class Engine:
    """Runs cases under one policy: open, apply, check, state, explain, replay."""

    __slots__ = ("_book", "_compiled", "policy")

    def __init__(self, policy: Policy | str | Path) -> None:
        self.policy = policy if isinstance(policy, Policy) else load_policy(policy)
        self._book = _guards.rulebook(self.policy)
        self._compiled: CompiledMachine | None = None

    @property
    def _machine(self) -> CompiledMachine:
        # Loaded on the first move: the policy, the guards and ``check`` work
        # (and import) without the state machine and its dependency.
        if self._compiled is None:
            from staged_collection import _machine

            self._compiled = _machine.compiled(self._book)
        return self._compiled

    def _fire(self, track: str, trigger: str, source: str) -> str:
        return self._machine.fire(track, trigger, source)

    def __repr__(self) -> str:
        return f"Engine(policy={self.policy.name!r}, fingerprint={self.policy.fingerprint[:12]})"

    # -- cases ---------------------------------------------------------------

    def open_case(self, loan: Loan, borrower: Borrower) -> Case:
        """A new case: ``current``, nothing reported, no events."""
        zones = borrower.timezones
        return Case(
            loan=loan,
            borrower=borrower,
            policy=self.policy.fingerprint,
            stage=Stage.CURRENT,
            bureau=BureauStatus.NOT_REPORTED,
            as_of=None,
            _schedule=Schedule(loan),
            _days_zone=zones[0] if zones else self.policy.home_timezone,
            _zones=zones,
            _inconvenient=borrower.inconvenient,
            _no_work_contact=False,
        )

    def apply(self, case: Case, event: Event, *, breach: bool = False) -> Case:
        """``case`` with ``event`` recorded; ``case`` itself is unchanged.

        An action (an escalation, a referral, a report, ...) is checked first:
        refused, it raises ``TransitionNotAllowed`` carrying the decision, and
        nothing is recorded. A contact is checked as the attempt it was:
        refused, it raises ``ContactRefused``; with ``breach=True`` it is
        recorded anyway, because it happened, and its decision is kept in
        ``case.breaches``.
        """
        self._own(case)
        self._in_order(case, event)
        self._same_currency(case, event)
        case = _fold.advance(case, self.policy, event.at, self._fire)
        if isinstance(event, Contact):
            attempt = event.attempt()
            f, violations = judge_contact(self.policy, case, attempt, event.at)
            if violations:
                decision = _guards.make_decision(
                    self.policy, case, attempt, event.at, f.stage, violations
                )
                if not breach:
                    raise ContactRefused(decision)
                case = case.evolve(_breaches=push(case._breaches, decision))
            return _fold.record(case, event, self.policy, self._fire)
        action = getattr(event, "action", None)
        if callable(action):
            request: ActionRequest = action()
            f, violations = _guards.judge(self._book, case, request, event.at)
            if violations:
                raise TransitionNotAllowed(
                    _guards.make_decision(self.policy, case, request, event.at, f.stage, violations)
                )
        return _fold.record(case, event, self.policy, self._fire)

    def replay(
        self, loan: Loan, borrower: Borrower, events: Iterable[Event], *, breaches: bool = False
    ) -> Case:
        """The case made by applying ``events`` in order to a new case.

        With ``breaches=True`` contacts the rules refuse are recorded as breaches
        (they happened); refused actions still raise.
        """
        case = self.open_case(loan, borrower)
        for i, event in enumerate(events):
            try:
                case = self.apply(case, event, breach=breaches)
            except Exception as exc:
                exc.add_note(f"while replaying events[{i}] ({event.type} at {event.at})")
                raise
        return case

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
        (``cn`` counts conversations per debtor across all their debts).
        """
        case = self._as_of(case, at)
        if isinstance(action, ContactAttempt):
            f, violations = judge_contact(self.policy, case, action, at, others)
            return _guards.make_decision(self.policy, case, action, at, f.stage, violations)
        return _guards.decide(self._book, case, action, at)

    def next_allowed(
        self,
        case: Case,
        attempt: ContactAttempt,
        *,
        after: dt.datetime,
        others: Sequence[Case] = (),
        horizon: dt.timedelta = dt.timedelta(days=3 * 366),
    ) -> dt.datetime | None:
        """The earliest instant at or after ``after`` when ``attempt`` would be allowed.

        Steps from each refusal to the latest ``retry_at`` of its violations
        (window edges, day boundaries where counters roll, hold and cooldown
        ends) and checks again; ``None`` when a violation has no end the case
        knows of (a cease, a hold until lifted) or nothing is allowed within
        ``horizon``. ``after`` may not precede the case's last event.
        """
        require_aware(after, "after")
        self._own(case)
        if case.as_of is not None and after < case.as_of:
            raise InputError(
                "after",
                after.isoformat(),
                f"is before the case's last event ({case.as_of.isoformat()}): ask about the "
                "future of what the case knows",
            )
        at, limit = after, after + horizon
        while at <= limit:
            _, violations = judge_contact(self.policy, case, attempt, at, others)
            if not violations:
                return at
            retries = [v.retry_at for v in violations]
            if any(r is None for r in retries):
                return None
            nxt = max(r for r in retries if r is not None)
            if nxt <= at:  # pragma: no cover - every retry_at is later than a refused instant
                raise RuntimeError(f"no progress from {at.isoformat()}: {violations}")
            at = nxt
        return None

    def state(self, case: Case, *, at: dt.datetime) -> CaseState:
        """The case as of ``at``: stage, bureau status, holds, DPD, amounts."""
        case = self._as_of(case, at)
        f = _guards.facts(case, self.policy, at)
        currency = case.loan.currency
        paid_off = f.stage in (Stage.SETTLED, Stage.RESOLVED)
        balance = Decimal(0) if paid_off else case._schedule.balance(case._paid)
        # Every value below is already valid: build the models without a second pass.
        return trusted(
            CaseState,
            at=at,
            loan_id=case.loan.id,
            stage=f.stage,
            bureau=case.bureau,
            bureau_disputed=case._bureau_disputed,
            holds=tuple(h.kind for h in f.holds),
            dpd=f.dpd,
            overdue=trusted(Money, amount=f.overdue, currency=currency),
            balance=trusted(Money, amount=balance, currency=currency)
            if balance
            else Money.zero(currency),
            placed_with=case._placement,
            promise_due=_guards.promise_open(f),
            plan_performing=_guards.plan_performing(f),
        )

    def explain(self, case: Case, *, at: dt.datetime) -> Explanation:
        """Why the case is where it is at ``at``: DPD, thresholds, holds, notices, next moves."""
        state = self.state(case, at=at)
        case = self._as_of(case, at)
        f = _guards.facts(case, self.policy, at)
        moves = tuple(
            MoveRecord(at=m.at, track=m.track, trigger=m.trigger, source=m.source, dest=m.dest)
            for m in reversed(tuple(case._moves or ()))
        )
        nexts = tuple(_guards.decide(self._book, case, r, at) for r in self._next_requests(f))
        reasons = _explain_lines(self.policy, case, f, state, moves, nexts)
        return Explanation(state=state, reasons=reasons, moves=moves, next=nexts)

    def diagram(self, fmt: str = "mermaid") -> str:
        """The compiled machine as Mermaid (or ``dot``) text, guard names on the edges."""
        return self._machine.diagram(fmt)

    # -- helpers -------------------------------------------------------------

    def _next_requests(self, f: _guards.Facts) -> list[ActionRequest]:
        out: list[ActionRequest] = []
        if f.stage in (Stage.REMINDER, Stage.NEGOTIATION):
            nxt = LADDER[LADDER.index(f.stage) + 1]
            out.append(Escalate(to=nxt))
        if f.stage is Stage.FORMAL:
            out.append(Refer(agency="(any)", evaluated_on=f.day))
        if f.stage in self.policy.legal.from_stages:
            out.append(LegalAction())
        if f.case.bureau is not BureauStatus.REPORTED and not f.stage.terminal:
            out.append(Report())
        if not f.stage.terminal and f.stage is not Stage.CURRENT:
            out.append(WriteOff())
        return out

    def _own(self, case: Case) -> None:
        if case.policy != self.policy.fingerprint:
            raise CaseMismatchError(
                "case.policy",
                case.policy[:12],
                f"the case was opened under another policy than {self.policy.name!r} "
                f"({self.policy.fingerprint[:12]}); replay its events with this engine",
            )

    def _as_of(self, case: Case, at: dt.datetime) -> Case:
        require_aware(at, "at")
        self._own(case)
        if case.as_of is not None and at < case.as_of:
            # A question about the past: the case as it was, from its events up to ``at``.
            return self.replay(case.loan, case.borrower, (e for e in case.events if e.at <= at))
        return case

    def _in_order(self, case: Case, event: Event) -> None:
        if case.as_of is not None and event.at < case.as_of:
            raise OutOfOrderError(
                f"{event.type}.at",
                event.at.isoformat(),
                f"is before the case's last event ({case.as_of.isoformat()}); "
                "events are applied in time order",
            )

    def _same_currency(self, case: Case, event: Event) -> None:
        if not isinstance(event, Payment | Promise | Settlement | Plan):
            return
        currency = case.loan.currency
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
                    field, str(money), f"the loan {case.loan.id!r} is in {currency}"
                )


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
        f"Loan {case.loan.id} at {f.at.isoformat()} ({f.zone} {here:%Y-%m-%d %H:%M}): "
        f"stage {state.stage}, bureau {state.bureau}"
        + (" (disputed)" if state.bureau_disputed else "")
        + "."
    ]
    since = case._schedule.delinquent_since(case._paid, f.day)
    if since is not None and state.overdue.amount > 0:
        lines.append(
            f"{state.dpd} days past due: the oldest unpaid instalment fell due on {since}; "
            f"{state.overdue} overdue, {state.balance} owed in all."
        )
    else:
        lines.append(f"Nothing overdue; {state.balance} owed in all.")
    if case._frozen:
        lines.append("Days on a hold that stops the clock are not counted in DPD.")
    ladder_moves = [m for m in moves if m.track == "ladder"]
    if ladder_moves:
        last = ladder_moves[-1]
        lines.append(f"Entered {last.dest} on {last.at.isoformat()} by {last.trigger}.")
    if f.stage is not case.stage:
        lines.append(
            f"Entered {f.stage} automatically: DPD reached {policy.ladder.reminder.min_dpd}."
        )
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
    for d in nexts:
        what = d.action + (f" to {d.request.to}" if isinstance(d.request, Escalate) else "")
        if d.allowed:
            lines.append(f"Next: {what} is allowed now.")
        else:
            lines.append(f"Next: {what} is refused: " + "; ".join(v.message for v in d.violations))
    return tuple(lines)
