"""Many writers at once, a tailing reader, and writers killed mid-append, on both databases.

Writers are processes (forked), each with its own store: they append to two shared hot
streams and to a stream of their own, reading the version, deciding, and retrying on
``WrongExpectedVersion``. What they were told (acknowledged) is compared with what the
store holds, and with what a reader tailing ``read_all`` saw while they wrote.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from staged_collection import Event
from tests.builders import engine
from tests.conftest import POSTGRES, SKIP_POSTGRES
from tests.store_kit import (
    Clock,
    borrower,
    letter,
    loan,
    notice,
    sa,
)

from staged_collection.store import EventStore, WrongExpectedVersion  # isort: skip

CN = engine("cn")


HOT = ("hot-1", "hot-2")
WRITERS = 8
FORK = multiprocessing.get_context("fork")

pytestmark = pytest.mark.slow


def batch(version: int, size: int) -> list[Event]:
    """Events for a stream at ``version``: a minute apart, in order, letters and notices."""
    return [(letter if (version + i) % 2 else notice)(version + i + 1) for i in range(size)]


def _writer(url: str, writer: int, appends: int, out: str) -> None:
    rng = random.Random(writer)
    store = EventStore(url, engine=CN, clock=Clock())
    own = f"own-{writer}"
    store.open(loan(own), borrower(f"B-{own}"))
    acks: list[dict[str, Any]] = []
    retries = replays = 0
    for n in range(appends):
        stream = rng.choice(HOT) if rng.random() < 0.7 else own
        size = rng.choice((1, 1, 2, 3))
        key = f"w{writer}-{n}"
        while True:
            version = store.version(stream)
            events = batch(version, size)
            try:
                result = store.append(stream, events, expected_version=version, idempotency_key=key)
            except WrongExpectedVersion:
                retries += 1
                continue
            break
        acks.append({"stream": stream, "first": version + 1, "last": result.version, "key": key})
        if rng.random() < 0.2:  # as if the acknowledgement were lost: the caller sends it again
            again = store.append(stream, events, expected_version=version, idempotency_key=key)
            assert again.replayed
            assert again.version == result.version
            replays += 1
    Path(out).write_text(json.dumps({"acks": acks, "retries": retries, "replays": replays}))
    store.close()


def _reader(url: str, stop: Any, out: str) -> None:
    store = EventStore(url, create=False)
    seen: list[list[Any]] = []
    after = 0
    rng = random.Random(0)
    draining = False
    while True:
        page = store.read_all(after, limit=rng.randint(1, 40))
        seen += [[s.position, s.stream_id, s.version] for s in page]
        if page:
            after = page[-1].position
        elif draining:
            break
        elif stop.is_set():
            draining = True  # one more empty page after the writers are done
    Path(out).write_text(json.dumps(seen))
    store.close()


def all_events(store: EventStore) -> list[Any]:
    found: list[Any] = []
    after = 0
    while page := store.read_all(after, limit=500):
        found += page
        after = page[-1].position
    return found


def test_writers_racing_on_hot_streams_lose_and_double_nothing(
    store_url: str, tmp_path: Path
) -> None:
    store = EventStore(store_url, engine=CN, clock=Clock())
    for sid in HOT:
        store.open(loan(sid), borrower(f"B-{sid}"))
    store.close()  # no connection crosses the fork
    stop = FORK.Event()
    reader = FORK.Process(target=_reader, args=(store_url, stop, str(tmp_path / "reader")))
    reader.start()
    writers = [
        FORK.Process(target=_writer, args=(store_url, w, 30, str(tmp_path / f"w{w}")))
        for w in range(WRITERS)
    ]
    for p in writers:
        p.start()
    for p in writers:
        p.join(timeout=600)
        assert p.exitcode == 0
    stop.set()
    reader.join(timeout=600)
    assert reader.exitcode == 0

    reports = [json.loads((tmp_path / f"w{w}").read_text()) for w in range(WRITERS)]
    acked = Counter(
        (a["stream"], v)
        for r in reports
        for a in r["acks"]
        for v in range(a["first"], a["last"] + 1)
    )
    assert max(acked.values()) == 1  # no version acknowledged to two writers
    stored = all_events(store)
    held = Counter((s.stream_id, s.version) for s in stored)
    assert held == acked  # every acknowledged event once; nothing else
    by_stream: dict[str, list[int]] = {}
    for s in stored:
        by_stream.setdefault(s.stream_id, []).append(s.version)
    for sid, versions in by_stream.items():
        assert sorted(versions) == list(range(1, len(versions) + 1)), sid  # no gap
    for r in reports:
        for a in r["acks"]:
            (first,) = list(store.read(a["stream"], a["first"] - 1)[:1])
            assert first.version == a["first"]
    keys = store_keys(store)
    assert keys == {a["key"]: (a["stream"], a["first"]) for r in reports for a in r["acks"]}

    seen = json.loads((tmp_path / "reader").read_text())
    positions = [p for p, _, _ in seen]
    assert positions == sorted(set(positions))  # in order, each once
    assert Counter((sid, v) for _, sid, v in seen) == held  # none skipped
    assert sum(r["retries"] for r in reports) > 0  # the hot streams were contended
    assert sum(r["replays"] for r in reports) > 0
    assert store.verify_log().ok
    for sid in (*HOT, "own-0"):
        events = [s.event for s in store.read(sid)]
        assert store.load(sid) == CN.replay(loan(sid), borrower(f"B-{sid}"), events)
    assert {sid: v for sid, v, _ in store.iter_snapshots()} == {
        sid: len(vs) for sid, vs in by_stream.items()
    } | {sid: 0 for sid in (f"own-{w}" for w in range(WRITERS)) if sid not in by_stream}


def store_keys(store: EventStore) -> dict[str, tuple[str, int]]:
    from staged_collection.store._schema import events

    with store._backend.db.connect() as c:
        rows = c.execute(
            sa.select(events.c.idempotency_key, events.c.stream_id, events.c.version).where(
                events.c.idempotency_key.is_not(None)
            )
        )
        return {k: (s, v) for k, s, v in rows}


# -- a writer killed in the middle of an append ----------------------------------------


def _stalled_writer(url: str, version: int, ready: Any) -> None:
    """Append a big batch and stop just before the commit, until killed."""
    store = EventStore(url, engine=CN, clock=Clock())

    def stall(conn: Any) -> None:
        ready.set()
        threading.Event().wait()  # forever: the parent kills this process here

    sa.event.listen(store._backend.db, "commit", stall)
    store.append("hot-1", batch(version, 40), expected_version=version, idempotency_key="big")


def _busy_writer(url: str) -> None:
    store = EventStore(url, engine=CN, clock=Clock())
    n = 0
    while True:
        version = store.version("hot-1")
        try:
            store.append("hot-1", batch(version, 25), expected_version=version)
        except WrongExpectedVersion:
            continue
        n += 1


def snapshot_of(store: EventStore) -> tuple[Any, ...]:
    return (
        [(s.position, s.version) for s in store.read("hot-1")],
        [e.hash for e in store.decisions("hot-1")],
        list(store.iter_snapshots()),
    )


def test_a_writer_killed_before_its_commit_leaves_nothing_half_written(store_url: str) -> None:
    store = EventStore(store_url, engine=CN, clock=Clock())
    store.open(loan("hot-1"), borrower())
    store.append("hot-1", batch(0, 3), expected_version=0)
    before = snapshot_of(store)
    store.close()

    ready = FORK.Event()
    victim = FORK.Process(target=_stalled_writer, args=(store_url, 3, ready))
    victim.start()
    assert ready.wait(timeout=120), "the writer never reached its commit"
    os.kill(victim.pid or 0, signal.SIGKILL)
    victim.join()
    assert victim.exitcode == -signal.SIGKILL

    assert snapshot_of(store) == before
    assert store.verify_log().ok
    # The lock died with the writer; the same append, retried with its key, is written once.
    events = batch(3, 40)
    first = store.append("hot-1", events, expected_version=3, idempotency_key="big")
    again = store.append("hot-1", events, expected_version=3, idempotency_key="big")
    assert not first.replayed
    assert again.replayed
    assert store.version("hot-1") == 43
    assert [s.version for s in store.read("hot-1")] == list(range(1, 44))


def test_writers_killed_at_random_moments_leave_whole_appends_only(store_url: str) -> None:
    store = EventStore(store_url, engine=CN, clock=Clock())
    store.open(loan("hot-1"), borrower())
    store.close()
    rng = random.Random(11)
    for _ in range(6):
        victim = FORK.Process(target=_busy_writer, args=(store_url,))
        victim.start()
        threading.Event().wait(rng.uniform(0.3, 1.5))
        os.kill(victim.pid or 0, signal.SIGKILL)
        victim.join()
    versions = [s.version for s in store.read("hot-1")]
    assert versions == list(range(1, len(versions) + 1))
    assert len(versions) % 25 == 0  # whole appends of 25, never part of one
    lines = store.decisions("hot-1")
    assert [e.version for e in lines] == [v for v in versions if v % 2 == 0]  # every letter's
    assert store.verify_log().ok
    assert [v for _, v, _ in store.iter_snapshots()] == [len(versions)]
    assert store.load("hot-1") == CN.replay(
        loan("hot-1"), borrower(), [s.event for s in store.read("hot-1")]
    )


# -- a transaction that commits late is never skipped ----------------------------------


@pytest.fixture
def postgres_url() -> Any:
    if POSTGRES is None:
        pytest.skip(SKIP_POSTGRES)
    from tests.store_kit import fresh_postgres

    yield from fresh_postgres()


class LateCommit:
    """An append on ``stream`` held just before its commit until ``release`` is set."""

    def __init__(self, store: EventStore, stream: str, version: int) -> None:
        self.store = store
        self.holding = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(stream, version))
        sa.event.listen(store._backend.db, "commit", self._hold)

    def _hold(self, conn: Any) -> None:
        if threading.current_thread() is self.thread:
            self.holding.set()
            assert self.release.wait(timeout=120)

    def _run(self, stream: str, version: int) -> None:
        self.store.append(stream, batch(version, 2), expected_version=version)

    def start(self) -> None:
        self.thread.start()
        assert self.holding.wait(timeout=120)

    def finish(self) -> None:
        self.release.set()
        self.thread.join(timeout=120)
        sa.event.remove(self.store._backend.db, "commit", self._hold)


def waiting_on_a_lock(store: EventStore) -> bool:
    with store._backend.db.connect() as c:
        found = c.exec_driver_sql(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).scalar()
        return bool(found)


def two_streams(url: str) -> tuple[EventStore, int]:
    store = EventStore(url, engine=CN, clock=Clock())
    store.open(loan("S1"), borrower("B1"))
    store.open(loan("S2"), borrower("B2"))
    store.append("S1", batch(0, 1), expected_version=0)
    return store, store.read_all()[-1].position


def test_a_reader_never_skips_a_transaction_that_commits_late(postgres_url: str) -> None:
    store, start = two_streams(postgres_url)
    late = LateCommit(store, "S1", 1)
    late.start()  # its events are inserted, with their positions, and not yet committed
    other = threading.Thread(
        target=store.append, args=("S2", batch(0, 1)), kwargs={"expected_version": 0}
    )
    other.start()
    for _ in range(12_000):  # the other writer reaches the global order lock and waits there
        if waiting_on_a_lock(store):
            break
        threading.Event().wait(0.01)
    else:
        pytest.fail("the second writer never waited for the first")
    assert store.read_all(start) == []  # neither is visible: no position is passed over
    late.finish()
    other.join(timeout=120)
    page = store.read_all(start)
    assert [(s.stream_id, s.version) for s in page] == [("S1", 2), ("S1", 3), ("S2", 1)]


def test_without_the_order_lock_a_tailing_reader_would_skip_it(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hazard the lock removes, shown: with it gone, a later transaction commits a higher
    # position first, a reader moves past it, and the late one's lower position is never read.
    from staged_collection.store import _backend

    store, start = two_streams(postgres_url)
    real = _backend.Backend.lock_store

    def no_order_lock(self: Any, conn: Any, what: int) -> None:
        if what != _backend.ORDER:
            real(self, conn, what)

    monkeypatch.setattr(_backend.Backend, "lock_store", no_order_lock)
    late = LateCommit(store, "S1", 1)
    late.start()
    store.append("S2", batch(0, 1), expected_version=0)
    page = store.read_all(start)
    assert [(s.stream_id, s.version) for s in page] == [("S2", 1)]
    cursor = page[-1].position
    late.finish()
    assert store.read_all(cursor) == []  # skipped for good
    assert len(store.read_all(start)) == 3  # though it is there
