"""What choosing the rules in force costs: ``cn`` (three periods) against the same rules undated.

Run: python bench/bench_timeline.py

A policy with effective dates is compiled once per period; each decision then
finds the period of its instant (its local date in the home zone, a bisection)
and each event is folded with that period's rules. The undated twin holds the
same rules, all in force at every date, and skips the look-up. The aim: a
check and an apply within a few percent of the twin.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import interleaved, table

from staged_collection import (
    Borrower,
    ContactAttempt,
    Engine,
    Loan,
    Policy,
    load_policy,
    parse_event,
)


def undated(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: undated(v) for k, v in value.items() if k not in ("effective_from", "effective_to")
        }
    if isinstance(value, list):
        return [undated(v) for v in value]
    return value


def main() -> None:
    cn = load_policy("cn")
    twin = Policy.model_validate(undated(cn.model_dump(mode="json")))
    assert cn.boundaries()
    assert not twin.boundaries()
    loan = Loan.model_validate(
        {
            "id": "L1",
            "currency": "CNY",
            "principal": "3000.00",
            "opened": "2026-01-01",
            "installments": [{"due": "2026-02-01", "amount": "3000.00"}],
        }
    )
    borrower = Borrower(id="B1", timezones=("Asia/Shanghai",))
    at = dt.datetime(2026, 2, 3, 2, tzinfo=dt.UTC)
    event = parse_event(
        {"type": "contact", "at": at.isoformat(), "channel": "sms", "outcome": "delivered"},
        currency="CNY",
    )
    call = ContactAttempt(channel="call", number="+8613800000000")
    engines = {"dated": Engine(cn), "undated": Engine(twin)}
    cases = {name: e.open_case(loan, borrower) for name, e in engines.items()}

    def check(name: str) -> object:
        return engines[name].check(cases[name], call, at=at)

    def apply(name: str) -> object:
        return engines[name].apply(cases[name], event)

    best = interleaved(
        {
            "check dated": (lambda: check("dated"), 2000),
            "check undated": (lambda: check("undated"), 2000),
            "apply dated": (lambda: apply("dated"), 2000),
            "apply undated": (lambda: apply("undated"), 2000),
        }
    )
    rows = [
        (what, best[f"{what} dated"] * 1e6, best[f"{what} dated"] / best[f"{what} undated"])
        for what in ("check", "apply")
    ]
    print(table(rows, ("call", "us (dated)", "dated / undated")))


if __name__ == "__main__":
    main()
