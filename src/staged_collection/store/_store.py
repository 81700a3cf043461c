"""``EventStore``: cases as streams of events, judged by the engine as they are appended."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from staged_collection._localtime import require_aware
from staged_collection.borrower import Borrower
from staged_collection.case import Case
from staged_collection.engine import Engine
from staged_collection.errors import CaseMismatchError, InputError, WrongExpectedVersion
from staged_collection.events import Event, parse_event
from staged_collection.loan import Loan
from staged_collection.policy import Policy
from staged_collection.store import _chain, _schema
from staged_collection.store._backend import POLICIES, SCHEMA, WRITE, Backend
from staged_collection.store._records import AppendResult, LogEntry, LogReport, StoredEvent
from staged_collection.store._schema import (
    decisions,
    events,
    policies,
    snapshots,
    streams,
    tracking,
)
from staged_collection.store._transaction import Head, Transaction

__all__ = ["EventStore"]

Clock = Callable[[], dt.datetime]
T = TypeVar("T")
_ATTEMPTS = 20


def _wall_clock() -> dt.datetime:
    # The store is the one place that stamps when the lender learned of an event
    # (``recorded_at``, when the caller gave none) and when a stream was opened; every
    # other part of the library takes its instants as arguments. Tests inject a clock.
    return dt.datetime.now(dt.UTC)  # noqa: TID251


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
        try:
            parsed = sa.make_url(url)
        except sa.exc.ArgumentError:
            raise InputError("url", str(url).split("@")[-1], "is not a database URL") from None
        if parsed.drivername == "postgresql":  # SQLAlchemy's default driver is psycopg 2
            parsed = parsed.set(drivername="postgresql+psycopg")
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
        """Opens and appends that commit together: ``with store.transaction() as tx: ...``.

        Nothing is written until the block ends. On SQLite the streams are judged before
        the write lock is taken; if one of them has changed meanwhile, nothing is written
        and ``WrongExpectedVersion`` is raised as the block ends (read again and retry).
        """
        backend = self._backend
        if backend.postgres:  # streams are read under their locks, held to the commit
            with backend.writer.begin() as conn:
                tx = Transaction(self, conn)
                yield tx
                tx._flush()
            return
        with backend.db.connect() as conn:
            tx = Transaction(self, conn)
            yield tx
            if not tx.writes:
                return
            conn.rollback()  # the end of the read: now the write lock, and a check
            conn.execution_options(**{WRITE: True})
            with conn.begin():
                tx._check()
                tx._flush()

    def open(self, loan: Loan, borrower: Borrower) -> Case:
        """Open the stream of ``loan`` at version 0 (its id is the loan id) and return its case.

        Raises ``WrongExpectedVersion`` when the stream exists.
        """
        return self._retried(lambda tx: tx.open(loan, borrower))

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
        return self._retried(
            lambda tx: tx.append(
                stream_id,
                events,
                expected_version=expected_version,
                idempotency_key=idempotency_key,
                breach=breach,
            )
        )

    def _retried(self, work: Callable[[Transaction], T]) -> T:
        """``work`` in a transaction of its own; judged again if the check at the commit
        finds that a stream it read (the borrower's other loan, say) changed meanwhile."""
        for attempt in range(_ATTEMPTS):
            done = False
            try:
                with self.transaction() as tx:
                    result = work(tx)
                    done = True
            except WrongExpectedVersion:
                if not done or attempt == _ATTEMPTS - 1:
                    raise  # the stream is not at the version expected: the caller's turn
                continue  # read again: the answer may differ (or the key be written)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

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
            loan = Loan.model_validate_json(row.loan)
            borrower = Borrower.model_validate_json(row.borrower)
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
            return _log(c, stream_id)

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
                rows = _log(c, sid)
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

    def _append_engine(self, head: Head) -> Engine:
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


def _log(c: sa.Connection, stream_id: str) -> list[LogEntry]:
    """A stream's decision log, in order."""
    rows = c.execute(
        sa.select(decisions).where(decisions.c.stream_id == stream_id).order_by(decisions.c.seq)
    )
    return [
        LogEntry(r.stream_id, r.seq, r.version, r.kind, r.decision_id, r.line, r.prev_hash, r.hash)
        for r in rows
    ]
