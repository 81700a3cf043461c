"""The engine against a small, obviously-correct model of the ``cn`` ladder.

The pattern of Hypothesis's ``DatabaseComparison``: every operation goes to both,
and after every step they must agree on the stage, days past due, what is
overdue, and every allowed-or-refused answer.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from staged_collection import (
    Borrower,
    Engine,
    Escalate,
    Escalated,
    Hold,
    HoldLifted,
    Loan,
    Money,
    Notice,
    Payment,
    Promise,
    Refer,
    Referred,
    Refused,
    WriteOff,
    WrittenOff,
)

ZONE = "Asia/Shanghai"
ENGINE = Engine("cn")
RUNGS = {"negotiation": ("reminder", 31), "formal": ("negotiation", 61)}


class Ladder:
    """The ``cn`` ladder by hand: days past due, thresholds, one rung at a time."""

    def __init__(self, loan: Loan) -> None:
        self.dues = [(i.due, i.amount.amount) for i in loan.installments]
        self.total = sum(a for _, a in self.dues)
        self.paid = Decimal(0)
        self.stage = "current"
        self.demand_at: dt.datetime | None = None
        self.referral_at: dt.datetime | None = None
        self.hold_until: dt.date | None = None
        self.held = False
        self.promise: tuple[Decimal, dt.date, Decimal] | None = None

    @staticmethod
    def day(at: dt.datetime) -> dt.date:
        return at.astimezone(ZoneInfo(ZONE)).date()

    def dpd(self, at: dt.datetime) -> int:
        left = self.paid
        for due, amount in self.dues:
            if left >= amount:
                left -= amount
            else:
                return max(0, (self.day(at) - due).days)
        return 0

    def overdue(self, at: dt.datetime) -> Decimal:
        due = sum(a for d, a in self.dues if d < self.day(at))
        return max(Decimal(0), due - self.paid)

    def stage_at(self, at: dt.datetime) -> str:
        if self.stage == "current" and self.dpd(at) >= 1:
            return "reminder"
        return self.stage

    def on_hold(self, at: dt.datetime) -> bool:
        return self.held and (self.hold_until is None or self.day(at) <= self.hold_until)

    def promised(self, at: dt.datetime) -> bool:
        if self.promise is None:
            return False
        amount, due, paid_then = self.promise
        return self.day(at) <= due and self.paid - paid_then < amount

    def may_escalate(self, to: str, at: dt.datetime) -> bool:
        below, threshold = RUNGS[to]
        return (
            self.stage_at(at) == below
            and self.dpd(at) >= threshold
            and not self.on_hold(at)
            and not self.promised(at)
            and (to != "formal" or (self.demand_at is not None and self.demand_at < at))
        )

    def may_refer(self, at: dt.datetime, evaluated_on: dt.date) -> bool:
        return (
            self.stage_at(at) == "formal"
            and self.dpd(at) >= 91
            and not self.on_hold(at)
            and not self.promised(at)
            and 0 <= (self.day(at) - evaluated_on).days <= 365
            and self.referral_at is not None  # told before the debt is outsourced (art. 41)
            and self.referral_at < at
        )

    def may_write_off(self, at: dt.datetime) -> bool:
        return self.stage_at(at) in ("reminder", "negotiation", "formal", "third_party") and (
            self.dpd(at) >= 181
        )

    def pay(self, at: dt.datetime, amount: Decimal) -> None:
        self.stage = self.stage_at(at)
        self.paid += amount
        if self.stage in ("resolved", "settled", "written_off"):
            return
        if self.paid >= self.total:
            self.stage = "resolved"
        elif self.stage != "current" and self.overdue(at) == 0:
            self.stage = "current"


class EngineAgainstReference(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = dt.datetime(2026, 2, 1, 9, tzinfo=dt.UTC)

    @initialize(
        months=st.integers(min_value=1, max_value=8),
        cents=st.integers(min_value=1_000, max_value=200_000),
        late=st.integers(min_value=0, max_value=150),
    )
    def open(self, months: int, cents: int, late: int) -> None:
        self.now += dt.timedelta(days=late)  # start where collection starts
        amount = Decimal(cents) / 100
        loan = Loan.model_validate(
            {
                "id": "L1",
                "currency": "CNY",
                "principal": str(amount * months),
                "opened": "2026-01-01",
                "installments": [
                    {"due": f"2026-{m + 2:02d}-01", "amount": str(amount)} for m in range(months)
                ],
            }
        )
        self.case = ENGINE.open_case(loan, Borrower(id="B1", timezones=(ZONE,)))
        self.model = Ladder(loan)
        self.unit = amount

    @rule(hours=st.integers(min_value=1, max_value=24 * 30))
    def wait(self, hours: int) -> None:
        self.now += dt.timedelta(hours=hours)

    @rule(
        threshold=st.sampled_from([31, 61, 91, 181]),
        off=st.sampled_from([-1, 0, 0, 1]),
        hour=st.integers(min_value=0, max_value=23),
    )
    def go_to_a_threshold_day(self, threshold: int, off: int, hour: int) -> None:
        """Jump to the local date DPD reaches a threshold (or a day either side): the edges."""
        left = self.model.paid
        for due, amount in self.model.dues:
            if left < amount:
                day = due + dt.timedelta(days=threshold + off)
                target = dt.datetime.combine(day, dt.time(hour), tzinfo=ZoneInfo(ZONE))
                if target > self.now:
                    self.now = target.astimezone(dt.UTC)
                return
            left -= amount

    @rule()
    def send_a_formal_demand(self) -> None:
        self.case = ENGINE.apply(self.case, Notice(at=self.now, kind="formal_demand"))
        if self.model.demand_at is None:
            self.model.demand_at = self.now

    @rule()
    def send_a_referral_notice(self) -> None:
        self.case = ENGINE.apply(self.case, Notice(at=self.now, kind="referral"))
        if self.model.referral_at is None:
            self.model.referral_at = self.now

    @rule(days=st.none() | st.integers(min_value=0, max_value=20))
    def hold(self, days: int | None) -> None:
        until = None if days is None else self.model.day(self.now) + dt.timedelta(days=days)
        self.case = ENGINE.apply(self.case, Hold(at=self.now, kind="hardship", until=until))
        self.model.held, self.model.hold_until = True, until

    @rule()
    def lift(self) -> None:
        self.case = ENGINE.apply(self.case, HoldLifted(at=self.now, kind="hardship"))
        self.model.held = False

    @rule(days=st.integers(min_value=0, max_value=15))
    def promise(self, days: int) -> None:
        due = self.model.day(self.now) + dt.timedelta(days=days)
        money = Money(amount=self.unit, currency="CNY")
        self.case = ENGINE.apply(self.case, Promise(at=self.now, amount=money, due=due))
        self.model.promise = (self.unit, due, self.model.paid)

    @rule(to=st.sampled_from(["negotiation", "formal"]))
    def escalate(self, to: str) -> None:
        decision = ENGINE.check(self.case, Escalate(to=to), at=self.now)
        assert decision.allowed == self.model.may_escalate(to, self.now), decision.summary()
        if decision.allowed:
            self.case = ENGINE.apply(self.case, Escalated(at=self.now, to=to))
            self.model.stage = to

    @rule(age=st.integers(min_value=0, max_value=400))
    def refer(self, age: int) -> None:
        evaluated = self.model.day(self.now) - dt.timedelta(days=age)
        decision = ENGINE.check(self.case, Refer(agency="A", evaluated_on=evaluated), at=self.now)
        assert decision.allowed == self.model.may_refer(self.now, evaluated), decision.summary()
        if decision.allowed:
            event = Referred(at=self.now, agency="A", evaluated_on=evaluated)
            self.case = ENGINE.apply(self.case, event)
            self.model.stage = "third_party"

    @rule()
    def write_off(self) -> None:
        decision = ENGINE.check(self.case, WriteOff(), at=self.now)
        assert decision.allowed == self.model.may_write_off(self.now), decision.summary()
        try:
            self.case = ENGINE.apply(self.case, WrittenOff(at=self.now))
        except Refused:
            assert not decision.allowed
            return
        self.model.stage = "written_off"

    # Last: Hypothesis draws the first rules most, and payments end the climb.
    @rule(share=st.sampled_from([Decimal("0.25"), Decimal("0.5"), Decimal("1")]))
    def pay(self, share: Decimal) -> None:
        amount = (self.unit * share).quantize(Decimal("0.01"))
        self.case = ENGINE.apply(
            self.case, Payment(at=self.now, amount=Money(amount=amount, currency="CNY"))
        )
        self.model.pay(self.now, amount)

    @invariant()
    def agree(self) -> None:
        if not hasattr(self, "case"):
            return
        state = ENGINE.state(self.case, at=self.now)
        assert str(state.stage) == self.model.stage_at(self.now)
        assert state.dpd == self.model.dpd(self.now)
        assert state.overdue.amount == self.model.overdue(self.now)


TestEngineAgainstReference = EngineAgainstReference.TestCase
