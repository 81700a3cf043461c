"""The decision log is tamper-evident: ``log verify`` names the first line edited, deleted,
moved or cut off, with the database edited directly, as an intruder would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.builders import engine, run_cli
from tests.store_kit import (
    Clock,
    borrower,
    letter,
    loan,
    notice,
    sa,
)

from staged_collection.store import EventStore  # isort: skip
from staged_collection.store._schema import decisions, snapshots  # isort: skip

CN = engine("cn")


def written(url: str) -> EventStore:
    """Two streams; L1 with five decision lines, L2 with two."""
    store = EventStore(url, engine=CN, clock=Clock())
    for sid in ("L1", "L2"):
        store.open(loan(sid), borrower())
    store.append("L1", [letter(0), notice(1), letter(2)], expected_version=0)
    store.append("L1", [letter(3), letter(4), letter(5)], expected_version=3)
    store.append("L2", [letter(0), letter(1)], expected_version=0)
    assert [len(store.decisions(s)) for s in ("L1", "L2")] == [5, 2]
    assert store.verify_log().ok
    return store


def edit(store: EventStore, statement: Any) -> None:
    with store._backend.writer.begin() as c:
        c.execute(statement)


def row(store: EventStore, seq: int) -> Any:
    with store._backend.db.connect() as c:
        return c.execute(
            sa.select(decisions).where(decisions.c.stream_id == "L1", decisions.c.seq == seq)
        ).one()


def only(store: EventStore) -> Any:
    report = store.verify_log()
    assert len(report.problems) == 1, report
    return report.problems[0]


def at(seq: int) -> Any:
    return sa.and_(decisions.c.stream_id == "L1", decisions.c.seq == seq)


def test_an_edited_line_is_named(store_url: str) -> None:
    store = written(store_url)
    line = json.loads(row(store, 3).line)
    line["stage"] = "resolved"
    edit(store, sa.update(decisions).where(at(3)).values(line=json.dumps(line)))
    problem = only(store)
    assert (problem.stream_id, problem.seq, problem.problem) == ("L1", 3, "edited")


def test_an_edit_that_rewrites_its_hash_too_is_caught_at_the_next_line(store_url: str) -> None:
    from staged_collection.store._chain import entry_hash

    store = written(store_url)
    old = row(store, 3)
    line = json.loads(old.line)
    line["allowed"] = False
    text = json.dumps(line)
    digest = entry_hash("L1", old.version, old.kind, text, old.prev_hash)
    edit(store, sa.update(decisions).where(at(3)).values(line=text, hash=digest))
    problem = only(store)
    assert (problem.seq, problem.problem) == (4, "deleted")
    assert "line 3 was rewritten" in problem.message


def test_a_deleted_line_is_named(store_url: str) -> None:
    store = written(store_url)
    edit(store, sa.delete(decisions).where(at(2)))
    problem = only(store)
    assert (problem.seq, problem.problem) == (2, "deleted")


def test_a_deleted_line_with_the_rest_renumbered_is_named(store_url: str) -> None:
    store = written(store_url)
    edit(store, sa.delete(decisions).where(at(2)))
    for seq in (3, 4, 5):
        edit(store, sa.update(decisions).where(at(seq)).values(seq=seq - 1))
    problem = only(store)
    assert (problem.seq, problem.problem) == (2, "deleted")


def test_two_swapped_lines_are_named(store_url: str) -> None:
    store = written(store_url)
    edit(store, sa.update(decisions).where(at(2)).values(seq=-1))
    edit(store, sa.update(decisions).where(at(3)).values(seq=2))
    edit(store, sa.update(decisions).where(at(-1)).values(seq=3))
    problem = only(store)
    assert (problem.seq, problem.problem) == (2, "reordered")


def test_swapped_contents_are_named(store_url: str) -> None:
    store = written(store_url)
    two, three = row(store, 2), row(store, 3)
    edit(store, sa.update(decisions).where(at(2)).values(line=three.line))
    edit(store, sa.update(decisions).where(at(3)).values(line=two.line))
    problem = only(store)
    assert (problem.seq, problem.problem) == (2, "edited")


def test_a_log_cut_short_is_named(store_url: str) -> None:
    store = written(store_url)
    edit(store, sa.delete(decisions).where(at(5)))
    problem = only(store)
    assert (problem.seq, problem.problem) == (5, "truncated")


def test_a_line_added_past_the_head_is_named(store_url: str) -> None:
    from staged_collection.store._chain import entry_hash

    store = written(store_url)
    last = row(store, 5)
    digest = entry_hash("L1", last.version, last.kind, last.line, last.hash)
    edit(
        store,
        sa.insert(decisions).values(
            stream_id="L1",
            seq=6,
            version=last.version,
            kind=last.kind,
            decision_id=last.decision_id,
            line=last.line,
            prev_hash=last.hash,
            hash=digest,
        ),
    )
    problem = only(store)
    assert (problem.seq, problem.problem) == (6, "added")


def test_a_line_moved_to_another_stream_is_named(store_url: str) -> None:
    store = written(store_url)
    edit(store, sa.update(decisions).where(at(5)).values(stream_id="L2", seq=3))
    edit(store, sa.update(snapshots).where(snapshots.c.stream_id == "L2").values(log_seq=3))
    problems = {p.stream_id: p for p in store.verify_log().problems}
    assert (problems["L1"].seq, problems["L1"].problem) == (5, "truncated")
    assert problems["L2"].seq == 3


def test_each_broken_stream_is_reported_and_one_may_be_verified_alone(store_url: str) -> None:
    store = written(store_url)
    edit(store, sa.delete(decisions).where(at(1)))
    edit(store, sa.delete(decisions).where(decisions.c.stream_id == "L2", decisions.c.seq == 2))
    report = store.verify_log()
    assert [(p.stream_id, p.seq) for p in report.problems] == [("L1", 1), ("L2", 2)]
    assert (report.streams, report.lines) == (2, 5)
    assert store.verify_log("L2").streams == 1


def test_log_verify_exits_1_naming_the_first_broken_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = written(url)
    ok = run_cli("log", "verify", url)
    assert ok.returncode == 0, ok.stderr
    assert "2 streams, 7 decision lines: ok" in ok.stdout
    edit(store, sa.update(decisions).where(at(4)).values(line=row(store, 5).line))
    broken = run_cli("log", "verify", url)
    assert broken.returncode == 1
    assert "stream L1: line 4 edited" in broken.stdout
    assert run_cli("log", "verify", url, "--stream", "L2").returncode == 0
    missing = run_cli("log", "verify", f"sqlite:///{tmp_path / 'nope.db'}")
    assert missing.returncode == 2
    assert "no such database file" in missing.stderr
    assert not (tmp_path / "nope.db").exists()


@pytest.mark.parametrize("field", ["version", "kind"])
def test_the_chain_covers_the_columns_beside_the_line(store_url: str, field: str) -> None:
    store = written(store_url)
    value = {"version": 99, "kind": "revision"}[field]
    edit(store, sa.update(decisions).where(at(2)).values({field: value}))
    problem = only(store)
    assert (problem.seq, problem.problem) == (2, "edited")
