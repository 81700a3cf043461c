"""The date of first delinquency and the arrears stretch against a brute-force walk.

FCRA 1681c(c)(1) as DOMAIN section 7 reads it: the day after the earliest due date missed
since the account was last current. The walk goes day by day over random schedules and
payments, with none of the engine's shortcuts: at the start of each local day the account
is delinquent if anything fell due before that day and is unpaid; each payment that leaves
nothing overdue ends the run; the next day that starts overdue begins a new one.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from staged_collection import Borrower, Engine, Loan, Payment
from staged_collection._duties import arrears_since
from staged_collection._guards import facts, first_delinquency
from staged_collection.money import Money
from staged_collection.testing import borrowers, loans

ENGINE = Engine("us")
UK = Engine("uk")
ZONE = "America/New_York"


def walk(
    loan: Loan, payments: list[Payment], at: dt.datetime, zone: str, nth: int
) -> dt.date | None:
    """The first day of the current run with ``nth`` or more instalments overdue at once (1:
    the date of first delinquency), walking every local day up to ``at``."""
    local = ZoneInfo(zone)
    today = at.astimezone(local).date()
    dues = [(i.due, i.amount.amount) for i in loan.installments]
    paid = Decimal(0)
    by_day: dict[dt.date, list[Decimal]] = {}
    for p in payments:
        if p.at <= at:
            by_day.setdefault(p.at.astimezone(local).date(), []).append(p.amount.amount)

    def overdue_count(day: dt.date) -> int:
        left = paid
        count = 0
        for due, amount in dues:
            if due >= day:
                break
            if left >= amount:
                left -= amount
            else:
                left = Decimal(0)
                count += 1
        return count

    start: dt.date | None = None
    day = min([dues[0][0], *by_day])
    while day <= today:
        if start is None and overdue_count(day) >= nth:
            start = day
        for amount in by_day.get(day, []):
            paid += amount
            if overdue_count(day) < nth:
                start = None
        day += dt.timedelta(days=1)
    return start


@st.composite
def histories(draw: st.DrawFn) -> tuple[Loan, list[Payment], dt.datetime]:
    loan = draw(loans("USD", max_installments=8), label="loan")
    first = loan.installments[0].due
    payments = []
    at = dt.datetime.combine(first - dt.timedelta(days=10), dt.time(12), ZoneInfo(ZONE))
    for _ in range(draw(st.integers(0, 10), label="payments")):
        at += dt.timedelta(hours=draw(st.integers(1, 24 * 45)))
        # Part of an instalment, a whole one, or several at once.
        share = draw(st.sampled_from(["0.3", "0.5", "1", "1", "2", "3"]))
        amount = (loan.installments[0].amount.amount * Decimal(share)).quantize(Decimal("0.01"))
        payments.append(Payment(at=at, amount=Money(amount=amount, currency="USD")))
    query = at + dt.timedelta(hours=draw(st.integers(0, 24 * 90), label="query"))
    return loan, payments, query


@settings(max_examples=300)
@given(history=histories(), data=st.data())
def test_the_date_of_first_delinquency_is_the_walks(
    history: tuple[Loan, list[Payment], dt.datetime], data: st.DataObject
) -> None:
    loan, payments, at = history
    borrower = data.draw(borrowers(zones=(ZONE,), max_zones=1), label="borrower")
    paid = [p for p in payments if p.at <= at]
    case = ENGINE.replay(loan, borrower, paid)
    found = first_delinquency(facts(case, ENGINE.policy, at))
    assert found == walk(loan, payments, at, ZONE, 1)
    # A snapshot taken anywhere keeps it.
    restored = ENGINE.restore(ENGINE.snapshot(case))
    assert first_delinquency(facts(restored, ENGINE.policy, at)) == found


@settings(max_examples=200)
@given(history=histories(), data=st.data())
def test_the_arrears_duty_opens_on_the_walks_day(
    history: tuple[Loan, list[Payment], dt.datetime], data: st.DataObject
) -> None:
    loan, payments, at = history
    borrower = data.draw(borrowers(zones=(ZONE,), max_zones=1), label="borrower")
    gbp = Loan.model_validate(
        {
            "id": loan.id,
            "currency": "GBP",
            "principal": str(loan.principal.amount),
            "opened": loan.opened,
            "installments": [
                {"due": i.due, "amount": str(i.amount.amount)} for i in loan.installments
            ],
        }
    )
    paid = [
        Payment(at=p.at, amount=Money(amount=p.amount.amount, currency="GBP"))
        for p in payments
        if p.at <= at
    ]
    case = UK.replay(gbp, borrower, paid)
    assert arrears_since(facts(case, UK.policy, at), 2) == walk(loan, payments, at, ZONE, 2)


def test_a_partial_payment_keeps_the_run_and_a_cure_ends_it() -> None:
    loan = Loan.model_validate(
        {
            "id": "L1",
            "currency": "USD",
            "principal": "300.00",
            "opened": "2026-01-01",
            "installments": [
                {"due": "2026-02-01", "amount": "100.00"},
                {"due": "2026-03-01", "amount": "100.00"},
                {"due": "2026-04-01", "amount": "100.00"},
            ],
        }
    )
    borrower = Borrower(id="B1", timezones=(ZONE,))
    at = dt.datetime(2026, 3, 10, 12, tzinfo=ZoneInfo(ZONE))
    part = Payment(at=at, amount=Money(amount=Decimal("100.00"), currency="USD"))
    later = at + dt.timedelta(days=1)
    case = ENGINE.replay(loan, borrower, [part])
    assert first_delinquency(facts(case, ENGINE.policy, later)) == dt.date(2026, 2, 2)
    cure = Payment(at=later, amount=Money(amount=Decimal("100.00"), currency="USD"))
    cured = ENGINE.apply(case, cure)
    assert first_delinquency(facts(cured, ENGINE.policy, later)) is None
    april = dt.datetime(2026, 4, 5, 12, tzinfo=ZoneInfo(ZONE))
    assert first_delinquency(facts(cured, ENGINE.policy, april)) == dt.date(2026, 4, 2)
