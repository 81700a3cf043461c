"""A write transaction: opens and appends that commit together, or not at all.

Each stream a transaction touches is read once and kept up to date in memory as appends
are judged; nothing is written until the end, when the streams, decision lines and
snapshots go in and, last, the events, under the lock that orders positions by commit.

On PostgreSQL a stream is read under its borrower's lock, held to the commit, so it
cannot change while it is judged. On SQLite, whose one write lock would otherwise be held
while every append of the transaction is judged, streams are read in a read transaction;
at the end the store takes the write lock (``BEGIN IMMEDIATE``), checks that every stream
read is still at the version read, and writes. If one is not, nothing is
written and ``WrongExpectedVersion`` is raised, as it would have been had the other
writer come first.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, get_args

import sqlalchemy as sa

from staged_collection.borrower import Borrower
from staged_collection.case import Case
from staged_collection.engine import Engine
from staged_collection.errors import InputError, WrongExpectedVersion
from staged_collection.events import Event, parse_event
from staged_collection.loan import Loan
from staged_collection.store import _chain
from staged_collection.store._backend import ORDER
from staged_collection.store._judge import Line, judge
from staged_collection.store._records import AppendResult
from staged_collection.store._schema import decisions, events, snapshots, streams

if TYPE_CHECKING:
    from staged_collection.store._store import EventStore

__all__ = ["Head", "Transaction"]


@dataclass
class Head:
    """A stream as one transaction sees it: read once, then kept up to date."""

    stream_id: str
    borrower_id: str
    currency: str
    policy: str
    loan: str  # JSON
    borrower: str  # JSON
    stored: int  # the largest version in the events table when the stream was read
    snapshot: tuple[int, bytes] | None
    log_seq: int
    log_head: str
    opened_at: dt.datetime | None = None  # opened in this transaction
    case: Case | None = None
    pending: list[Event] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)  # decision rows pending
    dirty: bool = False

    @property
    def version(self) -> int:
        return self.stored + len(self.pending)


class Transaction:
    """Appends and opens that commit together, or not at all (``EventStore.transaction``).

    A refused append or a version mismatch raises before anything of that append is
    recorded: the transaction may go on with other appends, or end (and roll back) with
    the exception.
    """

    def __init__(self, store: EventStore, conn: sa.Connection) -> None:
        self._store = store
        self._conn = conn
        self._backend = store._backend
        self._heads: dict[str, Head] = {}
        self._events: list[dict[str, Any]] = []
        self._keys: dict[str, tuple[str, list[dict[str, Any]], AppendResult]] = {}
        self._tracks: list[tuple[str, int]] = []
        self._siblings: dict[str, frozenset[str]] = {}  # the borrower's streams, as stored
        self._of_borrower: dict[str, set[str]] = {}  # the streams this transaction has read

    @property
    def writes(self) -> bool:
        """Whether the transaction has anything to write."""
        return bool(self._tracks) or any(h.dirty for h in self._heads.values())

    # -- what a caller does ------------------------------------------------------------

    def open(self, loan: Loan, borrower: Borrower) -> Case:
        """Open the stream of ``loan`` (its id is the stream id) at version 0.

        Raises ``WrongExpectedVersion`` (expected: no stream) when it exists already.
        """
        engine = self._store._own_engine("open")
        sid = loan.id
        self._backend.lock_open(self._conn, sid, borrower.id)
        head = self._head(sid)
        if head is not None:
            raise WrongExpectedVersion(sid, None, head.version)
        case = engine.open_case(loan, borrower)
        self._of_borrower.setdefault(borrower.id, set()).add(sid)
        self._heads[sid] = Head(
            stream_id=sid,
            borrower_id=borrower.id,
            currency=loan.currency,
            policy=engine.policy.fingerprint,
            loan=loan.model_dump_json(),
            borrower=borrower.model_dump_json(),
            stored=0,
            snapshot=None,
            log_seq=0,
            log_head=_chain.genesis(sid),
            opened_at=self._store._now(),
            case=case,
            dirty=True,
        )
        return case

    def append(
        self,
        stream_id: str,
        events: Sequence[Event],
        *,
        expected_version: int,
        idempotency_key: str | None = None,
        breach: bool = False,
    ) -> AppendResult:
        """Judge ``events`` in order on the stream's case and record them with their decisions.

        See ``EventStore.append``.
        """
        batch = _checked_events(events)
        _check_version(expected_version)
        key = _checked_key(idempotency_key)
        head = self._head(stream_id)
        if head is None:
            raise WrongExpectedVersion(stream_id, expected_version, None)
        docs: list[dict[str, Any]] = []
        if key is not None:
            docs = [e.model_dump(mode="json") for e in batch]  # compared with the first append's
            prior = self._prior(key, head, docs)
            if prior is not None:
                return prior
        if head.version != expected_version:
            raise WrongExpectedVersion(stream_id, expected_version, head.version)
        engine = self._store._append_engine(head)
        now = self._store._now()
        stamped = [e if e.recorded_at else e.model_copy(update={"recorded_at": now}) for e in batch]
        result, lines = judge(self, head, engine, stamped, breach, since=head.version + 1)
        self._record(head, stamped, lines, key, result.case)
        if key is not None:
            self._keys[key] = (stream_id, docs, result)
        return result

    def track(self, consumer: str, position: int) -> None:
        """Record that ``consumer`` has handled the global order up to ``position``."""
        self._tracks.append((consumer, position))

    # -- reading a stream --------------------------------------------------------------

    def _head(self, stream_id: str) -> Head | None:
        found = self._heads.get(stream_id)
        if found is not None:
            return found
        c = self._conn
        row = self._backend.stream_row(c, stream_id)
        if row is None:
            return None
        # The stream's row never changes; what follows is read under the borrower's lock
        # (PostgreSQL), or checked again under the write lock before anything is written.
        stored = (
            sa.select(sa.func.max(events.c.version))
            .where(events.c.stream_id == stream_id)
            .scalar_subquery()
        )
        snap = c.execute(
            sa.select(snapshots, stored.label("stored")).where(snapshots.c.stream_id == stream_id)
        ).first()
        version = snap.stored if snap is not None else c.execute(sa.select(stored)).scalar()
        head = Head(
            stream_id=stream_id,
            borrower_id=row.borrower_id,
            currency=row.currency,
            policy=row.policy,
            loan=row.loan,
            borrower=row.borrower,
            stored=int(version or 0),
            snapshot=None if snap is None else (snap.version, bytes(snap.data)),
            log_seq=0 if snap is None else snap.log_seq,
            log_head=_chain.genesis(stream_id) if snap is None else snap.log_head,
        )
        if snap is None:  # the log's head went with the snapshot: carry on from the log itself
            last = c.execute(
                sa.select(decisions.c.seq, decisions.c.hash)
                .where(decisions.c.stream_id == stream_id)
                .order_by(decisions.c.seq.desc())
                .limit(1)
            ).first()
            if last is not None:
                head.log_seq, head.log_head = last.seq, last.hash
        self._heads[stream_id] = head
        self._of_borrower.setdefault(head.borrower_id, set()).add(stream_id)
        return head

    def _case(self, head: Head, engine: Engine) -> Case:
        if head.case is None:
            snap = head.snapshot
            if snap is not None and snap[0] == head.stored:
                try:
                    head.case = engine.restore(snap[1])
                except InputError:  # a snapshot this release cannot read: the events can
                    head.case = self._replay(head, engine)
            else:
                head.case = self._replay(head, engine)
        return head.case

    def _replay(
        self, head: Head, engine: Engine, *, before: int | None = None, then: Sequence[Event] = ()
    ) -> Case:
        """The stream's case from its stored events (those before ``before``) and ``then``,
        folded without judging them again."""
        query = sa.select(events.c.payload).where(events.c.stream_id == head.stream_id)
        if before is not None:
            query = query.where(events.c.version < before)
        stored = [
            parse_event(p, currency=head.currency)
            for p in self._conn.execute(query.order_by(events.c.version)).scalars()
        ]
        stored += then
        loan = Loan.model_validate_json(head.loan)
        borrower = Borrower.model_validate_json(head.borrower)
        return engine.replay(loan, borrower, stored, trusted=True)

    def _others(self, head: Head, engine: Engine, since: dt.datetime) -> tuple[Case, ...]:
        """The borrower's other cases under the same policy: caps per debtor count them.

        A contact is judged with the others as they were when it was made: one restored
        from a snapshot taken after ``since`` (the earliest contact judged) is folded
        again from its events, which the engine can then read as of any instant.
        """
        ids = self._siblings.get(head.borrower_id)
        if ids is None:
            # Read once per borrower: on PostgreSQL no stream of theirs can be opened while
            # their lock is held; on SQLite ``_check`` reads the list again.
            ids = self._siblings[head.borrower_id] = self._stored_siblings([head.borrower_id])[
                head.borrower_id
            ]
        ids = ids | self._of_borrower.get(head.borrower_id, frozenset())
        found = []
        for sid in sorted(ids - {head.stream_id}):
            other = self._head(sid)
            if other is None or other.policy != head.policy:
                continue
            case = self._case(other, engine)
            if case.restored and case.as_of is not None and case.as_of > since:
                case = self._replay(other, engine, before=other.stored + 1, then=other.pending)
            found.append(case)
        return tuple(found)

    def _stored_siblings(self, borrowers: list[str]) -> dict[str, frozenset[str]]:
        rows = self._conn.execute(
            sa.select(streams.c.borrower_id, streams.c.stream_id).where(
                streams.c.borrower_id.in_(borrowers)
            )
        ).all()
        found: dict[str, set[str]] = {b: set() for b in borrowers}
        for borrower, sid in rows:
            found[borrower].add(sid)
        return {b: frozenset(ids) for b, ids in found.items()}

    # -- recording ---------------------------------------------------------------------

    def _record(
        self,
        head: Head,
        batch: list[Event],
        lines: list[Line],
        key: str | None,
        case: Case,
    ) -> None:
        for i, event in enumerate(batch):
            self._events.append(
                {
                    "stream_id": head.stream_id,
                    "version": head.version + 1 + i,
                    "type": event.type,
                    "at": event.at,
                    "recorded_at": event.recorded_at,
                    "payload": event.model_dump_json(),
                    "policy": head.policy,
                    "idempotency_key": key if i == 0 else None,
                    "batch": len(batch) if i == 0 else None,
                }
            )
        for kind, version, decision in lines:
            line = decision.to_log_line()
            logged = json.loads(line)
            digest = _chain.entry_hash(head.stream_id, version, kind, logged, head.log_head)
            head.log_seq += 1
            head.lines.append(
                {
                    "stream_id": head.stream_id,
                    "seq": head.log_seq,
                    "version": version,
                    "kind": kind,
                    "decision_id": logged.get("decision_id") or decision.decision_id,
                    "line": line,
                    "prev_hash": head.log_head,
                    "hash": digest,
                }
            )
            head.log_head = digest
        head.pending.extend(batch)
        head.case = case
        head.dirty = True

    def _check(self) -> None:
        """Under the write lock: every stream read is still as it was read (SQLite).

        Raises ``WrongExpectedVersion`` for the first that is not (nothing is written).
        """
        c = self._conn
        heads = list(self._heads.values())
        for part in _parts([h for h in heads if h.opened_at is not None]):
            found = c.execute(
                sa.select(streams.c.stream_id).where(
                    streams.c.stream_id.in_([h.stream_id for h in part])
                )
            ).first()
            if found is not None:
                now = c.execute(
                    sa.select(sa.func.max(events.c.version)).where(
                        events.c.stream_id == found.stream_id
                    )
                ).scalar()
                raise WrongExpectedVersion(found.stream_id, None, int(now or 0))
        for part in _parts([h for h in heads if h.opened_at is None]):
            ids = [h.stream_id for h in part]
            now = dict(
                c.execute(
                    sa.select(events.c.stream_id, sa.func.max(events.c.version))
                    .where(events.c.stream_id.in_(ids))
                    .group_by(events.c.stream_id)
                ).all()
            )
            for h in part:
                if now.get(h.stream_id, 0) != h.stored:
                    raise WrongExpectedVersion(h.stream_id, h.stored, now.get(h.stream_id, 0))
        borrowers = sorted(self._siblings)
        for i in range(0, len(borrowers), 500):
            for borrower, stored in self._stored_siblings(borrowers[i : i + 500]).items():
                if stored != self._siblings[borrower]:  # a stream opened meanwhile counts too
                    opened = sorted(stored - self._siblings[borrower]) or sorted(stored)
                    raise WrongExpectedVersion(opened[0], None, 0)
        if self._keys:
            taken = c.execute(
                sa.select(events.c.idempotency_key, events.c.stream_id).where(
                    events.c.idempotency_key.in_(list(self._keys))
                )
            ).first()
            if taken is not None:
                raise InputError(
                    "idempotency_key",
                    taken.idempotency_key,
                    f"was used meanwhile for an append to stream {taken.stream_id!r}",
                )

    def _flush(self) -> None:
        """Write what the transaction recorded; the events last, under the global order lock."""
        c = self._conn
        dirty = [h for h in self._heads.values() if h.dirty]
        new = [h for h in dirty if h.opened_at is not None]
        if new:
            c.execute(
                sa.insert(streams),
                [
                    {
                        "stream_id": h.stream_id,
                        "borrower_id": h.borrower_id,
                        "currency": h.currency,
                        "policy": h.policy,
                        "loan": h.loan,
                        "borrower": h.borrower,
                        "opened_at": h.opened_at,
                    }
                    for h in new
                ],
            )
        lines = [row for h in dirty for row in h.lines]
        if lines:
            c.execute(sa.insert(decisions), lines)
        rows = [
            {
                "sid": h.stream_id,
                "v": h.version,
                "p": h.policy,
                "d": self._store._policy_engine(h.policy, c).snapshot(_present(h.case)),
                "s": h.log_seq,
                "h": h.log_head,
            }
            for h in dirty
        ]
        if new:
            c.execute(
                _INSERT_SNAPSHOT,
                [r for r, h in zip(rows, dirty, strict=True) if h.opened_at is not None],
            )
        old = [r for r, h in zip(rows, dirty, strict=True) if h.opened_at is None]
        if old:
            c.execute(_UPDATE_SNAPSHOT, old)
        for consumer, position in self._tracks:
            self._store._track(c, consumer, position)
        if self._events:
            # Held until the commit: positions are handed out in the order transactions commit.
            self._backend.lock_store(c, ORDER)
            c.execute(sa.insert(events), self._events)

    # -- idempotency -------------------------------------------------------------------

    def _prior(self, key: str, head: Head, docs: list[dict[str, Any]]) -> AppendResult | None:
        """The first result of the append that used ``key``, or ``None`` if none did."""
        same = self._keys.get(key)
        if same is not None:
            sid, first, result = same
            _same_append(key, head.stream_id, docs, sid, first)
            return replace(result, replayed=True)
        self._backend.lock_key(self._conn, key)
        row = self._conn.execute(
            sa.select(events.c.stream_id, events.c.version, events.c.batch).where(
                events.c.idempotency_key == key
            )
        ).first()
        if row is None:
            return None
        start, size = int(row.version), int(row.batch or 1)
        stored = list(
            self._conn.execute(
                sa.select(events.c.payload)
                .where(events.c.stream_id == row.stream_id)
                .where(events.c.version.between(start, start + size - 1))
                .order_by(events.c.version)
            ).scalars()
        )
        _same_append(key, head.stream_id, docs, row.stream_id, [json.loads(p) for p in stored])
        # The first result, made again from the same history: the case before the append,
        # and the stored events judged on it as they were then.
        engine = self._store._policy_engine(head.policy, self._conn)
        earlier = self._replay(head, engine, before=start)
        saved = head.case
        head.case = earlier
        batch = [parse_event(p, currency=head.currency) for p in stored]
        try:
            result, _ = judge(self, head, engine, batch, True, since=start)
        finally:
            head.case = saved
        return replace(result, replayed=True)


_INSERT_SNAPSHOT = sa.insert(snapshots).values(
    stream_id=sa.bindparam("sid"),
    version=sa.bindparam("v"),
    policy=sa.bindparam("p"),
    data=sa.bindparam("d"),
    log_seq=sa.bindparam("s"),
    log_head=sa.bindparam("h"),
)
_UPDATE_SNAPSHOT = (
    sa.update(snapshots)
    .where(snapshots.c.stream_id == sa.bindparam("sid"))
    .values(
        version=sa.bindparam("v"),
        data=sa.bindparam("d"),
        log_seq=sa.bindparam("s"),
        log_head=sa.bindparam("h"),
    )
)


def _parts(heads: list[Head], size: int = 500) -> list[list[Head]]:
    return [heads[i : i + size] for i in range(0, len(heads), size)]


def _same_append(
    key: str,
    stream_id: str,
    docs: list[dict[str, Any]],
    first_stream: str,
    first: list[dict[str, Any]],
) -> None:
    if first_stream != stream_id:
        raise InputError(
            "idempotency_key", key, f"was used for an append to stream {first_stream!r}"
        )

    def bare(doc: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in doc.items() if k != "recorded_at"}

    if [bare(d) for d in docs] != [bare(d) for d in first]:
        raise InputError("idempotency_key", key, "was used for an append of other events")


def _present(case: Case | None) -> Case:
    assert case is not None
    return case


_EVENT_TYPES: tuple[type, ...] = get_args(get_args(Event)[0])


def _checked_events(batch: Sequence[Event]) -> list[Event]:
    if isinstance(batch, str | bytes) or not isinstance(batch, Sequence):
        raise InputError("events", type(batch).__name__, "must be a list of events")
    items = list(batch)
    if not items:
        raise InputError("events", [], "an append writes at least one event")
    for i, item in enumerate(items):
        if not isinstance(item, _EVENT_TYPES):
            raise InputError(f"events[{i}]", type(item).__name__, "must be an event model")
    return items


def _check_version(expected: int) -> None:
    if isinstance(expected, bool) or not isinstance(expected, int) or expected < 0:
        raise InputError("expected_version", expected, "must be an integer >= 0")


def _checked_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not isinstance(key, str) or not key or len(key) > 200:
        raise InputError("idempotency_key", key, "must be a string of 1 to 200 characters")
    return key
