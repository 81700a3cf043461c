"""Small builders for tests: loans, borrowers, cases and instants, written tersely; and the
command line, run as a user runs it."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from staged_collection import (
    Borrower,
    Case,
    Engine,
    Escalate,
    Event,
    LegalAction,
    Loan,
    Refer,
    Report,
    WriteOff,
    parse_event,
)

UTC = dt.UTC
DUE0 = dt.date(2026, 1, 1)
ROOT = Path(__file__).resolve().parent.parent
ACTIONS = (
    Escalate(to="negotiation"),
    Escalate(to="formal"),
    Refer(agency="A1", evaluated_on=dt.date(2026, 3, 1)),
    Report(),
    LegalAction(),
    WriteOff(),
)
"""Every action a check can be asked about but a contact."""


def monthly_dues(n: int, first: dt.date = DUE0) -> list[dt.date]:
    out = []
    y, m = first.year, first.month
    for _ in range(n):
        out.append(dt.date(y, m, first.day))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def make_loan(
    dues: Iterable[dt.date] | None = None,
    amount: str = "1000.00",
    currency: str = "CNY",
    loan_id: str = "L1",
) -> Loan:
    schedule = list(dues) if dues is not None else monthly_dues(12)
    return Loan.model_validate(
        {
            "id": loan_id,
            "currency": currency,
            "principal": str(len(schedule) * int(amount.split(".")[0])),
            "opened": schedule[0] - dt.timedelta(days=31),
            "installments": [{"due": d, "amount": amount} for d in schedule],
        }
    )


def make_borrower(*zones: str, borrower_id: str = "B1", **fields: Any) -> Borrower:
    return Borrower.model_validate(
        {"id": borrower_id, "timezones": list(zones or ("Asia/Shanghai",)), **fields}
    )


@cache
def engine(policy: str) -> Engine:
    return Engine(policy)


def local(
    day: dt.date, hour: int = 12, zone: str = "Asia/Shanghai", minute: int = 0
) -> dt.datetime:
    """An aware instant at a local wall time (the first occurrence if it is ambiguous)."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone))


def on_dpd(dpd: int, hour: int = 12, zone: str = "Asia/Shanghai") -> dt.datetime:
    """Local time on the day the first instalment (due ``DUE0``) is ``dpd`` days past due."""
    return local(DUE0 + dt.timedelta(days=dpd), hour, zone)


def ev(event_type: str, at: dt.datetime, /, **fields: Any) -> Event:
    """An event from its fields; bare amounts are in ``currency`` (default CNY)."""
    currency = fields.pop("currency", "CNY")
    return parse_event({"type": event_type, "at": at.isoformat(), **fields}, currency=currency)


def case_of(policy: str, *events: Event, loan: Loan | None = None, **borrower: Any) -> Case:
    zones = borrower.pop("zones", ())
    currency = {"cn": "CNY", "us": "USD", "uk": "GBP"}.get(policy, "CNY")
    loan = loan or make_loan(currency=currency)
    return engine(policy).replay(loan, make_borrower(*zones, **borrower), events)


def run_cli(*args: str, cwd: Path = ROOT, columns: int = 200) -> subprocess.CompletedProcess[str]:
    """``staged-collection ARGS`` in a process of its own, with a plain environment and a
    terminal ``columns`` wide; the exit status is the caller's to check."""
    return subprocess.run(
        [sys.executable, "-m", "staged_collection.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        env={"COLUMNS": str(columns), "PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"},
    )
