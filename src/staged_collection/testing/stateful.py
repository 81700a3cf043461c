"""A ready stateful test: random events and checks on one case, invariants after every step.

``collection_machine(policy)`` returns a Hypothesis ``RuleBasedStateMachine``
bound to a policy (a preset, a file or a ``Policy``). Its ``TestCase`` is a
``unittest.TestCase`` that pytest and unittest collect::

    TestMyPolicy = collection_machine("my_policy.yaml").TestCase

Each step waits, moves to a window edge, tries a contact, records something
that happens to the case, or tries a move; whatever the engine decides, the
invariants in ``INVARIANTS`` must hold afterwards. A failure names the
invariant and shows the shortest sequence of steps that breaks it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import OrderedDict
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from staged_collection._iso4217 import MINOR_UNITS
from staged_collection.actions import (
    ActionRequest,
    Escalate,
    LegalAction,
    Recall,
    Refer,
    Report,
    Settle,
    WriteOff,
)
from staged_collection.case import Case
from staged_collection.decision import Decision
from staged_collection.engine import Engine
from staged_collection.errors import Refused
from staged_collection.events import (
    EVENT_TYPES,
    Contact,
    Escalated,
    Event,
    LegalActionTaken,
    Notice,
    Payment,
    Recalled,
    Referred,
    Reported,
    Settlement,
    WrittenOff,
)
from staged_collection.policy import Policy, load_policy
from staged_collection.terms import BureauStatus, Stage
from staged_collection.testing import _oracle as oracle
from staged_collection.testing.strategies import borrowers, contact_attempts, events, loans, money

__all__ = ["INVARIANTS", "CollectionMachine", "collection_machine"]

INVARIANTS: tuple[str, ...] = (
    "no_contact_outside_window",
    "no_counter_over_limit",
    "no_attempt_inside_a_gap",
    "no_stage_without_its_guards",
    "no_report_without_notice_and_wait",
    "terminal_stages_absorb_everything",
    "apply_never_mutates_its_input",
    "replay_gives_the_same_case",
    "decisions_round_trip_through_json",
)
"""The invariants, by the names failures are reported under."""

_CURRENCY = {"CN": "CNY", "US": "USD", "US-MA": "USD", "GB": "GBP"}
# Hypothesis draws the first entries of a list most, so the ones that move a case toward
# resolution (a payment) come last: cases should climb the ladder too.
_HAPPENINGS: tuple[str, ...] = tuple(
    kind
    for kind, model in sorted(EVENT_TYPES.items(), key=lambda item: item[0] == "payment")
    if kind != "contact" and not hasattr(model, "action")  # what happens, not what is done
    for _ in range({"notice": 4, "hold_lifted": 2}.get(kind, 1))
)
_ENGINES: OrderedDict[tuple[str, str], Engine] = OrderedDict()
_MAX_ENGINES = 8  # the policies a test session uses at once; older ones are compiled again


def _engine(policy: Policy) -> Engine:
    """One engine per policy content (its fingerprint, and its name for the messages).

    Bounded, least recently used first out: a suite that varies policies (the
    ``policies()`` strategy) must not keep every compiled engine alive.
    """
    key = (policy.fingerprint, policy.name)
    engine = _ENGINES.pop(key, None) or Engine(policy)
    _ENGINES[key] = engine
    while len(_ENGINES) > _MAX_ENGINES:
        _ENGINES.popitem(last=False)
    return engine


def _snapshot(engine: Engine, case: Case) -> tuple[object, ...]:
    """Everything a caller can see of a case: to tell whether anything changed it."""
    return (
        case.version,
        case.stage,
        case.bureau,
        case.as_of,
        case.events,
        case.breaches,
        engine.snapshot(case),
    )


def _fail(name: str, message: str) -> AssertionError:
    return AssertionError(f"invariant {name}: {message}")


@dataclasses.dataclass
class _Step:
    """One event the case accepted: the case before and after it."""

    before: Case
    after: Case
    event: Event
    index: int  # the event's position in the machine's history


class CollectionMachine(RuleBasedStateMachine):
    """Drive one case with random events and checks; assert the invariants after each step."""

    policy: ClassVar[Policy]

    def __init__(self) -> None:
        super().__init__()
        self.engine = _engine(type(self).policy)
        self.case: Case | None = None
        self.now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        self.events: list[Event] = []
        self.fresh_decisions: list[Decision] = []
        self.fresh_steps: list[_Step] = []
        self.ended: Stage | None = None

    # -- set-up and time -----------------------------------------------------------------

    @initialize(data=st.data())
    def open_case(self, data: st.DataObject) -> None:
        currency = _CURRENCY.get(self.engine.policy.jurisdiction, "CNY")
        loan = data.draw(loans(currency, max_installments=6), label="loan")
        borrower = data.draw(borrowers(), label="borrower")
        self.case = self.engine.open_case(loan, borrower)
        # Start where collection starts: on or after the first due date.
        late = data.draw(st.integers(min_value=0, max_value=90), label="days after first due")
        first_due = loan.installments[0].due + dt.timedelta(days=late)
        self.now = dt.datetime.combine(first_due, dt.time(9), tzinfo=dt.UTC)

    @rule(
        hours=st.one_of(
            st.integers(min_value=1, max_value=48),  # within a day or two: counters, windows
            st.integers(min_value=24 * 5, max_value=24 * 40),  # weeks: days past due grow
        )
    )
    def wait(self, hours: int) -> None:
        self.now += dt.timedelta(hours=hours)

    @precondition(lambda self: self.case is not None)
    @rule(
        wall=st.sampled_from(["08:00", "21:00", "22:00", "00:00"]),
        nudge=st.sampled_from([-60, -1, 0, 0, 1, 60]),
        which=st.integers(min_value=0, max_value=3),
    )
    def go_to_a_window_edge(self, wall: str, nudge: int, which: int) -> None:
        """Jump to the next time a zone's clock shows ``wall`` (a second or a minute off)."""
        assert self.case is not None
        zones = oracle.zones_at(self.case.borrower, self.events, self.now) or ["UTC"]
        zone = ZoneInfo(zones[which % len(zones)])
        here = self.now.astimezone(zone)
        for offset in (0, 1, 2):
            day = here.date() + dt.timedelta(days=offset)
            target = dt.datetime.combine(day, dt.time.fromisoformat(wall), tzinfo=zone)
            target = (target + dt.timedelta(seconds=nudge)).astimezone(dt.UTC)
            if target > self.now:
                self.now = target
                return

    # -- what happens to the case ----------------------------------------------------------

    @precondition(lambda self: self.case is not None)
    @rule(data=st.data())
    def try_a_contact(self, data: st.DataObject) -> None:
        assert self.case is not None
        attempt = data.draw(contact_attempts(self.case.borrower.phones), label="attempt")
        outcome = data.draw(
            st.sampled_from(["conversation", "no_answer", "voicemail", "busy", "delivered"]),
            label="outcome",
        )
        fields = attempt.model_dump(exclude={"action"})
        self._try(attempt, Contact(at=self.now, outcome=outcome, **fields))

    @precondition(lambda self: self.case is not None)
    @rule(data=st.data())
    def something_happens(self, data: st.DataObject) -> None:
        assert self.case is not None
        kind = data.draw(st.sampled_from(_HAPPENINGS), label="kind")
        if kind == "payment":
            # At most one instalment at a time, so that cases climb the ladder as well as cure.
            loan = self.case.loan
            cap = int(loan.installments[0].amount.amount * 10 ** MINOR_UNITS[loan.currency])
            amount = data.draw(money(loan.currency, max_value=cap), label="amount")
            self._apply(Payment(at=self.now, amount=amount))
            return
        self._apply(data.draw(events(self.case.loan, self.now, kind), label="event"))

    @precondition(lambda self: self.case is not None)
    @rule(data=st.data())
    def send_a_notice_the_policy_asks_for(self, data: st.DataObject) -> None:
        """The notices the policy's moves need (a formal demand, a pre-reporting notice...)."""
        assert self.case is not None
        p = self.engine.policy
        rules = [p.ladder.negotiation.notice, p.ladder.formal.notice, p.ladder.third_party.notice]
        rules += [p.legal.notice, p.bureau.notice]
        kinds = sorted({k for r in rules if r is not None for k in r.kinds})
        if not kinds:
            return
        kind = data.draw(st.sampled_from(kinds), label="notice")
        remedy = self.now.date() + dt.timedelta(days=data.draw(st.integers(0, 20), label="remedy"))
        self._apply(Notice(at=self.now, kind=kind, remedy_date=remedy))

    @precondition(lambda self: self.case is not None)
    @rule(to=st.sampled_from([Stage.NEGOTIATION, Stage.FORMAL]))
    def try_to_escalate(self, to: Stage) -> None:
        self._try(Escalate(to=to), Escalated(at=self.now, to=to))

    @precondition(lambda self: self.case is not None)
    @rule(age=st.integers(min_value=0, max_value=500))
    def try_to_refer(self, age: int) -> None:
        evaluated = self.now.date() - dt.timedelta(days=age)
        self._try(
            Refer(agency="agency-1", evaluated_on=evaluated),
            Referred(at=self.now, agency="agency-1", evaluated_on=evaluated),
        )

    @precondition(lambda self: self.case is not None)
    @rule(
        move=st.sampled_from(
            ["report", "legal_action", "write_off", "report", "legal_action", "recall"]
        ),
        settle=st.integers(min_value=0, max_value=9),
    )
    def try_a_move(self, move: str, settle: int) -> None:
        assert self.case is not None
        at = self.now
        pairs: dict[str, tuple[ActionRequest, Event]] = {
            "report": (Report(), Reported(at=at)),
            "legal_action": (LegalAction(), LegalActionTaken(at=at)),
            "write_off": (WriteOff(), WrittenOff(at=at)),
            "recall": (Recall(), Recalled(at=at)),
            "settle": (
                Settle(),
                Settlement(at=at, amount=self.case.loan.total_due.model_copy()),
            ),
        }
        # A settlement ends the case, and the rest of the run with it: one time in ten.
        request, event = pairs["settle" if settle == 0 else move]
        if isinstance(request, Recall | Settle):
            self._apply(event)  # not check actions: the apply decides
        else:
            self._try(request, event)

    def _try(self, request: ActionRequest, event: Event) -> None:
        assert self.case is not None
        decision = self.engine.check(self.case, request, at=self.now)
        self.fresh_decisions.append(decision)
        self._apply(event, decision.allowed)

    def _apply(self, event: Event, allowed: bool | None = None) -> None:
        case = self.case
        assert case is not None
        before = _snapshot(self.engine, case)
        dumped = case.to_dict()
        try:
            new = self.engine.apply(case, event)
        except Refused as refused:
            self.fresh_decisions.append(refused.decision)
            self._unchanged(case, before, dumped)
            if allowed is True:
                raise AssertionError(
                    f"check allowed {event.type} at {event.at} but apply refused it: "
                    f"{refused.decision.summary()}"
                ) from None
            return
        self._unchanged(case, before, dumped)
        if allowed is False:
            raise AssertionError(f"check refused {event.type} at {event.at} but apply took it")
        self.fresh_steps.append(_Step(case, new, event, len(self.events)))
        self.events.append(event)
        self.case = new

    def _unchanged(self, case: Case, before: tuple[object, ...], dumped: dict[str, Any]) -> None:
        if _snapshot(self.engine, case) != before or case.to_dict() != dumped:
            raise _fail("apply_never_mutates_its_input", "apply changed the case it was given")

    # -- the invariants --------------------------------------------------------------------

    @invariant()
    def the_invariants_hold(self) -> None:
        if self.case is None:
            return
        try:
            self.no_contact_outside_window()
            self.no_counter_over_limit()
            self.no_attempt_inside_a_gap()
            self.no_stage_without_its_guards()
            self.no_report_without_notice_and_wait()
            self.terminal_stages_absorb_everything()
            self.replay_gives_the_same_case()
            self.decisions_round_trip_through_json()
        finally:
            self.fresh_decisions.clear()
            self.fresh_steps.clear()

    def _zone(self) -> str:
        assert self.case is not None
        return oracle.days_zone(self.engine.policy, self.case.borrower)

    def no_contact_outside_window(self) -> None:
        assert self.case is not None
        policy = self.engine.policy
        hours = policy.contact.quiet_hours
        for step in self.fresh_steps:
            c = step.event
            if not isinstance(c, Contact) or c.initiated_by != "collector":
                continue
            if c.channel not in hours.windows and not any(
                c.channel in by_channel for by_channel in hours.weekdays.values()
            ):
                continue
            zones = oracle.zones_at(self.case.borrower, self.events, c.at)
            if not zones:
                raise _fail("no_contact_outside_window", f"{c.channel} at {c.at} with no zone")
            for zone in zones:
                wall = c.at.astimezone(ZoneInfo(zone)).time().replace(tzinfo=None)
                for window in oracle.windows_at(policy, c.channel, c.at, zone):
                    if not window.start <= wall < window.end:
                        raise _fail(
                            "no_contact_outside_window",
                            f"{c.channel} allowed at {wall:%H:%M} in {zone}, outside {window}",
                        )

    def no_counter_over_limit(self) -> None:
        zone = self._zone()
        for step in self.fresh_steps:
            c = step.event
            if not isinstance(c, Contact):
                continue
            for counter in self.engine.policy.contact.counters:
                if not oracle.in_force(counter, self.engine.policy, c.at):
                    continue  # a cap applies to the attempts on the dates it is in force
                consent = self.engine.policy.contact.consent
                n = oracle.counter_count(counter, self.events, c, zone, consent)
                if n > counter.limit:
                    raise _fail(
                        "no_counter_over_limit",
                        f"{counter.name}: {n} > {counter.limit} after the {c.channel} at {c.at}",
                    )

    def no_attempt_inside_a_gap(self) -> None:
        policy = self.engine.policy
        for step in self.fresh_steps:
            c = step.event
            if not isinstance(c, Contact) or c.initiated_by != "collector":
                continue
            for gap in policy.contact.min_gaps:
                if not oracle.in_force(gap, policy, c.at):
                    continue
                earlier = oracle.attempt_inside_gap(gap, self.events[: step.index], c)
                if earlier is not None:
                    raise _fail(
                        "no_attempt_inside_a_gap",
                        f"{c.channel} at {c.at} allowed {c.at - earlier.at} after the "
                        f"{earlier.channel} at {earlier.at}; {gap.name} asks {gap.minutes} minutes",
                    )

    def no_stage_without_its_guards(self) -> None:
        assert self.case is not None
        policy, loan, zone = self.engine.policy, self.case.loan, self._zone()
        lad = policy.ladder
        for step in self.fresh_steps:
            before, after, e = step.before.stage, step.after.stage, step.event
            if before == after:
                continue
            at = e.at
            history = self.events[: step.index]
            dpd = oracle.dpd(loan, history, at, zone)
            if after is Stage.REMINDER and before is Stage.CURRENT:
                need = lad.reminder.min_dpd
                self._guard(dpd >= need, f"reminder at DPD {dpd} < {need}")
                continue
            if after in (Stage.NEGOTIATION, Stage.FORMAL, Stage.THIRD_PARTY) and before in (
                Stage.REMINDER,
                Stage.NEGOTIATION,
                Stage.FORMAL,
            ):
                rung = lad.rung(after)
                self._guard(dpd >= rung.min_dpd, f"{after} at DPD {dpd} < {rung.min_dpd}")
                holds = oracle.active_holds(policy, history, at, zone)
                self._guard(not holds, f"{after} entered during holds {holds}")
                self._guard(
                    not oracle.promise_or_plan_holds_back(history, at, zone),
                    f"{after} entered while a promise or plan holds escalation back",
                )
                if rung.notice is not None:
                    self._guard(
                        oracle.notice_satisfied(rung.notice, history, at, zone, policy),
                        f"{after} entered without its {sorted(rung.notice.kinds)} notice",
                    )
                gap = [s.value for s in Stage].index(after) - [s.value for s in Stage].index(before)
                self._guard(gap == 1 or lad.skip_allowed, f"{before} -> {after} skips a rung")
            elif after is Stage.WRITTEN_OFF:
                need = lad.write_off.min_dpd
                self._guard(dpd >= need, f"written off at DPD {dpd} < {need}")
            elif after is Stage.CURRENT:
                owed = oracle.overdue(loan, [*history, e], at, zone)
                self._guard(owed == 0, f"cured with {owed} still overdue")
            elif after is Stage.RESOLVED:
                left = loan.total_due.amount - oracle.paid([*history, e], at)
                self._guard(left <= 0, f"resolved with {left} unpaid")

    def _guard(self, ok: bool, message: str) -> None:
        if not ok:
            raise _fail("no_stage_without_its_guards", message)

    def no_report_without_notice_and_wait(self) -> None:
        assert self.case is not None
        rule = self.engine.policy.bureau.notice
        zone = self._zone()
        for step in self.fresh_steps:
            if (
                step.after.bureau is not BureauStatus.REPORTED
                or step.before.bureau is BureauStatus.REPORTED
            ):
                continue
            history = self.events[: step.index]
            if rule is not None and not oracle.notice_satisfied(
                rule, history, step.event.at, zone, self.engine.policy
            ):
                raise _fail(
                    "no_report_without_notice_and_wait",
                    f"reported at {step.event.at} without a {sorted(rule.kinds)} notice "
                    "and its wait",
                )

    def terminal_stages_absorb_everything(self) -> None:
        assert self.case is not None
        if self.ended is not None and self.case.stage is not self.ended:
            raise _fail(
                "terminal_stages_absorb_everything",
                f"the case left {self.ended} for {self.case.stage}",
            )
        for d in self.fresh_decisions:
            if d.stage.terminal and d.allowed and d.action != "contact":
                raise _fail("terminal_stages_absorb_everything", f"{d.action} allowed in {d.stage}")
            inbound = getattr(d.request, "initiated_by", "collector") == "borrower"
            if d.stage.terminal and d.action == "contact" and d.allowed and not inbound:
                raise _fail("terminal_stages_absorb_everything", f"a contact allowed in {d.stage}")
        if self.case.stage.terminal:
            self.ended = self.case.stage

    def replay_gives_the_same_case(self) -> None:
        assert self.case is not None
        again = self.engine.replay(self.case.loan, self.case.borrower, self.events)
        if again != self.case or (again.stage, again.bureau) != (self.case.stage, self.case.bureau):
            raise _fail("replay_gives_the_same_case", f"{again!r} != {self.case!r}")

    def decisions_round_trip_through_json(self) -> None:
        # With full values a line reads back equal; the default (masked) line still reads.
        for d in self.fresh_decisions:
            if Decision.model_validate_json(d.to_log_line(reveal=True)) != d:
                raise _fail("decisions_round_trip_through_json", d.to_log_line())
            masked = Decision.model_validate_json(d.to_log_line())
            number = getattr(d.request, "number", None)
            if number is not None and number == getattr(masked.request, "number", None):
                raise _fail("decisions_round_trip_through_json", f"unmasked: {masked!r}")


def collection_machine(policy: Policy | str | Path = "cn") -> type[CollectionMachine]:
    """A ``CollectionMachine`` bound to ``policy``; use its ``TestCase`` in a test module."""
    bound = policy if isinstance(policy, Policy) else load_policy(policy)
    name = "".join(part.capitalize() for part in bound.name.replace("-", "_").split("_"))
    return type(f"CollectionMachine{name}", (CollectionMachine,), {"policy": bound})
