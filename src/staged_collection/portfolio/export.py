"""``store export``: an event store's book as Parquet files the sweep and Spark read.

Written against the store's reading interface (issue 11):
``iter_snapshots(batch_size=...)`` yields ``(stream_id, version, snapshot)``;
``read_all(after_position, limit)`` pages through every stored event in the
global order (each with ``position``, ``stream_id``, ``version``, ``event``
and ``recorded_at``); ``decisions(stream_id)`` lists a stream's decision log
(each entry's ``line`` as written). Files written:

- ``loans.parquet``, ``borrowers.parquet``, ``snapshots.parquet``: sorted by
  borrower then case (clustered: the sweep streams them as they are);
- ``events.parquet``: in the store's global order;
- ``decisions.parquet``: the decision log lines as stored (the store masks
  personal data in them).

Phone numbers leave as pseudonymous references (``book.pseudonym``) keyed by
``key``: the same number gives the same reference within one export (and
across exports made with the same key). Each file's metadata names the
policy fingerprint the cases were stored under.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from staged_collection.borrower import Borrower
from staged_collection.engine import Engine
from staged_collection.events import Contact, Event
from staged_collection.portfolio import schemas
from staged_collection.portfolio.book import _borrower_row, _event_row, _loan_row, pseudonym
from staged_collection.portfolio.sources import SNAPSHOTS_FILE, snapshot_policy

__all__ = ["POLICY_KEY", "Exported", "export_store", "policy_of_export"]

POLICY_KEY = b"staged_collection.policy"
"""The Parquet metadata key holding the fingerprint of the policy the cases were stored under."""

_ORDER = [("borrower_id", "ascending"), ("case_id", "ascending")]
_PAGE = 10_000


@dataclass
class Exported:
    """What an export wrote: how many cases, events and decision lines, and the policy."""

    cases: int = 0
    events: int = 0
    decisions: int = 0
    policy: str = ""


def export_store(
    store: Any, out: Path, *, key: bytes | None = None, batch_size: int = 4096
) -> Exported:
    """Write the book of ``store`` (an ``EventStore``) to ``out`` as Parquet files."""
    key = key if key is not None else os.urandom(32)
    out.mkdir(parents=True, exist_ok=True)
    done = Exported()
    with tempfile.TemporaryDirectory(prefix="staged-collection-export-") as tmp:
        loans = pq.ParquetWriter(Path(tmp) / "loans.parquet", schemas.loans())
        snaps = pq.ParquetWriter(Path(tmp) / "snapshots.parquet", schemas.snapshots())
        people: dict[str, dict[str, Any]] = {}
        streams: list[str] = []
        try:
            for rows, snap_rows in _snapshot_pages(store, key, people, done, batch_size):
                loans.write_table(pa.Table.from_pylist(rows, schema=schemas.loans()))
                snaps.write_table(pa.Table.from_pylist(snap_rows, schema=schemas.snapshots()))
                streams += [r["case_id"] for r in rows]
        finally:
            loans.close()
            snaps.close()
        meta = {POLICY_KEY: done.policy.encode()}
        for name in ("loans.parquet", SNAPSHOTS_FILE):
            table = pq.read_table(Path(tmp) / name).sort_by(_ORDER)
            pq.write_table(table.replace_schema_metadata(meta), out / name)
        borrowers = pa.Table.from_pylist(
            [people[b] for b in sorted(people)], schema=schemas.borrowers()
        )
        pq.write_table(borrowers.replace_schema_metadata(meta), out / "borrowers.parquet")
    done.events = _write_events(store, key, out / "events.parquet", meta)
    done.decisions = _write_decisions(store, sorted(streams), out / "decisions.parquet", meta)
    return done


def _snapshot_pages(
    store: Any, key: bytes, people: dict[str, dict[str, Any]], done: Exported, batch_size: int
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    rows: list[dict[str, Any]] = []
    snap_rows: list[dict[str, Any]] = []
    reader = Engine("cn")  # any engine reads a snapshot's loan and borrower (migrate=True)
    for stream_id, version, data in store.iter_snapshots(batch_size=batch_size):
        done.policy = done.policy or snapshot_policy(data)
        case = reader.restore(data, migrate=True)
        loan, borrower = case.loan, case.borrower
        people.setdefault(borrower.id, _borrower_row(_masked(borrower, key)))
        rows.append(_loan_row(loan, borrower.id))
        snap_rows.append(
            {
                "case_id": str(stream_id),
                "borrower_id": borrower.id,
                "version": int(version),
                "snapshot": bytes(data),
            }
        )
        done.cases += 1
        if len(rows) >= batch_size:
            yield rows, snap_rows
            rows, snap_rows = [], []
    if rows:
        yield rows, snap_rows


def _masked(borrower: Borrower, key: bytes) -> Borrower:
    return borrower.model_copy(
        update={
            "phones": tuple(pseudonym(p, key) for p in borrower.phones),
            "work_phones": tuple(pseudonym(p, key) for p in borrower.work_phones),
        }
    )


def _masked_event(event: Event, key: bytes) -> Event:
    if isinstance(event, Contact) and event.number is not None:
        return event.model_copy(update={"number": pseudonym(event.number, key)})
    return event


def _write_events(store: Any, key: bytes, path: Path, meta: dict[bytes, bytes]) -> int:
    schema = schemas.events().with_metadata(meta)
    written = 0
    with pq.ParquetWriter(path, schema) as writer:
        after = 0
        while True:
            page = list(store.read_all(after, _PAGE))
            if not page:
                break
            rows = []
            for stored in page:
                event = _masked_event(stored.event, key)
                rows.append(_event_row(str(stored.stream_id), int(stored.version), event))
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            written += len(rows)
            after = int(page[-1].position)
    return written


def _write_decisions(store: Any, streams: list[str], path: Path, meta: dict[bytes, bytes]) -> int:
    schema = schemas.decisions().with_metadata(meta)
    written = 0
    with pq.ParquetWriter(path, schema) as writer:
        rows: list[dict[str, Any]] = []
        for stream_id in streams:
            for entry in store.decisions(stream_id):
                line = entry.line
                doc = json.loads(line)
                rows.append(
                    {
                        "case_id": stream_id,
                        "version": int(doc.get("version", 0)),
                        "decision_id": str(doc.get("decision_id", "")),
                        "line": line,
                    }
                )
            if len(rows) >= 4096:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                written += len(rows)
                rows = []
        if rows:
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            written += len(rows)
    return written


def policy_of_export(directory: Path) -> str | None:
    """The fingerprint of the policy a book directory's cases were stored under, if it says:
    in its files' metadata (``store export`` writes it), or in its first snapshot."""
    for name in ("loans.parquet", SNAPSHOTS_FILE):
        path = directory / name
        if path.is_file():
            meta = pq.read_schema(path).metadata or {}
            found = meta.get(POLICY_KEY)
            if found:
                return str(found.decode())
    snapshots = directory / SNAPSHOTS_FILE
    if snapshots.is_file():
        file = pq.ParquetFile(snapshots)
        if file.metadata.num_rows:
            first = file.read_row_group(0, columns=["snapshot"]).column("snapshot")[0]
            return snapshot_policy(first.as_py())
    return None
