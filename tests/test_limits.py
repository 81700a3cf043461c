"""Every list, count, id and text of the models is bounded, and docs/limits.md says so."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from staged_collection import (
    Borrower,
    ContactAttempt,
    Decision,
    Engine,
    Loan,
    Policy,
    PolicyError,
    Refer,
    compose,
    load_policy,
    parse_event,
)
from staged_collection import _limits as limits

ROOT = Path(__file__).resolve().parent.parent
AT = "2026-02-03T10:00:00Z"
RANGE = {"start": "01:00", "end": "02:00"}
ZONES = ["Asia/Shanghai", "Asia/Tokyo", "Europe/London", "America/New_York", "Asia/Kolkata"]
ZONES += ["Europe/Paris", "Europe/Berlin", "Asia/Singapore", "America/Chicago", "Asia/Dubai"]
ZONES += ["Australia/Sydney", "America/Denver", "Pacific/Auckland", "Africa/Cairo", "Asia/Seoul"]
ZONES += ["America/Sao_Paulo", "Europe/Madrid"]


def dues(n: int) -> list[dict[str, str]]:
    start = dt.date(2026, 2, 1)
    return [
        {"due": (start + dt.timedelta(days=i)).isoformat(), "amount": "1.00 CNY"} for i in range(n)
    ]


def loan(n: int) -> dict[str, Any]:
    return {
        "id": "L1",
        "currency": "CNY",
        "principal": "1.00",
        "opened": "2026-01-01",
        "installments": dues(n),
    }


def phones(n: int) -> list[str]:
    return [f"+86138{i:08d}" for i in range(n)]


# (what, how to build it with n items, the bound, the field named in the error)
LISTS: list[tuple[str, Any, int, str]] = [
    ("loan instalments", lambda n: Loan.model_validate(loan(n)), 600, "installments"),
    (
        "borrower zones",
        lambda n: Borrower.model_validate({"id": "B", "timezones": ZONES[:n]}),
        16,
        "timezones",
    ),
    (
        "borrower phones",
        lambda n: Borrower.model_validate({"id": "B", "timezones": [], "phones": phones(n)}),
        16,
        "phones",
    ),
    (
        "borrower work phones",
        lambda n: Borrower.model_validate({"id": "B", "timezones": [], "work_phones": phones(n)}),
        16,
        "work_phones",
    ),
    (
        "borrower inconvenient ranges",
        lambda n: Borrower.model_validate(
            {"id": "B", "timezones": [], "inconvenient": [RANGE] * n}
        ),
        24,
        "inconvenient",
    ),
    (
        "plan instalments",
        lambda n: parse_event(
            {"type": "plan", "at": AT, "kind": "instalments", "installments": dues(n)}
        ),
        600,
        "plan.installments",
    ),
    (
        "stated inconvenient ranges",
        lambda n: parse_event({"type": "preference", "at": AT, "inconvenient": [RANGE] * n}),
        24,
        "preference.inconvenient",
    ),
    (
        "stated zones",
        lambda n: parse_event({"type": "preference", "at": AT, "timezones": ZONES[:n]}),
        16,
        "preference.timezones",
    ),
    (
        "ceased channels",
        lambda n: parse_event({"type": "cease", "at": AT, "channels": ["call"] * n}),
        7,
        "cease.channels",
    ),
]


@pytest.mark.parametrize(("what", "build", "bound", "field"), LISTS, ids=[x[0] for x in LISTS])
def test_every_list_takes_its_bound_and_refuses_one_more(
    what: str, build: Any, bound: int, field: str
) -> None:
    build(bound)
    with pytest.raises(ValidationError) as info:
        build(bound + 1)
    error = info.value.errors()[0]
    assert ".".join(str(p) for p in error["loc"]) == field
    assert f"at most {bound}" in error["msg"]


@pytest.mark.parametrize(
    "collectors",
    [
        Decimal("1E+100000000"),  # converting this to an int took 400 s
        Decimal("1E+1000"),
        Decimal("NaN"),
        "9" * 5000,
        101,
        0,
    ],
    ids=["1E+100000000", "1E+1000", "NaN", "5000-digit-text", "101", "0"],
)
def test_collectors_are_refused_past_100_before_any_conversion(collectors: object) -> None:
    with pytest.raises(ValidationError) as info:
        ContactAttempt.model_validate({"channel": "field_visit", "collectors": collectors})
    assert info.value.errors()[0]["loc"] == ("collectors",)
    assert ContactAttempt(channel="field_visit", collectors=100).collectors == 100


@pytest.mark.parametrize(
    ("build", "field", "bound"),
    [
        (lambda v: Loan.model_validate({**loan(1), "id": v}), "id", 128),
        (lambda v: Borrower.model_validate({"id": v, "timezones": []}), "id", 128),
        (lambda v: Refer(agency=v), "agency", 128),
        (lambda v: ContactAttempt(channel="call", placed_by=v), "placed_by", 128),
        (lambda v: ContactAttempt(channel="call", relation=v), "relation", 200),
        (lambda v: ContactAttempt(channel="email", number=v), "number", 254),
    ],
    ids=["loan id", "borrower id", "agency", "placed_by", "relation", "number"],
)
def test_ids_and_texts_have_a_length_bound(build: Any, field: str, bound: int) -> None:
    build("x" * bound)
    with pytest.raises(ValidationError) as info:
        build("x" * (bound + 1))
    assert info.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize("value", ["L1\nforged line", "L1\x00", "L\x1b[31m"])
def test_ids_refuse_control_characters(value: str) -> None:
    with pytest.raises(ValidationError) as info:
        Loan.model_validate({**loan(1), "id": value})
    assert info.value.errors()[0]["loc"] == ("id",)


def test_a_decision_read_from_a_log_is_bounded_too() -> None:
    violation = {"code": "contact.hold", "message": "m", "citation": "c"}
    base = {
        "allowed": False,
        "request": {"action": "report"},
        "at": AT,
        "policy": "p",
        "loan_id": "L1",
        "borrower_id": "B1",
        "stage": "formal",
    }
    Decision.model_validate({**base, "violations": [violation] * limits.MAX_VIOLATIONS})
    for changes in (
        {"violations": [violation] * (limits.MAX_VIOLATIONS + 1)},
        {"violations": [{**violation, "message": "m" * 2001}]},
        {"violations": [{**violation, "details": {str(i): "" for i in range(17)}}]},
        {"policy": "p" * 129},
    ):
        with pytest.raises(ValidationError):
            Decision.model_validate({**base, **changes})


def test_a_policy_citation_is_bounded_so_that_every_refusal_reads_back_from_the_log() -> None:
    # A refusal carries its rules' citations; held together (every hold at once) they must
    # still fit the decision a log line is read back as.
    longest = "c" * limits.MAX_CITATION_LENGTH
    cn = load_policy("cn")
    with pytest.raises(PolicyError, match=r"contact\.quiet_hours\.windows\.call\.citation"):
        compose(
            cn, {"contact": {"quiet_hours": {"windows": {"call": {"citation": longest + "c"}}}}}
        )
    with pytest.raises(PolicyError, match=r"holds\.hardship\.citation"):
        compose(cn, {"holds": {"hardship": {"citation": longest + "c"}}})
    data = cn.model_dump(mode="json")
    data["contact"]["holds"]["citation"] = longest
    for kind in data["holds"]:
        data["holds"][kind]["citation"] = longest + kind  # each its own: none merged away
        data["holds"][kind]["citation"] = data["holds"][kind]["citation"][
            -limits.MAX_CITATION_LENGTH :
        ]
    engine = Engine(Policy.model_validate(data))
    at = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
    case = engine.open_case(
        Loan.model_validate(loan(1)), Borrower(id="B1", timezones=("Asia/Shanghai",))
    )
    for kind in data["holds"]:
        event = {"type": "dispute"} if kind == "dispute" else {"type": "hold", "kind": kind}
        case = engine.apply(case, parse_event({**event, "at": "2026-03-01T00:00:00Z"}))
    decision = engine.check(case, ContactAttempt(channel="sms"), at=at)
    [held] = [v for v in decision.violations if v.code == "contact.hold"]
    assert len(held.citation) > limits.MAX_MESSAGE_LENGTH
    assert Decision.model_validate_json(decision.to_log_line(reveal=True)) == decision


# -- docs/limits.md ------------------------------------------------------------------------


def test_limits_md_states_every_bound_with_its_value() -> None:
    text = (ROOT / "docs" / "limits.md").read_text(encoding="utf-8")
    constants = {
        name: value
        for name, value in vars(limits).items()
        if name.startswith("MAX_") and isinstance(value, int)
    }
    assert len(constants) >= 10
    for name, value in constants.items():
        row = re.search(rf"^\|[^\n]*`{name}`[^\n]*$", text, flags=re.M)
        assert row, f"docs/limits.md has no row for {name}"
        assert re.search(rf"\b{value:,}\b|\b{value}\b", row.group(0)), f"{name} = {value}"


def test_every_model_field_with_a_list_is_bounded() -> None:
    from staged_collection import events

    models: list[type[BaseModel]] = [Loan, Borrower, ContactAttempt, Decision]
    models += [
        getattr(events, name)
        for name in events.__all__
        if isinstance(getattr(events, name), type) and issubclass(getattr(events, name), BaseModel)
    ]
    for model in models:
        for name, info in model.model_fields.items():
            if "tuple[" in str(info.annotation):
                bounds = [m for m in info.metadata if hasattr(m, "max_length")]
                assert bounds, f"{model.__name__}.{name} has no bound"
