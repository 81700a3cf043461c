"""The sweep's core: case-clustered Arrow batches in, one to-do row per case out.

``sweep_batches`` has the signature of Spark's ``mapInArrow`` (an iterator of
record batches in, an iterator out) and is a pure function of its input, its
policy and its instant: every runner (in-process, a process pool, Spark)
calls it on clustered slices of the book and gets the same rows.

Input batches hold either snapshots (the ``snapshots`` schema: restored, not
replayed) or histories (the ``histories`` schema: loan, borrower and events,
replayed without judging again, since the store judged them when they
happened). Rows must be clustered by ``borrower_id`` (each borrower's rows
together; sorted will do): the cases of one borrower are answered together,
each with the others as ``others``, so that per-debtor caps count across
loans. A borrower's cases may straddle batches.

A case that cannot be swept (a damaged snapshot, a snapshot of another
policy, a history that does not fold) gets a row with its ids and ``error``;
the others are swept as usual.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from staged_collection._localtime import require_aware
from staged_collection.case import Case
from staged_collection.engine import Engine
from staged_collection.errors import InputError, StagedCollectionError
from staged_collection.policy import Policy
from staged_collection.portfolio import schemas
from staged_collection.portfolio.answers import Answer, Plan, ask
from staged_collection.portfolio.book import BookCase, borrower_of, event_of, loan_of
from staged_collection.state import Duty

__all__ = ["Group", "Sweep", "answers", "groups", "history", "restored", "sweep_batches"]

_SNAPSHOT = frozenset(schemas.snapshots().names)
_HISTORY = frozenset(schemas.histories().names)
_UTC = dt.UTC


@dataclass(frozen=True, slots=True)
class Sweep:
    """How to sweep: the policy, the instant and the options; picklable, sent to workers.

    ``scale``: decimal places of the output amounts. ``decisions``: keep the
    log line of every check made (in the ``decisions`` column). ``migrate``:
    restore snapshots taken under another policy as ``Engine.restore(...,
    migrate=True)`` does. ``batch_size``: most rows per output batch.
    """

    policy: Policy | str | Path
    at: dt.datetime
    scale: int = schemas.SCALE
    decisions: bool = False
    migrate: bool = False
    batch_size: int = 4096

    def __post_init__(self) -> None:
        require_aware(self.at, "at")
        schemas.money(self.scale)  # refuses a scale no currency has

    def __call__(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return _run(self, batches)

    def warm(self) -> None:
        """Compile the policy (in a worker, before its first chunk)."""
        Engine(self.policy)


def sweep_batches(
    batches: Iterable[pa.RecordBatch],
    *,
    policy: Policy | str | Path,
    at: dt.datetime,
    scale: int = schemas.SCALE,
    decisions: bool = False,
    migrate: bool = False,
) -> Iterator[pa.RecordBatch]:
    """Sweep batches clustered by borrower (snapshots or histories) as of ``at``: one row per
    case.

    The output batches have the ``todo`` schema (``schemas.todo(scale)``), in
    the order of the input rows.
    """
    return _run(Sweep(policy, at, scale, decisions, migrate), batches)


# -- reading cases -------------------------------------------------------------------------


class Group:
    """One borrower's rows: ``(case_id, item)``, the item a snapshot (bytes) or a history
    (a dict of ``loan``, ``borrower`` and ``events``)."""

    __slots__ = ("borrower_id", "kind", "rows")

    def __init__(self, borrower_id: str, kind: str) -> None:
        self.borrower_id = borrower_id
        self.kind = kind
        self.rows: list[tuple[str, Any]] = []


def groups(batches: Iterable[pa.RecordBatch]) -> Iterator[Group]:
    """The rows of ``batches``, one borrower at a time, in input order.

    Refuses input that is not clustered by borrower (a borrower's rows apart),
    naming the borrower out of place.
    """
    pending: Group | None = None
    done: set[int] = set()  # hashes of the borrowers already answered: a few bytes each
    for batch in batches:
        names = set(batch.schema.names)
        items: list[Any]
        if names >= _SNAPSHOT:
            items = batch.column("snapshot").to_pylist()
            kind = "snapshots"
        elif names >= _HISTORY:
            items = batch.select(["loan", "borrower", "events"]).to_pylist()
            kind = "histories"
        else:
            raise InputError(
                "batch",
                ", ".join(batch.schema.names),
                "has neither the snapshots nor the histories columns (see schemas.py)",
            )
        case_ids = batch.column("case_id").to_pylist()
        borrower_ids = batch.column("borrower_id").to_pylist()
        for case_id, borrower_id, item in zip(case_ids, borrower_ids, items, strict=True):
            if case_id is None or borrower_id is None:
                raise InputError("case_id" if case_id is None else "borrower_id", None, "is null")
            if pending is None or borrower_id != pending.borrower_id:
                if pending is not None:
                    done.add(hash(pending.borrower_id))
                    yield pending
                if hash(borrower_id) in done:
                    raise InputError(
                        "borrower_id",
                        borrower_id,
                        "appears again after other borrowers: the sweep's input must be "
                        "clustered by borrower (each borrower's cases together; sorted by "
                        "borrower_id will do)",
                    )
                pending = Group(borrower_id, kind)
            pending.rows.append((case_id, item))
    if pending is not None:
        yield pending


def restored(engine: Engine, case_id: str, blob: bytes | None, migrate: bool) -> Case | str:
    """The case a snapshot holds, or what is wrong with it."""
    if blob is None:
        return f"snapshot: case {case_id!r} has no snapshot"
    try:
        return engine.restore(blob, migrate=migrate)
    except StagedCollectionError as exc:
        return str(exc)


def history(case_id: str, borrower_id: str, row: dict[str, Any]) -> BookCase | str:
    """The loan, borrower and events of a histories row, validated, or what is wrong."""
    try:
        loan = loan_of(case_id, row["loan"])
        borrower = borrower_of(borrower_id, row["borrower"])
        events = tuple(event_of(case_id, e, loan.currency) for e in row["events"] or ())
    except StagedCollectionError as exc:
        return str(exc)
    return BookCase(loan, borrower, events)


def _cases(sweep: Sweep, engine: Engine, group: Group) -> list[tuple[str, Case | str]]:
    out: list[tuple[str, Case | str]] = []
    for case_id, item in group.rows:
        if group.kind == "snapshots":
            out.append((case_id, restored(engine, case_id, item, sweep.migrate)))
            continue
        found = history(case_id, group.borrower_id, item)
        if isinstance(found, str):
            out.append((case_id, found))
            continue
        try:
            out.append(
                (case_id, engine.replay(found.loan, found.borrower, found.events, trusted=True))
            )
        except StagedCollectionError as exc:
            out.append((case_id, str(exc)))
    return out


# -- answering -----------------------------------------------------------------------------


def answers(
    plan: Plan,
    borrower_id: str,
    cases: list[tuple[str, Case | str]],
    at: dt.datetime,
    *,
    keep_decisions: bool = False,
) -> Iterator[Answer | tuple[str, str, str]]:
    """The answers for one borrower's cases, each asked with the others as ``others``;
    ``(case_id, borrower_id, error)`` for a case that could not be read or answered."""
    ok = [c for _, c in cases if isinstance(c, Case)]
    for case_id, case in cases:
        if not isinstance(case, Case):
            yield case_id, borrower_id, case
            continue
        try:
            mismatch = _mismatch(case, case_id, borrower_id)
            if mismatch:
                yield case_id, borrower_id, mismatch
                continue
            others = [o for o in ok if o is not case]
            yield ask(
                plan,
                case,
                others,
                at,
                case_id=case_id,
                borrower_id=borrower_id,
                keep_decisions=keep_decisions,
            )
        except StagedCollectionError as exc:
            yield case_id, borrower_id, str(exc)


def _mismatch(case: Case, case_id: str, borrower_id: str) -> str:
    # What the snapshot says it is, without validating its models.
    if case.loan_id != case_id:
        return f"case_id: the row says {case_id!r} but its case is {case.loan_id!r}"
    if case.borrower_id != borrower_id:
        return f"borrower_id: the row says {borrower_id!r} but its case's borrower differs"
    return ""


def _run(sweep: Sweep, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    engine = Engine(sweep.policy)
    plan = Plan(engine)
    at = sweep.at
    out = _Columns(sweep)
    for group in groups(batches):
        cases = _cases(sweep, engine, group)
        for answer in answers(plan, group.borrower_id, cases, at, keep_decisions=sweep.decisions):
            out.add(answer)
        if len(out) >= sweep.batch_size:
            yield out.flush()
    if len(out):
        yield out.flush()


# -- writing rows --------------------------------------------------------------------------


class _Columns:
    """Output rows gathered column by column, made into one record batch at a time."""

    def __init__(self, sweep: Sweep) -> None:
        self.sweep = sweep
        self.schema = schemas.todo(sweep.scale)
        self.places = Decimal(1).scaleb(-sweep.scale)
        self.at = sweep.at.astimezone(_UTC)
        self.next_columns = {c: schemas.next_column(c) for c in schemas.CHANNELS}
        self._reset()

    def _reset(self) -> None:
        self.n = 0
        self.cols: dict[str, list[Any]] = {name: [] for name in self.schema.names}
        self.esc_offsets = [0]
        self.esc_null: list[bool] = []  # an error row has no list at all
        self.esc: dict[str, list[Any]] = {"action": [], "allowed": [], "codes": [], "retry_at": []}

    def __len__(self) -> int:
        return self.n

    def add(self, answer: Answer | tuple[str, str, str]) -> None:
        c = self.cols
        if not isinstance(answer, Answer):
            case_id, borrower_id, error = answer
            self._row(case_id, borrower_id, None, error)
            return
        s = answer.state
        try:
            overdue = _fit(s.overdue.amount, self.places, "overdue")
            balance = _fit(s.balance.amount, self.places, "balance")
        except InputError as exc:
            self._row(answer.case_id, answer.borrower_id, None, str(exc))
            return
        self._row(answer.case_id, answer.borrower_id, answer, None)
        c["version"].append(answer.version)
        c["stage"].append(s.stage.value)
        c["bureau"].append(s.bureau.value)
        c["bureau_disputed"].append(s.bureau_disputed)
        c["holds"].append([h.value for h in s.holds])
        c["dpd"].append(s.dpd)
        c["currency"].append(s.overdue.currency)
        c["overdue"].append(overdue)
        c["balance"].append(balance)
        c["moves_due"].append([m._asdict() for m in answer.moves])
        esc = self.esc
        for v in answer.verdicts:
            esc["action"].append(v.action)
            esc["allowed"].append(v.allowed)
            esc["codes"].append(v.codes)
            esc["retry_at"].append(v.retry_at)
        self.esc_offsets.append(len(esc["action"]))
        self.esc_null.append(False)
        c["duties"].append(None if answer.duties is None else [_duty(d) for d in answer.duties])
        columns = self.next_columns
        for contact in answer.contacts:
            c[columns[contact.channel]].append(contact.next)
        c["decisions"].append(
            [d.to_log_line() for d in answer.decisions] if self.sweep.decisions else None
        )

    def _row(
        self, case_id: str, borrower_id: str, answer: Answer | None, error: str | None
    ) -> None:
        c = self.cols
        self.n += 1
        c["case_id"].append(case_id)
        c["borrower_id"].append(borrower_id)
        c["at"].append(self.at)
        c["error"].append(error)
        if answer is None:
            for name in self.schema.names:
                if name not in ("case_id", "borrower_id", "at", "error"):
                    c[name].append(None)
            self.esc_offsets.append(self.esc_offsets[-1])
            self.esc_null.append(True)

    def flush(self) -> pa.RecordBatch:
        arrays = []
        for field in self.schema:
            if field.name == "escalations":
                arrays.append(self._escalations(field.type))
            else:
                arrays.append(pa.array(self.cols[field.name], type=field.type))
        batch = pa.RecordBatch.from_arrays(arrays, schema=self.schema)
        self._reset()
        return batch

    def _escalations(self, type_: pa.ListType) -> pa.Array:
        item = type_.value_type
        esc = self.esc
        values = pa.StructArray.from_arrays(
            [pa.array(esc[f.name], type=f.type) for f in item],
            fields=list(item),
        )
        return pa.ListArray.from_arrays(
            pa.array(self.esc_offsets, pa.int32()),
            values,
            type=type_,
            mask=pa.array(self.esc_null, pa.bool_()),
        )


def _fit(amount: Decimal, places: Decimal, field: str) -> Decimal:
    """``amount`` at the output's scale; an amount with more places is refused, not rounded."""
    exact = amount.quantize(places)
    if exact != amount:
        raise InputError(
            field,
            str(amount),
            "has more decimal places than the output's scale: sweep with a larger one",
        )
    return exact


def _duty(d: Duty) -> dict[str, Any]:
    return {"code": str(d.code), "citation": d.citation, "due": d.due, "overdue": d.overdue}
