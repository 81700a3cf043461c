"""Duties (DOMAIN section 7): what state and explain say the lender must do, by when."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from staged_collection import ContactAttempt, DutyCode, Engine, Escalate, Policy
from tests.builders import case_of, engine, ev, local, make_borrower, make_loan

NY = "America/New_York"
LONDON = "Europe/London"


def test_the_validation_duty_carries_its_code_citation_deadline_and_opening_day() -> None:
    talk = ev("contact", local(dt.date(2026, 2, 2), 10, NY), channel="call", outcome="conversation")
    case = case_of("us", talk, zones=(NY,))
    state = engine("us").state(case, at=local(dt.date(2026, 2, 3), 10, NY))
    [duty] = state.duties
    assert duty.code is DutyCode.VALIDATION_NOTICE
    assert "1006.34(a)(1)" in duty.citation
    assert duty.layer == "us"
    assert duty.due == dt.datetime(2026, 2, 8, tzinfo=ZoneInfo(NY))  # the end of the 7th
    assert not duty.overdue
    assert duty.details == {"opened_on": "2026-02-02", "last_day": "2026-02-07"}
    explained = engine("us").explain(case, at=local(dt.date(2026, 2, 9), 10, NY))
    assert any(
        r.startswith("Duty duty.validation_notice: overdue since 2026-02-08T00:00:00-05:00")
        for r in explained.reasons
    )


def test_a_duty_never_blocks_an_action() -> None:
    talk = ev("contact", local(dt.date(2026, 2, 2), 10, NY), channel="call", outcome="conversation")
    case = case_of("us", talk, zones=(NY,))
    at = local(dt.date(2026, 3, 10), 10, NY)
    assert [d.overdue for d in engine("us").state(case, at=at).duties] == [True]
    assert engine("us").check(case, Escalate(to="negotiation"), at=at).allowed
    assert engine("us").check(case, ContactAttempt(channel="sms"), at=at).allowed


def test_an_ended_case_has_no_duty() -> None:
    talk = ev("contact", local(dt.date(2026, 2, 2), 10, NY), channel="sms", outcome="delivered")
    paid = ev("payment", local(dt.date(2026, 2, 3), 10, NY), amount="12000.00", currency="USD")
    case = case_of("us", talk, paid, zones=(NY,))
    assert engine("us").state(case, at=local(dt.date(2026, 2, 20), 10, NY)).duties == ()


def test_the_arrears_duty_reopens_six_calendar_months_on_the_last_day_of_a_short_month() -> None:
    loan = make_loan(currency="GBP")  # monthly from 2026-01-01
    sent = local(dt.date(2026, 8, 31), 10, LONDON)
    case = case_of("uk", ev("notice", sent, kind="arrears"), loan=loan, zones=(LONDON,))
    before = engine("uk").state(case, at=local(dt.date(2027, 2, 27), 12, LONDON))
    assert before.duties == ()
    [duty] = engine("uk").state(case, at=local(dt.date(2027, 2, 28), 12, LONDON)).duties
    assert duty.code is DutyCode.ARREARS_NOTICE
    assert duty.details["opened_on"] == "2027-02-28"  # 31 August + 6 months
    assert duty.details["last_notice"] == "2026-08-31"
    assert duty.due == dt.datetime(2027, 3, 1, tzinfo=ZoneInfo(LONDON))


def test_a_notice_sent_before_the_second_miss_does_not_close_the_duty() -> None:
    loan = make_loan(currency="GBP")
    early = ev("notice", local(dt.date(2026, 1, 20), 10, LONDON), kind="arrears")
    case = case_of("uk", early, loan=loan, zones=(LONDON,))
    [duty] = engine("uk").state(case, at=local(dt.date(2026, 2, 3), 10, LONDON)).duties
    assert duty.details["opened_on"] == "2026-02-02"
    assert duty.due == dt.datetime(2026, 2, 16, tzinfo=ZoneInfo(LONDON))


def test_the_validation_period_ends_thirty_days_after_the_assumed_receipt() -> None:
    # Sent Friday 2026-02-13: Monday the 16th is a federal holiday, so the fifth day is the
    # 23rd, and the period ends with 25 March.
    sent = ev("notice", local(dt.date(2026, 2, 13), 10, NY), kind="validation")
    case = case_of("us", sent, zones=(NY,))
    state = engine("us").state(case, at=local(dt.date(2026, 2, 14), 10, NY))
    assert state.validation_period_ends == dt.datetime(2026, 3, 26, tzinfo=ZoneInfo(NY))
    explained = engine("us").explain(case, at=local(dt.date(2026, 2, 14), 10, NY))
    assert "The validation period ends 2026-03-26T00:00:00-04:00." in explained.reasons
    # Only the first delivered validation notice counts.
    again = engine("us").apply(
        case, ev("notice", local(dt.date(2026, 3, 2), 10, NY), kind="validation")
    )
    later = engine("us").state(again, at=local(dt.date(2026, 3, 3), 10, NY))
    assert later.validation_period_ends == state.validation_period_ends
    assert (
        engine("cn").state(case_of("cn"), at=local(dt.date(2026, 2, 14))).validation_period_ends
        is None
    )


def test_a_duty_and_a_validation_period_not_yet_in_force_are_not_shown() -> None:
    # Effective dates (DOMAIN section 7): before a rule's start the policy has no such rule,
    # so state and explain list neither the duty nor the period it would open.
    data = engine("us").policy.model_dump(mode="json")
    data["duties"]["validation_notice"]["effective_from"] = "2027-01-01"
    data["validation"]["effective_from"] = "2027-01-01"
    later = Engine(Policy.model_validate(data))
    talk = ev("contact", local(dt.date(2026, 2, 2), 10, NY), channel="call", outcome="conversation")
    sent = ev("notice", local(dt.date(2026, 2, 3), 10, NY), kind="validation")
    loan = make_loan(currency="USD")
    talked = later.replay(loan, make_borrower(NY), [talk])
    at = local(dt.date(2026, 2, 9), 10, NY)
    assert later.state(talked, at=at).duties == ()
    assert not any("duty.validation_notice" in r for r in later.explain(talked, at=at).reasons)
    noticed = later.replay(loan, make_borrower(NY), [talk, sent])
    assert later.state(noticed, at=at).validation_period_ends is None
    # From the start of the rules, the same history shows both.
    talk27 = ev(
        "contact", local(dt.date(2027, 2, 2), 10, NY), channel="call", outcome="conversation"
    )
    in_force = later.replay(loan, make_borrower(NY), [talk27])
    [duty] = later.state(in_force, at=local(dt.date(2027, 2, 3), 10, NY)).duties
    assert duty.code is DutyCode.VALIDATION_NOTICE
