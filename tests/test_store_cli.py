"""``staged-collection store`` on the command line: init, open, append, show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.builders import run_cli as run
from tests.store_kit import sa  # noqa: F401  # skips this module without the store extra

CASE = """
policy: cn
borrower: {id: B1, timezones: [Asia/Shanghai], phones: ["+8613800000000"]}
loan: {id: L1, currency: CNY, principal: "3000.00", opened: 2026-01-01,
       installments: [{due: 2026-02-01, amount: "1000.00"}, {due: 2026-03-01, amount: "2000.00"}]}
events:
  - {type: contact, at: "2026-02-03T02:00:00Z", channel: sms, outcome: delivered}
  - {type: contact, at: "2026-02-03T15:00:00Z", channel: call, outcome: no_answer,
     number: "+8613800000000"}
"""

MORE = [
    {"type": "payment", "at": "2026-02-05T02:00:00Z", "amount": "100.00"},
    {"type": "contact", "at": "2026-02-05T03:00:00Z", "channel": "call", "outcome": "no_answer"},
]


@pytest.fixture
def url(tmp_path: Path) -> str:
    (tmp_path / "case.yaml").write_text(CASE)
    (tmp_path / "more.json").write_text(json.dumps(MORE))
    address = f"sqlite:///{tmp_path / 'c.db'}"
    assert run("store", "init", address).returncode == 0
    opened = run("store", "open", address, str(tmp_path / "case.yaml"))
    assert opened.returncode == 0, opened.stderr
    assert "opened stream L1 at version 2" in opened.stdout  # the 23:00 call: a breach
    return address


def test_append_writes_once_and_says_so(url: str, tmp_path: Path) -> None:
    more = str(tmp_path / "more.json")
    args = ("store", "append", url, "L1", more, "--expected-version", "2")
    first = run(*args, "--idempotency-key", "k1")
    assert first.returncode == 0, first.stderr
    assert "stream L1 at version 4 (appended 2)" in first.stdout
    again = run(*args, "--idempotency-key", "k1")
    assert again.returncode == 0
    assert "already written under this key" in again.stdout
    stale = run(*args)
    assert stale.returncode == 1
    assert "is at version 4" in stale.stderr
    shown = json.loads(run("store", "show", url, "L1", "--json").stdout)
    assert shown["version"] == 4
    assert shown["decisions"] == 3


def test_a_refused_append_exits_1_and_writes_nothing(url: str, tmp_path: Path) -> None:
    skip = tmp_path / "skip.json"
    skip.write_text(
        json.dumps([{"type": "escalate", "at": "2026-02-06T02:00:00Z", "to": "formal"}])
    )
    refused = run("store", "append", url, "L1", str(skip), "--expected-version", "2", "--json")
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["allowed"] is False
    assert json.loads(run("store", "show", url, "L1", "--json").stdout)["version"] == 2


def test_show_answers_for_any_instant_even_before_the_snapshot(url: str) -> None:
    now = json.loads(run("store", "show", url, "L1", "--json").stdout)
    assert now["state"]["at"] == "2026-02-03T15:00:00Z"  # the last event
    assert now["state"]["stage"] == "reminder"
    before = run("store", "show", url, "L1", "--at", "2026-01-15T00:00:00Z", "--json")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["state"]["stage"] == "current"
    table = run("store", "show", url, "L1")
    assert "decision log" in table.stdout
    assert "reminder" in table.stdout


def test_unreadable_input_is_one_line_and_exit_2(url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"type": "payment", "at": "2026-02-06T02:00:00", "amount": "1"}]))
    result = run("store", "append", url, "L1", str(bad), "--expected-version", "2")
    assert result.returncode == 2
    assert "events[0].at" in result.stderr
    assert "Traceback" not in result.stderr
    missing = run("store", "show", url, "L9")
    assert missing.returncode == 2
    assert "no such stream" in missing.stderr
    nowhere = run("store", "show", "postgresql+psycopg://nobody@127.0.0.1:1/none", "L1")
    assert nowhere.returncode == 2
    assert "Traceback" not in nowhere.stderr


def test_help() -> None:
    for args in (["store"], ["store", "append"], ["store", "show"], ["log", "verify"]):
        result = run(*args, "--help")
        assert result.returncode == 0, args
        assert "Usage" in result.stdout


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\xff\xfe[]", "not UTF-8"),
        (b'[{type: payment, at: "2026-02-05T02:00:00Z", amount: "1.00", amount: "9.00"}]', "twice"),
        (b"a: &a {type: recall, at: '2026-02-05T02:00:00Z'}\nevents: [*a]\n", "alias"),
    ],
)
def test_an_events_file_is_read_as_every_input_file_is(
    url: str, tmp_path: Path, content: bytes, problem: str
) -> None:
    # Bounded, UTF-8, no aliases, no key given twice: one line naming the file, nothing written.
    events = tmp_path / "events.yaml"
    events.write_bytes(content)
    result = run("store", "append", url, "L1", str(events), "--expected-version", "2")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert str(events) in line
    assert problem in line
    assert json.loads(run("store", "show", url, "L1", "--json").stdout)["version"] == 2
