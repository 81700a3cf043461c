"""Calendars in policies (DOMAIN section 7): the presets name theirs, overlays compose them as
facts, rules that count working days need one, public holidays may be rest days, and a
deadline counted past the year a calendar is known says it is provisional."""

from __future__ import annotations

import datetime as dt

import pytest

from staged_collection import (
    ContactAttempt,
    Engine,
    LegalAction,
    LooseningOverlayError,
    PolicyError,
    Report,
    compose,
    load_policy,
)
from staged_collection.calendars import Calendar
from staged_collection.policy import PRESETS
from tests.builders import case_of, engine, ev, local, make_borrower, make_loan

SH = "Asia/Shanghai"
LONDON = "Europe/London"
NO_HOLIDAYS = {
    "name": "cn-holidays",
    "contact": {"rest_days": {"weekdays": ["public_holidays"], "citation": "test"}},
}


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_names_its_calendar_known_through_2026(name: str) -> None:
    policy = load_policy(name)
    assert policy.calendar is not None
    assert policy.calendar.known_through == 2026
    assert policy.calendar.name == {"cn": "cn", "uk": "uk"}.get(name, "us")
    compiled = policy.calendar.compiled
    assert isinstance(compiled, Calendar)
    assert policy.calendar.compiled is compiled  # built once, not per check
    assert policy.calendar.citation


def test_an_overlay_adds_dates_it_knows_and_keeps_the_bases() -> None:
    base = load_policy("uk")
    one = compose(base, {"calendar": {"add": {"2026-06-01": "Company day"}}})
    two = compose(
        one,
        {"calendar": {"add": {"2026-07-01": "Another"}, "remove": ["2026-08-31"]}},
    )
    assert two.calendar is not None
    assert set(two.calendar.add) == {dt.date(2026, 6, 1), dt.date(2026, 7, 1)}
    assert two.calendar.remove == frozenset({dt.date(2026, 8, 31)})
    compiled = two.calendar.compiled
    assert compiled.is_holiday(dt.date(2026, 6, 1))
    assert not compiled.is_holiday(dt.date(2026, 8, 31))
    assert two.calendar.layer == "<overlay>"


def test_an_overlay_cannot_count_by_another_calendar() -> None:
    with pytest.raises(PolicyError, match="neither is stricter"):
        compose(load_policy("uk"), {"calendar": {"name": "uk-sct"}})


def test_a_date_added_by_one_and_removed_by_the_other_is_refused() -> None:
    base = compose(load_policy("uk"), {"calendar": {"add": {"2026-06-01": "Company day"}}})
    with pytest.raises(PolicyError, match="calendar"):
        compose(base, {"calendar": {"remove": ["2026-06-01"]}})


def test_a_cn_year_the_package_does_not_know_must_be_listed() -> None:
    with pytest.raises(PolicyError, match="known_through"):
        compose(load_policy("cn"), {"calendar": {"known_through": 2099}})


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("legal.notice.min_remedy_days", {}),
        ("validation", {"validation": {"citation": "x"}}),
        ("contact.rest_days.public_holidays", {}),
    ],
)
def test_rules_that_count_working_days_need_a_calendar(
    field: str, change: dict[str, object]
) -> None:
    data = load_policy("uk").model_dump(mode="json")
    data["calendar"] = None
    data["service"] = None
    if field == "contact.rest_days.public_holidays":
        data["legal"]["notice"]["min_remedy_days"] = None
        data["bureau"]["notice"]["min_remedy_days"] = None
        data["contact"]["rest_days"] = {"weekdays": ["public_holidays"], "citation": "x"}
    if field == "validation":
        data["legal"]["notice"]["min_remedy_days"] = None
        data["bureau"]["notice"]["min_remedy_days"] = None
    data.update(change)
    from staged_collection.policy import Policy

    with pytest.raises(ValueError, match=f"calendar: required, since {field}"):
        Policy.model_validate(data)


def test_an_overlay_may_drop_an_unreachable_trigger_but_never_add_one() -> None:
    stricter = compose(load_policy("cn"), {"contact": {"third_party": {"unreachable_lines": None}}})
    assert stricter.contact.third_party.unreachable_lines is None
    with pytest.raises(LooseningOverlayError, match="unreachable_lines"):
        compose(stricter, {"contact": {"third_party": {"unreachable_lines": {"citation": "x"}}}})
    fewer_calls = {"contact": {"third_party": {"unreachable_calls": {"calls": 2}}}}
    with pytest.raises(LooseningOverlayError, match=r"unreachable_calls\.calls"):
        compose(load_policy("cn"), fewer_calls)


def test_the_consent_cap_only_shortens() -> None:
    assert compose(load_policy("us"), {"contact": {"consent": {"days": 3}}}).contact.consent
    with pytest.raises(LooseningOverlayError, match=r"contact\.consent\.days"):
        compose(load_policy("us"), {"contact": {"consent": {"days": 8}}})


def test_public_holidays_may_be_written_among_the_weekdays_or_as_a_flag() -> None:
    worded = compose(load_policy("cn"), NO_HOLIDAYS)
    flagged = compose(
        load_policy("cn"),
        {
            "name": "cn-holidays",
            "contact": {"rest_days": {"public_holidays": True, "citation": "test"}},
        },
    )
    assert worded.contact.rest_days is not None
    assert worded.contact.rest_days.public_holidays
    assert worded.contact.rest_days.weekdays == frozenset()
    assert worded.fingerprint == flagged.fingerprint
    cites = worded.citations()["contact.rest_day"]
    assert any("全国年节及纪念日放假办法" in c for c in cites)


def test_a_public_holiday_is_a_rest_day_and_an_adjusted_working_day_is_not() -> None:
    eng = Engine(compose(load_policy("cn"), NO_HOLIDAYS))
    case = eng.open_case(make_loan(), make_borrower(SH))
    call = ContactAttempt(channel="call")
    spring = eng.check(case, call, at=local(dt.date(2026, 2, 17), 10))
    assert [str(v.code) for v in spring.violations] == ["contact.rest_day"]
    assert "Spring Festival" in spring.violations[0].message
    assert spring.violations[0].retry_at == local(dt.date(2026, 2, 21), 0)
    assert "provisional" not in spring.violations[0].details
    assert eng.check(case, call, at=local(dt.date(2026, 2, 14), 10)).allowed  # 调休 Saturday
    # 2027 is past the year the calendar is known: the refusal says so.
    later = eng.check(case, call, at=local(dt.date(2027, 10, 1), 10))
    assert later.violations[0].details["provisional"] == "true"


def test_a_notice_posted_past_the_known_year_is_served_provisionally() -> None:
    sent = local(dt.date(2027, 3, 1), 10, LONDON)
    notice = ev("notice", sent, kind="default", remedy_date="2027-03-10")
    case = case_of("uk", notice, zones=(LONDON,))
    refused = engine("uk").check(case, Report(), at=local(dt.date(2027, 4, 1), 10, LONDON))
    assert refused.violations[0].details["provisional"] == "true"
    known = ev(
        "notice", local(dt.date(2026, 3, 2), 10, LONDON), kind="default", remedy_date="2026-03-10"
    )
    case = case_of("uk", known, zones=(LONDON,))
    refused = engine("uk").check(case, Report(), at=local(dt.date(2026, 4, 1), 10, LONDON))
    assert "provisional" not in refused.violations[0].details


def test_a_limitation_ending_inside_the_known_year_is_not_provisional() -> None:
    loan = make_loan([dt.date(2023, 3, 1)])
    events = [
        ev("notice", local(dt.date(2023, 2, 20)), kind="formal_demand"),
        ev("escalate", local(dt.date(2023, 4, 1)), to="negotiation"),
        ev("escalate", local(dt.date(2023, 5, 1)), to="formal"),
    ]
    case = engine("cn").replay(loan, make_borrower(SH), events)
    barred = engine("cn").check(case, LegalAction(), at=local(dt.date(2026, 3, 3), 0))
    assert barred.violations[0].details == {"limitation_ended": "2026-03-02"}
