"""A sweep run end to end: a book in, a to-do Parquet file and its summary out.

The decision log: the core returns the log line of each check it made in
the ``decisions`` column (one stream, as ``mapInArrow`` allows); a run given
``decisions_out`` writes those lines to a JSON Lines file and leaves the
column null in the Parquet file, so the to-do file is the same whether or not
the decisions were logged.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from staged_collection.policy import Policy
from staged_collection.portfolio import schemas
from staged_collection.portfolio.core import Sweep
from staged_collection.portfolio.runners import Progress, RunStats, run_inline, run_pool
from staged_collection.portfolio.sources import Source
from staged_collection.portfolio.summary import Summary

__all__ = ["Done", "sweep_book", "sweep_path_on_spark"]

RunnerName = Literal["inline", "pool", "spark"]


@dataclass
class Done:
    """What a run did: its summary, its stats and how long it took."""

    summary: Summary
    stats: RunStats
    seconds: float


def sweep_book(
    source: Source,
    *,
    policy: Policy,
    at: dt.datetime,
    runner: Literal["inline", "pool"] = "pool",
    workers: int | None = None,
    out: Path | None = None,
    decisions_out: Path | None = None,
    scale: int = schemas.SCALE,
    migrate: bool = False,
    progress: Progress | None = None,
) -> Done:
    """Sweep ``source`` as of ``at``; write the to-do rows to ``out`` (Parquet) if given."""
    started = time.perf_counter()
    job = Sweep(policy, at, scale=scale, decisions=decisions_out is not None, migrate=migrate)
    stats = RunStats()
    if runner == "inline":
        batches = run_inline(job, source.batches, progress=progress, stats=stats)
    else:
        batches = run_pool(job, source.batches, workers=workers, progress=progress, stats=stats)
    summary = Summary(at=at.astimezone(dt.UTC))
    write(batches, summary, out=out, decisions_out=decisions_out, scale=scale)
    return Done(summary, stats, time.perf_counter() - started)


def write(
    batches: Iterator[pa.RecordBatch],
    summary: Summary,
    *,
    out: Path | None,
    decisions_out: Path | None,
    scale: int,
) -> None:
    """Count ``batches`` into ``summary`` and write them (and their decisions) as they come."""
    schema = schemas.todo(scale)
    writer = None if out is None else pq.ParquetWriter(out, schema)
    log = None if decisions_out is None else decisions_out.open("w", encoding="utf-8")
    try:
        for batch in batches:
            summary.add(batch)
            if log is not None:
                batch = _move_decisions(batch, log)
            if writer is not None:
                writer.write_batch(batch)
    finally:
        if writer is not None:
            writer.close()
        if log is not None:
            log.close()


def _move_decisions(batch: pa.RecordBatch, log: object) -> pa.RecordBatch:
    column = batch.schema.get_field_index("decisions")
    for lines in batch.column(column).to_pylist():
        for line in lines or ():
            log.write(line + "\n")  # type: ignore[attr-defined]
    empty = pa.nulls(batch.num_rows, type=batch.schema.field(column).type)
    return batch.set_column(column, batch.schema.field(column), empty)


def sweep_path_on_spark(
    path: Path,
    *,
    policy: Policy,
    at: dt.datetime,
    out: Path | None = None,
    decisions_out: Path | None = None,
    scale: int = schemas.SCALE,
    migrate: bool = False,
    workers: int | None = None,
) -> Done:
    """Sweep the book in ``path`` on Spark (the active session, or a local one)."""
    from staged_collection.portfolio import spark

    started = time.perf_counter()
    df = spark.sweep(
        path,
        policy,
        at,
        scale=scale,
        decisions=decisions_out is not None,
        migrate=migrate,
        spark=spark.session(workers),
    )
    table = spark.to_arrow(df, scale)
    summary = Summary(at=at.astimezone(dt.UTC))
    write(iter(table.to_batches()), summary, out=out, decisions_out=decisions_out, scale=scale)
    return Done(summary, RunStats(cases=table.num_rows), time.perf_counter() - started)
