"""The event store's contract, on SQLite and (when a server is given) PostgreSQL.

Appends are judged by the engine and written whole or not at all; a stale expected
version writes nothing; an idempotency key returns the first result; a case loaded from
the store is the case the same events make in memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from staged_collection import (
    CaseMismatchError,
    ContactRefused,
    Engine,
    InputError,
    NaiveDatetimeError,
    Refused,
    TransitionNotAllowed,
)
from staged_collection.errors import StagedCollectionError
from tests.builders import engine
from tests.store_kit import (
    Clock,
    borrower,
    ev,
    letter,
    loan,
    minutes,
    notice,
    sa,
)

from staged_collection.store import (  # isort: skip  # after the skip on a missing extra
    EventStore,
    WrongExpectedVersion,
)
import itertools

CN = engine("cn")


CALL = {"channel": "call", "number": "+8613800000000"}


def opened(url: str, *loan_ids: str, clock: Clock | None = None) -> EventStore:
    store = EventStore(url, engine=CN, clock=clock or Clock())
    for loan_id in loan_ids or ("L1",):
        store.open(loan(loan_id), borrower())
    return store


def counts(store: EventStore) -> tuple[int, int]:
    """(events, decision lines) in the whole store."""
    events = len(store.read_all(limit=100_000))
    lines = sum(len(store.decisions(sid)) for sid, _, _ in store.iter_snapshots())
    return events, lines


# -- appending ---------------------------------------------------------------------------


def test_an_append_is_judged_written_and_loaded_back_as_the_same_case(store_url: str) -> None:
    clock = Clock()
    store = opened(store_url, clock=clock)
    batch = [letter(0), notice(1), ev("payment", minutes(2), amount="100.00")]
    result = store.append("L1", batch, expected_version=0)

    assert result.version == 3
    assert not result.replayed
    assert [d.action for d in result.decisions] == ["contact"]
    expected = CN.replay(loan(), borrower(), batch)
    assert store.load("L1") == expected == result.case
    assert store.load("L1", replay=True) == expected
    stored = store.read("L1")
    assert [s.version for s in stored] == [1, 2, 3]
    assert [s.event.type for s in stored] == ["contact", "notice", "payment"]
    assert len({s.recorded_at for s in stored}) == 1  # one clock reading per append
    assert stored[0].recorded_at <= clock.now
    assert stored[0].position < stored[1].position < stored[2].position
    assert store.version("L1") == 3


def test_the_callers_recorded_at_is_kept(store_url: str) -> None:
    store = opened(store_url)
    learned = minutes(90)
    event = ev("payment", minutes(5), amount="1.00", recorded_at=learned.isoformat())
    store.append("L1", [event], expected_version=0)
    assert store.read("L1")[0].recorded_at == learned


def test_a_stale_expected_version_raises_and_writes_nothing(store_url: str) -> None:
    store = opened(store_url)
    store.append("L1", [letter(0)], expected_version=0)
    before = counts(store), store.load("L1")
    with pytest.raises(WrongExpectedVersion) as caught:
        store.append("L1", [letter(5)], expected_version=0)
    assert (caught.value.expected, caught.value.actual, caught.value.stream_id) == (0, 1, "L1")
    assert isinstance(caught.value, InputError)  # a caller's catch of bad input holds it
    assert "is at version 1" in str(caught.value)
    assert (counts(store), store.load("L1")) == before


def test_opening_an_existing_stream_and_appending_to_a_missing_one_raise(store_url: str) -> None:
    store = opened(store_url)
    with pytest.raises(WrongExpectedVersion) as exists:
        store.open(loan(), borrower())
    assert (exists.value.expected, exists.value.actual) == (None, 0)
    with pytest.raises(WrongExpectedVersion) as missing:
        store.append("L9", [letter(0)], expected_version=0)
    assert (missing.value.expected, missing.value.actual) == (0, None)
    assert "does not exist" in str(missing.value)


def test_a_refused_action_raises_as_apply_does_and_writes_nothing(store_url: str) -> None:
    store = opened(store_url)
    before = counts(store), store.load("L1")
    skip = ev("escalate", minutes(10), to="formal")  # two rungs at once
    with pytest.raises(TransitionNotAllowed) as caught:
        store.append("L1", [letter(0), skip], expected_version=0)
    assert caught.value.decision.action == "escalate"
    with pytest.raises(TransitionNotAllowed):
        CN.apply(CN.apply(CN.open_case(loan(), borrower()), letter(0)), skip)
    assert (counts(store), store.load("L1")) == before


def test_a_refused_contact_is_written_only_as_a_breach_with_its_decision(store_url: str) -> None:
    store = opened(store_url)
    late_call = ev("contact", minutes(15 * 60), outcome="no_answer", **CALL)  # 23:00 Shanghai
    with pytest.raises(ContactRefused):
        store.append("L1", [late_call], expected_version=0)
    assert counts(store) == (0, 0)

    result = store.append("L1", [late_call], expected_version=0, breach=True)
    assert [d.codes for d in result.decisions] == [("contact.quiet_hours",)]
    (line,) = store.decisions("L1")
    assert line.kind == "decision"
    assert line.version == 1
    logged = json.loads(line.line)
    assert logged["allowed"] is False
    assert logged["decision_id"] == result.decisions[0].decision_id


def test_the_decision_log_holds_each_decision_once_in_order_chained(store_url: str) -> None:
    store = opened(store_url)
    first = store.append("L1", [letter(0), notice(1)], expected_version=0)
    second = store.append("L1", [letter(600)], expected_version=2)
    lines = store.decisions("L1")
    assert [entry.seq for entry in lines] == [1, 2]
    assert [entry.version for entry in lines] == [1, 3]
    assert [entry.decision_id for entry in lines] == [
        d.decision_id for d in first.decisions + second.decisions
    ]
    assert lines[1].prev_hash == lines[0].hash
    assert store.verify_log().ok


# -- idempotency -------------------------------------------------------------------------


def test_a_retried_append_with_its_key_returns_the_first_result_and_writes_nothing(
    store_url: str,
) -> None:
    store = opened(store_url)
    batch = [letter(0), ev("payment", minutes(1), amount="10.00")]
    first = store.append("L1", batch, expected_version=0, idempotency_key="pay-1")
    written = counts(store)
    again = store.append("L1", batch, expected_version=0, idempotency_key="pay-1")
    assert again.replayed
    assert not first.replayed
    assert (again.version, again.case, again.decisions) == (
        first.version,
        first.case,
        first.decisions,
    )
    assert counts(store) == written
    # Later appends do not change what the retry answers.
    store.append("L1", [letter(30)], expected_version=2)
    later = store.append("L1", batch, expected_version=2, idempotency_key="pay-1")
    assert (later.version, later.case, later.decisions) == (2, first.case, first.decisions)
    assert store.version("L1") == 3


def test_an_idempotency_key_reused_for_other_events_or_another_stream_is_refused(
    store_url: str,
) -> None:
    store = opened(store_url, "L1", "L2")
    store.append("L1", [letter(0)], expected_version=0, idempotency_key="k")
    with pytest.raises(InputError, match="other events") as other:
        store.append("L1", [letter(1)], expected_version=1, idempotency_key="k")
    assert other.value.field == "idempotency_key"
    with pytest.raises(InputError, match="stream 'L1'"):
        store.append("L2", [letter(0)], expected_version=0, idempotency_key="k")
    assert counts(store)[0] == 1


def test_keys_within_one_transaction(store_url: str) -> None:
    store = opened(store_url)
    with store.transaction() as tx:
        first = tx.append("L1", [letter(0)], expected_version=0, idempotency_key="a")
        again = tx.append("L1", [letter(0)], expected_version=0, idempotency_key="a")
    assert again.replayed
    assert again.case == first.case
    assert store.version("L1") == 1


# -- late facts --------------------------------------------------------------------------


def test_a_late_fact_before_the_snapshot_is_taken_from_the_stored_history(
    store_url: str,
) -> None:
    store = opened(store_url)
    call = ev("contact", minutes(120), outcome="no_answer", **CALL)
    store.append("L1", [letter(0)], expected_version=0)
    store.append("L1", [call], expected_version=1)
    dispute = ev("dispute", minutes(60))  # received before the call, learned after it
    result = store.append("L1", [dispute], expected_version=2)

    in_memory = CN.decide(CN.replay(loan(), borrower(), [letter(0), call]), dispute)
    assert result.case == in_memory.case == store.load("L1")
    assert [r.decision for r in result.revisions] == [r.decision for r in in_memory.revisions]
    assert [r.violations[0].code for r in result.revisions] == ["contact.hold"]
    kinds = [(e.kind, e.version) for e in store.decisions("L1")]
    assert kinds == [("decision", 1), ("decision", 2), ("revision", 3)]

    # A second late fact reports no revision the log already holds.
    again = store.append("L1", [ev("payment", minutes(30), amount="1.00")], expected_version=3)
    assert again.revisions == ()
    assert store.verify_log().ok


def test_an_action_cannot_be_back_dated(store_url: str) -> None:
    from staged_collection import OutOfOrderError

    store = opened(store_url)
    store.append("L1", [letter(600)], expected_version=0)
    with pytest.raises(OutOfOrderError):
        store.append("L1", [letter(0)], expected_version=1)
    assert store.version("L1") == 1


# -- transactions and debtors ------------------------------------------------------------


def test_a_transaction_commits_every_stream_or_none(store_url: str) -> None:
    store = EventStore(store_url, engine=CN, clock=Clock())
    with store.transaction() as tx:
        tx.open(loan("L1"), borrower())
        tx.append("L1", [letter(0)], expected_version=0)
        tx.append("L1", [notice(1)], expected_version=1)
        tx.open(loan("L2"), borrower("B2"))
        tx.append("L2", [letter(0)], expected_version=0)
    assert (store.version("L1"), store.version("L2")) == (2, 1)

    def stale_in_the_middle() -> None:
        with store.transaction() as tx:
            tx.append("L2", [letter(5)], expected_version=1)
            tx.open(loan("L3"), borrower("B3"))
            tx.append("L1", [letter(5)], expected_version=0)  # stale: the whole transaction goes

    with pytest.raises(WrongExpectedVersion):
        stale_in_the_middle()
    assert (store.version("L1"), store.version("L2")) == (2, 1)
    with pytest.raises(InputError, match="no such stream"):
        store.version("L3")

    with store.transaction() as tx:  # a refusal inside leaves the rest of it standing
        tx.append("L2", [letter(5)], expected_version=1)
        with pytest.raises(Refused):
            tx.append("L1", [ev("escalate", minutes(10), to="formal")], expected_version=2)
        tx.append("L1", [letter(6)], expected_version=2)
    assert (store.version("L1"), store.version("L2")) == (3, 2)
    assert store.verify_log().ok


def test_caps_per_debtor_count_the_borrowers_other_loans(store_url: str) -> None:
    store = opened(store_url, "L1", "L2")  # one borrower, two loans
    talk = {"outcome": "conversation", **CALL}
    store.append("L1", [ev("contact", minutes(60 * h), **talk) for h in (2, 3)], expected_version=0)
    store.append("L2", [ev("contact", minutes(60 * 4), **talk)], expected_version=0)
    fourth = ev("contact", minutes(60 * 5), **talk)  # the 4th conversation with them today
    with pytest.raises(ContactRefused) as caught:
        store.append("L2", [fourth], expected_version=1)
    assert "contact.frequency" in caught.value.decision.codes
    alone = CN.apply(CN.open_case(loan("L2"), borrower()), ev("contact", minutes(240), **talk))
    assert CN.decide(alone, fourth).recorded  # without the other loan it would pass


def test_the_other_loans_count_as_they_were_when_the_contact_was_made(store_url: str) -> None:
    # The other loan's three conversations came later in the day than this one (a dialer's
    # log that reaches the store late): at 09:00 there had been none, so it is allowed.
    store = opened(store_url, "L1", "L2")
    talk = {"outcome": "conversation", **CALL}
    later = [ev("contact", minutes(60 * h), **talk) for h in (3, 4, 5)]
    store.append("L2", later, expected_version=0)
    early = ev("contact", minutes(60), **talk)
    result = store.append("L1", [early], expected_version=0)
    assert [d.allowed for d in result.decisions] == [True]
    # After them, a fourth is refused as before.
    with pytest.raises(ContactRefused):
        store.append("L1", [ev("contact", minutes(60 * 6), **talk)], expected_version=1)


def test_caps_per_debtor_count_a_loan_opened_in_the_same_transaction(store_url: str) -> None:
    store = EventStore(store_url, engine=CN, clock=Clock())
    talk = {"outcome": "conversation", **CALL}
    with store.transaction() as tx:
        tx.open(loan("L1"), borrower())
        tx.open(loan("L2"), borrower())
        tx.append(
            "L1", [ev("contact", minutes(60 * h), **talk) for h in (2, 3, 4)], expected_version=0
        )
        with pytest.raises(ContactRefused):
            tx.append("L2", [ev("contact", minutes(60 * 5), **talk)], expected_version=0)
    assert (store.version("L1"), store.version("L2")) == (3, 0)


# -- SQLite judges before it takes the write lock, and checks at the commit ----------------


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def test_a_stream_changed_while_a_transaction_judged_it_fails_the_commit(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    store = opened(url, "L1", "L2")
    other = EventStore(url, engine=CN, clock=Clock())

    def meanwhile() -> None:
        with store.transaction() as tx:
            tx.append("L2", [letter(0)], expected_version=0)
            tx.append("L1", [letter(0)], expected_version=0)
            other.append("L1", [notice(1)], expected_version=0)  # commits first: SQLite lets it

    with pytest.raises(WrongExpectedVersion) as caught:
        meanwhile()
    assert (caught.value.stream_id, caught.value.expected, caught.value.actual) == ("L1", 0, 1)
    assert (store.version("L1"), store.version("L2")) == (1, 0)  # the other's; none of ours
    assert [s.event.type for s in store.read("L1")] == ["notice"]


def test_a_stream_opened_twice_at_once_is_written_once(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    store = EventStore(url, engine=CN, clock=Clock())
    other = EventStore(url, engine=CN, clock=Clock())

    def both() -> None:
        with store.transaction() as tx:
            tx.open(loan("L1"), borrower())
            tx.append("L1", [letter(0)], expected_version=0)
            other.open(loan("L1"), borrower())  # commits first

    with pytest.raises(WrongExpectedVersion) as caught:
        both()
    assert (caught.value.stream_id, caught.value.expected, caught.value.actual) == ("L1", None, 0)
    assert store.version("L1") == 0
    assert store.verify_log().ok


def test_a_single_append_is_judged_again_when_another_loan_changed_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from staged_collection.store._transaction import Transaction

    url = sqlite_url(tmp_path)
    store = opened(url, "L1", "L2")  # one borrower
    talk = {"outcome": "conversation", **CALL}
    store.append("L1", [ev("contact", minutes(60 * h), **talk) for h in (2, 3)], expected_version=0)
    other = EventStore(url, engine=CN, clock=Clock())
    real = Transaction.writes
    interfered: list[int] = []

    def writes(tx: Transaction) -> bool:
        if not interfered:  # between the judging and the commit, once
            interfered.append(1)
            other.append("L1", [ev("contact", minutes(60 * 4), **talk)], expected_version=2)
        return bool(real.fget(tx))  # type: ignore[attr-defined]

    monkeypatch.setattr(Transaction, "writes", property(writes))
    # Judged on L1 with two conversations it was allowed; judged again, with three, refused.
    with pytest.raises(ContactRefused):
        store.append("L2", [ev("contact", minutes(60 * 5), **talk)], expected_version=0)
    assert interfered == [1]
    assert (store.version("L1"), store.version("L2")) == (3, 0)


# -- reading -----------------------------------------------------------------------------


def test_read_all_pages_through_every_stream_in_position_order(store_url: str) -> None:
    store = opened(store_url, "L1", "L2")
    for n in range(4):
        store.append("L1", [letter(2 * n)], expected_version=n)
        store.append("L2", [letter(2 * n + 1), notice(2 * n + 1)], expected_version=2 * n)
    seen = []
    after = 0
    while page := store.read_all(after, limit=5):
        assert len(page) <= 5
        seen += page
        after = page[-1].position
    assert [s.position for s in seen] == sorted(s.position for s in seen)
    assert [(s.stream_id, s.version) for s in seen if s.stream_id == "L2"] == [
        ("L2", v) for v in range(1, 9)
    ]
    assert len(seen) == 12
    assert store.read("L2", after_version=6) == [s for s in seen if s.stream_id == "L2"][6:]


def test_iter_snapshots_yields_every_stream_once_in_id_order(store_url: str) -> None:
    ids = ["L10", "L2", "Lé", "L1", "A", "L3"]
    store = opened(store_url, *ids)
    store.append("L2", [letter(0), notice(1)], expected_version=0)
    rows = list(store.iter_snapshots(batch_size=4))
    assert [sid for sid, _, _ in rows] == sorted(ids)  # code point order
    for sid, version, data in rows:
        assert version == store.version(sid)
        assert CN.restore(data) == store.load(sid)
    assert list(store.iter_snapshots(batch_size=1)) == rows


def test_tracking_moves_only_forward(store_url: str) -> None:
    store = opened(store_url)
    assert store.tracked("mailer") == 0
    store.track("mailer", 5)
    store.track("mailer", 9)
    with pytest.raises(InputError, match="up to 9"):
        store.track("mailer", 9)
    assert store.tracked("mailer") == 9
    with store.transaction() as tx:
        tx.track("mailer", 12)
    assert store.tracked("mailer") == 12


# -- the store itself --------------------------------------------------------------------


def test_a_store_without_an_engine_reads_and_appends_under_each_streams_policy(
    store_url: str,
) -> None:
    opened(store_url).append("L1", [letter(0)], expected_version=0)
    plain = EventStore(store_url)
    assert plain.load("L1").policy == CN.policy.fingerprint
    plain.append("L1", [letter(1)], expected_version=1)
    with pytest.raises(InputError, match="needs a policy"):
        plain.open(loan("L2"), borrower())
    with pytest.raises(CaseMismatchError):
        EventStore(store_url, engine=Engine("us")).append("L1", [letter(2)], expected_version=2)


def test_a_clock_must_be_aware(store_url: str) -> None:
    import datetime as dt

    store = EventStore(store_url, engine=CN, clock=lambda: dt.datetime(2026, 6, 1))  # noqa: DTZ001
    with pytest.raises(NaiveDatetimeError, match="clock"):
        store.open(loan(), borrower())


def test_schema_versions(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from staged_collection.store import _schema

    opened(store_url).append("L1", [letter(0)], expected_version=0)
    ran: list[int] = []

    def step(conn: Any) -> None:
        ran.append(1)
        conn.execute(sa.text("CREATE TABLE added_in_2 (x INTEGER)"))

    monkeypatch.setattr(_schema, "SCHEMA_VERSION", 2)
    monkeypatch.setattr(_schema, "MIGRATIONS", {1: step})
    store = EventStore(store_url)  # migrates, once
    EventStore(store_url)
    assert ran == [1]
    assert store.version("L1") == 1
    with store._backend.db.connect() as c:
        assert _schema.installed_version(c) == 2
    monkeypatch.setattr(_schema, "SCHEMA_VERSION", 1)
    with pytest.raises(InputError, match="schema 2, newer than this release reads"):
        EventStore(store_url)


def test_a_missing_store_is_not_created_when_asked_not_to(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such database file"):
        EventStore(f"sqlite:///{tmp_path / 'nope.db'}", create=False)
    assert not (tmp_path / "nope.db").exists()
    with pytest.raises(InputError, match="store runs on"):
        EventStore("mysql://somewhere/db")
    with pytest.raises(InputError, match="not a database URL"):
        EventStore("collection.db")


def test_sqlite_runs_in_wal_with_full_sync(tmp_path: Path) -> None:
    store = opened(f"sqlite:///{tmp_path / 's.db'}")
    with store._backend.db.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


def test_wrong_expected_version_is_in_the_error_tree_and_pickles() -> None:
    import pickle

    error = WrongExpectedVersion("L1", 3, 5)
    assert isinstance(error, InputError)
    assert isinstance(error, StagedCollectionError)
    back = pickle.loads(pickle.dumps(error))
    assert (back.stream_id, back.expected, back.actual, str(back)) == ("L1", 3, 5, str(error))
    from staged_collection import errors

    assert "WrongExpectedVersion" in (errors.__doc__ or "")
    docs = Path(__file__).parents[1] / "docs" / "errors.md"
    assert "WrongExpectedVersion" in docs.read_text()


# -- the core without the extra ----------------------------------------------------------


def test_the_examples_in_the_persistence_docs_run() -> None:
    import re

    doc = Path(__file__).parents[1] / "docs" / "persistence.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/persistence.md", "exec"), {})


def test_the_library_imports_and_runs_without_sqlalchemy() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["sqlalchemy"] = None
        import staged_collection
        from staged_collection import Engine
        from staged_collection.cli import main
        Engine("cn")
        try:
            import staged_collection.store
        except ImportError as exc:
            print(exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "install the store extra" in out.stdout


def test_sqlalchemy_is_imported_inside_the_store_only() -> None:
    import staged_collection

    src = Path(staged_collection.__file__).parent
    users = sorted(
        str(p.relative_to(src))
        for p in src.rglob("*.py")
        if "import sqlalchemy" in p.read_text() or "from sqlalchemy" in p.read_text()
    )
    assert users, "the store imports SQLAlchemy"
    assert all(u.startswith("store/") for u in users), users


# -- any split of a history into appends gives the same case and log ---------------------

HISTORY = [
    letter(0),
    ev("contact", minutes(120), outcome="no_answer", **CALL),
    notice(130),
    ev("payment", minutes(140), amount="10.00"),
    ev("contact", minutes(15 * 60), outcome="no_answer", **CALL),  # a breach (quiet hours)
    ev("escalate", minutes(16 * 60 + 10), to="negotiation"),
    ev("dispute", minutes(125)),  # late: before the payment and the breach
    ev("contact", minutes(17 * 60), channel="sms", outcome="delivered"),
    ev("dispute_resolved", minutes(17 * 60 + 5)),
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.sets(st.integers(1, len(HISTORY) - 1)), together=st.booleans())
def test_any_split_into_appends_gives_the_case_and_log_of_one_replay(
    cuts: set[int], together: bool
) -> None:
    bounds = [0, *sorted(cuts), len(HISTORY)]
    store = EventStore("sqlite://", engine=CN, clock=Clock())  # in memory
    store.open(loan(), borrower())
    decided: list[Any] = []

    def append_all(append: Any) -> None:
        version = 0
        for a, b in itertools.pairwise(bounds):
            result = append("L1", HISTORY[a:b], expected_version=version, breach=True)
            version = result.version
            decided.extend(d.decision_id for d in result.decisions)

    if together:  # one transaction: the late fact meets events not yet written
        with store.transaction() as tx:
            append_all(tx.append)
    else:
        append_all(store.append)
    whole = CN.replay(loan(), borrower(), HISTORY, breaches=True)
    assert store.load("L1") == whole == store.load("L1", replay=True)
    assert [e.decision_id for e in store.decisions("L1") if e.kind == "decision"] == decided
    assert len(decided) == 5
    before_late = CN.replay(loan(), borrower(), HISTORY[:6], breaches=True)
    expected = CN.decide(before_late, HISTORY[6]).revisions
    revised = [json.loads(e.line) for e in store.decisions("L1") if e.kind == "revision"]
    assert [(r["decision_id"], [v["code"] for v in r["violations"]]) for r in revised] == [
        (r.decision.decision_id, [str(c) for c in r.decision.codes]) for r in expected
    ]
    assert expected  # the late dispute does revise an earlier contact
    assert store.verify_log().ok
