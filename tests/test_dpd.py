"""Days past due against a brute-force count: payments allocated oldest-first, day by day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from staged_collection import Borrower, Engine, Loan, parse_event
from tests.builders import local

ZONES = [
    "Asia/Shanghai",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Pacific/Kiritimati",
    "America/St_Johns",
    "Pacific/Pago_Pago",
]
START = dt.date(2026, 1, 1)
ENGINE = Engine("cn")


def brute_force(
    dues: list[dt.date], amounts: list[int], payments: list[tuple[dt.date, int]], day: dt.date
) -> tuple[int, int]:
    """(DPD, cents overdue) on ``day``: each payment goes to the oldest unpaid instalment."""
    remaining = list(amounts)
    for paid_on, cents in sorted(payments):
        if paid_on > day:
            continue
        for i in range(len(remaining)):
            take = min(remaining[i], cents)
            remaining[i] -= take
            cents -= take
    dpd = 0
    for due, left in zip(dues, remaining, strict=True):
        if left > 0:
            dpd = max(0, (day - due).days)
            break
    overdue = sum(left for due, left in zip(dues, remaining, strict=True) if due < day)
    return dpd, overdue


@given(
    gaps=st.lists(st.integers(min_value=0, max_value=45), min_size=1, max_size=8),
    amounts=st.lists(st.integers(min_value=1, max_value=500_000), min_size=8, max_size=8),
    payments=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=900_000)
        ),
        max_size=8,
    ),
    query=st.integers(min_value=0, max_value=450),
    zone=st.sampled_from(ZONES),
)
def test_dpd_and_overdue_match_a_brute_force_count(
    gaps: list[int],
    amounts: list[int],
    payments: list[tuple[int, int]],
    query: int,
    zone: str,
) -> None:
    dues, day = [], START
    for gap in gaps:
        day += dt.timedelta(days=gap + 1)  # strictly increasing due dates
        dues.append(day)
    amounts = amounts[: len(dues)]
    loan = Loan.model_validate(
        {
            "id": "L",
            "currency": "USD",
            "principal": "1.00",
            "opened": START,
            "installments": [
                {"due": d, "amount": str(Decimal(a) / 100)}
                for d, a in zip(dues, amounts, strict=True)
            ],
        }
    )
    pays = sorted((START + dt.timedelta(days=d), cents) for d, cents in payments)
    case = ENGINE.open_case(loan, Borrower(id="B", timezones=(zone, "Asia/Tokyo")))
    for paid_on, cents in pays:
        event = {
            "type": "payment",
            "at": local(paid_on, 3, zone).isoformat(),
            "amount": f"{cents / 100:.2f}",
        }
        case = ENGINE.apply(case, parse_event(event, currency="USD"))
    query_day = START + dt.timedelta(days=query)
    state = ENGINE.state(case, at=local(query_day, 12, zone))
    dpd, overdue = brute_force(dues, amounts, pays, query_day)
    assert state.dpd == dpd
    assert state.overdue.amount * 100 == overdue


def test_dpd_counts_in_the_first_zone_only() -> None:
    loan = Loan.model_validate(
        {
            "id": "L",
            "currency": "USD",
            "principal": "10.00",
            "opened": "2026-01-01",
            "installments": [{"due": "2026-02-01", "amount": "10.00"}],
        }
    )
    at = dt.datetime(2026, 2, 2, 2, tzinfo=dt.UTC)  # 2 Feb in Tokyo, still 1 Feb in New York
    tokyo_first = ENGINE.open_case(
        loan, Borrower(id="B", timezones=("Asia/Tokyo", "America/New_York"))
    )
    ny_first = ENGINE.open_case(
        loan, Borrower(id="B", timezones=("America/New_York", "Asia/Tokyo"))
    )
    assert ENGINE.state(tokyo_first, at=at).dpd == 1
    assert ENGINE.state(ny_first, at=at).dpd == 0
