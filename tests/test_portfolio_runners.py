"""Every runner gives the same rows: in-process, a process pool and Spark, byte for byte."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from staged_collection import Engine
from staged_collection.portfolio import schemas
from staged_collection.portfolio.book import BookCase, read_book, write_book
from staged_collection.portfolio.core import Sweep
from staged_collection.portfolio.runners import chunks, run_inline, run_pool
from staged_collection.portfolio.sources import clustered, parquet_source
from staged_collection.portfolio.synthetic import END, synthetic_book

AT = END + dt.timedelta(hours=2)


def canonical(table: pa.Table) -> bytes:
    """The rows sorted by case, in the published schema, as Arrow IPC bytes."""
    table = table.cast(schemas.todo()).sort_by("case_id").combine_chunks()
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A book directory with both forms: snapshots, and loans, borrowers and events."""
    path = tmp_path_factory.mktemp("book")
    write_book(path, synthetic_book(60, policy="cn", days=60), snapshots=Engine("cn"))
    return path


@pytest.fixture(scope="module")
def histories_only(book: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("histories")
    for name in ("loans.parquet", "borrowers.parquet", "events.parquet"):
        (path / name).write_bytes((book / name).read_bytes())
    return path


def inline(path: Path, **options: Any) -> pa.Table:
    job = Sweep("cn", AT, **options)
    return pa.Table.from_batches(list(run_inline(job, parquet_source(path).batches)))


def test_the_pool_gives_the_rows_of_the_inline_runner_byte_for_byte(book: Path) -> None:
    expected = inline(book)
    assert expected.num_rows > 60
    assert expected.column("error").null_count == expected.num_rows
    job = Sweep("cn", AT)
    pooled = pa.Table.from_batches(
        list(run_pool(job, parquet_source(book, batch_size=13).batches, workers=2, chunk_cases=17))
    )
    assert canonical(pooled) == canonical(expected)
    # Chunks come back in order: the same rows in the same order, not only the same set.
    assert pooled.column("case_id").to_pylist() == expected.column("case_id").to_pylist()


def test_histories_and_snapshots_give_the_same_rows(book: Path, histories_only: Path) -> None:
    assert canonical(inline(histories_only)) == canonical(inline(book))


def test_an_unsorted_snapshot_file_is_clustered_before_the_sweep(
    book: Path, tmp_path: Path
) -> None:
    table = pq.read_table(book / "snapshots.parquet")
    shuffled = table.take(pa.array(list(range(table.num_rows))[::-1]))
    pq.write_table(shuffled, tmp_path / "snapshots.parquet")
    assert canonical(inline(tmp_path)) == canonical(inline(book))


@given(
    st.lists(st.integers(1, 4), min_size=1, max_size=40),
    st.integers(1, 9),
    st.integers(1, 12),
)
def test_chunks_never_split_a_borrower(
    cases_per_borrower: list[int], batch: int, size: int
) -> None:
    ids = [f"B{i:03d}" for i, n in enumerate(cases_per_borrower) for _ in range(n)]
    table = pa.table({"case_id": [f"L{k}" for k in range(len(ids))], "borrower_id": ids})
    got = list(chunks(table.to_batches(max_chunksize=batch), size))
    flat = [
        b for chunk in got for batch_ in chunk for b in batch_.column("borrower_id").to_pylist()
    ]
    assert flat == ids
    owners: dict[str, int] = {}
    for n, chunk in enumerate(got):
        for batch_ in chunk:
            for b in batch_.column("borrower_id").to_pylist():
                assert owners.setdefault(b, n) == n, f"{b} split across chunks"


@given(st.lists(st.text("ABC", min_size=1, max_size=3), max_size=60), st.integers(1, 7))
def test_clustered_sorts_by_borrower_then_case_and_keeps_every_row(
    borrowers: list[str], batch: int
) -> None:
    table = pa.table(
        {"case_id": [f"L{k:03d}" for k in range(len(borrowers))], "borrower_id": borrowers}
    )
    out = pa.Table.from_batches(
        list(clustered(table.to_batches(max_chunksize=batch), cases=len(borrowers) or None)),
        schema=table.schema,
    )
    got = zip(out.column("borrower_id").to_pylist(), out.column("case_id").to_pylist(), strict=True)
    given_ = zip(borrowers, table.column("case_id").to_pylist(), strict=True)
    assert list(got) == sorted(given_)


def test_read_book_refuses_an_event_of_no_loan(book: Path, tmp_path: Path) -> None:
    for name in ("loans.parquet", "borrowers.parquet"):
        (tmp_path / name).write_bytes((book / name).read_bytes())
    events = pq.read_table(book / "events.parquet")
    stray = events.slice(0, 1).set_column(0, events.schema.field(0), pa.array(["L-nobody"]))
    pq.write_table(pa.concat_tables([events, stray]), tmp_path / "events.parquet")
    from staged_collection import InputError

    with pytest.raises(InputError, match=r"events\.case_id: names no loan"):
        read_book(tmp_path)


def test_book_tables_round_trip_the_models(book: Path) -> None:
    cases = list(synthetic_book(5, policy="cn", days=60))
    table = read_book(book)  # written from the same generator, seed and borrowers
    from staged_collection.portfolio.core import history

    rows = {r["case_id"]: r for r in table.to_pylist()}
    for c in cases:
        row = rows[c.loan.id]
        back = history(c.loan.id, c.borrower.id, row)
        assert isinstance(back, BookCase)
        assert back.loan == c.loan
        assert back.borrower == c.borrower


@pytest.mark.slow
def test_spark_gives_the_rows_of_the_inline_runner_byte_for_byte(
    spark: Any, book: Path, histories_only: Path
) -> None:
    from staged_collection.portfolio import spark as on_spark

    expected = canonical(inline(book))
    from_snapshots = on_spark.to_arrow(on_spark.sweep(str(book), "cn", AT, spark=spark))
    assert canonical(from_snapshots) == expected
    from_histories = on_spark.to_arrow(on_spark.sweep(histories_only, "cn", AT, spark=spark))
    assert canonical(from_histories) == expected


@pytest.mark.slow
def test_spark_sweeps_a_dataframe_and_keeps_the_decisions(spark: Any, book: Path) -> None:
    from staged_collection.portfolio import spark as on_spark

    df = spark.read.parquet(str(book / "snapshots.parquet"))
    out = on_spark.to_arrow(on_spark.sweep(df, "cn", AT, decisions=True, partitions=3))
    assert canonical(out) == canonical(inline(book, decisions=True))
    assert all(lines for lines in out.column("decisions").to_pylist())
