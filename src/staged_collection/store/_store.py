"""``EventStore``: cases as streams of events, judged by the engine as they are appended."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, get_args

import sqlalchemy as sa

from staged_collection._localtime import require_aware
from staged_collection.borrower import Borrower
from staged_collection.case import Case
from staged_collection.decision import Decision
from staged_collection.engine import Engine
from staged_collection.errors import (
    CaseMismatchError,
    ContactRefused,
    InputError,
    OutOfOrderError,
    TransitionNotAllowed,
    WrongExpectedVersion,
)
from staged_collection.events import Contact, Event, parse_event
from staged_collection.loan import Loan
from staged_collection.outcome import Outcome, Revision
from staged_collection.policy import Policy
from staged_collection.store import _chain, _schema
from staged_collection.store._backend import ORDER, POLICIES, SCHEMA, Backend
from staged_collection.store._chain import LogRow
from staged_collection.store._records import AppendResult, LogEntry, LogReport, StoredEvent
from staged_collection.store._schema import (
    decisions,
    events,
    policies,
    snapshots,
    streams,
    tracking,
)

__all__ = ["EventStore", "Transaction"]

Clock = Callable[[], dt.datetime]


def _wall_clock() -> dt.datetime:
    # The store is the one place that stamps when the lender learned of an event
    # (``recorded_at``, when the caller gave none) and when a stream was opened; every
    # other part of the library takes its instants as arguments. Tests inject a clock.
    return dt.datetime.now(dt.UTC)  # noqa: TID251


@dataclass
class _Head:
    """A stream as one transaction sees it: read under its lock, then kept up to date."""

    stream_id: str
    borrower_id: str
    currency: str
    policy: str
    loan: dict[str, Any]
    borrower: dict[str, Any]
    version: int  # the largest version in the events table, plus the events pending
    snapshot: tuple[int, bytes] | None
    log_seq: int
    log_head: str
    case: Case | None = None
    pending: list[Event] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)  # decision rows pending
    dirty: bool = False


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
        self._heads: dict[str, _Head] = {}
        self._events: list[dict[str, Any]] = []
        self._keys: dict[str, tuple[str, list[dict[str, Any]], AppendResult]] = {}

    # -- what a caller does ------------------------------------------------------------

    def open(self, loan: Loan, borrower: Borrower) -> Case:
        """Open the stream of ``loan`` (its id is the stream id) at version 0.

        Raises ``WrongExpectedVersion`` (expected: no stream) when it exists already.
        """
        engine = self._store._own_engine("open")
        sid = loan.id
        self._backend.lock_open(self._conn, sid)
        self._backend.lock_borrower(self._conn, borrower.id)
        head = self._head(sid)
        if head is not None:
            raise WrongExpectedVersion(sid, None, head.version)
        case = engine.open_case(loan, borrower)
        fingerprint = engine.policy.fingerprint
        self._conn.execute(
            sa.insert(streams).values(
                stream_id=sid,
                borrower_id=borrower.id,
                currency=loan.currency,
                policy=fingerprint,
                loan=loan.model_dump(mode="json"),
                borrower=borrower.model_dump(mode="json"),
                opened_at=self._store._now(),
            )
        )
        start = _chain.genesis(sid)
        self._conn.execute(
            sa.insert(snapshots).values(
                stream_id=sid,
                version=0,
                policy=fingerprint,
                data=engine.snapshot(case),
                log_seq=0,
                log_head=start,
            )
        )
        self._heads[sid] = _Head(
            stream_id=sid,
            borrower_id=borrower.id,
            currency=loan.currency,
            policy=fingerprint,
            loan=loan.model_dump(mode="json"),
            borrower=borrower.model_dump(mode="json"),
            version=0,
            snapshot=None,
            log_seq=0,
            log_head=start,
            case=case,
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
        docs = [e.model_dump(mode="json") for e in batch]
        if key is not None:
            prior = self._prior(key, head, docs)
            if prior is not None:
                return prior
        if head.version != expected_version:
            raise WrongExpectedVersion(stream_id, expected_version, head.version)
        engine = self._store._append_engine(head)
        now = self._store._now()
        stamped = [e if e.recorded_at else e.model_copy(update={"recorded_at": now}) for e in batch]
        result, lines = self._judge(head, engine, stamped, breach, since=head.version + 1)
        self._record(head, stamped, lines, key, result.case)
        if key is not None:
            self._keys[key] = (stream_id, docs, result)
        return result

    def track(self, consumer: str, position: int) -> None:
        """Record that ``consumer`` has handled the global order up to ``position``."""
        self._store._track(self._conn, consumer, position)

    # -- reading a stream under its lock -----------------------------------------------

    def _head(self, stream_id: str) -> _Head | None:
        found = self._heads.get(stream_id)
        if found is not None:
            return found
        c = self._conn
        row = c.execute(sa.select(streams).where(streams.c.stream_id == stream_id)).first()
        if row is None:
            return None
        # The stream's row never changes; what follows is read under the borrower's lock.
        self._backend.lock_borrower(c, row.borrower_id)
        version = c.execute(
            sa.select(sa.func.max(events.c.version)).where(events.c.stream_id == stream_id)
        ).scalar()
        snap = c.execute(sa.select(snapshots).where(snapshots.c.stream_id == stream_id)).first()
        head = _Head(
            stream_id=stream_id,
            borrower_id=row.borrower_id,
            currency=row.currency,
            policy=row.policy,
            loan=row.loan,
            borrower=row.borrower,
            version=int(version or 0),
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
        return head

    def _case(self, head: _Head, engine: Engine) -> Case:
        if head.case is None:
            snap = head.snapshot
            if snap is not None and snap[0] == head.version:
                try:
                    head.case = engine.restore(snap[1])
                except InputError:  # a snapshot this release cannot read: the events can
                    head.case = self._replay(head, engine)
            else:
                head.case = self._replay(head, engine)
        return head.case

    def _replay(
        self, head: _Head, engine: Engine, *, before: int | None = None, then: Sequence[Event] = ()
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
        loan = Loan.model_validate(head.loan)
        borrower = Borrower.model_validate(head.borrower)
        return engine.replay(loan, borrower, stored, trusted=True)

    def _others(self, head: _Head, engine: Engine) -> tuple[Case, ...]:
        """The borrower's other cases under the same policy: caps per debtor count them."""
        ids = self._conn.execute(
            sa.select(streams.c.stream_id)
            .where(streams.c.borrower_id == head.borrower_id)
            .where(streams.c.stream_id != head.stream_id)
            .where(streams.c.policy == head.policy)
            .order_by(streams.c.stream_id)
        ).scalars()
        found = []
        for sid in ids:
            other = self._head(sid)
            if other is not None:
                found.append(self._case(other, engine))
        return tuple(found)

    # -- judging -----------------------------------------------------------------------

    def _judge(
        self, head: _Head, engine: Engine, batch: list[Event], breach: bool, *, since: int
    ) -> tuple[AppendResult, list[tuple[str, int, Decision]]]:
        """Decide each event in turn; nothing is recorded here (the caller records it all)."""
        case = self._case(head, engine)
        others = self._others(head, engine) if any(isinstance(e, Contact) for e in batch) else ()
        made: list[Decision] = []
        revisions: list[Revision] = []
        lines: list[tuple[str, int, Decision]] = []
        for version, event in enumerate(batch, start=since):
            outcome = self._decide(head, engine, case, event, breach, others)
            if not outcome.recorded:
                assert outcome.decision is not None
                if isinstance(event, Contact):
                    raise ContactRefused(outcome.decision)
                raise TransitionNotAllowed(outcome.decision)
            case = outcome.case
            if outcome.decision is not None:
                made.append(outcome.decision)
                lines.append(("decision", version, outcome.decision))
            for revision in self._unreported(head, outcome.revisions, lines, since):
                revisions.append(revision)
                lines.append(("revision", version, revision.decision))
        result = AppendResult(
            stream_id=head.stream_id,
            version=since + len(batch) - 1,
            case=case,
            decisions=tuple(made),
            revisions=tuple(revisions),
        )
        return result, lines

    def _decide(
        self,
        head: _Head,
        engine: Engine,
        case: Case,
        event: Event,
        breach: bool,
        others: tuple[Case, ...],
    ) -> Outcome:
        try:
            return engine.decide(case, event, breach=breach, others=others)
        except OutOfOrderError:
            if not case.restored:
                raise  # an action back-dated: no history makes that acceptable
        # A fact older than the snapshot: the whole history takes it. The restored case's
        # own events (decided in this transaction, not yet written) follow the stored ones.
        stored = head.version - len(head.pending) + 1
        full = self._replay(head, engine, before=stored, then=case.events)
        return engine.decide(full, event, breach=breach, others=others)

    def _unreported(
        self,
        head: _Head,
        found: tuple[Revision, ...],
        lines: list[tuple[str, int, Decision]],
        since: int,
    ) -> list[Revision]:
        """The revisions not already on the log: a breach or an earlier revision with the same
        codes (a case rebuilt from the store does not know the breaches it recorded)."""
        if not found:
            return []
        known: dict[int, set[str]] = {}

        def note(kind: str, line: dict[str, Any]) -> None:
            if kind == "revision" or not line.get("allowed", True):
                codes = {v.get("code") for v in line.get("violations", ())}
                known.setdefault(int(line.get("version", -1)), set()).update(codes)

        rows = self._conn.execute(
            sa.select(decisions.c.kind, decisions.c.line)
            .where(decisions.c.stream_id == head.stream_id)
            .where(decisions.c.version < since)
        )
        for kind, line in rows:
            note(kind, json.loads(line))
        for row in head.lines:
            if row["version"] < since:
                note(row["kind"], json.loads(row["line"]))
        for kind, _, decision in lines:
            note(kind, json.loads(decision.to_log_line()))
        return [
            r
            for r in found
            if not {str(c) for c in r.decision.codes} <= known.get(r.decision.version, set())
        ]

    # -- recording ---------------------------------------------------------------------

    def _record(
        self,
        head: _Head,
        batch: list[Event],
        lines: list[tuple[str, int, Decision]],
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
                    "payload": event.model_dump(mode="json"),
                    "policy": head.policy,
                    "idempotency_key": key if i == 0 else None,
                    "batch": len(batch) if i == 0 else None,
                }
            )
        for kind, version, decision in lines:
            line = decision.to_log_line()
            digest = _chain.entry_hash(head.stream_id, version, kind, line, head.log_head)
            head.log_seq += 1
            head.lines.append(
                {
                    "stream_id": head.stream_id,
                    "seq": head.log_seq,
                    "version": version,
                    "kind": kind,
                    "decision_id": decision.decision_id,
                    "line": line,
                    "prev_hash": head.log_head,
                    "hash": digest,
                }
            )
            head.log_head = digest
        head.version += len(batch)
        head.pending.extend(batch)
        head.case = case
        head.dirty = True

    def _flush(self) -> None:
        """Write what the transaction recorded; the events last, under the global order lock."""
        dirty = [h for h in self._heads.values() if h.dirty]
        if not dirty:
            return
        c = self._conn
        lines = [row for h in dirty for row in h.lines]
        if lines:
            c.execute(sa.insert(decisions), lines)
        c.execute(
            sa.update(snapshots)
            .where(snapshots.c.stream_id == sa.bindparam("sid"))
            .values(
                version=sa.bindparam("v"),
                data=sa.bindparam("d"),
                log_seq=sa.bindparam("s"),
                log_head=sa.bindparam("h"),
            ),
            [
                {
                    "sid": h.stream_id,
                    "v": h.version,
                    "d": self._store._policy_engine(h.policy, c).snapshot(_present(h.case)),
                    "s": h.log_seq,
                    "h": h.log_head,
                }
                for h in dirty
            ],
        )
        # Held until the commit: positions are handed out in the order transactions commit.
        self._backend.lock_store(c, ORDER)
        c.execute(sa.insert(events), self._events)

    # -- idempotency -------------------------------------------------------------------

    def _prior(self, key: str, head: _Head, docs: list[dict[str, Any]]) -> AppendResult | None:
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
        _same_append(key, head.stream_id, docs, row.stream_id, stored)
        # The first result, made again from the same history: the case before the append,
        # and the stored events judged on it as they were then.
        engine = self._store._policy_engine(head.policy, self._conn)
        earlier = self._replay(head, engine, before=start)
        saved = head.case
        head.case = earlier
        batch = [parse_event(p, currency=head.currency) for p in stored]
        try:
            result, _ = self._judge(head, engine, batch, True, since=start)
        finally:
            head.case = saved
        return replace(result, replayed=True)


def _same_append(
    key: str, stream_id: str, docs: list[dict[str, Any]], first_stream: str, first: list[Any]
) -> None:
    if first_stream != stream_id:
        raise InputError(
            "idempotency_key", key, f"was used for an append to stream {first_stream!r}"
        )

    def bare(doc: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in doc.items() if k != "recorded_at"}

    if [bare(d) for d in docs] != [bare(dict(d)) for d in first]:
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


class EventStore:
    """Cases as streams of events in SQLite (the default) or PostgreSQL.

    ``EventStore("sqlite:///collection.db", engine=Engine("cn"))`` opens (and creates,
    unless ``create=False``) a store; ``engine`` judges every append and opens new
    streams under its policy. Without one, a store can still be read, and each stream
    is appended to under the policy it was opened with (kept in the store). ``clock``
    stamps ``recorded_at`` on events that carry none (default: the wall clock).

    Every write is one transaction: the events, their decisions (hash-chained per
    stream) and a fresh snapshot. See ``docs/persistence.md``.
    """

    def __init__(
        self,
        url: str | sa.URL,
        *,
        engine: Engine | None = None,
        clock: Clock | None = None,
        create: bool = True,
        busy_timeout: float = 30.0,
    ) -> None:
        parsed = sa.make_url(url)
        self.url = parsed.render_as_string(hide_password=True)
        name = parsed.get_backend_name()
        if name not in ("sqlite", "postgresql"):
            raise InputError("url", self.url, "the store runs on sqlite:/// or postgresql://")
        if name == "sqlite" and not create and not _sqlite_exists(parsed):
            raise InputError("url", self.url, "no such database file")
        self._backend = Backend(parsed, busy_timeout)
        self._engine = engine
        self._clock: Clock = clock or _wall_clock
        self._engines: dict[str, Engine] = {}
        self._ready(create)
        if engine is not None:
            self._register(engine)

    def __repr__(self) -> str:
        return f"EventStore({self.url!r})"

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the store's connections (a process that forks closes them first)."""
        self._backend.db.dispose()

    # -- writing -----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Opens and appends that commit together: ``with store.transaction() as tx: ...``."""
        with self._backend.writer.begin() as conn:
            tx = Transaction(self, conn)
            yield tx
            tx._flush()

    def open(self, loan: Loan, borrower: Borrower) -> Case:
        """Open the stream of ``loan`` at version 0 (its id is the loan id) and return its case.

        Raises ``WrongExpectedVersion`` when the stream exists.
        """
        with self.transaction() as tx:
            return tx.open(loan, borrower)

    def append(
        self,
        stream_id: str,
        events: Sequence[Event],
        *,
        expected_version: int,
        idempotency_key: str | None = None,
        breach: bool = False,
    ) -> AppendResult:
        """Judge ``events`` in order on the stream's case and record them, in one transaction.

        ``expected_version`` is the version the caller last saw (0 for a stream just
        opened): if the stream is at another, ``WrongExpectedVersion`` is raised and
        nothing is written. Each event goes through ``Engine.decide``: a refused action
        raises ``TransitionNotAllowed``, a refused contact ``ContactRefused`` (unless
        ``breach=True``: it happened, and is recorded with its decision), and nothing is
        written. The events, their decisions and the new snapshot commit together.

        An ``idempotency_key`` makes a retry safe: if an append with that key was written,
        its first result is returned (``replayed=True``) and nothing is written, whatever
        ``expected_version`` says; the key reused for other events raises ``InputError``.
        """
        with self.transaction() as tx:
            return tx.append(
                stream_id,
                events,
                expected_version=expected_version,
                idempotency_key=idempotency_key,
                breach=breach,
            )

    def track(self, consumer: str, position: int) -> None:
        """Record that ``consumer`` has handled every event up to ``position`` (only forward)."""
        with self._backend.writer.begin() as conn:
            self._track(conn, consumer, position)

    # -- reading -----------------------------------------------------------------------

    def engine(self, stream_id: str) -> Engine:
        """The engine of the policy the stream runs under (kept in the store)."""
        with self._backend.db.connect() as c:
            return self._policy_engine(self._stream_row(c, stream_id).policy, c)

    def version(self, stream_id: str) -> int:
        """The stream's version: the number of events it holds."""
        with self._backend.db.connect() as c:
            found = c.execute(
                sa.select(sa.func.max(events.c.version)).where(events.c.stream_id == stream_id)
            ).scalar()
            if found is None:
                self._stream_row(c, stream_id)
            return int(found or 0)

    def load(self, stream_id: str, *, replay: bool = False) -> Case:
        """The stream's case: its latest snapshot restored (``replay=True``: every event
        folded again, for questions about instants before the snapshot)."""
        with self._backend.db.connect() as c:
            row = self._stream_row(c, stream_id)
            version = sa.select(sa.func.max(events.c.version)).where(
                events.c.stream_id == stream_id
            )
            snap = c.execute(
                sa.select(snapshots.c.version, snapshots.c.data, version.scalar_subquery()).where(
                    snapshots.c.stream_id == stream_id
                )
            ).first()
            engine = self._policy_engine(row.policy, c)
            if not replay and snap is not None and snap[0] == (snap[2] or 0):
                try:
                    return engine.restore(bytes(snap[1]))
                except InputError:
                    pass  # a snapshot this release cannot read: fold the events instead
            stored = [
                parse_event(p, currency=row.currency)
                for p in c.execute(
                    sa.select(events.c.payload)
                    .where(events.c.stream_id == stream_id)
                    .order_by(events.c.version)
                ).scalars()
            ]
            loan = Loan.model_validate(row.loan)
            borrower = Borrower.model_validate(row.borrower)
            return engine.replay(loan, borrower, stored, trusted=True)

    def read(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]:
        """The stream's events after ``after_version``, in version order."""
        with self._backend.db.connect() as c:
            row = self._stream_row(c, stream_id)
            rows = c.execute(
                sa.select(events.c.position, events.c.version, events.c.payload, events.c.policy)
                .where(events.c.stream_id == stream_id)
                .where(events.c.version > after_version)
                .order_by(events.c.version)
            )
            return [
                StoredEvent(p, stream_id, v, parse_event(d, currency=row.currency), f)
                for p, v, d, f in rows
            ]

    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Up to ``limit`` events of every stream after ``after_position``, in position order.

        For consumers: read from the last position handled. A position once returned has
        every smaller position of a committed event returned before it (on PostgreSQL too:
        positions are handed out in commit order), so a reader never skips an event that
        commits late. Positions may have holes (an append rolled back).
        """
        if limit < 1:
            raise InputError("limit", limit, "must be at least 1")
        with self._backend.db.connect() as c:
            rows = c.execute(
                sa.select(
                    events.c.position,
                    events.c.stream_id,
                    events.c.version,
                    events.c.payload,
                    events.c.policy,
                    streams.c.currency,
                )
                .join(streams, streams.c.stream_id == events.c.stream_id)
                .where(events.c.position > after_position)
                .order_by(events.c.position)
                .limit(limit)
            )
            return [
                StoredEvent(p, s, v, parse_event(d, currency=cur), f) for p, s, v, d, f, cur in rows
            ]

    def decisions(self, stream_id: str) -> list[LogEntry]:
        """The stream's decision log, in order."""
        with self._backend.db.connect() as c:
            self._stream_row(c, stream_id)
            rows = c.execute(
                sa.select(decisions)
                .where(decisions.c.stream_id == stream_id)
                .order_by(decisions.c.seq)
            )
            return [
                LogEntry(
                    r.stream_id,
                    r.seq,
                    r.version,
                    r.kind,
                    r.decision_id,
                    r.line,
                    r.prev_hash,
                    r.hash,
                )
                for r in rows
            ]

    def tracked(self, consumer: str) -> int:
        """The last position ``consumer`` recorded with ``track`` (0 if none)."""
        with self._backend.db.connect() as c:
            found = c.execute(
                sa.select(tracking.c.position).where(tracking.c.consumer == consumer)
            ).scalar()
            return int(found or 0)

    def iter_snapshots(self, batch_size: int = 1000) -> Iterator[tuple[str, int, bytes]]:
        """``(stream_id, version, snapshot)`` for every stream, in stream id order.

        The portfolio sweep's input. Stream ids come in code point order (on SQLite and
        PostgreSQL alike), each exactly once, read ``batch_size`` at a time, each batch in
        its own short read: a stream appended to meanwhile comes with whichever snapshot
        was latest when its batch was read, and the snapshot's version says which. Streams
        opened meanwhile come if their id sorts after the batch being read. Restore each
        with ``Engine(policy).restore(snapshot)``, under the policy its stream runs.
        """
        if batch_size < 1:
            raise InputError("batch_size", batch_size, "must be at least 1")
        after: str | None = None
        while True:
            query = sa.select(snapshots.c.stream_id, snapshots.c.version, snapshots.c.data)
            if after is not None:
                query = query.where(snapshots.c.stream_id > after)
            with self._backend.db.connect() as c:
                rows = c.execute(query.order_by(snapshots.c.stream_id).limit(batch_size)).all()
            for sid, version, data in rows:
                yield sid, int(version), bytes(data)
            if len(rows) < batch_size:
                return
            after = rows[-1][0]

    def verify_log(self, stream_id: str | None = None) -> LogReport:
        """Check every stream's decision log (or one) against its hash chain and head."""
        problems: list[_chain.LogProblem] = []
        count = lines = 0
        with self._backend.db.connect() as c:
            if stream_id is not None:
                self._stream_row(c, stream_id)
            ids = sa.select(streams.c.stream_id).order_by(streams.c.stream_id)
            if stream_id is not None:
                ids = ids.where(streams.c.stream_id == stream_id)
            for sid in c.execute(ids).scalars().all():
                rows = [
                    LogRow(r.seq, r.version, r.kind, r.decision_id, r.line, r.prev_hash, r.hash)
                    for r in c.execute(
                        sa.select(decisions)
                        .where(decisions.c.stream_id == sid)
                        .order_by(decisions.c.seq)
                    )
                ]
                head = c.execute(
                    sa.select(snapshots.c.log_seq, snapshots.c.log_head).where(
                        snapshots.c.stream_id == sid
                    )
                ).first()
                found = _chain.verify(
                    sid, rows, None if head is None else head[0], None if head is None else head[1]
                )
                count += 1
                lines += len(rows)
                if found is not None:
                    problems.append(found)
        return LogReport(count, lines, tuple(problems))

    # -- inside ------------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return require_aware(self._clock(), "clock()")

    def _own_engine(self, what: str) -> Engine:
        if self._engine is None:
            raise InputError(
                "engine", None, f"{what} needs a policy: EventStore(url, engine=Engine(...))"
            )
        return self._engine

    def _append_engine(self, head: _Head) -> Engine:
        mine = self._engine
        if mine is not None and mine.policy.fingerprint != head.policy:
            raise CaseMismatchError(
                "policy",
                head.policy[:12],
                f"stream {head.stream_id!r} runs under another policy than this store's engine "
                f"({mine.policy.fingerprint[:12]}); append with EventStore(url) and the stream's "
                "own policy",
            )
        if mine is not None:
            return mine
        with self._backend.db.connect() as c:
            return self._policy_engine(head.policy, c)

    def _policy_engine(self, fingerprint: str, conn: sa.Connection) -> Engine:
        found = self._engines.get(fingerprint)
        if found is None:
            if self._engine is not None and self._engine.policy.fingerprint == fingerprint:
                found = self._engine
            else:
                document = conn.execute(
                    sa.select(policies.c.document).where(policies.c.fingerprint == fingerprint)
                ).scalar()
                if document is None:
                    raise InputError("policy", fingerprint[:12], "no such policy in the store")
                policy = Policy.model_validate_json(document)
                if policy.fingerprint != fingerprint:
                    raise InputError(
                        "policy", fingerprint[:12], "the stored document has another fingerprint"
                    )
                found = Engine(policy)
            self._engines[fingerprint] = found
        return found

    def _stream_row(self, conn: sa.Connection, stream_id: str) -> sa.Row[Any]:
        row = conn.execute(sa.select(streams).where(streams.c.stream_id == stream_id)).first()
        if row is None:
            raise InputError("stream_id", stream_id, "no such stream in the store")
        return row

    def _track(self, conn: sa.Connection, consumer: str, position: int) -> None:
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise InputError("position", position, "must be an integer >= 0")
        found = conn.execute(
            sa.select(tracking.c.position).where(tracking.c.consumer == consumer)
        ).scalar()
        now = self._now()
        if found is None:
            conn.execute(
                sa.insert(tracking).values(consumer=consumer, position=position, updated_at=now)
            )
        elif position <= found:
            raise InputError(
                "position", position, f"{consumer!r} has handled up to {found} already"
            )
        else:
            conn.execute(
                sa.update(tracking)
                .where(tracking.c.consumer == consumer)
                .where(tracking.c.position == found)
                .values(position=position, updated_at=now)
            )

    def _ready(self, create: bool) -> None:
        """Create the tables, or migrate them, or refuse a store newer than this release."""
        with self._backend.db.connect() as c:
            found = _schema.installed_version(c)
        if found == _schema.SCHEMA_VERSION:
            return
        with self._backend.writer.begin() as c:
            self._backend.lock_store(c, SCHEMA)
            found = _schema.installed_version(c)
            if found is None:
                if not create:
                    raise InputError(
                        "url", self.url, "holds no store: run `staged-collection store init`"
                    )
                _schema.create(c)
            elif found > _schema.SCHEMA_VERSION:
                raise InputError(
                    "url",
                    self.url,
                    f"holds a store of schema {found}, newer than this release reads "
                    f"({_schema.SCHEMA_VERSION}): upgrade staged-collection",
                )
            elif found < _schema.SCHEMA_VERSION:
                _schema.migrate(c, found)

    def _register(self, engine: Engine) -> None:
        """Keep the engine's policy in the store, so the store can be read without it."""
        policy = engine.policy
        self._engines[policy.fingerprint] = engine
        query = sa.select(policies.c.fingerprint).where(
            policies.c.fingerprint == policy.fingerprint
        )
        with self._backend.db.connect() as c:
            if c.execute(query).first() is not None:
                return
        with self._backend.writer.begin() as c:
            self._backend.lock_store(c, POLICIES)
            if c.execute(query).first() is None:
                c.execute(
                    sa.insert(policies).values(
                        fingerprint=policy.fingerprint,
                        name=policy.name,
                        document=policy.model_dump_json(),
                    )
                )


def _sqlite_exists(url: sa.URL) -> bool:
    database = url.database
    return not database or database == ":memory:" or Path(database).is_file()
