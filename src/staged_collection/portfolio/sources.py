"""Where a sweep reads its book: a Parquet directory or an event store, as clustered batches.

The core needs its input clustered by borrower (each borrower's rows
together). A Parquet file sorted by ``borrower_id`` (as ``store export``
writes them) is streamed as it is; anything else is clustered on disk first:
rows are spread over bucket files by a hash of the borrower, and each bucket
(a small part of the book) is sorted in memory and read back, so memory stays
flat whatever the size of the book.
"""

from __future__ import annotations

import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack  # type: ignore[import-untyped]  # no type information shipped
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from staged_collection import _snapshot
from staged_collection.errors import InputError
from staged_collection.portfolio import schemas
from staged_collection.portfolio.book import BOOK_FILES, read_book

__all__ = [
    "SNAPSHOTS_FILE",
    "Source",
    "clustered",
    "parquet_histories",
    "parquet_source",
    "preset_with",
    "snapshot_borrower_id",
    "snapshot_policy",
    "store_histories",
    "store_source",
]

SNAPSHOTS_FILE = "snapshots.parquet"
BATCH = 4096
_ROWS_PER_BUCKET = 50_000
_ORDER = [("borrower_id", "ascending"), ("case_id", "ascending")]


@dataclass
class Source:
    """A book as batches clustered by borrower, and how many cases, when known."""

    batches: Iterable[pa.RecordBatch]
    cases: int | None
    kind: str  # "snapshots" or "histories"


def parquet_source(path: Path, *, batch_size: int = BATCH) -> Source:
    """The book in ``path``: a directory with ``snapshots.parquet`` (read first when present)
    or ``loans``, ``borrowers`` and ``events``; or one Parquet file of snapshots or histories."""
    if path.is_dir():
        snapshots = path / SNAPSHOTS_FILE
        if snapshots.is_file():
            return _file_source(snapshots, batch_size)
        if all((path / name).is_file() for name in BOOK_FILES):
            table = read_book(path)
            return Source(table.to_batches(max_chunksize=batch_size), table.num_rows, "histories")
        raise InputError(
            "parquet",
            str(path),
            f"holds neither {SNAPSHOTS_FILE} nor {', '.join(BOOK_FILES)}",
        )
    if path.is_file():
        return _file_source(path, batch_size)
    raise InputError("parquet", str(path), "is not a file or directory")


def parquet_histories(directory: Path, *, batch_size: int = BATCH) -> Source:
    """The histories of the book in ``directory`` (``loans``, ``borrowers``, ``events``)."""
    table = read_book(directory)
    return Source(table.to_batches(max_chunksize=batch_size), table.num_rows, "histories")


def _file_source(path: Path, batch_size: int) -> Source:
    # Without pre-buffering: with it, the reader keeps every row group it has read until
    # it is closed (measured: 120 MB of a 400,000-case file, growing with the file).
    file = pq.ParquetFile(path, pre_buffer=False)
    names = set(file.schema_arrow.names)
    if set(schemas.snapshots().names) <= names:
        kind = "snapshots"
    elif set(schemas.histories().names) <= names:
        kind = "histories"
    else:
        raise InputError(
            "parquet", str(path), "has neither the snapshots nor the histories columns"
        )
    ids = pq.read_table(path, columns=["borrower_id"]).column("borrower_id")
    rows = file.metadata.num_rows
    if _is_sorted(ids):
        return Source(file.iter_batches(batch_size=batch_size), rows, kind)
    return Source(
        clustered(file.iter_batches(batch_size=batch_size), cases=rows, batch_size=batch_size),
        rows,
        kind,
    )


def _is_sorted(ids: pa.ChunkedArray) -> bool:
    if len(ids) < 2:
        return True
    flat = ids.combine_chunks()
    return bool(pc.all(pc.greater_equal(flat.slice(1), flat.slice(0, len(flat) - 1))).as_py())


def clustered(
    batches: Iterable[pa.RecordBatch], *, cases: int | None = None, batch_size: int = BATCH
) -> Iterator[pa.RecordBatch]:
    """``batches`` clustered by borrower: bucketed on disk by a hash of the borrower, each
    bucket sorted by borrower then case."""
    buckets = 64 if cases is None else max(1, min(512, cases // _ROWS_PER_BUCKET + 1))
    with tempfile.TemporaryDirectory(prefix="staged-collection-sweep-") as tmp:
        writers: dict[int, pq.ParquetWriter] = {}
        try:
            for batch in batches:
                _spread(batch, buckets, Path(tmp), writers)
        finally:
            for writer in writers.values():
                writer.close()
        for k in sorted(writers):
            part = Path(tmp) / f"{k:04d}.parquet"
            table = pq.read_table(part).sort_by(_ORDER)
            part.unlink()
            yield from table.to_batches(max_chunksize=batch_size)


def _spread(
    batch: pa.RecordBatch, buckets: int, tmp: Path, writers: dict[int, pq.ParquetWriter]
) -> None:
    if not batch.num_rows:
        return
    keys = pa.array(
        [zlib.crc32(b.encode()) % buckets for b in batch.column("borrower_id").to_pylist()],
        pa.int32(),
    )
    order = pc.sort_indices(keys)
    batch = batch.take(order)
    keys = keys.take(order)
    counts = pc.value_counts(keys)
    start = 0
    for k, n in zip(
        counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
    ):
        writer = writers.get(k)
        if writer is None:
            writer = writers[k] = pq.ParquetWriter(tmp / f"{k:04d}.parquet", batch.schema)
        writer.write_batch(batch.slice(start, n))
        start += n


def snapshot_borrower_id(data: bytes) -> str:
    """The borrower id inside a snapshot, read without restoring the case."""
    try:
        top = msgpack.unpackb(data, strict_map_key=True)
        if top[0] != _snapshot.MAGIC or top[1] != _snapshot.FORMAT:
            raise ValueError("not a snapshot of this format")
        borrower = msgpack.unpackb(top[5], strict_map_key=True)
        return str(borrower["id"])
    except (ValueError, TypeError, KeyError, IndexError, msgpack.UnpackException) as exc:
        raise InputError("snapshot", f"{len(data)} bytes", f"not a case snapshot ({exc})") from None


def store_source(url: str, *, batch_size: int = BATCH, store: Any = None) -> Source:
    """The latest snapshot of every case in the event store at ``url``, clustered by borrower.

    Reads ``EventStore(url).iter_snapshots(batch_size=...)``, which yields
    ``(stream_id, version, snapshot bytes)``.
    """
    if store is None:
        from staged_collection.store import EventStore  # type: ignore[import-not-found,unused-ignore]

        store = EventStore(url)
    return Source(
        clustered(_store_batches(store, batch_size), batch_size=batch_size), None, "snapshots"
    )


def store_histories(url: str, *, batch_size: int = BATCH, store: Any = None) -> Source:
    """Every case's history in the event store at ``url`` (for a what-if), clustered by borrower.

    Loans and borrowers come from each stream's latest snapshot, events from
    ``EventStore.read(stream_id)`` (stored events with ``event`` and ``recorded_at``).
    """
    if store is None:
        from staged_collection.store import EventStore  # type: ignore[import-not-found,unused-ignore]

        store = EventStore(url)
    return Source(
        clustered(_history_batches(store, batch_size), batch_size=batch_size), None, "histories"
    )


def _history_batches(store: Any, batch_size: int) -> Iterator[pa.RecordBatch]:
    from staged_collection.engine import Engine
    from staged_collection.portfolio.book import BookCase, history_batches

    reader = Engine("cn")  # any engine reads a snapshot's loan and borrower (migrate=True)

    def cases() -> Iterator[BookCase]:
        for stream_id, _, data in store.iter_snapshots(batch_size=batch_size):
            case = reader.restore(data, migrate=True)
            events = tuple(stored.event for stored in store.read(stream_id))
            yield BookCase(case.loan, case.borrower, events)

    return history_batches(cases(), batch_size=batch_size)


def preset_with(fingerprint: str) -> str | None:
    """The preset whose fingerprint is ``fingerprint`` (a book stored under a preset), if any."""
    from staged_collection.policy import PRESETS, load_policy

    for name in PRESETS:
        if load_policy(name).fingerprint == fingerprint:
            return name
    return None


def snapshot_policy(data: bytes) -> str:
    """The fingerprint of the policy a snapshot was taken under."""
    try:
        return str(msgpack.unpackb(data, strict_map_key=True)[2])
    except (ValueError, TypeError, IndexError, msgpack.UnpackException) as exc:
        raise InputError("snapshot", f"{len(data)} bytes", f"not a case snapshot ({exc})") from None


def _store_batches(store: Any, batch_size: int) -> Iterator[pa.RecordBatch]:
    schema = schemas.snapshots()
    rows: dict[str, list[Any]] = {name: [] for name in schema.names}
    for stream_id, version, data in store.iter_snapshots(batch_size=batch_size):
        rows["case_id"].append(str(stream_id))
        rows["borrower_id"].append(snapshot_borrower_id(data))
        rows["version"].append(int(version))
        rows["snapshot"].append(bytes(data))
        if len(rows["case_id"]) >= batch_size:
            yield pa.RecordBatch.from_pydict(rows, schema=schema)
            rows = {name: [] for name in schema.names}
    if rows["case_id"]:
        yield pa.RecordBatch.from_pydict(rows, schema=schema)
