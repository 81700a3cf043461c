"""The event store: cases as streams of events in SQLite or PostgreSQL.

``EventStore(url, engine=...)`` keeps each case as a stream (its id is the loan id):
``open`` starts one at version 0; ``append`` judges new events with the engine and writes
them, their decisions and a fresh snapshot in one transaction, if the stream is still at
the version the caller expected (``WrongExpectedVersion`` otherwise); ``load`` restores a
case; ``read`` and ``read_all`` give the events of a stream and of the whole store, in
order; ``decisions`` and ``verify_log`` read the hash-chained decision log;
``iter_snapshots`` walks every stream's latest snapshot (the portfolio sweep's input).

Needs the ``store`` extra (SQLAlchemy); PostgreSQL also the ``postgres`` extra (psycopg 3).
See ``docs/persistence.md``.
"""

try:
    import sqlalchemy  # noqa: F401
except ImportError as exc:  # pragma: no cover - shown by a test in a subprocess
    raise ImportError(
        "staged_collection.store needs SQLAlchemy: install the store extra "
        "(pip install -e '.[store]' in a checkout)"
    ) from exc

from staged_collection.errors import WrongExpectedVersion
from staged_collection.store._chain import LogProblem
from staged_collection.store._records import AppendResult, LogEntry, LogReport, StoredEvent
from staged_collection.store._store import EventStore
from staged_collection.store._transaction import Transaction

__all__ = [
    "AppendResult",
    "EventStore",
    "LogEntry",
    "LogProblem",
    "LogReport",
    "StoredEvent",
    "Transaction",
    "WrongExpectedVersion",
]
