"""The demo keeps its portfolio in the store: every case a stream, every event judged and
kept with its decision; without the store extra it runs and says it stored nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.store_kit import sa  # noqa: F401  # skips this module without the store extra

from staged_collection.demo import DemoConfig, run_demo  # isort: skip
from staged_collection.engine import Engine  # isort: skip
from staged_collection.store import EventStore  # isort: skip


def test_the_demo_writes_every_case_through_the_store(tmp_path: Path) -> None:
    config = DemoConfig(loans=40, days=45, workers=2, out=tmp_path / "out" / "d.jsonl")
    result = run_demo(config)
    assert result.stored
    path = tmp_path / "out" / "collection.db"  # beside the decision log
    assert config.store_path == path
    store = EventStore(f"sqlite:///{path}", create=False)
    rows = list(store.iter_snapshots())
    assert len(rows) == 40
    assert result.totals.stored["streams"] == 40
    assert sum(v for _, v, _ in rows) == result.totals.stored["events"] > 0
    report = store.verify_log()
    assert report.ok
    assert report.lines == result.totals.stored["decision lines"]
    engine = Engine("cn")
    for sid, version, _ in rows[:5]:
        stored = [s.event for s in store.read(sid)]
        assert all(e.recorded_at == e.at for e in stored)  # learned as it happened
        case = store.load(sid)
        assert case.version == version
        assert case == engine.replay(case.loan, case.borrower, stored)

    again = run_demo(config)  # a second run starts the store afresh
    assert again.totals.stored == result.totals.stored
    assert len(list(EventStore(f"sqlite:///{path}").iter_snapshots())) == 40


def test_the_demo_report_names_the_store(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "staged_collection.cli",
            "demo",
            *("--loans", "30", "--days", "20", "--workers", "1"),
            *("--out", str(tmp_path / "log.jsonl"), "--store", str(tmp_path / "p.db")),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "Portfolio stored:" in out.stdout
    assert "30 cases" in out.stdout
    assert "log verify sqlite:///" in out.stdout
    assert (tmp_path / "p.db").is_file()


def test_without_sqlalchemy_the_demo_runs_and_says_it_stored_nothing(tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["sqlalchemy"] = None
        from staged_collection.cli import main
        main(["demo", "--loans", "20", "--days", "10", "--workers", "1",
              "--out", {str(tmp_path / "log.jsonl")!r}])
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "Portfolio not stored: SQLAlchemy is not installed" in out.stdout
    assert not (tmp_path / "collection.db").exists()
