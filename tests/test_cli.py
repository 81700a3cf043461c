"""The command line: each command, its output and its exit codes (0 yes, 1 no, 2 bad input)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

CASE = {
    "policy": "cn",
    "loan": {
        "id": "L1",
        "currency": "CNY",
        "principal": "2000.00",
        "opened": "2026-01-01",
        "installments": [
            {"due": "2026-02-01", "amount": "1000.00"},
            {"due": "2026-03-01", "amount": "1000.00"},
        ],
    },
    "borrower": {"id": "B1", "timezones": ["Asia/Shanghai"]},
    "events": [
        {
            "type": "contact",
            "at": "2026-02-03T10:00:00+08:00",
            "channel": "sms",
            "outcome": "delivered",
        }
    ],
}


def run(*args: str, cwd: Path = ROOT, columns: int = 200) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "staged_collection.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        env={"COLUMNS": str(columns), "PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"},
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    case = tmp_path / "case.json"
    case.write_text(json.dumps(CASE))
    late = tmp_path / "late.json"
    late.write_text(
        json.dumps({"action": "contact", "at": "2026-02-03T22:00:00+08:00", "channel": "call"})
    )
    fine = tmp_path / "fine.yaml"
    fine.write_text(
        yaml.safe_dump({"action": "contact", "at": "2026-02-03T12:00:00+08:00", "channel": "call"})
    )
    ceased = tmp_path / "ceased.json"
    ceased.write_text(
        json.dumps(
            {
                **CASE,
                "events": [*CASE["events"], {"type": "cease", "at": "2026-02-03T11:00:00+08:00"}],
            }
        )
    )
    return {"case": case, "late": late, "fine": fine, "ceased": ceased}


def test_help_everywhere() -> None:
    for args in ([], ["check"], ["policy", "diff"], ["scenarios", "run"], ["demo"]):
        result = run(*args, "--help")
        assert result.returncode == 0, (args, result.stderr)
        assert "Usage:" in result.stdout


def test_check_exits_0_when_allowed_and_1_when_refused(files: dict[str, Path]) -> None:
    allowed = run("check", str(files["case"]), "--attempt", str(files["fine"]))
    assert allowed.returncode == 0
    assert "ALLOWED" in allowed.stdout
    refused = run("check", str(files["case"]), "--attempt", str(files["late"]))
    assert refused.returncode == 1
    assert "REFUSED" in refused.stdout
    assert "contact.quiet_hours" in refused.stdout
    assert "22:00 on 2026-02-03 in Asia/Shanghai is outside 08:00-22:00" in refused.stdout


def test_check_json_is_one_decision_log_line(files: dict[str, Path]) -> None:
    result = run("check", str(files["case"]), "--attempt", str(files["late"]), "--json")
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    decision = json.loads(lines[0])
    assert decision["allowed"] is False
    assert decision["violations"][0]["code"] == "contact.quiet_hours"
    assert decision["violations"][0]["retry_at"] == "2026-02-04T00:00:00Z"


def test_policy_option_overrides_the_case_file(files: dict[str, Path]) -> None:
    result = run(
        "check", str(files["case"]), "--attempt", str(files["fine"]), "--policy", "us", "--json"
    )
    assert (
        json.loads(result.stdout)["policy"]
        != json.loads(
            run("check", str(files["case"]), "--attempt", str(files["fine"]), "--json").stdout
        )["policy"]
    )


def test_next_allowed(files: dict[str, Path]) -> None:
    result = run("next-allowed", str(files["case"]), "--attempt", str(files["late"]), "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"at": "2026-02-04T00:00:00+00:00", "never": False}
    never = run("next-allowed", str(files["ceased"]), "--attempt", str(files["late"]))
    assert never.returncode == 1
    assert never.stdout.startswith("never")


def test_state_and_explain(files: dict[str, Path]) -> None:
    state = run("state", str(files["case"]), "--at", "2026-02-10T12:00:00+08:00", "--json")
    assert state.returncode == 0
    data = json.loads(state.stdout)
    assert (data["stage"], data["dpd"], data["overdue"]["amount"]) == ("reminder", 9, "1000.00")
    explain = run("explain", str(files["case"]), "--at", "2026-02-10T12:00:00+08:00")
    assert explain.returncode == 0
    assert "9 days past due" in explain.stdout
    naive = run("state", str(files["case"]), "--at", "2026-02-10T12:00:00")
    assert naive.returncode == 2
    assert "no offset" in naive.stderr


def test_diagram_lists_every_stage_in_both_formats() -> None:
    mermaid = run("diagram", "--policy", "uk")
    assert mermaid.returncode == 0
    assert mermaid.stdout.startswith("stateDiagram-v2")
    for stage in (
        "current",
        "reminder",
        "negotiation",
        "formal",
        "third_party",
        "resolved",
        "settled",
        "written_off",
        "not_reported",
        "notice_sent",
        "reported",
        "updated",
    ):
        assert stage in mermaid.stdout
    dot = run("diagram", "--format", "dot")
    assert dot.stdout.startswith("digraph case")


def test_policy_show_validate_diff(tmp_path: Path) -> None:
    show = run("policy", "show", "us", "--json")
    assert show.returncode == 0
    assert len(json.loads(show.stdout)["fingerprint"]) == 64
    good = tmp_path / "ny.yaml"
    good.write_text(
        "extends: us\nname: us-ny\ncontact:\n  quiet_hours:\n    citation: NY\n"
        "    windows: {call: {start: '09:00', end: '20:00'}}\n"
    )
    assert run("policy", "validate", str(good)).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "extends: us\ncontact: {quiet_hours: {windows: {call: {start: '21:00', end: '09:00'}}}}\n"
    )
    invalid = run("policy", "validate", str(bad))
    assert invalid.returncode == 2
    assert "contact.quiet_hours.windows.call" in invalid.stderr
    assert "Traceback" not in invalid.stderr
    diff = run("policy", "diff", "us", str(good), "--json")
    assert diff.returncode == 1
    rows = {r["rule"]: r for r in json.loads(diff.stdout)}
    assert rows["contact.quiet_hours.windows.call.start"]["b"] == "09:00:00"
    assert rows["contact.quiet_hours.windows.call.start"]["a_citation"].startswith("12 CFR 1006.6")
    assert run("policy", "diff", "cn", "cn").returncode == 0
    text = run("policy", "diff", "cn", "us")
    assert "contact.counters[calls].limit" in text.stdout


NY = (
    "extends: us\nname: us-ny\ncontact:\n  quiet_hours:\n"
    "    citation: Lender policy for New York\n"
    "    windows: {call: {start: '09:00', end: '20:00'}}\n"
)


def test_policy_validate_exits_1_for_an_overlay_that_loosens_the_law(tmp_path: Path) -> None:
    loose = tmp_path / "loose.yaml"
    loose.write_text("extends: us\ncontact: {counters: [{name: calls, limit: 10}]}\n")
    result = run("policy", "validate", str(loose))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(loose) in lines[0]
    assert "contact.counters[calls].limit: us says 7 and the overlay 10" in lines[0]
    # Every other command refuses to run under it, as input it cannot use.
    assert run("policy", "show", str(loose)).returncode == 2


def test_policy_show_and_diff_cite_each_channel(tmp_path: Path) -> None:
    ny = tmp_path / "ny.yaml"
    ny.write_text(NY)
    shown = json.loads(run("policy", "show", str(ny), "--json").stdout)
    windows = shown["contact"]["quiet_hours"]["windows"]
    assert (windows["call"]["citation"], windows["call"]["layer"]) == (
        "Lender policy for New York",
        "ny.yaml",
    )
    assert windows["sms"]["citation"].startswith("12 CFR 1006.6(b)(1)(i)")
    assert windows["sms"]["layer"] == "us"
    text = run("policy", "show", str(ny)).stdout
    assert "citation: Lender policy for New York" in text
    assert "lender strategy, not law" in text

    rows = json.loads(run("policy", "diff", "us", str(ny), "--json").stdout)
    assert {r["rule"] for r in rows} == {
        "contact.quiet_hours.windows.call.start",
        "contact.quiet_hours.windows.call.end",
    }
    for row in rows:
        assert row["a_citation"].startswith("12 CFR 1006.6(b)(1)(i)")
        assert (row["b_citation"], row["a_layer"], row["b_layer"]) == (
            "Lender policy for New York",
            "us",
            "ny.yaml",
        )


def test_policy_diff_at_80_columns_cuts_no_rule_and_no_value() -> None:
    rows = json.loads(run("policy", "diff", "cn", "us", "--json").stdout)
    text = run("policy", "diff", "cn", "us", columns=80)
    assert text.returncode == 1
    lines = text.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in text.stdout
    for row in rows:
        at = lines.index(row["rule"])  # the whole path, on a line of its own
        block = " ".join(" ".join(lines[at : at + 14]).split())  # values may wrap, not cut
        for side in ("a", "b"):
            value = row[side]
            if isinstance(value, list):
                value = ", ".join(value)
            elif value is None:
                value = "none"
            elif isinstance(value, bool):
                value = str(value).lower()
            assert str(value).removesuffix(":00") in block


def test_scenarios_run_exit_codes_and_json(tmp_path: Path) -> None:
    examples = ROOT / "examples" / "scenarios"
    ok = run("scenarios", "run", str(examples / "cn"), "--json")
    assert ok.returncode == 0
    assert json.loads(ok.stdout)["failed"] == 0
    text = run("scenarios", "run", str(examples / "uk"))
    assert "PASS" in text.stdout
    assert "passed, 0 failed, 0 errors" in text.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\npolicy: cn\n")
    broken = run("scenarios", "run", str(bad))
    assert broken.returncode == 2
    assert "ERROR" in broken.stdout
    assert "bad.yaml: x: borrower: required" in broken.stdout


def test_a_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run("check", str(tmp_path / "nope.json"), "--attempt", str(tmp_path / "a.json"))
    assert result.returncode == 2
    assert "cannot read the file" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_prints_the_report_and_writes_the_log(tmp_path: Path) -> None:
    out = tmp_path / "log.jsonl"
    result = run(
        "demo",
        "--loans",
        "60",
        "--days",
        "40",
        "--workers",
        "1",
        "--out",
        str(out),
        "--policy",
        "us",
    )
    assert result.returncode == 0, result.stderr
    assert "Stage funnel" in result.stdout
    assert "Contacts:" in result.stdout
    assert "Decision log:" in result.stdout
    lines = out.read_text().splitlines()
    assert lines
    first = json.loads(lines[0])
    assert {"allowed", "request", "at", "policy", "violations"} <= set(first)
