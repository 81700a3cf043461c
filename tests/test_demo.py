"""The demo is a collections manager's morning: it asks the sweep, acts on its answers, and
its dialer calls when a contact is allowed; its report reads whole at 80 columns."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

pytest.importorskip("pyarrow", reason="the demo asks the sweep: the sweep extra (pyarrow)")

from staged_collection.demo import DemoConfig, DemoResult, run_demo
from staged_collection.demo_report import render
from staged_collection.engine import Engine
from staged_collection.portfolio.answers import Plan, ask
from staged_collection.terms import Channel
from tests.builders import case_of, ev, on_dpd

PRESETS = ("cn", "us", "uk")


def small(tmp_path: Path, policy: str, *, workers: int = 1, chunk: int = 250) -> DemoConfig:
    out = tmp_path / "out" / "decisions.jsonl"
    return DemoConfig(60, 45, policy, out=out, workers=workers, chunk=chunk)


def log(result: DemoResult) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.log.read_text().splitlines()]


@pytest.fixture(scope="module", params=PRESETS)
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(small(tmp_path_factory.mktemp(request.param), request.param))


# -- the dialer and the strategy ----------------------------------------------------------------


def test_the_dialer_calls_when_allowed_and_only_deliberate_mistakes_are_refused(
    run: DemoResult,
) -> None:
    t = run.totals
    assert t.contacts["allowed"] > 0
    # Every contact refused came of a deliberate mistake (a call dialled blind): the
    # dialer's own attempts, placed at next_allowed, are never refused, by any rule.
    refused = {code: n for code, n in t.contacts.items() if code != "allowed"}
    assert refused == {code: n for code, n in t.deliberate.items() if code.startswith("contact.")}
    assert t.refused["contacts"] == 0
    assert t.contacts["contact.quiet_hours"] == t.deliberate["contact.quiet_hours"]
    assert t.contacts["contact.cooldown"] == t.deliberate["contact.cooldown"]
    # Escalations are made only where the morning's verdict allows them.
    assert t.refused["moves"] == 0
    assert {k: n for k, n in t.moves.items() if k.startswith("refused ")} == {
        k: n for k, n in t.deliberate.items() if k.startswith("refused ")
    }
    assert sum(n for k, n in t.moves.items() if not k.startswith("refused ")) > 0


def test_the_decision_log_agrees_with_the_counts(run: DemoResult) -> None:
    lines = log(run)
    t = run.totals
    assert len(lines) == run.lines == t.decisions
    contacts = [d for d in lines if d["request"]["action"] == "contact"]
    assert sum(1 for d in contacts if d["allowed"]) == t.contacts["allowed"]
    refused = [d for d in contacts if not d["allowed"]]
    assert len(refused) == t.refused["contacts deliberate"]
    codes = Counter(v["code"] for d in refused for v in d["violations"])
    assert codes == +Counter({k: n for k, n in t.contacts.items() if k != "allowed"})


def test_the_morning_is_asked_only_of_cases_with_something_to_do(run: DemoResult) -> None:
    c, t = run.config, run.totals
    assert 0 < t.asked < c.loans * c.days
    # Every case the dialer or the strategy touched that day was asked about first.
    touched = {(d["loan_id"], str(d["at"])[:10]) for d in log(run)}
    assert len(touched) <= t.asked


def test_under_us_the_dialer_waits_out_the_cooldown(tmp_path: Path) -> None:
    # Under us a call after a conversation waits 7 days: the dialer does not place those
    # calls (skipped) rather than have them refused.
    result = run_demo(small(tmp_path, "us"))
    t = result.totals
    assert t.contacts["contact.cooldown"] == t.deliberate["contact.cooldown"]
    assert sum(t.skipped.values()) > t.contacts["contact.cooldown"]


def test_the_seed_gives_the_same_result_whatever_the_number_of_workers(tmp_path: Path) -> None:
    one = run_demo(small(tmp_path / "one", "us", chunk=20, workers=1))
    two = run_demo(small(tmp_path / "two", "us", chunk=20, workers=2))
    assert one.totals.contacts == two.totals.contacts
    assert one.totals.moves == two.totals.moves
    assert one.totals.funnel == two.totals.funnel
    assert one.totals.end == two.totals.end
    assert one.totals.collected == two.totals.collected
    assert one.log.read_bytes() == two.log.read_bytes()


# -- the end of the run, from the sweep ---------------------------------------------------------


def test_the_end_of_the_run_is_the_engines_state_of_every_stored_case(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy", reason="the store extra")
    from staged_collection.events import Payment
    from staged_collection.store import EventStore

    config = small(tmp_path, "uk")
    result = run_demo(config)
    t = result.totals
    engine = Engine("uk")
    store = EventStore(f"sqlite:///{config.store_path}", create=False)
    stages: Counter[str] = Counter()
    overdue = balance = collected = Decimal(0)
    duties: Counter[str] = Counter()
    after = config.last_day + dt.timedelta(days=1)
    start = dt.datetime.combine(config.start, dt.time(), tzinfo=dt.UTC)
    for stream, _, _ in store.iter_snapshots():
        case = store.load(stream)
        zone = case.borrower.timezones[0]
        from zoneinfo import ZoneInfo

        end = dt.datetime.combine(after, dt.time(), tzinfo=ZoneInfo(zone))
        state = engine.state(case, at=end)
        stages[state.stage.value] += 1
        overdue += state.overdue.amount
        balance += state.balance.amount
        duties.update(str(d.code) for d in state.duties)
        for stored in store.read(stream):
            event = stored.event
            if isinstance(event, Payment) and event.at >= start:
                collected += event.amount.amount
    assert stages == Counter({s: f.cases for s, f in t.end.items()})
    assert overdue == sum(f.overdue for f in t.end.values())
    assert balance == sum(f.balance for f in t.end.values())
    assert collected == t.collected > 0
    assert duties == t.duties
    # The funnel's last week is the state as the run ends.
    assert t.funnel[max(t.funnel)] == stages


# -- the report at 80 columns -------------------------------------------------------------------


def whole(token: str, text: str) -> bool:
    return re.search(rf"(?<!\S){re.escape(token)}(?![^\s,.;)])", text) is not None


def test_the_report_reads_whole_at_80_columns(run: DemoResult) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, highlight=False, soft_wrap=True)  # as the CLI's
    render(run, console)
    text = buffer.getvalue()
    # The one line allowed to be longer: a command to copy, kept whole with its path (here
    # an absolute one; the command's test below runs with the default, relative paths).
    command = f"  staged-collection log verify {run.store}"
    lines = text.splitlines()
    if run.stored:
        assert lines.pop() == command
    assert max(len(line) for line in lines) <= 80
    assert "…" not in text  # nothing cut short
    t = run.totals
    for code in [*t.contacts, *(k.split(": ", 1)[1] for k in t.moves if k.startswith("refused"))]:
        if code != "allowed":
            assert whole(code, text), code
    for code in t.duties:
        assert whole(code, text), code
    amounts = [t.collected, *(f.balance for f in t.end.values())]
    amounts += [f.overdue for f in t.end.values()]
    amounts += [
        sum((f.overdue for f in t.end.values()), Decimal(0)),
        sum((f.balance for f in t.end.values()), Decimal(0)),
    ]
    for amount in amounts:
        assert whole(f"{amount:,.2f}", text), amount
    assert whole(run.config.last_day.isoformat(), text)
    assert whole(f"{t.contacts['allowed']:,}", text)


def test_the_command_reads_whole_at_80_columns(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "80"}
    done = subprocess.run(
        [
            *(sys.executable, "-m", "staged_collection.cli", "demo"),
            *("--loans", "60", "--days", "45", "--workers", "1", "--policy", "us"),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    lines = [json.loads(line) for line in (tmp_path / "out" / "decisions.jsonl").open()]
    codes = {v["code"] for d in lines for v in d["violations"]}
    assert codes  # the deliberate mistakes
    for code in codes:
        assert whole(code, text), code
    assert "  staged-collection log verify sqlite:///out/collection.db\n" in text
    assert "Decision log: out/decisions.jsonl" in text


def test_the_demo_without_pyarrow_names_the_sweep_extra(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['pyarrow'] = None; from staged_collection.cli import main; "
        f"main(['demo', '--loans', '5', '--days', '3', '--out', '{tmp_path / 'd.jsonl'}'])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "the sweep extra" in done.stderr
    assert not (tmp_path / "d.jsonl").exists()


# -- the questions it asks ----------------------------------------------------------------------


def test_a_plan_asks_only_its_channels_and_answers_for_them_as_the_full_plan() -> None:
    # A conversation yesterday: under us calls wait 7 days, an SMS does not.
    ny = "America/New_York"
    talk = ev("contact", on_dpd(40, 10, ny), channel="call", outcome="conversation")
    case = case_of("us", talk, zones=(ny,))
    at = on_dpd(41, 9, ny)
    engine = Engine("us")
    full = ask(Plan(engine), case, (), at, case_id=case.loan_id, borrower_id=case.borrower_id)
    some = Plan(engine, channels=["sms", Channel.CALL, "call"])
    assert [a.channel for a in some.attempts] == [Channel.CALL, Channel.SMS]
    answer = ask(some, case, (), at, case_id=case.loan_id, borrower_id=case.borrower_id)
    call, sms = answer.contacts
    assert not call.allowed
    assert "contact.cooldown" in (call.codes or ())
    assert call.next is not None
    assert call.next.date() > at.date()
    assert sms.allowed
    assert sms.next == at
    assert answer.contacts == tuple(c for c in full.contacts if c.channel in ("call", "sms"))
    assert answer.verdicts == full.verdicts
    assert answer.state == full.state
    assert (
        ask(Plan(engine, channels=()), case, (), at, case_id="L1", borrower_id="B1").contacts == ()
    )
    assert [a.channel for a in Plan(engine).attempts] == list(Channel)


def test_a_plan_refuses_an_unknown_channel_by_name() -> None:
    with pytest.raises(ValueError, match=r"channels: 'pigeon' is not a channel \(one of call,"):
        Plan(Engine("cn"), channels=["call", "pigeon"])
