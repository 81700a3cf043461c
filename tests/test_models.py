"""Bad input is refused with an error that names the field and the value."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from staged_collection import (
    Borrower,
    CaseMismatchError,
    CurrencyMismatchError,
    Engine,
    Escalate,
    Loan,
    NaiveDatetimeError,
    OutOfOrderError,
    Payment,
    parse_event,
)
from tests.builders import case_of, engine, ev, make_borrower, make_loan, on_dpd

LOAN: dict[str, Any] = {
    "id": "L1",
    "currency": "CNY",
    "principal": "3000.00",
    "opened": "2026-01-01",
    "installments": [
        {"due": "2026-02-01", "amount": "1000.00"},
        {"due": "2026-03-01", "amount": "1000.00"},
        {"due": "2026-04-01", "amount": "1000.00"},
    ],
}


def loan_with(**changes: Any) -> dict[str, Any]:
    return {**LOAN, **changes}


def installments(*pairs: tuple[str, Any]) -> list[dict[str, Any]]:
    return [{"due": due, "amount": amount} for due, amount in pairs]


def refused(data: dict[str, Any]) -> tuple[str, str]:
    """The dotted location and message of the first error."""
    with pytest.raises(ValidationError) as info:
        Loan.model_validate(data)
    error = info.value.errors()[0]
    return ".".join(str(p) for p in error["loc"]), error["msg"]


def test_a_valid_loan_takes_its_currency_for_bare_amounts() -> None:
    loan = Loan.model_validate(LOAN)
    assert loan.installments[0].amount.currency == "CNY"
    assert str(loan.total_due) == "3000.00 CNY"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"principal": 3000.0}, "principal", "not float"),
        ({"principal": "0"}, "principal", "greater than zero"),
        ({"principal": "-5.00"}, "principal", "greater than zero"),
        ({"principal": "3000.00 USD"}, "principal", "the loan is in CNY"),
        ({"currency": "RMB"}, "currency", "ISO 4217"),
        ({"opened": "2026-13-01"}, "opened", "date"),
        ({"id": ""}, "id", "at least 1"),
        ({"installments": []}, "installments", "at least 1"),
        (
            {"installments": installments(("2026-02-01", 1000.5))},
            "installments.0.amount",
            "not float",
        ),
        (
            {"installments": installments(("2026-02-01", "-1"))},
            "installments.0.amount",
            "greater than zero",
        ),
        (
            {"installments": installments(("2026-03-01", "1"), ("2026-02-01", "1"))},
            "installments",
            "installments[1].due 2026-02-01 comes before installments[0].due 2026-03-01",
        ),
        (
            {"installments": installments(("2026-03-01", "1"), ("2026-03-01", "1"))},
            "installments",
            "duplicates",
        ),
        (
            {"installments": installments(("2025-12-01", "1"))},
            "installments",
            "before the loan opened",
        ),
        (
            {"installments": [{"due": "2026-02-01", "amount": "5.00 USD"}]},
            "installments",
            "installments[0].amount is in USD",
        ),
        ({"extra": 1}, "extra", "Extra inputs"),
    ],
)
def test_bad_loans_name_the_field(changes: dict[str, Any], field: str, words: str) -> None:
    loc, message = refused(loan_with(**changes))
    assert loc == field
    assert words in message


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"timezones": ["Mars/Olympus"]}, "timezones.0", "not an IANA time zone"),
        ({"timezones": ["+08:00"]}, "timezones.0", "not an IANA time zone"),
        ({"timezones": ["UTC+8"]}, "timezones.0", "not an IANA time zone"),
        ({"timezones": ["Asia/Shanghai", "Asia/Shanghai"]}, "", "listed twice"),
        ({"phones": ["13800000000"]}, "phones.0", "E.164"),
        ({"inconvenient": [{"start": "12:00", "end": "12:00"}]}, "inconvenient.0", "empty"),
        ({"id": ""}, "id", "at least 1"),
    ],
)
def test_bad_borrowers_name_the_field(data: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        Borrower.model_validate({"id": "B1", "timezones": ["Asia/Shanghai"], **data})
    error = info.value.errors()[0]
    assert ".".join(str(p) for p in error["loc"]) == field
    assert words in error["msg"]


def test_a_borrower_may_have_several_zones_or_none() -> None:
    assert make_borrower("Europe/London", "America/New_York").timezones[1] == "America/New_York"
    assert Borrower(id="B", timezones=()).timezones == ()


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"type": "payment", "at": "2026-02-11T03:00:00", "amount": "1"}, "payment.at", "timezone"),
        (
            {"type": "payment", "at": "2026-02-11T03:00:00Z", "amount": 1.5},
            "payment.amount",
            "float",
        ),
        (
            {"type": "payment", "at": "2026-02-11T03:00:00Z", "amount": "0"},
            "payment.amount",
            "zero",
        ),
        (
            {"type": "paymnt", "at": "2026-02-11T03:00:00Z"},
            "",
            "does not match any of the expected",
        ),
        (
            {
                "type": "contact",
                "at": "2026-02-11T03:00:00Z",
                "channel": "fax",
                "outcome": "delivered",
            },
            "contact.channel",
            "Input should be",
        ),
        (
            {"type": "notice", "at": "2026-02-11T03:00:00Z", "kind": "reminder", "colour": "red"},
            "notice.colour",
            "Extra inputs",
        ),
        (
            {"type": "hold", "at": "2026-02-11T03:00:00Z", "kind": "holiday"},
            "hold.kind",
            "Input should be",
        ),
        (
            {
                "type": "consent",
                "at": "2026-02-11T03:00:00Z",
                "channel": "call",
                "until": "2026-02-10T03:00:00Z",
            },
            "consent",
            "is not after",
        ),
        (
            {"type": "preference", "at": "2026-02-11T03:00:00Z", "timezones": ["GMT+1"]},
            "preference.timezones.0",
            "IANA",
        ),
        (
            {"type": "escalate", "at": "2026-02-11T03:00:00Z", "to": "third_party"},
            "escalate.to",
            "Input",
        ),
        (
            {"type": "cease", "at": "2026-02-11T03:00:00Z", "recipient": "third_party"},
            "cease",
            "relation: required when recipient is third_party",
        ),
        (
            {"type": "cease", "at": "2026-02-11T03:00:00Z", "relation": "spouse"},
            "cease",
            "relation: only for recipient third_party",
        ),
        (
            {"type": "notice", "at": "2026-02-11T03:00:00Z", "kind": "default", "method": "fax"},
            "notice.method",
            "Input should be",
        ),
        (
            {"type": "acknowledgment", "at": "2026-02-11T03:00:00Z", "amount": "1"},
            "acknowledgment.amount",
            "Extra inputs",
        ),
    ],
)
def test_bad_events_name_the_field(data: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_event(data, currency="CNY")
    error = info.value.errors()[0]
    assert ".".join(str(p) for p in error["loc"]) == field
    assert words in error["msg"]


def test_a_naive_at_is_refused_by_the_engine_naming_the_argument() -> None:
    case = case_of("cn")
    with pytest.raises(NaiveDatetimeError) as info:
        engine("cn").check(case, Escalate(to="negotiation"), at=dt.datetime(2026, 3, 1, 12))  # noqa: DTZ001
    assert info.value.field == "at"
    assert "aware" in str(info.value)
    with pytest.raises(NaiveDatetimeError):
        engine("cn").state(case, at=dt.datetime(2026, 3, 1, 12))  # noqa: DTZ001


def test_a_payment_in_another_currency_is_refused_and_nothing_recorded() -> None:
    case = case_of("cn")
    wrong = parse_event({"type": "payment", "at": on_dpd(3).isoformat(), "amount": "10.00 USD"})
    with pytest.raises(CurrencyMismatchError) as info:
        engine("cn").apply(case, wrong)
    assert info.value.field == "payment.amount"
    assert "10.00 USD" in str(info.value)
    assert len(case) == 0


def test_plan_instalments_in_another_currency_are_refused() -> None:
    plan = parse_event(
        {
            "type": "plan",
            "at": on_dpd(40).isoformat(),
            "kind": "instalments",
            "installments": [{"due": "2026-03-01", "amount": "5.00 USD"}],
        }
    )
    with pytest.raises(CurrencyMismatchError, match=r"plan.installments\[0\].amount"):
        engine("cn").apply(case_of("cn"), plan)


def test_an_action_before_the_last_event_is_refused() -> None:
    case = case_of("cn", ev("notice", on_dpd(10), kind="reminder"))
    with pytest.raises(OutOfOrderError) as info:
        engine("cn").apply(case, ev("escalate", on_dpd(9), to="negotiation"))
    assert info.value.field == "escalate.at"
    assert "cannot be back-dated" in str(info.value)


def test_a_case_from_another_policy_is_refused() -> None:
    case = case_of("cn")
    with pytest.raises(CaseMismatchError, match="replay"):
        engine("us").apply(case, Payment(at=on_dpd(1), amount="1.00 CNY"))


def test_engine_accepts_a_policy_object_name_or_path(tmp_path: Any) -> None:
    from staged_collection import load_policy

    path = tmp_path / "p.yaml"
    path.write_text("extends: cn\nname: mine\n")
    fingerprints = {Engine(x).policy.fingerprint for x in ("cn", load_policy("cn"), path)}
    assert len(fingerprints) == 1
    assert make_loan().currency == "CNY"


def test_errors_survive_pickling_with_their_fields() -> None:
    import pickle

    from staged_collection import PolicyError, ScenarioError

    for error in (
        NaiveDatetimeError("at", "2026-01-01T00:00"),
        CurrencyMismatchError("payment.amount", "1.00 USD", "the loan is in CNY"),
        PolicyError("p.yaml", "ladder.formal", "bad"),
        ScenarioError("s.yaml", "x", "steps[0]", "bad"),
    ):
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error)
        assert str(again) == str(error)
        assert vars(again) == vars(error)
