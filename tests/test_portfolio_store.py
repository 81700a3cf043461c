"""The sweep, what-if and export against a real event store (SQLite), not a stand-in.

A book of cases is appended to a store through the engine; the sweep read from the
store, the sweep of the store's Parquet export and the sweep of the same book written
directly must give the same rows, and what-if over the store reports the flips a
narrower call window makes.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from staged_collection import Engine
from staged_collection.portfolio.book import BookCase, write_book
from staged_collection.portfolio.core import sweep_batches
from staged_collection.portfolio.sources import parquet_source
from staged_collection.portfolio.synthetic import synthetic_book
from staged_collection.store import EventStore
from tests.builders import run_cli as run

AT = "2026-06-01T02:00:00Z"


@pytest.fixture(scope="module")
def cases() -> list[BookCase]:
    return list(synthetic_book(24, policy="cn", days=45))


@pytest.fixture(scope="module")
def store_url(cases: list[BookCase], tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'book.db'}"
    store = EventStore(url, engine=Engine("cn"))
    for c in cases:
        store.open(c.loan, c.borrower)
        if c.events:
            store.append(c.loan.id, c.events, expected_version=0, breach=True)
    return url


def rows(path: Path) -> pa.Table:
    table = pq.read_table(path)
    return table.sort_by("case_id")


def swept(book: Path) -> pa.Table:
    at = dt.datetime.fromisoformat(AT)
    batches = list(sweep_batches(parquet_source(book).batches, policy="cn", at=at))
    return pa.Table.from_batches(batches).sort_by("case_id")


def test_the_sweep_of_a_store_equals_the_sweep_of_its_book_and_of_its_export(
    cases: list[BookCase], store_url: str, tmp_path: Path
) -> None:
    book = tmp_path / "book"
    book.mkdir()
    write_book(book, cases, snapshots=Engine("cn"))
    expected = swept(book)

    from_store = tmp_path / "from-store.parquet"
    done = run(
        "sweep", "--store", store_url, "--at", AT, "--out", str(from_store), "--runner", "inline"
    )
    assert done.returncode == 0, done.stderr
    assert rows(from_store).equals(expected)

    export = tmp_path / "export"
    done = run("store", "export", store_url, "--out", str(export))
    assert done.returncode == 0, done.stderr
    from_export = tmp_path / "from-export.parquet"
    done = run(
        "sweep",
        "--parquet",
        str(export),
        "--at",
        AT,
        "--out",
        str(from_export),
        "--runner",
        "inline",
        "--policy",
        "cn",
    )
    assert done.returncode == 0, done.stderr
    assert rows(from_export).equals(expected)
    lines = pq.read_table(export / "decisions.parquet").column("line").to_pylist()
    assert lines
    assert all(json.loads(line)["loan_id"] for line in lines)


def test_whatif_over_a_store_reports_what_a_narrower_window_flips(
    store_url: str, tmp_path: Path
) -> None:
    policy = tmp_path / "b.yaml"
    policy.write_text(
        "extends: cn\nname: cn-late-calls\ncontact:\n  quiet_hours:\n"
        "    citation: lender\n    windows:\n      call: {start: '09:00', end: '21:00'}\n",
        encoding="utf-8",
    )
    done = run(
        "whatif",
        "--store",
        store_url,
        "--policy",
        str(policy),
        "--at",
        "2026-06-01T00:30:00Z",
        "--json",
        "--runner",
        "inline",
    )
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert {r["code"] for r in doc["by_code"]} == {"contact.quiet_hours"}
    assert doc["flips"] > 0
