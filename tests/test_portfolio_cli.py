"""The portfolio's commands (sweep, whatif, store export), its imports and the export."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import staged_collection
from staged_collection import Contact, Decision, Engine, Event
from staged_collection.cli import cli
from staged_collection.portfolio import schemas
from staged_collection.portfolio.book import BookCase, write_book
from staged_collection.portfolio.core import sweep_batches
from staged_collection.portfolio.export import export_store, policy_of_export
from staged_collection.portfolio.sources import parquet_source
from staged_collection.portfolio.synthetic import synthetic_book
from tests.builders import run_cli as run

ROOT = Path(__file__).resolve().parent.parent
AT = "2026-06-01T02:00:00Z"


def sweep(
    book: Path, out: Path, *args: str, columns: int = 200
) -> subprocess.CompletedProcess[str]:
    """``staged-collection sweep`` of the book in ``book`` as of ``AT``, written to ``out``."""
    return run(
        "sweep", "--parquet", str(book), "--at", AT, "--out", str(out), *args, columns=columns
    )


@pytest.fixture(scope="module")
def cases() -> list[BookCase]:
    return list(synthetic_book(30, policy="cn", days=45))


@pytest.fixture(scope="module")
def book(cases: list[BookCase], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("book")
    write_book(path, cases, snapshots=Engine("cn"))
    return path


def expected_rows(book: Path) -> pa.Table:
    at = dt.datetime.fromisoformat(AT)
    return pa.Table.from_batches(
        list(sweep_batches(parquet_source(book).batches, policy="cn", at=at))
    )


def test_sweep_writes_the_todo_rows_and_prints_a_summary(book: Path, tmp_path: Path) -> None:
    out = tmp_path / "todo.parquet"
    done = sweep(book, out, "--json", "--runner", "inline")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    written = pq.read_table(out)
    assert written.schema == schemas.todo()
    assert written.equals(expected_rows(book))
    assert summary["cases"] == written.num_rows
    assert summary["errors"] == 0
    assert sum(summary["stages"].values()) == written.num_rows
    at = pa.scalar(dt.datetime.fromisoformat(AT), schemas.INSTANT)
    calls = sum(1 for v in written.column("next_call").to_pylist() if v == at.as_py())
    assert summary["reachable"]["call"] == calls
    duties = [d for row in written.column("duties").to_pylist() for d in row or ()]
    assert summary["duties"] == {
        "open": len(duties),
        "overdue": sum(1 for d in duties if d["overdue"]),
    }


def test_the_pool_writes_the_same_file_as_the_inline_runner(book: Path, tmp_path: Path) -> None:
    done = sweep(book, tmp_path / "p.parquet", "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert pq.read_table(tmp_path / "p.parquet").equals(expected_rows(book))


def test_the_summary_reads_whole_at_80_columns(book: Path, tmp_path: Path) -> None:
    done = sweep(book, tmp_path / "t.parquet", columns=80)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    text = done.stdout
    for heading in ("Cases by stage", "Reachable now", "Automatic moves due", "Duties"):
        assert heading in text
    for channel in ("call", "sms", "field_visit"):
        assert any(line.startswith(channel) for line in lines)


def test_decisions_go_to_a_log_file_and_the_todo_file_stays_the_same(
    book: Path, tmp_path: Path
) -> None:
    out, log = tmp_path / "todo.parquet", tmp_path / "decisions.jsonl"
    done = sweep(book, out, "--decisions", str(log), "--runner", "inline")
    assert done.returncode == 0, done.stderr
    assert pq.read_table(out).equals(expected_rows(book))
    lines = log.read_text(encoding="utf-8").splitlines()
    decisions = [Decision.model_validate_json(line) for line in lines]
    rows = expected_rows(book).num_rows
    assert len({d.loan_id for d in decisions}) == rows
    assert all(d.at == dt.datetime.fromisoformat(AT) for d in decisions)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--parquet", "x", "--store", "sqlite:///y"], "one of them"),
        ([], "one of them"),
        (["--parquet", "/nonexistent/book"], "is not a file or directory"),
        (["--store", "sqlite:///nowhere.db"], "--store"),
    ],
)
def test_sweep_refuses_bad_input_with_one_line(
    args: list[str], message: str, tmp_path: Path
) -> None:
    done = run("sweep", *args, "--at", AT, "--out", str(tmp_path / "t.parquet"), "--policy", "cn")
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_book_that_names_no_preset_needs_a_policy(cases: list[BookCase], tmp_path: Path) -> None:
    write_book(tmp_path, cases)  # no snapshots, no metadata: nothing names the policy
    done = sweep(tmp_path, tmp_path / "t.pq")
    assert done.returncode == 2
    assert "pass --policy P" in done.stderr
    done = sweep(tmp_path, tmp_path / "t.pq", "--policy", "cn", "--runner", "inline")
    assert done.returncode == 0, done.stderr


def test_whatif_reports_the_flips_by_rule_and_exits_1(book: Path, tmp_path: Path) -> None:
    policy = tmp_path / "b.yaml"
    policy.write_text(
        "extends: cn\nname: cn-late-calls\ncontact:\n  quiet_hours:\n"
        "    citation: lender\n    windows:\n      call: {start: '09:00', end: '21:00'}\n",
        encoding="utf-8",
    )
    flips = tmp_path / "flips.parquet"
    done = run(
        "whatif",
        "--parquet",
        str(book),
        "--policy",
        str(policy),
        "--at",
        "2026-06-01T00:30:00Z",
        "--json",
        "--out",
        str(flips),
        "--runner",
        "inline",
    )
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert doc["baseline"] == "cn"
    assert doc["policy"] == "cn-late-calls"
    assert {r["code"] for r in doc["by_code"]} == {"contact.quiet_hours"}
    assert pq.read_table(flips).num_rows == doc["flips"] > 0
    same = run("whatif", "--parquet", str(book), "--policy", "cn")
    assert same.returncode == 0, same.stderr
    assert "0 decisions flip" in same.stdout


def test_store_export_without_a_store_says_so() -> None:
    done = run("store", "export", "sqlite:///nowhere.db", "--out", "/tmp/nowhere")
    assert done.returncode == 2
    assert "event store is not available" in done.stderr or "store" in done.stderr


# -- export, against the store's interface -------------------------------------------------


@dataclass
class Stored:
    position: int
    stream_id: str
    version: int
    event: Event
    recorded_at: dt.datetime | None = None


@dataclass
class Line:
    line: str  # as the store's LogEntry holds a decision log line


class FakeStore:
    """The reading side of the event store's interface, over cases held in memory."""

    def __init__(self, engine: Engine, cases: list[BookCase]) -> None:
        self.cases = {c.loan.id: c for c in cases}
        self.engine = engine
        self.log: list[Stored] = []
        for c in cases:  # streams interleaved in the global order, as a store holds them
            for version, event in enumerate(c.events, start=1):
                self.log.append(Stored(0, c.loan.id, version, event))
        self.log.sort(key=lambda s: (s.event.at, s.stream_id, s.version))
        for i, stored in enumerate(self.log, start=1):
            stored.position = i

    def iter_snapshots(self, batch_size: int = 1000) -> Any:
        for case_id in sorted(self.cases, reverse=True):  # not in borrower order
            c = self.cases[case_id]
            case = self.engine.replay(c.loan, c.borrower, c.events, trusted=True)
            yield case_id, case.version, self.engine.snapshot(case)

    def read(self, stream_id: str, after_version: int = 0) -> list[Stored]:
        return [s for s in self.log if s.stream_id == stream_id and s.version > after_version]

    def read_all(self, after_position: int, limit: int) -> list[Stored]:
        return [s for s in self.log if s.position > after_position][:limit]

    def decisions(self, stream_id: str) -> list[Line]:
        c = self.cases[stream_id]
        case = self.engine.replay(c.loan, c.borrower, c.events, breaches=True)
        return [Line(d.to_log_line()) for d in case.breaches]


def test_export_writes_a_book_the_sweep_reads_with_phones_as_references(
    cases: list[BookCase], book: Path, tmp_path: Path
) -> None:
    engine = Engine("cn")
    store = FakeStore(engine, cases)
    done = export_store(store, tmp_path, key=b"k")
    assert done.cases == len(cases)
    assert done.events == sum(len(c.events) for c in cases)
    assert policy_of_export(tmp_path) == engine.policy.fingerprint
    # The export sweeps as the book it came from, from snapshots and from histories.
    assert expected_rows(tmp_path).equals(expected_rows(book))
    (tmp_path / "snapshots.parquet").unlink()
    assert expected_rows(tmp_path).equals(expected_rows(book))
    # No phone number leaves as it was; the same number gets the same reference.
    people = pq.read_table(tmp_path / "borrowers.parquet").to_pylist()
    numbers = {p for c in cases for p in c.borrower.phones}
    refs = {p for row in people for p in row["phones"]}
    assert len(refs) == len(numbers)
    assert not refs & numbers
    events = pq.read_table(tmp_path / "events.parquet").to_pylist()
    used = {json.loads(e["payload"]).get("number") for e in events if e["type"] == "contact"}
    assert not used & numbers
    called = {e.number for c in cases for e in c.events if isinstance(e, Contact)}
    assert len(used - {None}) == len(called - {None})
    lines = pq.read_table(tmp_path / "decisions.parquet").column("line").to_pylist()
    assert done.decisions == len(lines) > 0


# -- imports ---------------------------------------------------------------------------------


def test_the_library_imports_and_checks_without_pyarrow_or_pyspark() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["pyarrow"] = None
        sys.modules["pyspark"] = None
        import datetime as dt
        from staged_collection import Borrower, Engine, Escalate, Loan
        import staged_collection.cli
        engine = Engine("cn")
        loan = Loan.model_validate({"id": "L", "currency": "CNY", "principal": "1.00",
            "opened": "2026-01-01", "installments": [{"due": "2026-02-01", "amount": "1.00"}]})
        case = engine.open_case(loan, Borrower(id="B", timezones=("Asia/Shanghai",)))
        at = dt.datetime(2026, 2, 5, tzinfo=dt.UTC)
        d = engine.check(case, Escalate(to="negotiation"), at=at)
        assert [v.code for v in d.violations] == ["transition.min_dpd"], d
        try:
            import staged_collection.portfolio
        except ImportError as exc:
            print(exc)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "install the sweep extra" in done.stdout


def test_the_sweep_command_without_pyarrow_names_the_extra(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['pyarrow'] = None; from staged_collection.cli import main; "
        f"main(['sweep', '--parquet', '{tmp_path}', '--at', '{AT}', '--out', 'x.parquet'])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "the sweep extra" in done.stderr


def test_the_portfolios_names_are_one_sorted_all() -> None:
    import staged_collection.portfolio as portfolio

    names = portfolio.__all__
    assert names == sorted(names)
    assert all(hasattr(portfolio, name) for name in names)


def test_pyarrow_stays_in_the_portfolio_and_pyspark_in_its_spark_module() -> None:
    src = Path(staged_collection.__file__).parent

    def importers(name: str) -> set[str]:
        return {
            str(p.relative_to(src))
            for p in src.rglob("*.py")
            if f"import {name}" in p.read_text() or f"from {name}" in p.read_text()
        }

    assert all(p.startswith("portfolio/") for p in importers("pyarrow"))
    assert importers("pyspark") == {"portfolio/spark.py"}


@pytest.mark.slow
def test_the_spark_runner_of_the_command_line(spark: Any, book: Path, tmp_path: Path) -> None:
    out = tmp_path / "todo.parquet"
    result = CliRunner().invoke(
        cli,
        [
            "sweep",
            "--parquet",
            str(book),
            "--at",
            AT,
            "--out",
            str(out),
            "--runner",
            "spark",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).sort_by("case_id").equals(expected_rows(book).sort_by("case_id"))
    assert json.loads(result.output)["cases"] == expected_rows(book).num_rows


def test_a_store_is_swept_from_its_snapshots_clustered_by_borrower(
    cases: list[BookCase], book: Path
) -> None:
    from staged_collection.portfolio.sources import store_source

    source = store_source("", store=FakeStore(Engine("cn"), cases))
    at = dt.datetime.fromisoformat(AT)
    rows = pa.Table.from_batches(list(sweep_batches(source.batches, policy="cn", at=at)))
    assert rows.sort_by("case_id").equals(expected_rows(book).sort_by("case_id"))


def test_a_what_if_reads_a_stores_histories(cases: list[BookCase], tmp_path: Path) -> None:
    from staged_collection.portfolio.book import history_batches
    from staged_collection.portfolio.sources import store_histories
    from staged_collection.portfolio.whatif import Flip, flip_rows, whatif_batches

    overlay = tmp_path / "b.yaml"
    overlay.write_text(
        "extends: cn\nname: cn-calls-9-to-9\ncontact:\n  quiet_hours:\n"
        "    citation: lender\n    windows:\n      call: {start: '09:00', end: '21:00'}\n",
        encoding="utf-8",
    )
    stricter = staged_collection.load_policy(overlay)
    at = dt.datetime.fromisoformat("2026-06-01T00:30:00+00:00")
    ordered = sorted(cases, key=lambda c: (c.borrower.id, c.loan.id))
    source = store_histories("", store=FakeStore(Engine("cn"), cases))

    def key(f: Flip) -> tuple[str, str, int, str]:
        return (f.case_id, f.source, f.version or 0, f.action)

    from_store = flip_rows(whatif_batches(source.batches, baseline="cn", policy=stricter, at=at))
    from_book = flip_rows(
        whatif_batches(history_batches(ordered), baseline="cn", policy=stricter, at=at)
    )
    expected = sorted(from_book, key=key)
    assert expected
    assert sorted(from_store, key=key) == expected
