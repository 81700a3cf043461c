"""The scenario runner: every step type, every exit code, every malformed-file case;
and the shipped example scenarios, which must pass and cover every rule code."""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import pytest
import yaml

from staged_collection import DutyCode, RuleCode
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


def test_the_examples_open_every_duty_next_to_a_state_where_it_is_not_open() -> None:
    opened: dict[str, set[str]] = {}  # code -> documents where a state step expects it open
    overdue: dict[str, set[str]] = {}
    closed: dict[str, set[str]] = {}  # code -> documents where a state step expects it not open
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        for i, doc in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
            if not doc or "steps" not in doc:
                continue
            key = f"{path.name}#{i}"
            for step in doc["steps"]:
                expect = step.get("expect", {})
                duties, late = expect.get("duties"), expect.get("overdue_duties")
                for code in DutyCode:
                    if duties is not None and code.value in duties:
                        opened.setdefault(code.value, set()).add(key)
                    if duties == []:
                        closed.setdefault(code.value, set()).add(key)
                    if late is not None and code.value in late:
                        overdue.setdefault(code.value, set()).add(key)
    for code in DutyCode:
        both = opened.get(code.value, set()) & closed.get(code.value, set())
        assert both, f"no example opens {code.value} beside a state where it is not open"
        assert overdue.get(code.value), f"no example shows {code.value} overdue"


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
    steps:
      - state: {at: "2026-02-10T12:00:00+08:00"}
        expect: {stage: negotiation}
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
    second = scenario(
        "second", 'steps:\n  - state: {at: "2026-02-10T12:00:00Z"}\n    expect: {dpd: 9}\n'
    )
    path = write(tmp_path, "two.yaml", ALL_STEPS, second)
    names = [s.name for s in load_scenarios(path)]
    assert names == ["every step", "second"]


def test_json_report_shape(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", ALL_STEPS)
    data = json.loads(run_scenarios([tmp_path]).to_json())
    assert set(data) == {"passed", "failed", "errors", "crashed", "scenarios"}
    assert data["scenarios"][0] == {
        "file": str(tmp_path / "a.yaml"),
        "name": "every step",
        "passed": True,
        "failures": [],
    }


def test_exit_codes() -> None:
    from staged_collection.scenarios import ScenarioResult

    assert Report().exit_code == 2  # nothing ran: nothing was shown to hold
    passing = Report([ScenarioResult("f", "m", passed=True)])
    assert passing.exit_code == 0
    failing = Report([*passing.results, ScenarioResult("f", "n", passed=False, failures=["x"])])
    assert failing.exit_code == 1
    erroring = Report([*failing.results, ScenarioResult("g", "", passed=False, error="bad")])
    assert erroring.exit_code == 2
    crashing = Report([*erroring.results, ScenarioResult("h", "", passed=False, crash="Trace")])
    assert crashing.exit_code == 3
    assert (crashing.passed, crashing.failed, crashing.errors, crashing.crashed) == (1, 1, 1, 1)


# -- hostile files: one line each, naming the file and the line; the other files still run ---

ONE_STEP = 'steps:\n  - state: {at: "2026-02-10T12:00:00Z"}\n    expect: {dpd: 9}\n'
BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


def hostile_files() -> list[tuple[str, bytes, str]]:
    """(file name, its bytes, what the error must say) for each hostile input."""
    good = scenario("x", ONE_STEP)
    return [
        ("date.yaml", scenario("x", ONE_STEP.replace("2026-02-10", "2026-02-30")).encode(), "day"),
        ("opened.yaml", good.replace("opened: 2026-01-01", "opened: 2026-02-30").encode(), "day"),
        ("offset.yaml", good.replace('12:00:00Z"', '12:00:00+25:00"').encode(), "+25:00"),
        (
            "bare.yaml",
            good.replace('"2026-02-10T12:00:00Z"', "2026-02-10T12:00:00+25:00").encode(),
            "+25:00",
        ),
        ("digits.yaml", good.replace("dpd: 9", "dpd: " + "9" * 5000).encode(), "5,000 digits"),
        ("latin1.yaml", (good + "# caf\xe9\n").encode("latin-1"), "not UTF-8"),
        ("deep.yaml", (good + "events: " + "[" * 500 + "]" * 500 + "\n").encode(), "nested"),
        ("nul.yaml", good.replace("policy: cn", 'policy: "cn\\0.yaml"').encode(), "NUL"),
        ("bomb.yaml", (good + BOMB).encode(), "aliases"),
        ("twice.yaml", good.replace("policy: cn", "policy: cn\npolicy: us").encode(), "twice"),
    ]


@pytest.mark.parametrize(("name", "data", "problem"), hostile_files(), ids=lambda v: str(v)[:12])
def test_a_hostile_file_is_one_line_naming_file_and_line_and_the_others_still_run(
    tmp_path: Path, name: str, data: bytes, problem: str
) -> None:
    bad = tmp_path / name
    bad.write_bytes(data)
    good = write(tmp_path, "zz_good.yaml", ALL_STEPS)
    report = run_scenarios([bad, tmp_path / "nowhere.yaml", good])
    errors = [r.error for r in report.results if r.file == str(bad)]
    assert len(errors) == 1
    error = errors[0]
    assert error is not None
    assert re.match(rf"{re.escape(str(bad))}:\d+: ", error), error
    assert problem in error
    assert "\n" not in error
    assert [r.passed for r in report.results if r.file == str(good)] == [True]
    assert report.exit_code == 2
    assert report.crashed == 0


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/urandom", "fifo", "folder.yaml"])
def test_devices_pipes_and_folders_are_refused_without_reading_them(
    tmp_path: Path, special: str
) -> None:
    if special == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs here")
        special = str(tmp_path / "fifo.yaml")
        os.mkfifo(special)  # nobody writes to it: reading it would wait for ever
    elif special == "folder.yaml":
        special = str(tmp_path / "folder.yaml")
        os.mkdir(special)
        (Path(special) / "x.txt").write_text("not a scenario")
    elif not Path(special).exists():
        pytest.skip(f"no {special} here")
    report = run_scenarios([special])
    (result,) = report.results
    assert result.error is not None
    assert result.error.startswith(special)
    assert "not a regular file" in result.error or "no scenario in the folder" in result.error
    assert report.exit_code == 2


def test_a_file_larger_than_the_bound_is_refused(tmp_path: Path) -> None:
    from staged_collection import _files

    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(_files.MAX_BYTES + 1)  # sparse: no disk spent, and never read whole
    (result,) = run_scenarios([big]).results
    assert result.error is not None
    assert "larger than the limit" in result.error


SECRET = "root:x:0:0:SECRET-LINE-never-to-be-quoted"


@pytest.mark.parametrize(
    "ref",
    [
        "../outside/secret.yaml",
        "{outside}/secret.yaml",
        "inner/../../outside/secret.yaml",
        "link.yaml",  # a symlink in the folder, pointing out of it
    ],
)
def test_policy_paths_stay_inside_the_scenarios_folder(tmp_path: Path, ref: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text(f"{SECRET}\n[unclosed\n")
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "inner").mkdir()
    if ref == "link.yaml":
        (folder / "link.yaml").symlink_to(outside / "secret.yaml")
    ref = ref.format(outside=outside)
    text = scenario("peek", ONE_STEP).replace("policy: cn", f"policy: {ref}")
    path = write(folder, "peek.yaml", text)
    (result,) = run_scenarios([path]).results
    assert result.error is not None
    assert result.error.startswith(f"{path}:2: peek: policy: ")
    assert "absolute path" in result.error or "outside" in result.error
    assert "SECRET" not in result.error
    assert "unclosed" not in result.error


def test_a_policy_beside_the_scenario_is_read_and_passed_over_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "strict.yaml").write_text(
        "extends: cn\ncontact:\n  rest_days: {weekdays: [2], citation: Lender}\n"
    )
    body = """\
    steps:
      - check: {action: contact, at: "2026-02-03T12:00:00+08:00", channel: call}
        expect: {allowed: false, violations: [contact.rest_day]}
    """
    text = scenario("own policy", body).replace("policy: cn", "policy: sub/strict.yaml")
    write(tmp_path, "own.yaml", text)
    report = run_scenarios([tmp_path])
    assert [(r.name, r.passed) for r in report.results] == [("own policy", True)]
    named = run_scenarios([tmp_path / "sub" / "strict.yaml"])
    assert named.exit_code == 2
    assert "a policy file, not a scenario" in str(named.results[0].error)


# -- the runner asserts something --------------------------------------------------------------


def test_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    report = run_scenarios([tmp_path])
    (result,) = report.results
    assert (
        result.error == f"{tmp_path}: no scenario in the folder (scenarios are .yaml or .yml files)"
    )
    assert report.exit_code == 2


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        (scenario("no steps", ""), "steps", "required"),
        (scenario("empty steps", "steps: []\n"), "steps", "empty"),
        (
            scenario("no expect", 'steps:\n  - state: {at: "2026-02-10T12:00:00Z"}\n'),
            "steps[0].expect",
            "required",
        ),
        (
            scenario(
                "empty expect",
                'steps:\n  - check: {action: report, at: "2026-02-10T12:00:00Z"}\n    expect: {}\n',
            ),
            "steps[0].expect",
            "states nothing",
        ),
        (
            scenario(
                "empty state expect",
                'steps:\n  - state: {at: "2026-02-10T12:00:00Z"}\n    expect: {holds: null}\n',
            ),
            "steps[0].expect",
            "states nothing",
        ),
        (
            scenario(
                "contradiction",
                'steps:\n  - check: {action: report, at: "2026-02-10T12:00:00Z"}\n'
                "    expect: {allowed: true, violations: [bureau.min_dpd]}\n",
            ),
            "steps[0].expect.violations",
            "cannot hold",
        ),
    ],
)
def test_a_scenario_that_asserts_nothing_is_an_error(
    tmp_path: Path, text: str, field: str, problem: str
) -> None:
    path = write(tmp_path, "empty.yaml", text)
    report = run_scenarios([path])
    (result,) = report.results
    assert result.error is not None
    assert f": {field}: {problem}" in result.error
    assert report.exit_code == 2


def test_a_case_file_is_not_a_scenario(tmp_path: Path) -> None:
    case = tmp_path / "case.json"
    case.write_text(
        json.dumps(
            {
                "policy": "cn",
                "borrower": {"id": "B1", "timezones": ["Asia/Shanghai"]},
                "loan": yaml.safe_load(HEADER.format(name="x"))["loan"],
                "events": [],
            },
            default=str,
        )
    )
    (result,) = run_scenarios([case]).results
    assert result.error is not None
    assert "steps: required" in result.error
    assert "looks like a case file" in result.error


def test_one_broken_document_hides_none_of_the_others(tmp_path: Path) -> None:
    broken = scenario("broken", ONE_STEP).replace("Asia/Shanghai", "Asia/Beijing")
    path = write(tmp_path, "three.yaml", scenario("first", ONE_STEP), broken, ALL_STEPS)
    report = run_scenarios([path])
    assert [(r.name, r.passed, r.error is not None) for r in report.results] == [
        ("first", True, False),
        ("broken", False, True),
        ("every step", True, False),
    ]
    assert report.exit_code == 2


def test_a_yaml_break_keeps_the_documents_before_it(tmp_path: Path) -> None:
    path = write(tmp_path, "cut.yaml", scenario("first", ONE_STEP), "name: [unclosed\n")
    report = run_scenarios([path])
    assert [r.passed for r in report.results] == [True, False]
    error = report.results[1].error
    assert error is not None
    assert re.match(rf"{re.escape(str(path))}:\d+: not valid YAML: .*; the rest of the file", error)


# -- a crash is a crash ------------------------------------------------------------------------


def test_an_engine_crash_is_reported_as_a_crash_not_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from staged_collection.engine import Engine

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("the engine broke")

    monkeypatch.setattr(Engine, "check", broken)
    report = run_scenarios([write(tmp_path, "a.yaml", ALL_STEPS, scenario("b", ONE_STEP))])
    crashed, fine = report.results
    assert crashed.crash is not None
    assert "ZeroDivisionError: the engine broke" in crashed.crash
    assert "Traceback" in crashed.crash
    assert crashed.failures == []  # not dressed up as a failed expectation
    assert fine.passed  # the other scenarios still run
    assert (report.failed, report.crashed, report.exit_code) == (0, 1, 3)


# -- a policy file that changes is read again ----------------------------------------------------


def test_a_changed_policy_file_is_read_again(tmp_path: Path) -> None:
    policy = tmp_path / "ours.yaml"
    base = tmp_path / "base.yaml"
    base.write_text("extends: cn\n")
    policy.write_text("extends: base.yaml\n")
    body = """\
    steps:
      - check: {action: contact, at: "2026-02-03T12:00:00+08:00", channel: call}
        expect: {allowed: true}
    """
    path = write(
        tmp_path, "s.yaml", scenario("tuesday", body).replace("policy: cn", "policy: ours.yaml")
    )
    assert run_scenarios([path]).exit_code == 0
    # Same size, same second: only the content tells the change.
    policy.write_text("extends: base.yaml\ncontact: {rest_days: {weekdays: [2], citation: Ours}}\n")
    assert run_scenarios([path]).exit_code == 1
    policy.write_text("extends: base.yaml\n")
    assert run_scenarios([path]).exit_code == 0
    base.write_text("extends: cn\ncontact: {rest_days: {weekdays: [2], citation: Base}}\n")
    assert run_scenarios([path]).exit_code == 1  # a change in the file it extends counts too


def test_the_caches_are_bounded(tmp_path: Path) -> None:
    from staged_collection import scenarios

    paths = []
    for i in range(40):
        (tmp_path / f"p{i}.yaml").write_text(f"extends: cn\nname: p{i}\n")
        text = scenario(f"s{i}", ONE_STEP).replace("policy: cn", f"policy: p{i}.yaml")
        paths.append(write(tmp_path, f"s{i}.yaml", text))
    report = run_scenarios(paths)
    assert report.passed == 40
    assert 0 < len(scenarios._POLICIES) <= 32
    assert 0 < len(scenarios._ENGINES) <= 16
