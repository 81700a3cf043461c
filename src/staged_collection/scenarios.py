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
scenario that cannot be read is reported with the file, the line, the
scenario, the field and what is wrong, and the other scenarios still run. A
crash of the library is reported as a crash, never as a failed expectation.
Files are read by ``_files``: bounded, regular, UTF-8, YAML without aliases.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import traceback
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from staged_collection import _files
from staged_collection._privacy import PERSONAL_FIELDS
from staged_collection.actions import ActionRequest, ContactAttempt
from staged_collection.borrower import Borrower
from staged_collection.case import Case
from staged_collection.document import CaseDocument
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
K = TypeVar("K")
V = TypeVar("V")
_ACTION: TypeAdapter[ActionRequest] = TypeAdapter(ActionRequest)
_AWARE: TypeAdapter[dt.datetime] = TypeAdapter(dt.datetime, config=ConfigDict(title="timestamp"))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckExpect(_Strict):
    allowed: bool | None = None
    violations: list[str] = Field(default_factory=list)


_Amount = Annotated[str, Field(pattern=r"^-?[0-9]{1,18}(\.[0-9]{1,18})?$")]


class StateExpect(_Strict):
    stage: str | None = None
    bureau: str | None = None
    dpd: int | None = None
    holds: list[str] | None = None
    overdue: _Amount | None = None
    balance: _Amount | None = None
    bureau_disputed: bool | None = None
    placed_with: str | None = None
    plan_performing: bool | None = None
    duties: list[str] | None = None  # codes that must be open (others may be); [] for none
    overdue_duties: list[str] | None = None  # likewise, overdue
    validation_period_ends: dt.datetime | None = None


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
    """How one scenario went: passed, or its failures, or the input error that stopped it
    (``error``), or the crash of the library itself (``crash``: the traceback)."""

    file: str
    name: str
    passed: bool
    failures: list[str] = field(default_factory=list)
    error: str | None = None
    crash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file,
            "name": self.name,
            "passed": self.passed,
            "failures": self.failures,
        }
        if self.error is not None:
            out["error"] = self.error
        if self.crash is not None:
            out["crash"] = self.crash
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
        return sum(not r.passed and r.error is None and r.crash is None for r in self.results)

    @property
    def errors(self) -> int:
        return sum(r.error is not None for r in self.results)

    @property
    def crashed(self) -> int:
        return sum(r.crash is not None for r in self.results)

    @property
    def exit_code(self) -> int:
        """3 if the library crashed; else 2 if input could not be read or nothing ran;
        else 1 if a scenario failed; else 0."""
        if self.crashed:
            return 3
        if self.errors or not self.results:
            return 2
        return 1 if self.failed else 0

    def to_json(self) -> str:
        return json.dumps(
            {
                "passed": self.passed,
                "failed": self.failed,
                "errors": self.errors,
                "crashed": self.crashed,
                "scenarios": [r.to_dict() for r in self.results],
            },
            ensure_ascii=False,
        )


# -- reading -------------------------------------------------------------------------------

_SCENARIO_FIELDS = ("name", "policy", "borrower", "loan", "events", "steps")
# A document holding these, and none of the scenario's own fields, is a policy file: scenarios
# name it with ``policy:``, so a folder may hold it beside them.
_POLICY_FIELDS = frozenset(
    {"extends", "jurisdiction", "home_timezone", "ladder", "legal", "bureau", "holds", "contact"}
)


def _is_policy(data: object) -> bool:
    return (
        isinstance(data, dict)
        and bool(_POLICY_FIELDS & data.keys())
        and not {"policy", "borrower", "loan", "events", "steps"} & data.keys()
    )


def _folder_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file())


def _read_text(file: str | Path) -> str:
    try:
        return _files.read_text(file)
    except _files.FileProblem as exc:
        raise ScenarioError(str(file), "", "", exc.problem, exc.line) from None


def load_scenarios(path: str | Path) -> list[Scenario]:
    """Every scenario of one file; ``ScenarioError`` for the first thing that is wrong."""
    file = str(path)
    scenarios: list[Scenario] = []
    try:
        for document in _files.yaml_documents(_read_text(path)):
            if document.data is not None:
                scenarios.append(_scenario(Path(path), len(scenarios) + 1, document))
    except _files.FileProblem as exc:
        raise ScenarioError(file, "", "", exc.problem, exc.line) from None
    if not scenarios:
        raise ScenarioError(file, "", "", "no scenario in the file")
    return scenarios


class _Recent(Generic[K, V]):
    """A mapping that keeps the ``size`` entries used last: caches that cannot grow."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


# A policy is read again when a file it was read from (the file, or one it extends) has
# changed since: a run must never judge by rules that are no longer on disk.
_POLICIES: _Recent[str, tuple[Policy, tuple[_files.Read, ...]]] = _Recent(32)


def _load_policy(target: str) -> Policy:
    cached = _POLICIES.get(target)
    if cached is not None and _files.unchanged(cached[1]):
        return cached[0]
    with _files.recording() as reads:
        policy = load_policy(target)
    _POLICIES.put(target, (policy, tuple(reads)))
    return policy


def _policy(ref: object, where: tuple[str, str], directory: Path) -> Policy:
    """The policy a file names: a preset, or a file in ``directory`` (the folder of the file
    that names it) or below."""
    if not isinstance(ref, str) or not ref:
        raise ScenarioError(*where, "policy", f"must be a preset ({', '.join(PRESETS)}) or a path")
    if ref in PRESETS:
        target = ref
    else:
        try:
            target = str(_files.inside(directory, ref))
        except _files.FileProblem as exc:
            raise ScenarioError(*where, "policy", exc.problem) from None
    try:
        return _load_policy(target)
    except PolicyError as exc:
        raise ScenarioError(*where, "policy", str(exc)) from None


def _scenario(path: Path, index: int, document: _files.Document) -> Scenario:
    try:
        return _scenario_fields(path, index, document.data)
    except ScenarioError as exc:
        raise _with_line(document, exc) from None


def _scenario_fields(path: Path, index: int, doc: object) -> Scenario:
    file = str(path)
    if not isinstance(doc, dict):
        raise ScenarioError(file, f"#{index}", "", "a scenario is a mapping of fields")
    name = doc.get("name")
    label = name if isinstance(name, str) and name else f"#{index}"
    where = (file, label)
    if _is_policy(doc):
        raise ScenarioError(*where, "", _A_POLICY)
    unknown = set(doc) - set(_SCENARIO_FIELDS)
    if unknown:
        raise ScenarioError(*where, sorted(map(str, unknown))[0], "unknown field")
    for required in ("policy", "borrower", "loan"):
        if required not in doc:
            raise ScenarioError(*where, required, "required")
    policy = _policy(doc["policy"], where, path.parent)
    case = _document({k: doc[k] for k in ("loan", "borrower", "events") if k in doc}, where)
    loan, borrower, events = case.loan, case.borrower, case.events
    raw_steps = doc.get("steps")
    if raw_steps is None:
        hint = "; this looks like a case file" if "events" in doc else ""
        raise ScenarioError(*where, "steps", f"required: the steps state what must hold{hint}")
    if not isinstance(raw_steps, list):
        raise ScenarioError(*where, "steps", "must be a list")
    if not raw_steps:
        raise ScenarioError(*where, "steps", "empty: a scenario needs at least one step")
    steps = tuple(_step(s, i, loan.currency, where) for i, s in enumerate(raw_steps))
    return Scenario(file, index, label if name else "", policy, loan, borrower, events, steps)


_A_POLICY = "a policy file, not a scenario: a scenario names it with policy: <file>"


def _document(data: dict[str, Any], where: tuple[str, str]) -> CaseDocument:
    """The case part of a scenario or a case file, through the one case document model."""
    if data.get("events") is None:
        data = {**data, "events": []}
    elif not isinstance(data["events"], list):
        raise ScenarioError(*where, "events", "must be a list")
    for i, event in enumerate(data["events"]):
        if not isinstance(event, dict):
            raise ScenarioError(*where, f"events[{i}]", "an event is a mapping with a type")
    try:
        return CaseDocument.read(data)
    except ValidationError as exc:
        error = _first(exc)
        loc = [str(p) for p in error["loc"]]
        # pydantic names the event's type (``events.3.payment.amount``): say ``events[3].amount``.
        if len(loc) >= 2 and loc[0] == "events" and loc[1].isdigit():
            index = int(loc[1])
            rest = loc[2:]
            if rest and rest[0] == data["events"][index].get("type"):
                rest = rest[1:]
            loc = [f"events[{index}]", *rest]
        raise ScenarioError(*where, ".".join(loc), _problem(error)) from None


def _validated(model: type[BaseModel], data: object, where: tuple[str, str], field: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _from_validation(exc, where, field) from None


def _first(exc: ValidationError) -> Any:
    # An unknown field is usually a misspelt one: name it before the field it leaves missing.
    errors = exc.errors(include_url=False)
    return next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])


def _problem(error: Any) -> str:
    """pydantic's message for one error, with the value it refused, unless that value is
    personal data (a phone number, a relation): a message never quotes those."""
    problem: str = error["msg"]
    personal = any(str(part) in PERSONAL_FIELDS for part in error["loc"])
    if "input" in error and not personal and not isinstance(error["input"], dict | list):
        problem += f" (got {error['input']!r})"
    return problem


def _from_validation(exc: ValidationError, where: tuple[str, str], prefix: str) -> ScenarioError:
    error = _first(exc)
    loc = [str(p) for p in error["loc"]]
    inner = ".".join(loc)
    path = ".".join(p for p in (prefix, inner) if p)
    return ScenarioError(*where, path, _problem(error))


def _event(data: object, currency: str, where: tuple[str, str], path: str) -> Event:
    if not isinstance(data, dict):
        raise ScenarioError(*where, path, "an event is a mapping with a type")
    try:
        return parse_event(data, currency=currency)
    except ValidationError as exc:
        # pydantic prefixes the event type (``payment.amount``): say ``events[3].amount``.
        error = _first(exc)
        loc = [str(p) for p in error["loc"]]
        if loc and loc[0] == data.get("type"):
            loc = loc[1:]
        raise ScenarioError(*where, ".".join([path, *loc]), _problem(error)) from None


def _instant(value: object, where: tuple[str, str], path: str) -> dt.datetime:
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
    extra = [str(k) for k in raw if k not in (*_STEP_KINDS, "expect")]
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
    if "expect" not in raw:
        raise ScenarioError(*where, f"{path}.expect", "required: a step states what it expects")
    expect_raw = raw["expect"] if raw["expect"] is not None else {}
    if not isinstance(expect_raw, dict):
        raise ScenarioError(*where, f"{path}.expect", "must be a mapping")
    if kind == "apply":
        event = _event(body, currency, where, f"{path}.apply")
        expect = _check_expect(expect_raw, where, f"{path}.expect")
        return Step(kind, index, event.at, event=event, expect=expect)
    if kind == "state":
        unknown = sorted(map(str, set(body) - {"at"}))
        if unknown:
            raise ScenarioError(*where, f"{path}.state.{unknown[0]}", "unknown field")
        at = _instant(body.get("at"), where, f"{path}.state.at")
        expect = _validated(StateExpect, expect_raw, where, f"{path}.expect")
        if not expect.model_dump(exclude_none=True):
            known = ", ".join(StateExpect.model_fields)
            raise ScenarioError(*where, f"{path}.expect", f"states nothing: give one of {known}")
        ends = expect.validation_period_ends
        if ends is not None and ends.tzinfo is None:
            raise ScenarioError(
                *where, f"{path}.expect.validation_period_ends", "needs an offset or Z"
            )
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
        expect = _check_expect(expect_raw, where, f"{path}.expect")
    return Step(kind, index, at, request=request, expect=expect)


def _check_expect(raw: dict[str, Any], where: tuple[str, str], path: str) -> CheckExpect:
    expect: CheckExpect = _validated(CheckExpect, raw, where, path)
    if expect.allowed is None and not expect.violations:
        raise ScenarioError(*where, path, "states nothing: give allowed or violations")
    if expect.allowed and expect.violations:
        raise ScenarioError(
            *where, f"{path}.violations", "cannot hold with allowed: true (no violation at all)"
        )
    return expect


def _strip_tag(error: ScenarioError, fields: dict[str, Any]) -> ScenarioError:
    # ``steps[0].check.contact.channel`` reads better as ``steps[0].check.channel``.
    tag = str(fields.get("action"))
    parts = error.field.split(".")
    if tag in parts:
        parts.remove(tag)
    return ScenarioError(error.file, error.scenario, ".".join(parts), error.problem)


# -- case and request files (the command line's input) ------------------------------------


def _read_document(path: str | Path) -> tuple[str, _files.Document]:
    file = str(path)
    try:
        documents = [d for d in _files.yaml_documents(_read_text(path)) if d.data is not None]
    except _files.FileProblem as exc:
        raise ScenarioError(file, "", "", exc.problem, exc.line) from None
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        raise ScenarioError(file, "", "", "expected one mapping of fields")
    return file, documents[0]


def _with_line(document: _files.Document, exc: ScenarioError) -> ScenarioError:
    """``exc`` with the line of its field, its text made one line (keys and values in a
    message are the file's own, and may hold newlines or terminal escapes)."""
    line = exc.line if exc.line is not None else document.line_of(exc.field)
    return ScenarioError(
        exc.file,
        _files.one_line(exc.scenario, 100),
        _files.one_line(exc.field, 200),
        _files.one_line(exc.problem),
        line,
    )


def read_case(path: str | Path, policy: str | None = None) -> tuple[Engine, Case]:
    """A case file (``policy``, ``loan``, ``borrower``, ``events``) replayed into a case.

    ``policy`` (a preset or a path) overrides the file's own; a path in the
    file names a file in the case file's folder or below. Recorded contacts
    that broke the rules are kept as breaches: a case file is what happened.
    """
    given = None
    if policy is not None:  # named by the caller, not by the file: a preset or any path
        given = _engine(_load_policy(policy if policy in PRESETS else os.path.abspath(policy)))
    file, document = _read_document(path)
    try:
        return _case(file, document.data, given)
    except ScenarioError as exc:
        raise _with_line(document, exc) from None


def _case(file: str, data: dict[str, Any], engine: Engine | None) -> tuple[Engine, Case]:
    where = (file, "")
    unknown = set(data) - {"policy", "loan", "borrower", "events"}
    if unknown:
        raise ScenarioError(*where, sorted(map(str, unknown))[0], "unknown field")
    if engine is None:
        if "policy" not in data:
            raise ScenarioError(*where, "policy", "required (in the file or with --policy)")
        engine = _engine(_policy(data["policy"], where, Path(file).parent))
    for required in ("loan", "borrower"):
        if required not in data:
            raise ScenarioError(*where, required, "required")
    document = _document({k: v for k, v in data.items() if k != "policy"}, where)
    case = engine.open_case(document.loan, document.borrower)
    for i, event in enumerate(document.events):
        try:
            case = engine.apply(case, event, breach=True)
        except Refused as exc:
            raise ScenarioError(*where, f"events[{i}]", f"refused: {exc}") from None
        except StagedCollectionError as exc:
            raise ScenarioError(*where, f"events[{i}]", str(exc)) from None
    return engine, case


def read_request(path: str | Path, moment: str = "at") -> tuple[ActionRequest, dt.datetime]:
    """An action (``{action: contact, at: ..., channel: call}``) and its instant.

    With ``moment="after"`` (the search of ``next-allowed``) the action must be a contact.
    """
    file, document = _read_document(path)
    where = (file, "")
    fields = dict(document.data)
    if moment == "after" and "after" not in fields and "at" in fields:
        fields["after"] = fields.pop("at")
    try:
        at = _instant(fields.pop(moment, None), where, moment)
        fields.setdefault("action", "contact")
        try:
            request = _ACTION.validate_python(fields)
        except ValidationError as exc:
            raise _strip_tag(_from_validation(exc, where, ""), fields) from None
        if moment == "after" and not isinstance(request, ContactAttempt):
            raise ScenarioError(*where, "action", "must be contact: the search is for contacts")
    except ScenarioError as exc:
        raise _with_line(document, exc) from None
    return request, at


# -- running -------------------------------------------------------------------------------

_ENGINES: _Recent[str, Engine] = _Recent(16)


def _engine(policy: Policy) -> Engine:
    engine = _ENGINES.get(policy.fingerprint)
    if engine is None:
        engine = Engine(policy)
        _ENGINES.put(policy.fingerprint, engine)
    return engine


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
        "validation_period_ends": state.validation_period_ends,
    }
    duties = {
        "duties": [str(d.code) for d in state.duties],
        "overdue_duties": [str(d.code) for d in state.duties if d.overdue],
    }
    for key, wanted in expect.model_dump(exclude_none=True).items():
        if key in duties:
            _compare_codes(where, key, wanted, duties[key], fail)
            continue
        value: object = wanted
        if key in ("overdue", "balance"):
            value = Decimal(str(wanted))
        if key == "holds":
            value = sorted(wanted)
        if got[key] != value:
            fail(f"{where}: expected {key} {_shown(wanted)}, got {_shown(got[key])}")


def _shown(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return str(value)


def _compare_codes(where: str, key: str, wanted: list[str], got: list[str], fail: Any) -> None:
    """Codes that must be open (others may be); an empty list: none may be."""
    if not wanted and got:
        fail(f"{where}: expected no {key.replace('_', ' ')}, got {', '.join(got)}")
    missing = [c for c in wanted if c not in got]
    if missing:
        fail(
            f"{where}: expected {', '.join(missing)} among the {key.replace('_', ' ')}, "
            f"got {', '.join(got) or 'none'}"
        )


def run_scenarios(paths: Iterable[str | Path]) -> Report:
    """Run every scenario under ``paths``; what cannot be read is reported, the rest still run.

    A folder is searched for ``.yaml`` and ``.yml`` files; the policy files
    among them (which scenarios name with ``policy:``) are not scenarios and
    are passed over. A folder with no scenario, a file with none, a scenario
    with no step and a step with no expectation are errors: a run that
    asserts nothing must not pass.
    """
    report = Report()
    for p in paths:
        path = Path(p)
        if not path.is_dir():
            report.results += _file_results(path, walked=False)
            continue
        before = len(report.results)
        for file in _folder_files(path):
            report.results += _file_results(file, walked=True)
        if len(report.results) == before:
            problem = "no scenario in the folder (scenarios are .yaml or .yml files)"
            report.results.append(_error(ScenarioError(str(path), "", "", problem)))
    return report


def _error(exc: ScenarioError) -> ScenarioResult:
    return ScenarioResult(
        exc.file, exc.scenario, passed=False, error=_files.one_line(str(exc), 1000)
    )


def _file_results(path: Path, walked: bool) -> list[ScenarioResult]:
    """The results of one file: each document on its own, so one broken scenario hides none
    of the others; a break in the YAML itself ends the file there."""
    file = str(path)
    results: list[ScenarioResult] = []
    index = 0
    passed_over = False
    try:
        for document in _files.yaml_documents(_read_text(path)):
            if document.data is None:
                continue
            index += 1
            if walked and _is_policy(document.data):
                passed_over = True
                continue
            results.append(_document_result(path, index, document))
    except ScenarioError as exc:
        results.append(_error(exc))
    except _files.FileProblem as exc:
        problem = exc.problem
        if results:
            problem += "; the rest of the file was not read"
        results.append(_error(ScenarioError(file, "", "", problem, exc.line)))
    if not results and not passed_over:
        results.append(_error(ScenarioError(file, "", "", "no scenario in the file")))
    return results


def _document_result(path: Path, index: int, document: _files.Document) -> ScenarioResult:
    try:
        scenario = _scenario(path, index, document)
    except ScenarioError as exc:
        return _error(exc)
    except Exception:  # a bug in the reader: loud, and the other scenarios still run
        return ScenarioResult(str(path), f"#{index}", passed=False, crash=traceback.format_exc())
    try:
        return run_scenario(scenario)
    except Exception:  # a bug in the engine, not a failed expectation
        return ScenarioResult(
            scenario.file, scenario.label, passed=False, crash=traceback.format_exc()
        )
