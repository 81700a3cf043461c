"""The command line: each command, its output and its exit codes (0 yes, 1 no, 2 bad input)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.builders import ROOT
from tests.builders import run_cli as run

CASE: dict[str, Any] = {
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


MERMAID_LINE = re.compile(
    r"stateDiagram-v2"
    r'|state \w+ \{|state "[^"]+" as \w+ \{|\}|--'
    r"|(\[\*\]|\w+) --> (\[\*\]|\w+)(: [^:;]+)?"
)


def test_the_mermaid_diagram_names_its_two_regions() -> None:
    text = run("diagram", "--policy", "us").stdout
    lines = [line.strip() for line in text.splitlines()]
    # The statements the diagram uses, each in Mermaid's state-diagram grammar; braces balance
    # and the region divider sits inside the composite state that holds both tracks.
    assert all(MERMAID_LINE.fullmatch(line) for line in lines), [
        line for line in lines if not MERMAID_LINE.fullmatch(line)
    ]
    depth = 0
    for line in lines:
        depth += line.endswith("{") - (line == "}")
        assert depth >= 0
        assert line != "--" or depth == 1
    assert depth == 0
    ladder = lines.index('state "collection ladder" as ladder {')
    divider = lines.index("--")
    bureau = lines.index('state "credit bureau" as bureau {')
    assert ladder < lines.index("[*] --> current") < divider < bureau
    assert bureau < lines.index("[*] --> not_reported")


def test_the_us_report_guard_shows_the_wait_and_the_conversation() -> None:
    text = run("diagram", "--policy", "us").stdout
    report = [line for line in text.splitlines() if "--> reported: report" in line]
    assert report
    for line in report:
        assert "notice(pre_reporting|validation) + 14 days or a conversation" in line
    cn = run("diagram", "--policy", "cn").stdout
    assert "notice(pre_reporting)]" in cn  # no wait, no alternative: nothing added


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


def test_policy_show_at_a_date_prints_the_rules_in_force_then() -> None:
    before = run("policy", "show", "cn", "--at", "2026-01-29")
    on = run("policy", "show", "cn", "--at", "2026-01-30")
    assert before.returncode == on.returncode == 0
    assert "# the rules in force change on: 2025-02-28, 2026-01-30" in before.stdout
    assert "# the rules in force on 2026-01-29 (Asia/Shanghai)" in before.stdout
    assert "name: unanswered" not in before.stdout
    assert "name: unanswered" in on.stdout
    assert "effective_from: '2026-01-30'" in on.stdout
    assert "effective_to" not in on.stdout  # no rule of cn ends: no empty dates shown
    shown = json.loads(run("policy", "show", "cn", "--at", "2025-02-27", "--json").stdout)
    assert shown["in_force_on"] == "2025-02-27"
    assert shown["contact"]["counters"] == []
    assert shown["contact"]["field_visit"]["collectors"] is None
    assert (
        shown["fingerprint"]
        == json.loads(run("policy", "show", "cn", "--json").stdout)["fingerprint"]
    )  # the whole timeline's
    bad = run("policy", "show", "cn", "--at", "2026-02-30")
    assert bad.returncode == 2
    assert "--at: '2026-02-30' is not a date" in bad.stderr


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
    assert "bad.yaml:1: x: borrower: required" in broken.stdout


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


# -- output a person can read -----------------------------------------------------------------


def test_check_at_80_columns_cuts_no_instant_zone_or_code(tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    borrower = {"id": "B1", "timezones": ["Asia/Shanghai", "America/Argentina/Rio_Gallegos"]}
    case.write_text(json.dumps({**CASE, "borrower": borrower}))
    night = tmp_path / "night.json"  # noon in Shanghai, 01:00 in Rio Gallegos
    night.write_text(
        json.dumps({"action": "contact", "at": "2026-02-04T04:00:00Z", "channel": "call"})
    )
    result = run("check", str(case), "--attempt", str(night), columns=80)
    assert result.returncode == 1
    words = re.findall(r"[\w./:+-]+", result.stdout)
    for token in (
        "contact.quiet_hours",
        "2026-02-04T11:00:00Z",  # 08:00 in Rio Gallegos
        "America/Argentina/Rio_Gallegos",
        "2026-02-04T04:00:00+00:00",
    ):
        assert token in words, token
    assert "…" not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_state_prints_values_as_a_person_writes_them(files: dict[str, Path]) -> None:
    result = run("state", str(files["case"]), "--at", "2026-02-10T12:00:00+08:00")
    assert result.returncode == 0
    rows = {}
    for line in result.stdout.splitlines():
        name, value = line.split(None, 1)
        rows[name] = value
    assert rows["overdue"] == "1000.00 CNY"
    assert rows["balance"] == "2000.00 CNY"
    assert rows["bureau_disputed"] == "no"
    assert rows["holds"] == "-"
    assert rows["placed_with"] == "-"
    assert rows["at"] == "2026-02-10T12:00:00+08:00"
    for python in ("{'amount'", "None", "False", "True", "[]"):
        assert python not in result.stdout


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("policy: cn\nloan: {id: L1\n", ":2: not valid YAML"),
        ("policy: cn\npolicy: us\n", ":2: the key 'policy' is given twice"),
        ("policy: cn\nloan: &l {id: L1}\nborrower: *l\n", ":3: aliases"),
        (
            yaml.safe_dump({**CASE, "loan": {**CASE["loan"], "opened": "2026-02-30"}}),
            ":18: loan.opened",
        ),
    ],
)
def test_an_input_error_is_one_line_naming_file_and_line(
    tmp_path: Path, files: dict[str, Path], text: str, where: str
) -> None:
    case = tmp_path / "bad.yaml"
    case.write_text(text)
    result = run("state", str(case), "--at", "2026-02-10T12:00:00+08:00")
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {case}{where}")


def test_next_allowed_names_the_line_of_an_action_that_is_not_a_contact(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    attempt = tmp_path / "report.yaml"
    attempt.write_text("after: '2026-02-03T12:00:00Z'\naction: report\n")
    result = run("next-allowed", str(files["case"]), "--attempt", str(attempt))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {attempt}:2: action: must be contact: the search is for contacts"
    )


def test_a_case_file_names_policies_beside_it_and_the_user_names_any(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    ours = tmp_path / "ours.yaml"
    ours.write_text("extends: cn\nname: ours\n")
    folder = tmp_path / "cases"
    folder.mkdir()
    case = folder / "case.yaml"
    case.write_text(yaml.safe_dump({**CASE, "policy": "../ours.yaml"}, sort_keys=False))
    refused = run("state", str(case), "--at", "2026-02-10T12:00:00+08:00")
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"error: {case}:1: policy: '../ours.yaml' is outside")
    typed = run("state", str(case), "--at", "2026-02-10T12:00:00+08:00", "--policy", str(ours))
    assert typed.returncode == 0, typed.stderr


def test_devices_are_refused_at_once(files: dict[str, Path]) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    result = run("check", "/dev/zero", "--attempt", str(files["late"]))
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "error: /dev/zero: cannot read the file: not a regular file (a device, pipe or socket)"
    )


def test_scenarios_run_reports_each_hostile_file_and_runs_the_rest(tmp_path: Path) -> None:
    good = (ROOT / "examples" / "scenarios" / "uk" / "contact.yaml").read_text()
    (tmp_path / "a_good.yaml").write_text(good)
    (tmp_path / "b_latin.yaml").write_bytes(b"name: caf\xe9\n")
    (tmp_path / "c_bomb.yaml").write_text("a: &a [1, 2]\nb: [*a, *a]\n")
    (tmp_path / "d_deep.yaml").write_text("a: " + "[" * 500 + "]" * 500 + "\n")
    result = run("scenarios", "run", str(tmp_path))
    assert result.returncode == 2
    lines = result.stdout.splitlines()
    assert sum(line.startswith("PASS") for line in lines) >= 1
    errors = [line for line in lines if line.startswith("ERROR")]
    assert [e.split()[1] for e in errors] == [
        f"{tmp_path}/b_latin.yaml:1:",
        f"{tmp_path}/c_bomb.yaml:2:",
        f"{tmp_path}/d_deep.yaml:1:",
    ]
    assert "Traceback" not in result.stdout + result.stderr


# -- a crash is loud, and has its own exit code ----------------------------------------------------


def test_a_crash_exits_3_with_its_traceback(
    files: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from staged_collection import cli
    from staged_collection.engine import Engine

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("the engine broke")

    monkeypatch.setattr(Engine, "state", broken)
    with pytest.raises(SystemExit) as info:
        cli.main(["state", str(files["case"]), "--at", "2026-02-10T12:00:00+08:00"])
    assert info.value.code == 3
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "ZeroDivisionError: the engine broke" in err
    assert "internal error" in err

    monkeypatch.setattr(Engine, "check", broken)
    with pytest.raises(SystemExit) as info:
        cli.main(["scenarios", "run", str(ROOT / "examples" / "scenarios" / "uk")])
    assert info.value.code == 3
    captured = capsys.readouterr()
    assert "CRASH" in captured.out
    assert "crashed" in captured.out
    assert "ZeroDivisionError: the engine broke" in captured.err


def test_the_quickstart_says_what_its_payment_does() -> None:
    script = ROOT / "examples" / "quickstart.py"
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    stage = re.findall(r"stage (\w+), bureau", result.stdout)[-1]  # after the payment
    source = script.read_text()
    comment = source[: source.index('"type": "payment"')].rsplit("\n\n", 1)[-1]
    verb = {"resolved": "resolves", "current": "cures"}[stage]
    assert re.search(rf"# A payment .* {verb} the case", comment), comment
