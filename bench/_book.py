"""The case the benchmarks measure: a 12-instalment loan in CNY and a borrower in Shanghai."""

from __future__ import annotations

from staged_collection import Borrower, Loan

LOAN = Loan.model_validate(
    {
        "id": "L1",
        "currency": "CNY",
        "principal": "12000.00",
        "opened": "2025-12-01",
        "installments": [{"due": f"2026-{m:02d}-01", "amount": "1000.00"} for m in range(1, 13)],
    }
)
BORROWER = Borrower(id="B1", timezones=("Asia/Shanghai",), phones=("+8613800000000",))
