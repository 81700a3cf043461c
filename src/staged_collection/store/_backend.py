"""What differs between SQLite and PostgreSQL: connecting, starting a write, and locks.

SQLite (the embedded default) serialises writers itself: a write starts with
``BEGIN IMMEDIATE``, which takes the database's one write lock at once (waiting up to the
busy timeout) rather than at its first write, where a deferred transaction that read an
older version would fail. Reads (``BEGIN``) never wait: journal mode WAL lets them go on
while one writer writes; ``synchronous=FULL`` makes every commit durable before it
returns. (The store reads and judges in a read transaction, then writes in a short
``BEGIN IMMEDIATE`` one after checking that nothing it read has changed.)

PostgreSQL runs writers in parallel and serialises them where they meet, with
transaction-scoped advisory locks (released at commit or rollback, and by the server when
a client dies):

- one per borrower, taken before a stream of that borrower is read for an append: the
  writers of one stream (and of every loan of one debtor, whose contact caps count across
  loans) take turns, so there are no retry storms on a hot stream;
- one for the global order, taken just before the events are inserted and held until the
  commit: positions are handed out in commit order, so a reader of ``read_all`` that has
  seen position ``p`` has seen every position below it (a transaction that commits late
  cannot hold a smaller position than one already visible).
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from staged_collection.store._schema import streams

# Advisory lock keys are (namespace, key) pairs of 32-bit integers.
_STREAMS = 0x53430001  # per borrower
_KEYS = 0x53430002  # per idempotency key
_STORE = 0x53430003  # store-wide: the global order, schema changes, policy registration
_OPENS = 0x53430004  # per stream id, while it is opened
ORDER, SCHEMA, POLICIES = 1, 2, 3

WRITE = "staged_collection_write"
"""The execution option that marks a write transaction (``BEGIN IMMEDIATE`` on SQLite)."""


def _key32(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big", signed=True)


class Backend:
    """A SQLAlchemy engine set up for the store, and the locks of its database."""

    def __init__(self, url: sa.URL, busy_timeout: float) -> None:
        self.url = url
        self.name = url.get_backend_name()
        if self.name == "sqlite":
            self.db = sa.create_engine(url, connect_args={"timeout": busy_timeout})
            _sqlite_setup(self.db, busy_timeout)
        elif self.name == "postgresql":
            self.db = sa.create_engine(url, pool_pre_ping=True)
        else:
            raise ValueError(self.name)
        self.writer = self.db.execution_options(**{WRITE: True})

    @property
    def postgres(self) -> bool:
        return self.name == "postgresql"

    def stream_row(self, conn: sa.Connection, stream_id: str) -> sa.Row[Any] | None:
        """The stream's row and, on PostgreSQL, its borrower's lock, in one round trip."""
        columns: list[Any] = [streams]
        if self.postgres:
            columns.append(_borrower_lock(streams.c.borrower_id))
        return conn.execute(sa.select(*columns).where(streams.c.stream_id == stream_id)).first()

    def lock_open(self, conn: sa.Connection, stream_id: str, borrower_id: str) -> None:
        """Take turns with every other opening of this stream id, and with every writer of
        the borrower's streams (PostgreSQL)."""
        if self.postgres:
            conn.execute(
                sa.select(
                    sa.func.pg_advisory_xact_lock(_OPENS, sa.func.hashtext(stream_id)),
                    _borrower_lock(sa.literal(borrower_id)),
                )
            )

    def lock_key(self, conn: sa.Connection, key: str) -> None:
        """Take turns with every other append that carries this idempotency key (PostgreSQL)."""
        if self.postgres:
            _lock(conn, _KEYS, _key32(key))

    def lock_store(self, conn: sa.Connection, what: int) -> None:
        """Take the store-wide lock ``what`` (``ORDER``, ``SCHEMA`` or ``POLICIES``)."""
        if self.postgres:
            _lock(conn, _STORE, what)


def _borrower_lock(borrower_id: Any) -> Any:
    return sa.func.pg_advisory_xact_lock(_STREAMS, sa.func.hashtext(borrower_id)).label("locked")


def _lock(conn: sa.Connection, namespace: int, key: int) -> None:
    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(namespace, key)))


def _sqlite_setup(db: sa.Engine, busy_timeout: float) -> None:
    @event.listens_for(db, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        # The store sends BEGIN itself (below): pysqlite's own would be a deferred BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.close()

    @event.listens_for(db, "begin")
    def _begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
