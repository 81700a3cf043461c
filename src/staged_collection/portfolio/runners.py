"""Running the sweep's core over a whole book: in this process, or in a pool of processes.

A runner reads the book as case-clustered batches (``sources.py``), cuts
them into chunks that never split a borrower, hands each chunk to the core
(``Sweep``), and streams the rows out in the order of the chunks, so memory
stays flat whatever the size of the book: at most ``2 x workers`` chunks are
in flight. The Spark runner is in ``spark.py``.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import resource
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, Protocol

import pyarrow as pa

__all__ = ["Chunk", "Job", "Progress", "RunStats", "chunks", "run_inline", "run_pool"]

Runner = Literal["inline", "pool"]


class Job(Protocol):
    """What a runner runs: the core (``Sweep``) or the what-if (``WhatIf``); picklable."""

    def __call__(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]: ...

    def warm(self) -> None: ...


Progress = Callable[[int], None]
"""Called with the number of cases just swept."""

CHUNK_CASES = 2_000


@dataclass
class RunStats:
    """What a run measured: cases swept, and per worker process its peak resident memory
    (KiB) and the CPU seconds it spent."""

    cases: int = 0
    peak_rss_kib: dict[int, int] = field(default_factory=dict)  # worker pid -> peak
    cpu_seconds: dict[int, float] = field(default_factory=dict)  # worker pid -> user + system


Chunk = list[pa.RecordBatch]


def chunks(batches: Iterable[pa.RecordBatch], size: int = CHUNK_CASES) -> Iterator[Chunk]:
    """``batches`` cut into chunks of about ``size`` rows, never splitting a borrower's cases.

    The input must be clustered by ``borrower_id`` (the core refuses it otherwise).
    """
    pending: Chunk = []
    rows = 0
    for batch in batches:
        if not batch.num_rows:
            continue
        pending.append(batch)
        rows += batch.num_rows
        if rows < size:
            continue
        # The last borrower may carry on in the next batch: keep their rows for the next chunk.
        head, tail = _split_last_borrower(pending)
        if head:
            yield head
            pending, rows = tail, sum(b.num_rows for b in tail)
    if pending:
        yield pending


def _split_last_borrower(pending: Chunk) -> tuple[Chunk, Chunk]:
    last = pending[-1].column("borrower_id")[-1].as_py()
    head = list(pending)
    tail: Chunk = []
    while head:
        batch = head.pop()
        ids = batch.column("borrower_id")
        cut = batch.num_rows
        while cut > 0 and ids[cut - 1].as_py() == last:
            cut -= 1
        if cut:
            head.append(batch.slice(0, cut))
            tail.insert(0, batch.slice(cut))
            break
        tail.insert(0, batch)
    return head, tail


def run_inline(
    job: Job,
    batches: Iterable[pa.RecordBatch],
    *,
    progress: Progress | None = None,
    stats: RunStats | None = None,
) -> Iterator[pa.RecordBatch]:
    """``job`` in this process, chunk by chunk."""
    stats = stats if stats is not None else RunStats()
    for chunk in chunks(batches):
        for out in job(chunk):
            stats.cases += out.num_rows
            if progress:
                progress(out.num_rows)
            yield out
    stats.peak_rss_kib[os.getpid()] = _peak_rss_kib()
    stats.cpu_seconds[os.getpid()] = _cpu_seconds()


def run_pool(
    job: Job,
    batches: Iterable[pa.RecordBatch],
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    stats: RunStats | None = None,
    chunk_cases: int = CHUNK_CASES,
) -> Iterator[pa.RecordBatch]:
    """``job`` in ``workers`` processes (default: every core), streaming, in chunk order."""
    workers = workers or os.cpu_count() or 1
    stats = stats if stats is not None else RunStats()
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_context(),
        initializer=_start_worker,
        initargs=(job,),
    ) as pool:
        in_flight: list[Future[_Result]] = []
        source = chunks(batches, chunk_cases)
        for chunk in source:
            in_flight.append(pool.submit(_sweep_chunk, _pack(chunk)))
            if len(in_flight) >= 2 * workers:
                yield from _collect(in_flight.pop(0), stats, progress)
        while in_flight:
            yield from _collect(in_flight.pop(0), stats, progress)


_Result = tuple[int, int, float, list[pa.RecordBatch]]


def _context() -> multiprocessing.context.BaseContext:
    # Workers start from a small server process, not as copies of this one: they do not
    # inherit (and count) whatever the caller holds, nor its threads (pyarrow's among them).
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # The server imports the sweep once; each worker forks from it ready to run.
    context.set_forkserver_preload(["staged_collection.portfolio.core"])
    return context


def _collect(
    future: Future[_Result], stats: RunStats, progress: Progress | None
) -> Iterator[pa.RecordBatch]:
    pid, rss, cpu, outs = future.result()
    stats.peak_rss_kib[pid] = max(stats.peak_rss_kib.get(pid, 0), rss)
    stats.cpu_seconds[pid] = max(stats.cpu_seconds.get(pid, 0.0), cpu)
    for out in outs:
        stats.cases += out.num_rows
        if progress:
            progress(out.num_rows)
        yield out


_WORKER: Job | None = None


def _start_worker(job: Job) -> None:
    """Compile the policy once, before the first chunk.

    No ``gc.freeze()``: measured, it changes nothing here (the sweep's objects
    die young, and the collector's full passes are rare): 151.5 against 152.0
    us a case, and 152.4 with the collector off.
    """
    global _WORKER
    job.warm()
    _WORKER = job


def _pack(chunk: Chunk) -> bytes:
    """A chunk as Arrow IPC bytes: only its rows travel (a pickled slice of a batch would
    carry the whole batch it was cut from)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, chunk[0].schema) as writer:
        for batch in chunk:
            writer.write_batch(batch)
    data: bytes = sink.getvalue().to_pybytes()
    return data


def _sweep_chunk(data: bytes) -> _Result:
    assert _WORKER is not None
    chunk = list(pa.ipc.open_stream(data))
    outs = list(_WORKER(chunk))
    return os.getpid(), _peak_rss_kib(), _cpu_seconds(), outs


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_kib() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # macOS counts bytes
