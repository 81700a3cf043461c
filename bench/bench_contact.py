"""The contact guard's cost does not grow with history: 10 past contacts vs 10,000.

Run: python bench/bench_contact.py

Both cases end with the same last week of contacts; the large one has about
three years of older history before it. A check reads only the contacts inside
the windows of the policy's counters (a day for ``cn``, seven for ``us``), so
the two should cost the same. The aim (issue 4): within 1.5x.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import interleaved, table

from staged_collection import (
    Borrower,
    Case,
    ContactAttempt,
    Engine,
    Loan,
    parse_event,
)

LOAN = Loan.model_validate(
    {
        "id": "L1",
        "currency": "USD",
        "principal": "12000.00",
        "opened": "2022-12-01",
        "installments": [{"due": "2023-01-01", "amount": "12000.00"}],
    }
)
END = dt.datetime(2026, 2, 9, 12, tzinfo=ZoneInfo("Asia/Shanghai"))


def case_with(engine: Engine, zone: str, n: int) -> Case:
    """``n`` past contacts: 3 a day ending on the day before ``END``."""
    borrower = Borrower(id="B1", timezones=(zone,), phones=("+8613800000000",))
    case = engine.open_case(LOAN, borrower)
    days = -(-n // 3)
    start = (END - dt.timedelta(days=days)).replace(hour=9)
    for i in range(n):
        at = start + dt.timedelta(days=i // 3, hours=2 * (i % 3))
        event = parse_event(
            {
                "type": "contact",
                "at": at.isoformat(),
                "channel": "call",
                "number": "+8613800000000",
                "outcome": "no_answer",
            }
        )
        case = engine.apply(case, event, breach=True)  # history as it happened
    assert len(case) == n
    return case


def main() -> None:
    attempt = ContactAttempt(channel="call", number="+8613800000000")
    candidates = {}
    for policy, zone in (("cn", "Asia/Shanghai"), ("us", "America/New_York")):
        engine = Engine(policy)
        at = END.astimezone(ZoneInfo(zone)).replace(hour=12)
        for n in (10, 10_000):
            case = case_with(engine, zone, n)
            candidates[f"{policy} check, {n:,} past contacts"] = (
                lambda e=engine, c=case, t=at: e.check(c, attempt, at=t),
                2_000,
            )
            candidates[f"{policy} next_allowed, {n:,} past contacts"] = (
                lambda e=engine, c=case, t=at: e.next_allowed(c, attempt, after=t),
                500,
            )
    timed = interleaved(candidates)
    rows = []
    for name, seconds in timed.items():
        small = name.replace("10,000", "10")
        rows.append((name, seconds * 1e6, seconds / timed[small]))
    print("Contact checks, ratio against the same call on 10 past contacts:\n")
    print(table(rows, ("operation", "per call", "vs 10")))


if __name__ == "__main__":
    main()
