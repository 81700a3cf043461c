"""The store's tables, and the schema version that lets a later release migrate them.

Seven tables, the same on SQLite and PostgreSQL:

- ``store_schema``: one row, the schema version these tables follow.
- ``policies``: every policy a stream runs under, by fingerprint, as a JSON document, so
  that a store can be read (and appended to) without the policy file.
- ``streams``: one row per case (stream id = loan id): the borrower, the currency, the
  policy fingerprint, the loan and the borrower as JSON text. Never updated.
- ``events``: the event log, each event as JSON text. ``position`` orders every event in
  the store; ``(stream_id, version)`` is unique, and a stream's version is the largest
  version it holds (there is no second counter). ``idempotency_key`` (unique) and
  ``batch`` sit on the first event of an append: the key, and how many events it wrote.
- ``decisions``: the decision log, one line per decision (and per revision), hash-chained
  per stream in ``seq`` order.
- ``snapshots``: the latest snapshot of each stream, with the head of its decision log
  (the number and hash of its last line), all rewritten in the transaction of each append.
- ``tracking``: how far each consumer of the global order has read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

SCHEMA_VERSION = 1
"""The version of the tables this release writes and reads."""

MIGRATIONS: dict[int, Callable[[sa.Connection], None]] = {}
"""``MIGRATIONS[n]`` brings a store from schema ``n`` to ``n + 1``, inside one transaction."""


class Instant(sa.types.TypeDecorator[dt.datetime]):
    """An aware instant, stored as UTC: ``timestamptz`` on PostgreSQL, UTC text on SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# Stream ids compare by code point on both databases (SQLite's BINARY; PostgreSQL's "C"),
# so that ``iter_snapshots`` walks streams in the same order whatever the server's locale.
_Id = sa.String().with_variant(postgresql.VARCHAR(collation="C"), "postgresql")
_Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: the rowid

metadata = sa.MetaData()

store_schema = sa.Table(
    "store_schema",
    metadata,
    sa.Column("version", sa.Integer, nullable=False),
)

policies = sa.Table(
    "policies",
    metadata,
    sa.Column("fingerprint", sa.String(64), primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("document", sa.Text, nullable=False),
)

streams = sa.Table(
    "streams",
    metadata,
    sa.Column("stream_id", _Id, primary_key=True),
    sa.Column("borrower_id", _Id, nullable=False, index=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("policy", sa.String(64), nullable=False),
    sa.Column("loan", sa.Text, nullable=False),
    sa.Column("borrower", sa.Text, nullable=False),
    sa.Column("opened_at", Instant, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("position", _Position, primary_key=True, autoincrement=True),
    sa.Column("stream_id", _Id, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("at", Instant, nullable=False),
    sa.Column("recorded_at", Instant, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # exactly as written: read it with parse_event
    sa.Column("policy", sa.String(64), nullable=False),
    sa.Column("idempotency_key", sa.String, nullable=True),
    sa.Column("batch", sa.Integer, nullable=True),
    sa.UniqueConstraint("stream_id", "version", name="events_stream_version"),
    sa.UniqueConstraint("idempotency_key", name="events_idempotency_key"),
    # AUTOINCREMENT: a position is never handed out twice, even after the last rows go.
    sqlite_autoincrement=True,
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("stream_id", _Id, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("decision_id", sa.String(32), nullable=False),
    sa.Column("line", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("stream_id", _Id, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("policy", sa.String(64), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("log_seq", sa.Integer, nullable=False),
    sa.Column("log_head", sa.String(64), nullable=False),
)

tracking = sa.Table(
    "tracking",
    metadata,
    sa.Column("consumer", _Id, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("updated_at", Instant, nullable=False),
)


def installed_version(conn: sa.Connection) -> int | None:
    """The schema version of the store behind ``conn``; ``None`` when it has no tables."""
    if not sa.inspect(conn).has_table("store_schema"):
        return None
    found = conn.execute(sa.select(store_schema.c.version)).scalar()
    return None if found is None else int(found)


def create(conn: sa.Connection) -> None:
    metadata.create_all(conn)
    conn.execute(sa.insert(store_schema).values(version=SCHEMA_VERSION))


def migrate(conn: sa.Connection, found: int) -> None:
    """Bring the tables from schema ``found`` to ``SCHEMA_VERSION``, one step at a time."""
    for version in range(found, SCHEMA_VERSION):
        MIGRATIONS[version](conn)
        conn.execute(sa.update(store_schema).values(version=version + 1))
