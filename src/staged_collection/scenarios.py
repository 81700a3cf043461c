"""Executable scenarios (format v1): files that pin what a policy must allow and refuse.

A scenario file holds one or more YAML documents (``---`` between them), each
a loan, a borrower, a history of events and steps that state what must hold::

    name: CN - a call at 22:00 Beijing time is refused
    policy: cn
    borrower: {id: B1, timezones: [Asia/Shanghai]}
    loan: {id: L1, currency: CNY, principal: "3000.00", opened: 2026-01-01,
           installments: [{due: 2026-02-01, amount: "3000.00"}]}
    events: []
    steps:
      - check: {action: contact, at: "2026-02-03T14:00:00Z", channel: call}
        expect: {allowed: false, violations: [contact.quiet_hours]}

``run_scenarios(paths)`` runs files and folders and reports each scenario; a
file that cannot be read is reported with the file, the scenario, the field
and what is wrong, and the other files still run.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from staged_collection.actions import ActionRequest, ContactAttempt
from staged_collection.borrower import Borrower
from staged_collection.case import Case
from staged_collection.engine import Engine
from staged_collection.errors import PolicyError, Refused, ScenarioError, StagedCollectionError
from staged_collection.events import Event, parse_event
from staged_collection.loan import Loan
from staged_collection.policy import PRESETS, Policy, load_policy

__all__ = [
    "Report",
    "Scenario",
    "ScenarioResult",
    "load_scenarios",
    "read_case",
    "read_request",
    "run_scenarios",
]

_STEP_KINDS = ("check", "state", "next_allowed", "apply")
_ACTION: TypeAdapter[ActionRequest] = TypeAdapter(ActionRequest)
_AWARE: TypeAdapter[dt.datetime] = TypeAdapter(dt.datetime, config=ConfigDict(title="timestamp"))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckExpect(_Strict):
    allowed: bool | None = None
    violations: list[str] = Field(default_factory=list)


class StateExpect(_Strict):
    stage: str | None = None
    bureau: str | None = None
    dpd: int | None = None
    holds: list[str] | None = None
    overdue: str | None = None
    balance: str | None = None
    bureau_disputed: bool | None = None
    placed_with: str | None = None
    plan_performing: bool | None = None


class NextExpect(_Strict):
    at: dt.datetime | None = None
    never: bool = False


@dataclass(frozen=True)
class Step:
    kind: str
    index: int
    at: dt.datetime
    request: ActionRequest | None = None  # check, next_allowed
    event: Event | None = None  # apply
    expect: Any = None


@dataclass(frozen=True)
class Scenario:
    """One scenario document, validated: what to run and what to expect."""

    file: str
    index: int
    name: str
    policy: Policy
    loan: Loan
    borrower: Borrower
    events: tuple[Event, ...]
    steps: tuple[Step, ...]

    @property
    def label(self) -> str:
        return self.name or f"#{self.index}"


@dataclass
class ScenarioResult:
    """How one scenario went: passed, or its failures (or the error that stopped it)."""

    file: str
    name: str
    passed: bool
    failures: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file,
            "name": self.name,
            "passed": self.passed,
            "failures": self.failures,
        }
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass
class Report:
    """Every scenario run: counts, and the exit status the runner returns."""

    results: list[ScenarioResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        return sum(not r.passed and r.error is None for r in self.results)

    @property
    def errors(self) -> int:
        return sum(r.error is not None for r in self.results)

    @property
    def exit_code(self) -> int:
        """2 if a file could not be read, else 1 if a scenario failed, else 0."""
        if self.errors:
            return 2
        return 1 if self.failed else 0

    def to_json(self) -> str:
        return json.dumps(
            {
                "passed": self.passed,
                "failed": self.failed,
                "errors": self.errors,
                "scenarios": [r.to_dict() for r in self.results],
            },
            ensure_ascii=False,
        )


# -- reading -------------------------------------------------------------------------------


def scenario_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """The ``.yaml``/``.yml`` files named, and those under the folders named, sorted."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            yield from sorted(
                f for f in path.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file()
            )
        else:
            yield path


def _yaml_documents(path: str | Path) -> list[Any]:
    """The YAML documents of a file (JSON is YAML), or a ``ScenarioError`` naming the file."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(file, "", "", f"cannot read the file: {exc.strerror}") from None
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ScenarioError(file, "", "", f"not valid YAML or JSON: {exc}") from None


def load_scenarios(path: str | Path) -> list[Scenario]:
    """Every scenario of one file; ``ScenarioError`` for the first thing that is wrong."""
    documents = _yaml_documents(path)
    if not documents:
        raise ScenarioError(str(path), "", "", "no scenario in the file")
    return [_scenario(Path(path), i, doc) for i, doc in enumerate(documents, start=1)]


_POLICIES: dict[str, Policy] = {}


def _policy(base: Path, ref: object, where: tuple[str, str]) -> Policy:
    if not isinstance(ref, str) or not ref:
        raise ScenarioError(*where, "policy", f"must be a preset ({', '.join(PRESETS)}) or a path")
    target = ref if ref in PRESETS else str((base.parent / ref).resolve())
    if target not in _POLICIES:
        try:
            _POLICIES[target] = load_policy(target)
        except PolicyError as exc:
            raise ScenarioError(*where, "policy", str(exc)) from None
    return _POLICIES[target]


def _scenario(path: Path, index: int, doc: object) -> Scenario:
    file = str(path)
    if not isinstance(doc, dict):
        raise ScenarioError(file, f"#{index}", "", "a scenario is a mapping of fields")
    name = doc.get("name")
    label = name if isinstance(name, str) and name else f"#{index}"
    where = (file, label)
    unknown = set(doc) - {"name", "policy", "borrower", "loan", "events", "steps"}
    if unknown:
        raise ScenarioError(*where, sorted(unknown)[0], "unknown field")
    for required in ("policy", "borrower", "loan"):
        if required not in doc:
            raise ScenarioError(*where, required, "required")
    policy = _policy(path, doc["policy"], where)
    loan = _validated(Loan, doc["loan"], where, "loan")
    borrower = _validated(Borrower, doc["borrower"], where, "borrower")
    raw_events = doc.get("events") or []
    if not isinstance(raw_events, list):
        raise ScenarioError(*where, "events", "must be a list")
    events = tuple(
        _event(e, loan.currency, where, f"events[{i}]") for i, e in enumerate(raw_events)
    )
    raw_steps = doc.get("steps") or []
    if not isinstance(raw_steps, list):
        raise ScenarioError(*where, "steps", "must be a list")
    steps = tuple(_step(s, i, loan.currency, where) for i, s in enumerate(raw_steps))
    return Scenario(file, index, label if name else "", policy, loan, borrower, events, steps)


def _validated(model: type[BaseModel], data: object, where: tuple[str, str], field: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _from_validation(exc, where, field) from None


def _first(exc: ValidationError) -> Any:
    # An unknown field is usually a misspelt one: name it before the field it leaves missing.
    errors = exc.errors(include_url=False)
    return next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])


def _from_validation(exc: ValidationError, where: tuple[str, str], prefix: str) -> ScenarioError:
    error = _first(exc)
    loc = [str(p) for p in error["loc"]]
    inner = ".".join(loc)
    path = ".".join(p for p in (prefix, inner) if p)
    problem = error["msg"]
    if "input" in error and not isinstance(error["input"], dict | list):
        problem += f" (got {error['input']!r})"
    return ScenarioError(*where, path, problem)


def _event(data: object, currency: str, where: tuple[str, str], path: str) -> Event:
    if not isinstance(data, dict):
        raise ScenarioError(*where, path, "an event is a mapping with a type")
    try:
        return parse_event(_texts(data), currency=currency)
    except ValidationError as exc:
        # pydantic prefixes the event type (``payment.amount``): say ``events[3].amount``.
        error = _first(exc)
        loc = [str(p) for p in error["loc"]]
        if loc and loc[0] == data.get("type"):
            loc = loc[1:]
        field = ".".join([path, *loc])
        problem = error["msg"]
        if "input" in error and not isinstance(error["input"], dict | list):
            problem += f" (got {error['input']!r})"
        raise ScenarioError(*where, field, problem) from None


def _texts(data: dict[str, Any]) -> dict[str, Any]:
    """YAML reads ``2026-02-03T14:00:00`` as a naive datetime: give pydantic the text back,
    so that a missing offset is refused rather than guessed, and dates stay dates."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dt.datetime):
            value = value.isoformat()
        elif isinstance(value, dict):
            value = _texts(value)
        elif isinstance(value, list):
            value = [_texts(v) if isinstance(v, dict) else v for v in value]
        out[key] = value
    return out


def _instant(value: object, where: tuple[str, str], path: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        value = value.isoformat()
    try:
        at = _AWARE.validate_python(value)
    except ValidationError as exc:
        raise _from_validation(exc, where, path) from None
    if at.tzinfo is None:
        raise ScenarioError(*where, path, f"needs an offset or Z: {value!r} is naive")
    return at


def _step(raw: object, index: int, currency: str, where: tuple[str, str]) -> Step:
    path = f"steps[{index}]"
    if not isinstance(raw, dict):
        raise ScenarioError(*where, path, f"a step is one of {', '.join(_STEP_KINDS)} with expect")
    kinds = [k for k in raw if k in _STEP_KINDS]
    extra = [k for k in raw if k not in (*_STEP_KINDS, "expect")]
    if extra:
        raise ScenarioError(*where, f"{path}.{extra[0]}", "unknown field")
    if len(kinds) != 1:
        raise ScenarioError(
            *where, path, f"needs exactly one of {', '.join(_STEP_KINDS)}, found {kinds or 'none'}"
        )
    kind = kinds[0]
    body = raw[kind]
    if not isinstance(body, dict):
        raise ScenarioError(*where, f"{path}.{kind}", "must be a mapping")
    body = _texts(body)
    expect_raw = raw.get("expect") or {}
    if not isinstance(expect_raw, dict):
        raise ScenarioError(*where, f"{path}.expect", "must be a mapping")
    expect_raw = _texts(expect_raw)
    if kind == "apply":
        event = _event(body, currency, where, f"{path}.apply")
        expect = _validated(CheckExpect, expect_raw, where, f"{path}.expect")
        return Step(kind, index, event.at, event=event, expect=expect)
    if kind == "state":
        unknown = set(body) - {"at"}
        if unknown:
            raise ScenarioError(*where, f"{path}.state.{sorted(unknown)[0]}", "unknown field")
        at = _instant(body.get("at"), where, f"{path}.state.at")
        expect = _validated(StateExpect, expect_raw, where, f"{path}.expect")
        return Step(kind, index, at, expect=expect)
    moment = "after" if kind == "next_allowed" else "at"
    fields = dict(body)
    at = _instant(fields.pop(moment, None), where, f"{path}.{kind}.{moment}")
    if kind == "next_allowed":
        fields.setdefault("action", "contact")
    try:
        request = _ACTION.validate_python(fields)
    except ValidationError as exc:
        error = _from_validation(exc, where, f"{path}.{kind}")
        raise _strip_tag(error, fields) from None
    if kind == "next_allowed":
        if not isinstance(request, ContactAttempt):
            raise ScenarioError(*where, f"{path}.next_allowed.action", "must be contact")
        expect = _validated(NextExpect, expect_raw, where, f"{path}.expect")
        if expect.at is None and not expect.never:
            raise ScenarioError(*where, f"{path}.expect", "give at (an instant) or never: true")
        if expect.at is not None and expect.at.tzinfo is None:
            raise ScenarioError(*where, f"{path}.expect.at", "needs an offset or Z")
    else:
        expect = _validated(CheckExpect, expect_raw, where, f"{path}.expect")
    return Step(kind, index, at, request=request, expect=expect)


def _strip_tag(error: ScenarioError, fields: dict[str, Any]) -> ScenarioError:
    # ``steps[0].check.contact.channel`` reads better as ``steps[0].check.channel``.
    tag = str(fields.get("action"))
    parts = error.field.split(".")
    if tag in parts:
        parts.remove(tag)
    return ScenarioError(error.file, error.scenario, ".".join(parts), error.problem)


# -- case and request files (the command line's input) ------------------------------------


def _read_document(path: str | Path) -> tuple[str, dict[str, Any]]:
    file = str(path)
    documents = _yaml_documents(path)
    data = documents[0] if len(documents) == 1 else None
    if not isinstance(data, dict):
        raise ScenarioError(file, "", "", "expected a mapping of fields")
    return file, data


def read_case(path: str | Path, policy: str | None = None) -> tuple[Engine, Case]:
    """A case file (``policy``, ``loan``, ``borrower``, ``events``) replayed into a case.

    ``policy`` (a preset or a path) overrides the file's own. Recorded contacts
    that broke the rules are kept as breaches: a case file is what happened.
    """
    file, data = _read_document(path)
    where = (file, "")
    unknown = set(data) - {"policy", "loan", "borrower", "events"}
    if unknown:
        raise ScenarioError(*where, sorted(unknown)[0], "unknown field")
    ref = policy if policy is not None else data.get("policy")
    if ref is None:
        raise ScenarioError(*where, "policy", "required (in the file or with --policy)")
    base = Path(path) if policy is None else Path.cwd() / "_"
    engine = _engine(_policy(base, ref, where))
    for required in ("loan", "borrower"):
        if required not in data:
            raise ScenarioError(*where, required, "required")
    loan = _validated(Loan, data["loan"], where, "loan")
    borrower = _validated(Borrower, data["borrower"], where, "borrower")
    raw = data.get("events") or []
    if not isinstance(raw, list):
        raise ScenarioError(*where, "events", "must be a list")
    events = [_event(e, loan.currency, where, f"events[{i}]") for i, e in enumerate(raw)]
    case = engine.open_case(loan, borrower)
    for i, event in enumerate(events):
        try:
            case = engine.apply(case, event, breach=True)
        except Refused as exc:
            raise ScenarioError(*where, f"events[{i}]", f"refused: {exc}") from None
        except StagedCollectionError as exc:
            raise ScenarioError(*where, f"events[{i}]", str(exc)) from None
    return engine, case


def read_request(path: str | Path, moment: str = "at") -> tuple[ActionRequest, dt.datetime]:
    """An action (``{action: contact, at: ..., channel: call}``) and its instant."""
    file, data = _read_document(path)
    where = (file, "")
    fields = _texts(data)
    if moment == "after" and "after" not in fields and "at" in fields:
        fields["after"] = fields.pop("at")
    at = _instant(fields.pop(moment, None), where, moment)
    fields.setdefault("action", "contact")
    try:
        request = _ACTION.validate_python(fields)
    except ValidationError as exc:
        raise _strip_tag(_from_validation(exc, where, ""), fields) from None
    return request, at


# -- running -------------------------------------------------------------------------------

_ENGINES: dict[str, Engine] = {}


def _engine(policy: Policy) -> Engine:
    if policy.fingerprint not in _ENGINES:
        _ENGINES[policy.fingerprint] = Engine(policy)
    return _ENGINES[policy.fingerprint]


def run_scenario(scenario: Scenario) -> ScenarioResult:
    """Replay the history, then run each step and compare with what it expects."""
    engine = _engine(scenario.policy)
    result = ScenarioResult(scenario.file, scenario.label, passed=True)
    fail = result.failures.append
    case = engine.open_case(scenario.loan, scenario.borrower)
    for i, event in enumerate(scenario.events):
        try:
            case = engine.apply(case, event)
        except (Refused, StagedCollectionError) as exc:
            fail(f"events[{i}] ({event.type} at {event.at.isoformat()}) was not accepted: {exc}")
            result.passed = False
            return result
    for step in scenario.steps:
        try:
            case = _run_step(engine, case, step, fail)
        except StagedCollectionError as exc:
            fail(f"steps[{step.index}] {step.kind}: {exc}")
    result.passed = not result.failures
    return result


def _run_step(engine: Engine, case: Case, step: Step, fail: Any) -> Case:
    where = f"steps[{step.index}] {step.kind}"
    if step.kind == "check":
        assert step.request is not None
        decision = engine.check(case, step.request, at=step.at)
        _compare(where, step.expect, decision.allowed, [str(c) for c in decision.codes], fail)
    elif step.kind == "state":
        _compare_state(where, step.expect, engine, case, step.at, fail)
    elif step.kind == "next_allowed":
        assert isinstance(step.request, ContactAttempt)
        found = engine.next_allowed(case, step.request, after=step.at)
        expect: NextExpect = step.expect
        if expect.never and found is not None:
            fail(f"{where}: expected never, got {found.astimezone(dt.UTC).isoformat()}")
        elif expect.at is not None and found != expect.at:
            got = "never" if found is None else found.astimezone(dt.UTC).isoformat()
            fail(f"{where}: expected {expect.at.astimezone(dt.UTC).isoformat()}, got {got}")
    else:
        assert step.event is not None
        try:
            new = engine.apply(case, step.event)
        except Refused as refused:
            codes = [str(c) for c in refused.decision.codes]
            _compare(where, step.expect, False, codes, fail)
            return case
        _compare(where, step.expect, True, [], fail)
        return new
    return case


def _compare(where: str, expect: CheckExpect, allowed: bool, codes: list[str], fail: Any) -> None:
    if expect.allowed is not None and expect.allowed != allowed:
        said = "refused" if not allowed else "allowed"
        detail = f" ({', '.join(codes)})" if codes else ""
        fail(f"{where}: expected {'allowed' if expect.allowed else 'refused'}, got {said}{detail}")
    missing = [c for c in expect.violations if c not in codes]
    if missing:
        fail(f"{where}: expected {', '.join(missing)} among the violations, got {codes or 'none'}")


def _compare_state(
    where: str, expect: StateExpect, engine: Engine, case: Case, at: dt.datetime, fail: Any
) -> None:
    state = engine.state(case, at=at)
    got: dict[str, object] = {
        "stage": str(state.stage),
        "bureau": str(state.bureau),
        "dpd": state.dpd,
        "holds": sorted(str(h) for h in state.holds),
        "overdue": state.overdue.amount,
        "balance": state.balance.amount,
        "bureau_disputed": state.bureau_disputed,
        "placed_with": state.placed_with,
        "plan_performing": state.plan_performing,
    }
    for key, wanted in expect.model_dump(exclude_none=True).items():
        value: object = wanted
        if key in ("overdue", "balance"):
            value = Decimal(str(wanted))
        if key == "holds":
            value = sorted(wanted)
        if got[key] != value:
            fail(f"{where}: expected {key} {wanted}, got {got[key]}")


def run_scenarios(paths: Iterable[str | Path]) -> Report:
    """Run every scenario under ``paths``; unreadable files are reported, the rest still run."""
    report = Report()
    for file in scenario_files(paths):
        try:
            scenarios = load_scenarios(file)
        except ScenarioError as exc:
            report.results.append(
                ScenarioResult(str(file), exc.scenario, passed=False, error=str(exc))
            )
            continue
        for scenario in scenarios:
            try:
                report.results.append(run_scenario(scenario))
            except Exception as exc:
                report.results.append(
                    ScenarioResult(
                        scenario.file,
                        scenario.label,
                        passed=False,
                        failures=[f"internal error: {type(exc).__name__}: {exc}"],
                    )
                )
    return report
