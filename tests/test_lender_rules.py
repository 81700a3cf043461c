"""What lenders' own policies say, as data: minimum gaps, calendar weeks, weekday windows, rest
days for letters. Examples on both sides of each boundary; the properties are in
test_contact_properties.py (against the plain reference) and test_hours.py (free_from)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from staged_collection import (
    ContactAttempt,
    Engine,
    LooseningOverlayError,
    Policy,
    PolicyError,
    compose,
    load_policy,
)
from tests.builders import ev, make_borrower, make_loan

SH = ZoneInfo("Asia/Shanghai")
NUMBER = "+8613800000000"


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 2, day, hour, minute, tzinfo=SH)  # 2 February 2026 is a Monday


def gap(**fields: Any) -> dict[str, Any]:
    return {"name": "calls", "channels": ["call"], "minutes": 240, "citation": "Manual", **fields}


def engine_with(contact: dict[str, Any]) -> Engine:
    return Engine(compose(load_policy("cn"), {"contact": contact}))


def call(hour: int, day: int = 3, outcome: str = "no_answer", **fields: Any) -> Any:
    return ev("contact", at(day, hour), channel="call", outcome=outcome, **fields)


# -- minimum gaps ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "second", "refused"),
    [
        ("person_debt", {"number": "+8613900000000"}, True),  # the same person, another number
        ("number", {"number": "+8613900000000"}, False),
        ("number", {"number": NUMBER}, True),
        ("debt", {"recipient": "third_party", "relation": "spouse", "purpose": "location"}, True),
        ("person_debt", {"recipient": "third_party", "relation": "spouse"}, False),
    ],
)
def test_a_gap_is_kept_per_its_key(key: str, second: dict[str, Any], refused: bool) -> None:
    eng = engine_with({"min_gaps": [gap(key=key)]})
    case = eng.apply(eng.open_case(make_loan(), make_borrower()), call(10, number=NUMBER))
    decision = eng.check(case, ContactAttempt(channel="call", **second), at=at(3, 13, 59))
    assert ("contact.min_gap" in decision.codes) is refused


def test_a_gap_counts_every_outcome_and_only_collector_attempts() -> None:
    eng = engine_with({"min_gaps": [gap()]})
    case = eng.open_case(make_loan(), make_borrower())
    theirs = eng.apply(case, call(10, initiated_by="borrower", outcome="conversation"))
    assert eng.check(theirs, ContactAttempt(channel="call"), at=at(3, 11)).allowed
    ours = eng.apply(case, call(10, outcome="busy"))
    refused = eng.check(ours, ContactAttempt(channel="call"), at=at(3, 13, 59))
    assert refused.codes == ("contact.min_gap",)
    (v,) = refused.violations
    assert v.retry_at == at(3, 14)
    assert (v.citation, v.layer, v.details["gap"]) == ("Manual", "<overlay>", "calls")
    assert eng.check(ours, ContactAttempt(channel="call"), at=at(3, 14)).allowed
    assert eng.check(ours, ContactAttempt(channel="sms"), at=at(3, 11)).allowed


def test_a_gap_per_borrower_counts_their_other_debts() -> None:
    eng = engine_with({"min_gaps": [gap(key="debtor")]})
    borrower = make_borrower()
    other = eng.apply(eng.open_case(make_loan(loan_id="L2"), borrower), call(10))
    case = eng.open_case(make_loan(), borrower)
    attempt = ContactAttempt(channel="call")
    assert eng.check(case, attempt, at=at(3, 12)).allowed
    refused = eng.check(case, attempt, at=at(3, 12), others=[other])
    assert refused.codes == ("contact.min_gap",)
    assert eng.next_allowed(case, attempt, after=at(3, 12), others=[other]) == at(3, 14)


def test_a_gap_per_borrower_reads_the_other_debts_as_they_were_at_the_instant() -> None:
    # The other debt was called at 10:00 and again at 15:00: at 12:00 only the first had
    # been made, and it still refuses (until 14:00); the later one does not hide it.
    eng = engine_with({"min_gaps": [gap(key="debtor")]})
    borrower = make_borrower()
    other = eng.replay(make_loan(loan_id="L2"), borrower, [call(10), call(15)])
    case = eng.open_case(make_loan(), borrower)
    attempt = ContactAttempt(channel="call")
    refused = eng.check(case, attempt, at=at(3, 12), others=[other])
    assert refused.codes == ("contact.min_gap",)
    assert refused.violations[0].retry_at == at(3, 14)
    assert eng.check(case, attempt, at=at(3, 9), others=[other]).allowed


def test_a_gap_after_the_last_call_of_the_evening_reaches_into_the_morning() -> None:
    eng = engine_with({"min_gaps": [gap(minutes=12 * 60)]})
    case = eng.apply(eng.open_case(make_loan(), make_borrower()), call(21, day=3))
    # 09:00 the next day, not 08:00 when the window opens.
    assert eng.next_allowed(case, ContactAttempt(channel="call"), after=at(3, 21)) == at(4, 9)


def test_gaps_are_law_once_in_a_policy_and_have_unique_names() -> None:
    base = compose(load_policy("cn"), {"contact": {"min_gaps": [gap()]}})
    with pytest.raises(LooseningOverlayError) as info:
        compose(base, {"contact": {"min_gaps": [{"name": "calls", "minutes": 60}]}})
    assert info.value.field == "contact.min_gaps[calls].minutes"
    data = load_policy("cn").model_dump(mode="json")
    data["contact"]["min_gaps"] = [gap(), gap(minutes=60)]
    with pytest.raises(ValidationError, match=r"min_gaps\[1\].name 'calls' is used twice"):
        Policy.model_validate(data)
    with pytest.raises(PolicyError, match="minutes"):
        compose(load_policy("cn"), {"contact": {"min_gaps": [gap(minutes=0)]}})


# -- calendar weeks --------------------------------------------------------------------------


def test_a_calendar_week_runs_monday_to_sunday() -> None:
    weekly = {
        "name": "weekly",
        "key": "debtor",
        "window": "calendar_week",
        "channels": ["call"],
        "outcomes": ["no_answer", "conversation"],
        "limit": 2,
        "citation": "Manual 3.4",
    }
    eng = engine_with({"counters": [weekly]})
    case = eng.open_case(make_loan(), make_borrower())
    case = eng.apply(case, call(10, day=2))  # Monday
    case = eng.apply(case, call(10, day=7))  # Saturday
    attempt = ContactAttempt(channel="call")
    refused = eng.check(case, attempt, at=at(8, 10))  # Sunday
    assert refused.codes == ("contact.frequency",)
    assert refused.violations[0].retry_at == at(9, 0)  # Monday 00:00, the next week
    assert "in the week 2026-02-02 to 2026-02-08" in refused.violations[0].message
    assert eng.check(case, attempt, at=at(9, 8)).allowed
    with pytest.raises(PolicyError, match="days is only for window rolling_days"):
        engine_with({"counters": [{**weekly, "days": 7}]})


# -- windows for a weekday -------------------------------------------------------------------


def test_a_weekday_window_holds_with_the_general_one_and_cites_itself() -> None:
    saturday = {"call": {"start": "09:00", "end": "23:00", "citation": "Manual 3.2"}}
    eng = engine_with({"quiet_hours": {"weekdays": {"saturday": saturday}}})
    case = eng.open_case(make_loan(), make_borrower())
    attempt = ContactAttempt(channel="call")
    early = eng.check(case, attempt, at=at(7, 8, 30))
    assert early.codes == ("contact.quiet_hours",)
    assert (early.violations[0].citation, early.violations[0].details["weekday"]) == (
        "Manual 3.2",
        "saturday",
    )
    late = eng.check(case, attempt, at=at(7, 22, 30))  # inside Saturday's, outside 08-22
    assert late.codes == ("contact.quiet_hours",)
    assert late.violations[0].layer == "cn"
    assert eng.check(case, attempt, at=at(6, 8, 30)).allowed  # a Friday
    assert eng.next_allowed(case, attempt, after=at(7, 8)) == at(7, 9)


def test_a_weekday_window_is_law_once_in_a_policy() -> None:
    saturday = {"call": {"start": "09:00", "end": "18:00", "citation": "Manual 3.2"}}
    base = compose(
        load_policy("cn"), {"contact": {"quiet_hours": {"weekdays": {"saturday": saturday}}}}
    )
    looser = {"saturday": {"call": {"start": "08:00"}}}
    with pytest.raises(LooseningOverlayError) as info:
        compose(base, {"contact": {"quiet_hours": {"weekdays": looser}}})
    assert info.value.field == "contact.quiet_hours.weekdays.saturday.call.start"
    with pytest.raises(PolicyError, match="weekdays"):
        compose(load_policy("cn"), {"contact": {"quiet_hours": {"weekdays": {"samedi": saturday}}}})


# -- rest days and letters -------------------------------------------------------------------


@pytest.mark.parametrize("letters", [True, False])
def test_rest_days_apply_to_letters_only_where_the_policy_says_so(letters: bool) -> None:
    rest = {"weekdays": [7], "letters": letters, "citation": "Manual 3.3"}
    eng = engine_with({"rest_days": rest})
    case = eng.open_case(make_loan(), make_borrower())
    letter = ContactAttempt(channel="letter")
    sunday = eng.check(case, letter, at=at(8, 3))  # a letter has no window: 03:00 is fine
    assert ("contact.rest_day" in sunday.codes) is letters
    assert eng.check(case, letter, at=at(7, 23, 59)).allowed
    expected = at(9, 0) if letters else at(8, 3)
    assert eng.next_allowed(case, letter, after=at(8, 3)) == expected
    nowhere = eng.open_case(make_loan(), make_borrower(timezones=[]))
    unknown = eng.check(nowhere, letter, at=at(8, 3))
    assert ("contact.unknown_timezone" in unknown.codes) is letters
