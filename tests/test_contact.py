"""Every contact rule of the presets, on both sides of its boundary."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from staged_collection import (
    Case,
    ContactAttempt,
    ContactRefused,
    Decision,
    Engine,
    compose,
    load_policy,
)
from tests.builders import DUE0, engine, ev, make_borrower, make_loan

SH = "Asia/Shanghai"
NY = "America/New_York"
LDN = "Europe/London"
N1, N2 = "+8613800000000", "+8613900000000"


def at(day: int, hour: int, minute: int = 0, zone: str = SH, second: int = 0) -> dt.datetime:
    """Local time on 2026-02-``day``: the first instalment (due 2026-01-01) is overdue."""
    return dt.datetime(2026, 2, day, hour, minute, second, tzinfo=ZoneInfo(zone))


def codes(decision: Decision) -> set[str]:
    return {str(v.code) for v in decision.violations}


def call(**fields: Any) -> ContactAttempt:
    return ContactAttempt.model_validate({"channel": "call", "number": N1, **fields})


def case(policy: str, *events: Any, zones: tuple[str, ...] = (SH,), **borrower: Any) -> Case:
    currency = {"cn": "CNY", "us": "USD", "uk": "GBP"}[policy]
    person = make_borrower(**{**borrower, "timezones": list(zones)})
    return engine(policy).replay(make_loan(currency=currency), person, events, breaches=True)


def contact(when: dt.datetime, outcome: str = "no_answer", **fields: Any) -> Any:
    return ev("contact", when, **{"channel": "call", "number": N1, "outcome": outcome, **fields})


# -- windows -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "zone", "last", "first_refused"),
    [("cn", SH, (21, 59), (22, 0)), ("us", NY, (20, 59), (21, 0)), ("uk", LDN, (20, 59), (21, 0))],
)
def test_the_evening_edge_of_the_window(
    policy: str, zone: str, last: tuple[int, int], first_refused: tuple[int, int]
) -> None:
    c = case(policy, zones=(zone,))
    check = engine(policy).check
    assert check(c, call(), at=at(3, *last, zone=zone, second=59)).allowed
    refused = check(c, call(), at=at(3, *first_refused, zone=zone))
    assert codes(refused) == {"contact.quiet_hours"}
    v = refused.violations[0]
    assert f"{first_refused[0]}:00 on 2026-02-03 in {zone} is outside 08:00-" in v.message
    assert v.details["zone"] == zone
    assert v.retry_at == at(4, 8, zone=zone)


@pytest.mark.parametrize(("policy", "zone"), [("cn", SH), ("us", NY), ("uk", LDN)])
def test_the_morning_edge_of_the_window(policy: str, zone: str) -> None:
    c = case(policy, zones=(zone,))
    check = engine(policy).check
    assert codes(check(c, call(), at=at(3, 7, 59, zone=zone, second=59))) == {"contact.quiet_hours"}
    assert check(c, call(), at=at(3, 8, zone=zone)).allowed


def test_the_dst_example_the_window_moves_with_the_clock() -> None:
    # New York springs forward on 2026-03-08: 08:00 local is 12:00Z, not 13:00Z.
    c = case("us", zones=(NY,))
    before = dt.datetime(2026, 3, 8, 11, 59, tzinfo=dt.UTC)
    assert not engine("us").check(c, call(), at=before).allowed
    assert engine("us").check(c, call(), at=before + dt.timedelta(minutes=1)).allowed


def test_a_borrower_in_two_zones_must_be_inside_both_windows() -> None:
    c = case("us", zones=(NY, "America/Los_Angeles"))
    nine_am_new_york = at(3, 9, zone=NY)  # 06:00 in Los Angeles
    refused = engine("us").check(c, call(), at=nine_am_new_york)
    assert codes(refused) == {"contact.quiet_hours"}
    assert refused.violations[0].details["zone"] == "America/Los_Angeles"
    assert engine("us").check(c, call(), at=at(3, 11, zone=NY)).allowed
    late = engine("us").check(c, call(), at=at(3, 22, zone="America/Los_Angeles"))
    assert {v.details["zone"] for v in late.violations} == {NY, "America/Los_Angeles"}


def test_a_letter_has_no_window() -> None:
    c = case("cn")
    assert engine("cn").check(c, call(channel="letter"), at=at(3, 3)).allowed


def test_an_unknown_location_refuses_moment_channels_but_not_letters() -> None:
    c = case("us", zones=())
    refused = engine("us").check(c, call(), at=at(3, 12, zone=NY))
    assert codes(refused) == {"contact.unknown_timezone"}
    assert engine("us").next_allowed(c, call(), after=at(3, 12, zone=NY)) is None
    assert engine("us").check(c, call(channel="letter"), at=at(3, 12, zone=NY)).allowed


def test_stated_inconvenient_times_are_hard_constraints() -> None:
    pref = ev("preference", at(2, 10), inconvenient=[{"start": "12:00", "end": "14:00"}])
    c = case("uk", pref, zones=(LDN,))
    refused = engine("uk").check(c, call(), at=at(3, 13, zone=LDN))
    assert codes(refused) == {"contact.borrower_inconvenient"}
    assert refused.violations[0].retry_at == at(3, 14, zone=LDN)
    assert engine("uk").check(c, call(), at=at(3, 14, zone=LDN)).allowed
    assert engine("uk").check(c, call(), at=at(3, 11, 59, zone=LDN)).allowed


def test_rest_days_where_a_policy_sets_them() -> None:
    policy = compose(
        load_policy("cn"), {"contact": {"rest_days": {"weekdays": [7], "citation": "Lender"}}}
    )
    eng = Engine(policy)
    c = eng.replay(make_loan(), make_borrower(SH), [])
    sunday = at(8, 12)
    assert sunday.isoweekday() == 7
    refused = eng.check(c, call(), at=sunday)
    assert codes(refused) == {"contact.rest_day"}
    assert refused.violations[0].retry_at == at(9, 0)
    assert eng.next_allowed(c, call(), after=sunday) == at(9, 8)


# -- frequency: cn ---------------------------------------------------------------------------


def test_cn_three_conversations_a_day_across_lender_and_agencies() -> None:
    events = [
        contact(at(3, 9), "conversation"),
        contact(at(3, 10), "conversation", placed_by="agency-1", channel="ai_voice"),
        contact(at(3, 11), "conversation", initiated_by="borrower"),  # theirs: not counted
    ]
    c = case("cn", *events)
    assert engine("cn").check(c, call(), at=at(3, 12)).allowed
    c = engine("cn").apply(c, contact(at(3, 12), "conversation", number=N2))
    refused = engine("cn").check(c, call(number=N2), at=at(3, 13))
    assert codes(refused) == {"contact.frequency"}
    assert refused.violations[0].details == {"counter": "conversations", "count": "3", "limit": "3"}
    assert refused.violations[0].retry_at == at(4, 0)
    assert engine("cn").next_allowed(c, call(), after=at(3, 13)) == at(4, 8)


def test_cn_six_unanswered_attempts_per_number_a_day() -> None:
    c = case("cn", *[contact(at(3, 9, 10 * i)) for i in range(5)])
    assert engine("cn").check(c, call(), at=at(3, 11)).allowed  # the sixth
    c = engine("cn").apply(c, contact(at(3, 11), "busy"))
    refused = engine("cn").check(c, call(), at=at(3, 12))  # the seventh
    assert codes(refused) == {"contact.frequency"}
    assert refused.violations[0].details["counter"] == "unanswered"
    assert engine("cn").check(c, call(number=N2), at=at(3, 12)).allowed  # another number


def test_cn_a_third_party_only_after_three_unreachable_days() -> None:
    relay = ContactAttempt(
        channel="call", recipient="third_party", relation="emergency_contact", purpose="relay"
    )
    days = [contact(at(d, 10)) for d in (3, 4)]
    c = case("cn", *days)
    refused = engine("cn").check(c, relay, at=at(4, 15))
    assert codes(refused) == {"contact.third_party"}
    assert "not unreachable" in refused.violations[0].message
    c = engine("cn").apply(c, contact(at(5, 10)))
    assert engine("cn").check(c, relay, at=at(5, 15)).allowed  # days 3, 4, 5
    assert engine("cn").check(c, relay, at=at(6, 9)).allowed  # ending yesterday
    assert not engine("cn").check(c, relay, at=at(7, 9)).allowed  # day 6 had no attempt
    collect = relay.model_copy(update={"purpose": "collection"})
    assert codes(engine("cn").check(c, collect, at=at(5, 15))) == {"contact.third_party"}
    talked = engine("cn").apply(c, contact(at(5, 11), "conversation", number=N2))
    assert not engine("cn").check(talked, relay, at=at(5, 15)).allowed


def test_cn_a_deceased_borrower_lets_relatives_be_asked_for_relay() -> None:
    c = case("cn", ev("hold", at(3, 9), kind="deceased"))
    relay = ContactAttempt(channel="call", recipient="third_party", relation="son", purpose="relay")
    assert engine("cn").check(c, relay, at=at(3, 10)).allowed
    assert codes(engine("cn").check(c, call(), at=at(3, 10))) == {"contact.hold"}


# -- frequency and cooldown: us ----------------------------------------------------------------


def test_us_seven_calls_in_seven_days_the_eighth_is_refused() -> None:
    calls = [contact(at(d, 10, zone=NY)) for d in range(2, 9)]  # days 2..8: seven calls
    c = case("us", *calls[:6], zones=(NY,))
    assert engine("us").check(c, call(), at=at(8, 10, zone=NY)).allowed
    c = engine("us").apply(c, calls[6])
    refused = engine("us").check(c, call(), at=at(8, 11, zone=NY))
    assert codes(refused) == {"contact.frequency"}
    # The call of day 2 leaves the 7-day window on day 9.
    assert refused.violations[0].retry_at == at(9, 0, zone=NY)
    assert engine("us").check(c, call(), at=at(9, 8, zone=NY)).allowed


def test_us_busy_and_not_in_service_do_not_count_voicemail_does() -> None:
    outcomes = ["busy", "not_in_service"] * 3 + ["voicemail"] * 6
    c = case(
        "us", *[contact(at(5, 9, 4 * i, zone=NY), o) for i, o in enumerate(outcomes)], zones=(NY,)
    )
    assert engine("us").check(c, call(), at=at(5, 12, zone=NY)).allowed
    c = engine("us").apply(c, contact(at(5, 12, zone=NY), "voicemail"))
    assert codes(engine("us").check(c, call(), at=at(5, 13, zone=NY))) == {"contact.frequency"}


def test_us_no_call_for_seven_days_after_a_conversation() -> None:
    c = case("us", contact(at(3, 10, zone=NY), "conversation"), zones=(NY,))
    day7 = engine("us").check(c, call(), at=at(9, 12, zone=NY))
    assert codes(day7) == {"contact.cooldown"}
    assert day7.violations[0].retry_at == at(10, 0, zone=NY)
    assert engine("us").check(c, call(), at=at(10, 8, zone=NY)).allowed  # day 8
    assert engine("us").check(c, call(channel="sms"), at=at(4, 12, zone=NY)).allowed


def test_us_a_consent_exempts_calls_from_the_cap_and_the_cooldown() -> None:
    c = case(
        "us",
        contact(at(3, 10, zone=NY), "conversation"),
        ev("consent", at(3, 10, 30, zone=NY), channel="call", until=at(5, 0, zone=NY).isoformat()),
        zones=(NY,),
    )
    assert engine("us").check(c, call(), at=at(4, 12, zone=NY)).allowed
    assert codes(engine("us").check(c, call(), at=at(5, 12, zone=NY))) == {"contact.cooldown"}


def test_us_a_third_party_once_for_location_only() -> None:
    ask = ContactAttempt(
        channel="call", recipient="third_party", relation="neighbour", number=N2, purpose="location"
    )
    c = case("us", zones=(NY,))
    assert engine("us").check(c, ask, at=at(3, 12, zone=NY)).allowed
    relay = ask.model_copy(update={"purpose": "relay"})
    assert codes(engine("us").check(c, relay, at=at(3, 12, zone=NY))) == {"contact.third_party"}
    c = engine("us").apply(
        c,
        contact(
            at(3, 12, zone=NY),
            "conversation",
            recipient="third_party",
            relation="neighbour",
            number=N2,
            purpose="location",
        ),
    )
    again = engine("us").check(c, ask, at=at(4, 12, zone=NY))
    # Once only; and the 7-day rest after a conversation protects every person.
    assert codes(again) == {"contact.third_party", "contact.cooldown"}
    assert "already been contacted once" in again.violations[0].message
    later = engine("us").check(c, ask, at=at(20, 12, zone=NY))
    assert codes(later) == {"contact.third_party"}


# -- hard stops --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stop", "attempt", "code"),
    [
        (("cease", {}), {}, "contact.ceased"),
        (("cease", {"channels": ["call"]}), {}, "contact.ceased"),
        (("attorney", {}), {}, "contact.represented"),
        (("hold", {"kind": "bankruptcy"}), {}, "contact.hold"),
        (("dispute", {}), {}, "contact.hold"),
        (("preference", {"no_work_contact": True}), {"at_work": True}, "contact.workplace"),
        (
            ("preference", {"no_work_contact": True}),
            {"number": "+14155550199"},
            "contact.workplace",
        ),
    ],
)
def test_us_hard_stops(
    stop: tuple[str, dict[str, Any]], attempt: dict[str, Any], code: str
) -> None:
    before = case("us", zones=(NY,), work_phones=["+14155550199"])
    noon = at(3, 12, zone=NY)
    assert engine("us").check(before, call(**attempt), at=noon).allowed
    after = engine("us").apply(before, ev(stop[0], at(3, 9, zone=NY), **stop[1]))
    assert codes(engine("us").check(after, call(**attempt), at=noon)) == {code}
    assert engine("us").next_allowed(after, call(**attempt), after=noon) is None


def test_a_channel_opt_out_leaves_other_channels() -> None:
    c = case("us", ev("cease", at(3, 9, zone=NY), channels=["call"]), zones=(NY,))
    assert engine("us").check(c, call(channel="sms"), at=at(3, 12, zone=NY)).allowed


def test_a_hold_does_not_block_a_location_contact_and_ends_with_its_date() -> None:
    c = case(
        "uk", ev("hold", at(3, 9, zone=LDN), kind="hardship", until="2026-02-05"), zones=(LDN,)
    )
    refused = engine("uk").check(c, call(), at=at(5, 12, zone=LDN))
    assert codes(refused) == {"contact.hold"}
    assert refused.violations[0].retry_at == at(6, 0, zone=LDN)
    assert engine("uk").next_allowed(c, call(), after=at(5, 12, zone=LDN)) == at(6, 8, zone=LDN)


def test_nothing_due_after_the_case_ends() -> None:
    c = case("cn", ev("payment", at(3, 9), amount="12000.00"))
    assert codes(engine("cn").check(c, call(), at=at(3, 12))) == {"contact.nothing_due"}


def test_the_borrower_calling_in_is_always_recorded() -> None:
    c = case("us", ev("cease", at(3, 9, zone=NY)), zones=(NY,))
    inbound = contact(at(3, 23, zone=NY), "conversation", initiated_by="borrower")
    assert engine("us").apply(c, inbound).events[-1] == inbound


# -- stage: field visits and agencies ---------------------------------------------------------


def formal(policy: str = "cn") -> Case:
    events = [
        ev("notice", at(1, 9), kind="formal_demand"),
        ev("escalate", dt.datetime(2026, 2, 1, 12, tzinfo=ZoneInfo(SH)), to="negotiation"),
        ev("escalate", dt.datetime(2026, 3, 3, 12, tzinfo=ZoneInfo(SH)), to="formal"),
        ev("notice", dt.datetime(2026, 3, 4, 12, tzinfo=ZoneInfo(SH)), kind="referral"),
    ]
    return case(policy, *events)


def visit(collectors: int = 2) -> ContactAttempt:
    return ContactAttempt(channel="field_visit", collectors=collectors)


def test_field_visits_only_from_formal_with_an_appointment_and_two_collectors() -> None:
    early = case("cn")
    assert "contact.stage" in codes(engine("cn").check(early, visit(), at=at(3, 10)))
    c = formal()
    when = dt.datetime(2026, 3, 10, 15, tzinfo=ZoneInfo(SH))
    assert codes(engine("cn").check(c, visit(), at=when)) == {"contact.visit_requirements"}
    booked = engine("cn").apply(
        c, ev("appointment", when - dt.timedelta(days=2), visit_at=when.isoformat())
    )
    assert engine("cn").check(booked, visit(), at=when + dt.timedelta(hours=2)).allowed
    late = engine("cn").check(booked, visit(), at=when + dt.timedelta(hours=2, minutes=1))
    assert codes(late) == {"contact.visit_requirements"}
    one = engine("cn").check(booked, visit(collectors=1), at=when)
    assert codes(one) == {"contact.visit_requirements"}
    assert "at least 2 collectors" in one.violations[0].message
    first = engine("cn").next_allowed(booked, visit(), after=when - dt.timedelta(days=1))
    assert first == when - dt.timedelta(hours=2)


def test_an_agency_contacts_only_while_the_case_is_placed_with_it() -> None:
    c = formal()
    by_agency = call(placed_by="agency-1")
    when = dt.datetime(2026, 4, 10, 12, tzinfo=ZoneInfo(SH))
    assert codes(engine("cn").check(c, by_agency, at=when)) == {"contact.stage"}
    placed = engine("cn").apply(
        c, ev("refer", when - dt.timedelta(days=1), agency="agency-1", evaluated_on="2026-01-15")
    )
    assert engine("cn").check(placed, by_agency, at=when).allowed
    other = engine("cn").check(placed, call(placed_by="agency-2"), at=when)
    assert codes(other) == {"contact.stage"}


# -- recording ---------------------------------------------------------------------------------


def test_a_refused_contact_is_not_recorded_unless_recorded_as_a_breach() -> None:
    c = case("cn")
    late = contact(at(3, 23))
    with pytest.raises(ContactRefused) as info:
        engine("cn").apply(c, late)
    assert codes(info.value.decision) == {"contact.quiet_hours"}
    assert len(c) == 0
    breached = engine("cn").apply(c, late, breach=True)
    assert breached.events == (late,)
    assert [codes(d) for d in breached.breaches] == [{"contact.quiet_hours"}]
    assert c.breaches == ()


def test_recorded_contacts_count_against_the_caps() -> None:
    c = case("cn")
    for i in range(3):
        c = engine("cn").apply(c, contact(at(3, 9 + i), "conversation"))
    with pytest.raises(ContactRefused):
        engine("cn").apply(c, contact(at(3, 13), "no_answer"))


def test_next_allowed_before_the_last_event_answers_as_check_does_from_the_case_then() -> None:
    # One rule for both questions (issue 9, item 13): an instant before the last event is
    # answered from the events up to then, by check and by next_allowed alike.
    talks = [contact(at(3, 9 + i), "conversation") for i in range(3)]
    c = case("cn", *talks, contact(at(4, 9), "no_answer"))
    then = case("cn", *talks)
    early = at(3, 21, minute=30)
    assert engine("cn").check(c, call(), at=early) == engine("cn").check(then, call(), at=early)
    found = engine("cn").next_allowed(c, call(), after=early)
    assert found == engine("cn").next_allowed(then, call(), after=early)
    assert found == at(4, 8)  # the cap of 3 conversations resets at local midnight


def test_debtor_counters_count_the_borrowers_other_cases() -> None:
    mine = case("cn", contact(at(3, 9), "conversation"), contact(at(3, 10), "conversation"))
    other = engine("cn").replay(
        make_loan(loan_id="L2"), make_borrower(SH), [contact(at(3, 11), "conversation")]
    )
    assert engine("cn").check(mine, call(), at=at(3, 12)).allowed
    both = engine("cn").check(mine, call(), at=at(3, 12), others=[other])
    assert codes(both) == {"contact.frequency"}
    assert DUE0.year == 2026


def test_a_counter_can_count_only_what_agencies_place() -> None:
    policy = compose(
        load_policy("uk"),
        {
            "contact": {
                "counters": [
                    {
                        "name": "agency_calls",
                        "key": "debt",
                        "window": "local_day",
                        "channels": ["call"],
                        "outcomes": ["conversation", "no_answer"],
                        "placed_by": "agency",
                        "limit": 1,
                        "citation": "Lender: one agency call a day",
                    }
                ]
            }
        },
    )
    eng = Engine(policy)
    c = eng.replay(make_loan(currency="GBP"), make_borrower(LDN), [contact(at(3, 9, zone=LDN))])
    by_agency = call(placed_by="A1")
    # The lender's call does not count, and the lender is not limited by this counter.
    assert "contact.frequency" not in codes(eng.check(c, by_agency, at=at(3, 12, zone=LDN)))
    c = eng.apply(c, contact(at(3, 10, zone=LDN), placed_by="A1"), breach=True)
    assert "contact.frequency" in codes(eng.check(c, by_agency, at=at(3, 12, zone=LDN)))
    assert "contact.frequency" not in codes(eng.check(c, call(), at=at(3, 12, zone=LDN)))
