"""Bad input never crashes: random JSON-like data into loans, events, policies and scenario
documents. The only exceptions that may escape are the documented ones (pydantic's
``ValidationError``, ``PolicyError``, ``ScenarioError``), and each names the field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from staged_collection import Loan, PolicyError, ScenarioError, load_policy, parse_event
from staged_collection.scenarios import load_scenarios, run_scenarios

ROOT = Path(__file__).resolve().parent.parent

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["2026-02-30", "25:00", "+08:00", "NaN", "1e999", "CNY", "call", "", "Z"])
)
json_like = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

VALID_LOAN: dict[str, Any] = {
    "id": "L1",
    "currency": "CNY",
    "principal": "3000.00",
    "opened": "2026-01-01",
    "installments": [
        {"due": "2026-02-01", "amount": "1000.00"},
        {"due": "2026-03-01", "amount": "2000.00"},
    ],
}
VALID_EVENTS: list[dict[str, Any]] = [
    {"type": "payment", "at": "2026-02-03T10:00:00Z", "amount": "10.00"},
    {"type": "contact", "at": "2026-02-03T10:00:00Z", "channel": "call", "outcome": "busy"},
    {"type": "hold", "at": "2026-02-03T10:00:00Z", "kind": "hardship", "until": "2026-02-10"},
    {
        "type": "consent",
        "at": "2026-02-03T10:00:00Z",
        "channel": "call",
        "until": "2026-02-04T10:00:00Z",
    },
    {"type": "refer", "at": "2026-02-03T10:00:00Z", "agency": "A", "evaluated_on": "2026-01-01"},
    {
        "type": "preference",
        "at": "2026-02-03T10:00:00Z",
        "inconvenient": [{"start": "12:00", "end": "13:00"}],
    },
]


E = TypeVar("E", bound=BaseException)


def raised(expected: type[E], fn: Callable[..., object], *args: Any) -> E | None:
    """The documented exception ``fn`` raised, or None; any other exception fails the test."""
    try:
        fn(*args)
    except expected as exc:
        return exc
    return None


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a JSON-like document."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths(v, (*prefix, i))
    return out


def replaced(doc: Any, path: tuple[Any, ...], junk: Any) -> Any:
    doc = copy.deepcopy(doc)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = junk
    return doc


def names_the_path(loc: tuple[Any, ...] | str, path: tuple[Any, ...]) -> bool:
    """The error's location and the mutated path lie on one branch of the document."""
    parts = [str(p) for p in (loc.split(".") if isinstance(loc, str) else loc) if p != "[key]"]
    mutated = [str(p) for p in path]
    shared = min(len(parts), len(mutated))
    return parts[:shared] == mutated[:shared]


@given(data=json_like)
def test_random_data_is_refused_as_a_validation_error(data: Any) -> None:
    for build in (Loan.model_validate, lambda d: parse_event(d, currency="CNY")):
        exc = raised(ValidationError, build, data)
        if exc is not None:
            assert exc.errors(), exc
            assert all("loc" in e and e["msg"] for e in exc.errors())


@given(data=st.data(), junk=json_like)
def test_a_loan_with_one_field_broken_names_that_field(data: st.DataObject, junk: Any) -> None:
    path = data.draw(st.sampled_from(paths(VALID_LOAN)))
    exc = raised(ValidationError, Loan.model_validate, replaced(VALID_LOAN, path, junk))
    if exc is not None:
        locs = [e["loc"] for e in exc.errors()]
        assert any(names_the_path(loc, path) for loc in locs), (path, locs)


@given(data=st.data(), junk=json_like)
def test_an_event_with_one_field_broken_names_that_field(data: st.DataObject, junk: Any) -> None:
    event = data.draw(st.sampled_from(VALID_EVENTS))
    path = data.draw(st.sampled_from([p for p in paths(event) if p != ("type",)]))
    doc = replaced(event, path, junk)
    exc = raised(ValidationError, lambda: parse_event(doc, currency="CNY"))
    if exc is not None:
        locs = [e["loc"][1:] for e in exc.errors()]  # pydantic prefixes the event type
        assert any(not loc or names_the_path(loc, path) for loc in locs), (path, locs)


PRESET = load_policy("us").model_dump(mode="json")
PRESET_PATHS = [p for p in paths(PRESET) if p[0] not in ("name", "description")]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), junk=json_like)
def test_a_policy_with_one_field_broken_is_refused_naming_file_and_field(
    tmp_path: Path, data: st.DataObject, junk: Any
) -> None:
    path = data.draw(st.sampled_from(PRESET_PATHS))
    file = tmp_path / "policy.json"
    file.write_text(json.dumps(replaced(PRESET, path, junk), default=str))
    exc = raised(PolicyError, load_policy, file)
    if exc is not None:
        assert exc.source == str(file)
        assert names_the_path(exc.field, path) or exc.field in ("holds", ""), (path, exc.field)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200) | json_like.map(lambda d: yaml.safe_dump(d)))
def test_a_random_policy_file_is_a_policy_error(tmp_path: Path, text: str) -> None:
    file = tmp_path / "random.yaml"
    file.write_text(text, encoding="utf-8")
    exc = raised(PolicyError, load_policy, file)
    if exc is not None:
        assert exc.source == str(file)


SCENARIO = yaml.safe_load(
    (ROOT / "examples" / "scenarios" / "cn" / "contact_hours.yaml").read_text().split("---")[0]
)
SCENARIO_PATHS = paths(SCENARIO)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=150)
@given(data=st.data(), junk=json_like)
def test_a_scenario_with_one_field_broken_is_reported_never_raised(
    tmp_path: Path, data: st.DataObject, junk: Any
) -> None:
    path = data.draw(st.sampled_from(SCENARIO_PATHS))
    file = tmp_path / "s.yaml"
    file.write_text(yaml.safe_dump(replaced(SCENARIO, path, junk), allow_unicode=True))
    exc = raised(ScenarioError, load_scenarios, file)
    if exc is not None:
        assert exc.file == str(file)
        assert exc.problem
    report = run_scenarios([file])  # never raises: errors and failures are reported
    for result in report.results:
        assert result.error is None or result.error.startswith(str(file))
        assert result.error is None or "\n" not in result.error
        assert result.crash is None, result.crash
        assert all("Traceback" not in f for f in result.failures)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.lists(json_like, min_size=1, max_size=3))
def test_random_scenario_documents_are_errors_not_crashes(tmp_path: Path, docs: list[Any]) -> None:
    file = tmp_path / "r.yaml"
    file.write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    report = run_scenarios([file])
    assert report.exit_code in (0, 1, 2)
    for result in report.results:
        assert result.crash is None, result.crash
        if result.error is not None:
            assert result.error.startswith(str(file))
            assert "\n" not in result.error
