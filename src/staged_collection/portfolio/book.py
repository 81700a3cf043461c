"""A book in Arrow: loans, borrowers and events as tables, and the models they hold.

Rows become models through the models' own validation (once, on the way in);
models become rows in the published schemas (``schemas.py``). Phone numbers
leave the library only as pseudonymous references (``pseudonym``), and an
error about a borrower's row names the field, never the value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import ValidationError

from staged_collection._iso4217 import MINOR_UNITS
from staged_collection.borrower import Borrower
from staged_collection.engine import Engine
from staged_collection.errors import InputError
from staged_collection.events import Contact, Event, parse_event
from staged_collection.loan import Loan
from staged_collection.portfolio import schemas

__all__ = [
    "BOOK_FILES",
    "BookCase",
    "book_tables",
    "borrower_of",
    "event_of",
    "histories_table",
    "history_batches",
    "last_event_at",
    "loan_of",
    "pseudonym",
    "read_book",
    "snapshot_table",
    "write_book",
]

BOOK_FILES = ("loans.parquet", "borrowers.parquet", "events.parquet")
"""The files of a book in a directory (``store export`` writes them, with ``decisions``)."""

_EVENT_HEAD = frozenset({"type", "at", "recorded_at"})


@dataclass(frozen=True, slots=True)
class BookCase:
    """One case of a book: its loan, its borrower and its events in order."""

    loan: Loan
    borrower: Borrower
    events: tuple[Event, ...]


def pseudonym(number: str, key: bytes) -> str:
    """A stable reference for a phone number under ``key``: the same number, the same reference.

    It is shaped like an E.164 number under the country code 999, which no
    country has, so it passes the ``Borrower`` model's check and can never be
    dialled; without ``key`` the reference cannot be traced back to the number.
    """
    digest = hmac.new(key, number.encode(), hashlib.sha256).digest()
    return "+999" + str(int.from_bytes(digest[:8], "big") % 10**12).zfill(12)


# -- models to rows ------------------------------------------------------------------------


def _loan_row(loan: Loan, borrower_id: str) -> dict[str, Any]:
    return {
        "case_id": loan.id,
        "borrower_id": borrower_id,
        "currency": loan.currency,
        "principal": loan.principal.amount,
        "opened": loan.opened,
        "installments": [{"due": i.due, "amount": i.amount.amount} for i in loan.installments],
    }


def _borrower_row(borrower: Borrower) -> dict[str, Any]:
    return {
        "borrower_id": borrower.id,
        "timezones": list(borrower.timezones),
        "phones": list(borrower.phones),
        "work_phones": list(borrower.work_phones),
        "inconvenient": [
            {"start": r.start.isoformat(), "end": r.end.isoformat()} for r in borrower.inconvenient
        ],
    }


def _event_row(case_id: str | None, version: int, event: Event) -> dict[str, Any]:
    payload = event.model_dump(mode="json", exclude=set(_EVENT_HEAD))
    row: dict[str, Any] = {} if case_id is None else {"case_id": case_id}
    row.update(
        version=version,
        type=event.type,
        at=event.at,
        recorded_at=event.recorded_at,
        payload=json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
    )
    return row


def book_tables(
    cases: Iterable[BookCase], *, scale: int = schemas.SCALE
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """The loans, borrowers and events tables of ``cases``, sorted by borrower, case, version."""
    loans: list[dict[str, Any]] = []
    borrowers: dict[str, dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    for c in sorted(cases, key=lambda c: (c.borrower.id, c.loan.id)):
        loans.append(_loan_row(c.loan, c.borrower.id))
        borrowers.setdefault(c.borrower.id, _borrower_row(c.borrower))
        events += [_event_row(c.loan.id, v, e) for v, e in enumerate(c.events, start=1)]
    return (
        pa.Table.from_pylist(loans, schema=schemas.loans(scale)),
        pa.Table.from_pylist(list(borrowers.values()), schema=schemas.borrowers()),
        pa.Table.from_pylist(events, schema=schemas.events()),
    )


def history_batches(
    cases: Iterable[BookCase], *, scale: int = schemas.SCALE, batch_size: int = 1024
) -> Iterator[pa.RecordBatch]:
    """``cases`` as batches of the ``histories`` schema, in the order given."""
    schema = schemas.histories(scale)
    rows: list[dict[str, Any]] = []
    for c in cases:
        loan = _loan_row(c.loan, c.borrower.id)
        borrower = _borrower_row(c.borrower)
        rows.append(
            {
                "case_id": loan.pop("case_id"),
                "borrower_id": loan.pop("borrower_id"),
                "loan": loan,
                "borrower": {k: v for k, v in borrower.items() if k != "borrower_id"},
                "events": [_event_row(None, v, e) for v, e in enumerate(c.events, start=1)],
            }
        )
        if len(rows) >= batch_size:
            yield pa.RecordBatch.from_pylist(rows, schema=schema)
            rows = []
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=schema)


def snapshot_table(engine: Engine, cases: Iterable[BookCase]) -> pa.Table:
    """The latest snapshot of each of ``cases`` (replayed under ``engine``), sorted by borrower."""
    rows = []
    for c in sorted(cases, key=lambda c: (c.borrower.id, c.loan.id)):
        case = engine.replay(c.loan, c.borrower, c.events, trusted=True)
        rows.append(
            {
                "case_id": c.loan.id,
                "borrower_id": c.borrower.id,
                "version": case.version,
                "snapshot": engine.snapshot(case),
            }
        )
    return pa.Table.from_pylist(rows, schema=schemas.snapshots())


def write_book(
    directory: Path,
    cases: Iterable[BookCase],
    *,
    scale: int = schemas.SCALE,
    snapshots: Engine | None = None,
) -> None:
    """Write ``cases`` as ``loans``, ``borrowers`` and ``events`` Parquet files in ``directory``,
    and ``snapshots.parquet`` too when given the engine to fold them with."""
    directory.mkdir(parents=True, exist_ok=True)
    cases = list(cases)
    for name, table in zip(BOOK_FILES, book_tables(cases, scale=scale), strict=True):
        pq.write_table(table, directory / name)
    if snapshots is not None:
        pq.write_table(snapshot_table(snapshots, cases), directory / "snapshots.parquet")


# -- rows to models ------------------------------------------------------------------------


def _problems(exc: ValidationError, *, show: bool) -> str:
    parts = []
    for e in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in e["loc"]) or "row"
        parts.append(f"{where}: {e['msg'] if show else e['type']}")
    return "; ".join(parts)


def _amount(value: Decimal, currency: str, field: str) -> str:
    """An amount read at the table's scale, written to its currency's minor units."""
    places = MINOR_UNITS.get(currency)
    if places is None:
        return str(value)  # the model refuses the currency, naming it
    exact = value.quantize(Decimal(1).scaleb(-places))
    if exact != value:
        raise InputError(field, str(value), f"has more decimal places than {currency} allows")
    return str(exact)


def loan_of(case_id: str, row: dict[str, Any]) -> Loan:
    """The ``Loan`` of a loans row (or a histories row's ``loan``), validated."""
    currency = str(row.get("currency"))
    try:
        return Loan.model_validate(
            {
                "id": case_id,
                "currency": currency,
                "principal": _amount(row["principal"], currency, f"loans[{case_id}].principal"),
                "opened": row["opened"],
                "installments": [
                    {
                        "due": item["due"],
                        "amount": _amount(
                            item["amount"], currency, f"loans[{case_id}].installments[{i}].amount"
                        ),
                    }
                    for i, item in enumerate(row["installments"] or ())
                ],
            }
        )
    except ValidationError as exc:
        raise InputError(f"loans[{case_id}]", "(row)", _problems(exc, show=True)) from None


def borrower_of(borrower_id: str, row: dict[str, Any]) -> Borrower:
    """The ``Borrower`` of a borrowers row; an error names the field, never the value."""
    try:
        return Borrower.model_validate(
            {
                "id": borrower_id,
                "timezones": row.get("timezones") or (),
                "phones": row.get("phones") or (),
                "work_phones": row.get("work_phones") or (),
                "inconvenient": row.get("inconvenient") or (),
            }
        )
    except ValidationError as exc:
        raise InputError(
            f"borrowers[{borrower_id}]", "(not shown)", _problems(exc, show=False)
        ) from None


def event_of(case_id: str, row: dict[str, Any], currency: str) -> Event:
    """The event of an events row (``payload`` is its JSON), validated."""
    where = f"events[{case_id}#{row.get('version')}]"
    try:
        payload = json.loads(row["payload"])
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}.payload", "(not shown)", f"not JSON ({exc})") from None
    if not isinstance(payload, dict) or _EVENT_HEAD & payload.keys():
        raise InputError(
            f"{where}.payload", "(not shown)", "must be an object without type, at or recorded_at"
        )
    data = {"type": row["type"], "at": row["at"], "recorded_at": row.get("recorded_at"), **payload}
    try:
        return parse_event(data, currency=currency)
    except ValidationError as exc:
        personal = row["type"] == Contact.model_fields["type"].default
        raise InputError(where, "(not shown)", _problems(exc, show=not personal)) from None


# -- tables to histories -------------------------------------------------------------------


def histories_table(loans: pa.Table, borrowers: pa.Table, events: pa.Table) -> pa.Table:
    """The ``histories`` of a book's three tables, sorted by borrower then case.

    Works in Arrow memory (the three tables whole); every event must belong to
    a loan and every loan to a borrower.
    """
    loans = loans.sort_by("case_id")
    events = events.sort_by([("case_id", "ascending"), ("version", "ascending")])
    ids = loans.column("case_id")
    if pc.any(pc.invert(pc.is_in(events.column("case_id"), value_set=ids))).as_py():
        stray = events.filter(pc.invert(pc.is_in(events.column("case_id"), value_set=ids)))
        first = stray.column("case_id")[0].as_py()
        raise InputError("events.case_id", first, "names no loan in loans")
    counts = pc.value_counts(events.column("case_id"))
    by_case = dict(
        zip(
            counts.field("values").to_pylist(),
            counts.field("counts").to_pylist(),
            strict=True,
        )
    )
    offsets = [0]
    for case_id in ids.to_pylist():
        offsets.append(offsets[-1] + by_case.get(case_id, 0))
    items = events.select([f.name for f in schemas.events() if f.name != "case_id"])
    values = pa.StructArray.from_arrays(
        [items.column(n).combine_chunks() for n in items.column_names],
        fields=list(schemas.histories().field("events").type.value_type),
    )
    event_lists = pa.ListArray.from_arrays(
        pa.array(offsets, pa.int32()),
        values,
        type=schemas.histories().field("events").type,
    )
    which = pc.index_in(loans.column("borrower_id"), value_set=borrowers.column("borrower_id"))
    if which.null_count:
        missing = loans.filter(pc.is_null(which)).column("borrower_id")[0].as_py()
        raise InputError("loans.borrower_id", missing, "names no borrower in borrowers")
    people = borrowers.take(which)
    scale = loans.schema.field("principal").type.scale
    target = schemas.histories(scale)
    loan_type = target.field("loan").type
    person_type = target.field("borrower").type
    table = pa.table(
        {
            "case_id": ids,
            "borrower_id": loans.column("borrower_id"),
            "loan": pa.StructArray.from_arrays(
                [loans.column(f.name).combine_chunks() for f in loan_type],
                fields=list(loan_type),
            ),
            "borrower": pa.StructArray.from_arrays(
                [people.column(f.name).combine_chunks() for f in person_type],
                fields=list(person_type),
            ),
            "events": event_lists,
        },
        schema=target,
    )
    return table.sort_by([("borrower_id", "ascending"), ("case_id", "ascending")])


def last_event_at(directory: Path) -> dt.datetime | None:
    """The instant of the latest event of the book in ``directory`` (``None`` with no events)."""
    found = pc.max(pq.read_table(directory / "events.parquet", columns=["at"]).column("at"))
    return found.as_py() if found.is_valid else None


def read_book(directory: Path) -> pa.Table:
    """The ``histories`` of the book in ``directory`` (``loans``, ``borrowers``, ``events``)."""
    tables = []
    for name in BOOK_FILES:
        path = directory / name
        if not path.is_file():
            raise InputError("parquet", str(directory), f"has no {name}")
        tables.append(pq.read_table(path))
    return histories_table(*tables)
