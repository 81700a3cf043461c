"""The event store's cost, as ratios against raw ``sqlite3`` inserts measured in the same run.

Run: python bench/bench_store.py [--postgres URL] [--rounds N]

(PostgreSQL is measured when ``--postgres`` or ``STAGED_COLLECTION_TEST_POSTGRES`` names a
server; a database is made for the run and dropped after it.)

- Appends per second, one event per transaction (a letter), and one decision's events per
  transaction (a call that connects and the promise made on it), each judged by the
  engine, with its decision hash-chained and a fresh snapshot, committed durably. The
  reference: a raw ``sqlite3`` insert of one row per transaction in the same durability
  (WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE``), the floor any durable SQLite store
  stands on.
- ``load`` of a case with 1,000 events over six weeks (its snapshot restored) against
  ``replay`` of the same events (judged, and trusted).

Appends and the reference are timed in turn, one commit each, and compared by their
medians (a commit waits for the disk, whose flush time drifts); loads and replays keep
their best of interleaved rounds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _book import BORROWER, LOAN

from staged_collection import Engine, Event, parse_event
from staged_collection.store import EventStore

ENGINE = Engine("cn")
T0 = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


def letter(n: int) -> Event:
    """The ``n``-th letter, an hour after the one before."""
    at = (T0 + dt.timedelta(hours=n)).isoformat()
    return parse_event(
        {"type": "contact", "at": at, "channel": "letter", "outcome": "delivered"}, currency="CNY"
    )


def call_and_promise(n: int) -> list[Event]:
    """A call that connects and the promise made on it, one day apart each (cn allows 3 a day)."""
    at = T0 + dt.timedelta(days=n, hours=2)
    call = {"type": "contact", "at": at.isoformat(), "channel": "call", "outcome": "conversation"}
    promise = {
        "type": "promise",
        "at": (at + dt.timedelta(minutes=5)).isoformat(),
        "amount": "100.00",
        "due": (at + dt.timedelta(days=7)).date().isoformat(),
    }
    return [parse_event(call, currency="CNY"), parse_event(promise, currency="CNY")]


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(microseconds=1)
        return self.now


# -- the candidates --------------------------------------------------------------------------


class RawSqlite:
    """One row per durable transaction, with nothing but ``sqlite3``."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT)")
        self.doc = letter(0).model_dump_json()

    def insert(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT INTO t (doc) VALUES (?)", (self.doc,))
        self.db.execute("COMMIT")


class Appender:
    """Appends to streams of its own: one event, or one decision's events, per transaction."""

    def __init__(self, store: EventStore, name: str, events: Callable[[int], list[Event]]) -> None:
        self.store = store
        self.events = events
        self.stream = 0
        self.n = 0
        self.name = name
        self._next_stream()

    def _next_stream(self) -> None:
        self.stream += 1
        self.n = 0
        loan = LOAN.model_copy(update={"id": f"{self.name}-{self.stream}"})
        self.store.open(loan, BORROWER.model_copy(update={"id": f"B-{self.name}-{self.stream}"}))

    def append(self) -> None:
        if self.n >= 300:  # a fresh case now and then: the cost of a long one is measured below
            self._next_stream()
        batch = self.events(self.n)
        sid = f"{self.name}-{self.stream}"
        self.store.append(sid, batch, expected_version=self.n * len(batch))
        self.n += 1


def timed(fn: Callable[[], object], calls: int) -> float:
    gc.collect()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def best_of(
    candidates: dict[str, tuple[Callable[[], object], int]], rounds: int
) -> dict[str, float]:
    best = dict.fromkeys(candidates, float("inf"))
    for _ in range(rounds):
        for name, (fn, calls) in candidates.items():
            best[name] = min(best[name], timed(fn, calls))
    return best


def alternating(candidates: dict[str, Callable[[], object]], calls: int) -> dict[str, float]:
    """Median seconds per call, the candidates called in turn, one call each: a commit's
    cost is the disk's flush, which drifts by several times within a minute here, so each
    candidate must meet the same disk."""
    seen: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(calls):
        for name, fn in candidates.items():
            start = time.perf_counter()
            fn()
            seen[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in seen.items()}


@contextmanager
def postgres_database(server: str) -> Iterator[str]:
    url = sa.make_url(server)
    name = f"sc_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def long_case(store: EventStore, n: int) -> list[Event]:
    loan = LOAN.model_copy(update={"id": "long"})
    store.open(loan, BORROWER.model_copy(update={"id": "B-long"}))
    events = [letter(i) for i in range(n)]
    for i in range(0, n, 100):
        store.append("long", events[i : i + 100], expected_version=i)
    return events


def measure(label: str, url: str, raw: RawSqlite, rounds: int) -> list[str]:
    store = EventStore(url, engine=ENGINE, clock=Clock())
    single = Appender(store, "one", lambda n: [letter(n)])
    decided = Appender(store, "call", call_and_promise)
    rates = alternating(
        {"raw": raw.insert, "one event": single.append, "one decision": decided.append},
        calls=60 * rounds,
    )
    events = long_case(store, 1_000)
    loan, borrower = (
        LOAN.model_copy(update={"id": "long"}),
        BORROWER.model_copy(update={"id": "B-long"}),
    )
    loads = best_of(
        {
            "load": (lambda: store.load("long"), 3),
            "replay": (lambda: ENGINE.replay(loan, borrower, events), 1),
            "trusted": (lambda: ENGINE.replay(loan, borrower, events, trusted=True), 1),
            "load replay": (lambda: store.load("long", replay=True), 1),
        },
        max(3, rounds // 2),
    )
    assert store.load("long") == ENGINE.replay(loan, borrower, events)
    store.close()
    per_s = {k: 1 / v for k, v in rates.items()}
    return [
        f"{label}: appends per second (durable commits; medians)",
        f"  raw sqlite3, one row per transaction   {per_s['raw']:>8,.0f}/s   1.00x (reference)",
        f"  append, one event per transaction      {per_s['one event']:>8,.0f}/s   "
        f"{per_s['one event'] / per_s['raw']:.2f}x",
        f"  append, one decision's 2 events        {per_s['one decision']:>8,.0f}/s   "
        f"{per_s['one decision'] / per_s['raw']:.2f}x",
        f"{label}: a case of 1,000 events",
        f"  load (latest snapshot)                 {loads['load'] * 1e3:>8.2f} ms  "
        f"{loads['load'] / loads['replay']:.3f}x of replay",
        f"  replay, judged                         {loads['replay'] * 1e3:>8.2f} ms  1.000x",
        f"  replay, trusted                        {loads['trusted'] * 1e3:>8.2f} ms  "
        f"{loads['trusted'] / loads['replay']:.3f}x of replay",
        f"  load(replay=True), read and folded     {loads['load replay'] * 1e3:>8.2f} ms  "
        f"{loads['load replay'] / loads['replay']:.3f}x of replay",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("STAGED_COLLECTION_TEST_POSTGRES"))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = RawSqlite(Path(tmp) / "raw.db")
        lines = measure("SQLite", f"sqlite:///{Path(tmp) / 'store.db'}", raw, args.rounds)
        if args.postgres:
            with postgres_database(args.postgres) as url:
                lines += measure("PostgreSQL", url, raw, args.rounds)
        else:
            lines.append("PostgreSQL: not measured (give --postgres URL)")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, best of {args.rounds} rounds")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
