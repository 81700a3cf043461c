"""What the store tests share: a fresh PostgreSQL database (the ``store_url`` fixture, in
``conftest.py``, gives one per test on each backend), a clock, loans and events."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from staged_collection import Event, Loan
from tests.builders import ev as _ev
from tests.builders import make_borrower, make_loan, monthly_dues
from tests.conftest import POSTGRES

sa = pytest.importorskip("sqlalchemy", reason="the store tests need the store extra")


T0 = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


def fresh_postgres() -> Iterator[str]:
    """A new PostgreSQL database for one test, dropped after it."""
    assert POSTGRES is not None
    server = sa.make_url(POSTGRES)
    name = f"sc_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


class Clock:
    """A clock that moves one second each time it is read."""

    def __init__(self, start: dt.datetime = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now


def loan(loan_id: str = "L1") -> Loan:
    return make_loan(monthly_dues(6), loan_id=loan_id)


def borrower(borrower_id: str = "B1") -> Any:
    return make_borrower("Asia/Shanghai", borrower_id=borrower_id, phones=["+8613800000000"])


def ev(event_type: str, at: dt.datetime, /, **fields: Any) -> Event:
    return _ev(event_type, at, **fields)


def minutes(n: int) -> dt.datetime:
    """``T0`` (a Sunday in February, 08:00 in Shanghai) plus ``n`` minutes."""
    return T0 + dt.timedelta(minutes=n)


def notice(n: int) -> Event:
    """A fact the rules never refuse, ``n`` minutes after ``T0``."""
    return ev("notice", minutes(n), kind="reminder")


def letter(n: int) -> Event:
    """A contact the rules allow at any hour (letters have no window), ``n`` minutes on."""
    return ev("contact", minutes(n), channel="letter", outcome="delivered")
