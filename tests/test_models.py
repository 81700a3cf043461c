"""Bad input is refused with an error that names the field and the value."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from staged_collection import (
    Borrower,
    CaseMismatchError,
    ContactAttempt,
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
from tests.json_documents import documents

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


# -- time zones: only places, whose clocks follow DST ----------------------------------------

NOT_PLACES = ["EST", "MST", "HST", "EST5EDT", "CET", "Etc/GMT+5", "Etc/UTC", "UTC", "GMT", "Zulu"]
NOT_ZONES = ["localtime", "Factory", "posixrules", "right/UTC", "America/New_york", "Asia/" * 20]


@pytest.mark.parametrize("name", NOT_PLACES + NOT_ZONES)
def test_zones_that_are_not_places_are_refused_naming_field_and_value(name: str) -> None:
    with pytest.raises(ValidationError) as info:
        Borrower.model_validate({"id": "B1", "timezones": ["Asia/Shanghai", name]})
    error = info.value.errors()[0]
    assert error["loc"] == ("timezones", 1)
    if len(name) <= 64:
        assert repr(name) in error["msg"]
    with pytest.raises(ValidationError, match="timezones"):
        parse_event({"type": "preference", "at": "2026-02-11T03:00:00Z", "timezones": [name]})


@pytest.mark.parametrize("name", NOT_PLACES)
def test_a_policy_home_timezone_must_be_a_place(tmp_path: Any, name: str) -> None:
    from staged_collection import PolicyError, load_policy

    path = tmp_path / "p.yaml"
    path.write_text(f"extends: cn\nhome_timezone: {name}\n")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.field == "home_timezone"
    assert repr(name) in info.value.problem


@pytest.mark.parametrize(
    "name",
    ["Asia/Shanghai", "America/Argentina/Salta", "US/Eastern", "Asia/Calcutta", "Japan", "GB"],
)
def test_location_zones_and_their_aliases_are_accepted(name: str) -> None:
    assert Borrower(id="B", timezones=(name,)).timezones == (name,)


def test_the_accepted_zones_are_places_of_the_tzdata_package_whatever_the_host_has() -> None:
    from importlib import resources

    from staged_collection._localtime import _known_zones

    listed = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()
    accepted = _known_zones()
    assert accepted < set(listed)
    areas = {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia"}
    areas |= {"Europe", "Indian", "Pacific"}
    in_areas = {n for n in listed if n.split("/")[0] in areas}
    assert in_areas <= accepted

    def data(name: str) -> bytes:
        parts = name.split("/")
        package = ".".join(["tzdata", "zoneinfo", *parts[:-1]])
        return resources.files(package).joinpath(parts[-1]).read_bytes()

    # Every other accepted name is an alias: the same rules, byte for byte, as a place.
    places = {data(n) for n in in_areas}
    assert all(data(n) in places for n in accepted - in_areas)
    # Every refused name is named after an offset or a rule, or is no place at all.
    refused = set(listed) - accepted
    assert {n for n in refused if not n.startswith("Etc/")} <= {
        *NOT_PLACES,
        *("CST6CDT", "MST7MDT", "PST8PDT", "EET", "MET", "WET", "Factory"),
        *("GMT+0", "GMT-0", "GMT0", "Greenwich", "UCT", "Universal"),
    }


def test_a_borrower_in_eastern_time_is_judged_on_daylight_time() -> None:
    # 21:30 EDT is 20:30 EST: a borrower once stored as EST was called at 21:30 by the clock.
    at = dt.datetime(2026, 7, 1, 1, 30, tzinfo=dt.UTC)  # 21:30 EDT on 30 June
    case = case_of("us", zones=("US/Eastern",))
    decision = engine("us").check(case, ContactAttempt(channel="call"), at=at)
    assert "contact.quiet_hours" in decision.codes


# -- the JSON Schema says everything it can ---------------------------------------------------

# What a JSON Schema cannot say: one field compared with another (a currency with the
# loan's, a date with another date, an end with a start). Only these may refuse a document
# that the schema accepts.
CROSS_FIELD = (
    "the loan is in",
    "comes before installments",
    "duplicates installments",
    "before the loan opened",
    "the range is empty",
    "is not after at",
    "sorted by due date, one per date",
    "does not match the decision it is on",  # decision_id: a hash of the other fields
)


def _schemas() -> dict[str, tuple[Any, Any]]:
    from pydantic import TypeAdapter

    from staged_collection import (
        ActionRequest,
        ContactAttempt,
        Decision,
        Event,
        Installment,
        LocalTimeRange,
        Money,
    )

    models: dict[str, Any] = {
        m.__name__: TypeAdapter(m)
        for m in (Money, Loan, Installment, Borrower, LocalTimeRange, ContactAttempt, Decision)
    }
    models["Event"] = TypeAdapter(Event)
    models["ActionRequest"] = TypeAdapter(ActionRequest)
    return {name: (adapter, adapter.json_schema()) for name, adapter in models.items()}


SCHEMAS = _schemas()


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}/{i}")


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_schema_states_formats_bounds_and_vocabularies(name: str) -> None:
    _, schema = SCHEMAS[name]
    for path, node in _walk(schema):
        if node.get("type") == "string" and "enum" not in node and "const" not in node:
            assert "pattern" in node or "maxLength" in node, f"{path}: an unbounded string"
        if node.get("type") == "array":
            assert "maxItems" in node, f"{path}: an unbounded list"
        if node.get("type") == "integer":
            assert "minimum" in node, f"{path}: an unbounded count"
            assert "maximum" in node, f"{path}: an unbounded count"
        if node.get("format") in ("date-time", "time"):
            raise AssertionError(f"{path}: RFC 3339 {node['format']} does not fit")
        assert node.get("type") != "number", f"{path}: a float"
        title = node.get("title", "")
        if title == "Currency":
            assert len(node.get("enum", ())) > 150, f"{path}: currency as the ISO 4217 list"
        if path.endswith(("/timezones/items", "/home_timezone")):
            assert "Asia/Shanghai" in node["enum"]
            assert "EST" not in node["enum"]
    text = json.dumps(schema)
    if name in ("Decision", "Event"):
        assert INSTANT in text, "aware instants carry a pattern that requires an offset"


@cache
def _validator(name: str, mode: Any) -> Any:
    import jsonschema

    schema = SCHEMAS[name][0].json_schema(mode=mode)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@cache
def _documents(name: str) -> st.SearchStrategy[Any]:
    return documents(SCHEMAS[name][1])


INSTANT = "(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\\\.[0-9]{1,6})?)?)$"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_document_the_schema_accepts_is_accepted_or_refused_for_a_cross_field_reason(
    name: str, data: st.DataObject
) -> None:
    adapter, _ = SCHEMAS[name]
    document = data.draw(_documents(name), label="document")
    try:
        adapter.validate_json(json.dumps(document))
    except ValidationError as error:
        problems = [e["msg"] for e in error.errors()]
        assert all(any(words in p for words in CROSS_FIELD) for p in problems), problems


@pytest.mark.parametrize(
    ("name", "strategy"),
    [
        ("Loan", "loans"),
        ("Borrower", "borrowers"),
        ("Event", "events"),
        ("ActionRequest", "contact_attempts"),
    ],
)
@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_what_the_models_write_is_valid_under_their_schema(
    name: str, strategy: str, data: st.DataObject
) -> None:

    from staged_collection.testing import strategies as kit

    adapter, _ = SCHEMAS[name]
    if strategy == "events":
        loan = data.draw(kit.loans(), label="loan")
        at = dt.datetime.combine(loan.opened, dt.time(12), tzinfo=dt.UTC)
        value = data.draw(kit.events(loan, at), label=name)
    else:
        value = data.draw(getattr(kit, strategy)(), label=name)
    written = json.loads(adapter.dump_json(value))
    for mode in ("serialization", "validation"):
        _validator(name, mode).validate(written)


def test_decisions_are_valid_under_their_schema_masked_or_not() -> None:
    case = case_of("cn", phones=["+8613800000000"])
    attempt = ContactAttempt(
        channel="call", recipient="third_party", relation="mother", number="+8613900000000"
    )
    decision = engine("cn").check(case, attempt, at=on_dpd(3, hour=23))
    for reveal in (False, True):
        written = json.loads(decision.to_log_line(reveal=reveal))
        for mode in ("serialization", "validation"):
            _validator("Decision", mode).validate(written)


@pytest.mark.parametrize(
    "offset", [dt.timedelta(hours=8, minutes=5, seconds=43), -dt.timedelta(hours=4, seconds=1)]
)
def test_a_decision_keeps_its_instant_when_the_offset_has_seconds(offset: dt.timedelta) -> None:
    from staged_collection import Decision

    at = dt.datetime(2026, 2, 3, 22, 30, tzinfo=dt.timezone(offset))
    decision = engine("cn").check(case_of("cn"), ContactAttempt(channel="call"), at=at)
    line = decision.to_log_line()
    again = Decision.model_validate_json(line)
    assert again.at == at
    assert again.at.utcoffset() == offset
    assert again == Decision.model_validate_json(decision.to_log_line(reveal=True)) == decision


def test_an_instant_in_local_mean_time_round_trips_in_events() -> None:
    from zoneinfo import ZoneInfo

    at = dt.datetime(1900, 6, 1, 12, tzinfo=ZoneInfo("Asia/Shanghai"))  # LMT +08:05:43
    payment = Payment(at=at, amount="1.00 CNY")
    assert parse_event(payment.model_dump_json()).at == at
