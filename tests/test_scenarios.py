"""The scenario runner: every step type, every exit code, every malformed-file case;
and the shipped example scenarios, which must pass and cover every rule code."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from staged_collection import RuleCode
from staged_collection.scenarios import Report, load_scenarios, run_scenarios

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "scenarios"

HEADER = """\
name: {name}
policy: cn
borrower: {{id: B1, timezones: [Asia/Shanghai]}}
loan:
  id: L1
  currency: CNY
  principal: "2000.00"
  opened: 2026-01-01
  installments:
    - {{due: 2026-02-01, amount: "1000.00"}}
    - {{due: 2026-03-01, amount: "1000.00"}}
"""


def scenario(name: str, body: str) -> str:
    return HEADER.format(name=name) + textwrap.dedent(body)


def write(tmp: Path, filename: str, *documents: str) -> Path:
    path = tmp / filename
    path.write_text("---\n".join(documents), encoding="utf-8")
    return path


# -- the examples ----------------------------------------------------------------------------


def test_the_example_scenarios_pass() -> None:
    report = run_scenarios([EXAMPLES])
    failures = [(r.name, r.failures, r.error) for r in report.results if not r.passed]
    assert failures == []
    assert report.passed >= 30
    assert report.exit_code == 0


def test_the_examples_refuse_every_rule_code_next_to_an_allowed_step() -> None:
    refused: dict[str, set[str]] = {}  # code -> documents refusing it
    allowed_docs: set[str] = set()
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        for i, doc in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
            if not doc or "steps" not in doc:
                continue  # a policy file
            key = f"{path.name}#{i}"
            for step in doc["steps"]:
                expect = step.get("expect", {})
                for code in expect.get("violations", []):
                    refused.setdefault(code, set()).add(key)
                if expect.get("allowed") is True:
                    allowed_docs.add(key)
    missing = sorted(c.value for c in RuleCode if c.value not in refused)
    assert missing == [], f"no example refuses {missing}"
    lonely = sorted(code for code, docs in refused.items() if not docs & allowed_docs)
    assert lonely == [], f"no allowed step beside the refusals of {lonely}"


# -- every step type ------------------------------------------------------------------------

ALL_STEPS = scenario(
    "every step",
    """\
    events:
      - {type: contact, at: "2026-02-03T10:00:00+08:00", channel: sms, outcome: delivered}
    steps:
      - check: {action: contact, at: "2026-02-03T22:00:00+08:00", channel: call}
        expect: {allowed: false, violations: [contact.quiet_hours]}
      - check: {action: escalate, to: negotiation, at: "2026-03-04T00:00:00+08:00"}
        expect: {allowed: true}
      - state: {at: "2026-02-10T12:00:00+08:00"}
        expect: {stage: reminder, bureau: not_reported, dpd: 9, overdue: "1000.00", holds: []}
      - next_allowed: {channel: call, after: "2026-02-03T22:00:00+08:00"}
        expect: {at: "2026-02-04T00:00:00Z"}
      - apply: {type: cease, at: "2026-02-04T09:00:00+08:00"}
        expect: {allowed: true}
      - next_allowed: {channel: call, after: "2026-02-04T09:00:00+08:00"}
        expect: {never: true}
      - apply: {type: contact, at: "2026-02-04T10:00:00+08:00", channel: call, outcome: no_answer}
        expect: {allowed: false, violations: [contact.ceased]}
      - apply: {type: escalate, at: "2026-02-05T10:00:00+08:00", to: negotiation}
        expect: {allowed: false, violations: [transition.min_dpd]}
    """,
)


def test_every_step_type_passes_when_its_expectation_holds(tmp_path: Path) -> None:
    report = run_scenarios([write(tmp_path, "all.yaml", ALL_STEPS)])
    assert [(r.passed, r.failures) for r in report.results] == [(True, [])]
    assert report.exit_code == 0


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            'check: {action: contact, at: "2026-02-03T12:00:00+08:00", channel: call}\n'
            "expect: {allowed: false, violations: [contact.quiet_hours]}",
            "expected refused, got allowed",
        ),
        (
            'check: {action: contact, at: "2026-02-03T23:00:00+08:00", channel: call}\n'
            "expect: {violations: [contact.frequency]}",
            "expected contact.frequency among the violations, got ['contact.quiet_hours']",
        ),
        (
            'state: {at: "2026-02-10T12:00:00+08:00"}\nexpect: {stage: formal, dpd: 8}',
            "expected stage formal, got reminder",
        ),
        (
            'next_allowed: {channel: call, after: "2026-02-03T23:00:00+08:00"}\n'
            'expect: {at: "2026-02-04T01:00:00Z"}',
            "expected 2026-02-04T01:00:00+00:00, got 2026-02-04T00:00:00+00:00",
        ),
        (
            'next_allowed: {channel: call, after: "2026-02-03T23:00:00+08:00"}\n'
            "expect: {never: true}",
            "expected never, got 2026-02-04T00:00:00+00:00",
        ),
        (
            'apply: {type: escalate, at: "2026-02-05T10:00:00+08:00", to: negotiation}\n'
            "expect: {allowed: true}",
            "expected allowed, got refused (transition.min_dpd)",
        ),
    ],
)
def test_a_step_that_does_not_hold_fails_the_scenario_and_says_why(
    tmp_path: Path, step: str, message: str
) -> None:
    body = "steps:\n  - " + step.replace("\n", "\n    ")
    report = run_scenarios([write(tmp_path, "s.yaml", scenario("one", body))])
    (result,) = report.results
    assert not result.passed
    assert result.error is None
    assert any(message in f for f in result.failures), result.failures
    assert report.exit_code == 1


def test_a_refused_history_event_fails_the_scenario(tmp_path: Path) -> None:
    body = """\
    events:
      - {type: escalate, at: "2026-02-05T10:00:00+08:00", to: negotiation}
    """
    report = run_scenarios([write(tmp_path, "h.yaml", scenario("history", body))])
    (result,) = report.results
    assert not result.passed
    assert (
        "events[0] (escalate at 2026-02-05T10:00:00+08:00) was not accepted" in result.failures[0]
    )


# -- malformed files --------------------------------------------------------------------------


MALFORMED = [
    ("name: [unclosed", "", "", "not valid YAML"),
    (
        scenario("naive", 'steps:\n  - state: {at: "2026-02-10T12:00:00"}\n    expect: {dpd: 9}\n'),
        "naive",
        "steps[0].state.at",
        "naive",
    ),
    (
        scenario(
            "float",
            'events:\n  - {type: payment, at: "2026-02-10T12:00:00Z", amount: 12.5}\n',
        ),
        "float",
        "events[0].amount",
        "not float",
    ),
    (
        HEADER.format(name="zone").replace("Asia/Shanghai", "Asia/Beijing"),
        "zone",
        "borrower.timezones.0",
        "not an IANA time zone",
    ),
    (
        scenario("type", 'events:\n  - {type: phone_call, at: "2026-02-10T12:00:00Z"}\n'),
        "type",
        "events[0]",
        "does not match any of the expected tags",
    ),
    (
        scenario(
            "field",
            'events:\n  - {type: contact, at: "2026-02-10T12:00:00Z", channel: call,'
            " outcome: no_answer, mood: angry}\n",
        ),
        "field",
        "events[0].mood",
        "Extra inputs",
    ),
    (
        scenario(
            "step field",
            'steps:\n  - check: {action: contact, at: "2026-02-10T12:00:00Z", chanel: call}\n'
            "    expect: {allowed: true}\n",
        ),
        "step field",
        "steps[0].check.chanel",
        "Extra inputs",
    ),
    (scenario("unknown top", "colour: red\n"), "unknown top", "colour", "unknown field"),
    (
        HEADER.format(name="policy").replace("policy: cn", "policy: nowhere.yaml"),
        "policy",
        "policy",
        "no such policy file",
    ),
    (
        scenario(
            "two kinds",
            'steps:\n  - state: {at: "2026-02-10T12:00:00Z"}\n'
            '    check: {action: report, at: "2026-02-10T12:00:00Z"}\n',
        ),
        "two kinds",
        "steps[0]",
        "exactly one of",
    ),
]


@pytest.mark.parametrize(("text", "name", "field", "problem"), MALFORMED)
def test_a_malformed_file_names_the_file_scenario_field_and_problem(
    tmp_path: Path, text: str, name: str, field: str, problem: str
) -> None:
    bad = write(tmp_path, "bad.yaml", text)
    good = write(tmp_path, "good.yaml", ALL_STEPS)
    report = run_scenarios([tmp_path])
    by_file = {r.file: r for r in report.results}
    error = by_file[str(bad)].error
    assert error is not None
    assert error.startswith(str(bad))
    assert name in error
    assert field in error
    assert problem in error
    assert "Traceback" not in error
    assert by_file[str(good)].passed  # the other files still run
    assert report.exit_code == 2
    assert (report.passed, report.failed, report.errors) == (1, 0, 1)


def test_load_scenarios_reads_several_documents(tmp_path: Path) -> None:
    path = write(tmp_path, "two.yaml", ALL_STEPS, scenario("second", "steps: []\n"))
    names = [s.name for s in load_scenarios(path)]
    assert names == ["every step", "second"]


def test_json_report_shape(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", ALL_STEPS)
    data = json.loads(run_scenarios([tmp_path]).to_json())
    assert set(data) == {"passed", "failed", "errors", "scenarios"}
    assert data["scenarios"][0] == {
        "file": str(tmp_path / "a.yaml"),
        "name": "every step",
        "passed": True,
        "failures": [],
    }


def test_exit_codes() -> None:
    from staged_collection.scenarios import ScenarioResult

    assert Report().exit_code == 0
    failing = Report([ScenarioResult("f", "n", passed=False, failures=["x"])])
    assert failing.exit_code == 1
    erroring = Report([*failing.results, ScenarioResult("g", "", passed=False, error="bad")])
    assert erroring.exit_code == 2
