"""Effective dates: a policy is a timeline, and every decision uses the rules in force on its
instant's local date in the policy's home zone, whatever zones the borrower is in.

- the model: what is in force on a date, the boundaries, the periods, rules that cannot be
  dated, dates in order, a fingerprint over the whole timeline;
- overlays keep a rule of law in force no shorter (an earlier start, a later end, or none);
- the engine at the instants around each boundary: its check equals the check of an engine
  built on the rules in force then (contacts and the ladder's guards), and the plain
  reference; ``next_allowed`` is allowed and no earlier minute is, across the boundary;
- the same switch at one instant for borrowers in any zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staged_collection import (
    Case,
    ContactAttempt,
    Engine,
    Escalate,
    Event,
    LegalAction,
    LooseningOverlayError,
    Policy,
    PolicyError,
    Report,
    compose,
    load_policy,
    parse_event,
)
from tests.builders import make_borrower, make_loan
from tests.reference_contact import reference_codes
from tests.test_contact_properties import LOAN, _dated, borrowers, contact_fields, histories

D = dt.date.fromisoformat
SH = ZoneInfo("Asia/Shanghai")


# -- the model ----------------------------------------------------------------------------


def test_the_cn_preset_dates_the_rules_whose_only_source_has_a_known_start() -> None:
    cn = load_policy("cn")
    assert cn.boundaries() == (D("2025-02-28"), D("2026-01-30"))
    counters = {c.name: c.effective_from for c in cn.contact.counters}
    assert counters == {"conversations": D("2025-02-28"), "unanswered": D("2026-01-30")}
    collectors = cn.contact.field_visit.collectors
    assert collectors is not None
    assert (collectors.min, collectors.effective_from) == (2, D("2026-01-30"))
    assert collectors.citation.startswith("CBA guideline 2026 art. 22")
    hours = cn.contact.quiet_hours
    assert not hours.dated
    assert not any(w.dated for w in hours.windows.values())


def test_the_cn_unreachable_triggers_a_and_b_start_with_the_cba_guideline() -> None:
    # DOMAIN section 7: triggers (a) and (b) of 失联 come from the CBA guideline alone, in
    # force from 2026-01-30; the three days of attempts (c) carry no start.
    third_party = load_policy("cn").contact.third_party
    assert third_party.unreachable_lines is not None
    assert third_party.unreachable_calls is not None
    assert third_party.unreachable_lines.effective_from == D("2026-01-30")
    assert third_party.unreachable_calls.effective_from == D("2026-01-30")
    eng = Engine("cn")
    relative = ContactAttempt(
        channel="call", recipient="third_party", relation="mother", purpose="location"
    )

    def failed(day: dt.date, outcome: str) -> list[Event]:
        return [
            parse_event(
                {
                    "type": "contact",
                    "at": dt.datetime.combine(day, dt.time(hour), SH).isoformat(),
                    "channel": "call",
                    "outcome": outcome,
                    "number": "+8613800000000",
                }
            )
            for hour in (9, 10, 11)
        ]

    def unreachable_on(day: dt.date, events: list[Event]) -> bool:
        case = eng.replay(make_loan(), make_borrower(), events)
        at = dt.datetime.combine(day, dt.time(12), SH)
        return eng.check(case, relative, at=at).allowed

    # (b): the day after three failed calls in a row; the calls the day before the start
    # count on the day of the start, since the rule then in force reads the previous day.
    assert not unreachable_on(D("2026-01-29"), failed(D("2026-01-28"), "no_answer"))
    assert unreachable_on(D("2026-01-30"), failed(D("2026-01-29"), "no_answer"))
    # (a): every number out of service.
    dead = failed(D("2026-01-28"), "not_in_service")[:1]
    assert not unreachable_on(D("2026-01-29"), dead)
    assert unreachable_on(D("2026-01-30"), dead)


def whole_policy(preset: str, path: tuple[str, ...], start: str) -> Engine:
    """An engine on ``preset`` whose rule at ``path`` starts on ``start`` (a whole policy:
    an overlay cannot start a rule of law later)."""
    data = load_policy(preset).model_dump(mode="json")
    rule = data
    for key in path:
        rule = rule[key]
    rule["effective_from"] = start
    return Engine(Policy.model_validate(data))


def test_a_rule_that_starts_later_reads_what_happened_before_its_start() -> None:
    # A rule in force at an instant reads the whole history, as the counters do: the fold
    # keeps what it reads (restarts, the arrears stretch) before the rule starts.
    london = ZoneInfo("Europe/London")
    dues = [D("2026-01-01"), D("2026-02-01"), D("2026-03-01")]
    paid = parse_event(
        {"type": "payment", "at": "2026-03-05T12:00:00+00:00", "amount": "1000.00"},
        currency="GBP",
    )
    uk = whole_policy("uk", ("duties", "arrears_notice"), "2026-03-10")
    case = uk.replay(make_loan(dues, currency="GBP"), make_borrower("Europe/London"), [paid])
    [duty] = uk.state(case, at=dt.datetime(2026, 3, 10, 12, tzinfo=london)).duties
    # Two instalments overdue at once since 2 February, unbroken by the payment of 5 March.
    assert duty.details["opened_on"] == "2026-02-02"
    assert duty.overdue

    # cn: three years from the last due date, restarted by a payment made while they run.
    cn = whole_policy("cn", ("legal", "limitation"), "2027-01-01")
    restart = parse_event(
        {"type": "payment", "at": "2026-12-15T12:00:00+08:00", "amount": "1.00"}, currency="CNY"
    )
    case = cn.replay(make_loan([D("2026-12-01")]), make_borrower(), [restart])
    at = dt.datetime(2029, 12, 10, 12, tzinfo=SH)
    assert "legal.time_barred" not in cn.check(case, LegalAction(), at=at).codes


def test_in_force_leaves_out_what_has_not_started_and_keeps_the_rest() -> None:
    cn = load_policy("cn")
    before = cn.in_force(D("2025-02-27"))
    assert before.contact.counters == ()
    assert before.contact.field_visit.collectors is None
    assert before.contact.field_visit.min_collectors == 1
    assert before.contact.quiet_hours == cn.contact.quiet_hours
    eve = cn.in_force(D("2026-01-29"))
    assert [c.name for c in eve.contact.counters] == ["conversations"]
    assert eve.contact.field_visit.min_collectors == 1
    day = cn.in_force(D("2026-01-30"))
    assert [c.name for c in day.contact.counters] == ["conversations", "unanswered"]
    assert day.contact.field_visit.min_collectors == 2
    assert day.fingerprint == cn.fingerprint  # everything is in force: the policy itself
    assert len({before.fingerprint, eve.fingerprint, day.fingerprint}) == 3


def test_a_rule_ends_after_its_last_day() -> None:
    p = compose(
        load_policy("us"),
        {
            "contact": {
                "min_gaps": [
                    {
                        "name": "calls",
                        "channels": ["call"],
                        "minutes": 60,
                        "effective_from": "2026-03-01",
                        "effective_to": "2026-03-31",
                        "citation": "Lender manual 2026 edition",
                    }
                ]
            }
        },
    )
    assert p.boundaries() == (D("2026-03-01"), D("2026-04-01"))
    assert [g.name for g in p.in_force(D("2026-03-31")).contact.min_gaps] == ["calls"]
    assert p.in_force(D("2026-04-01")).contact.min_gaps == ()
    assert p.in_force(D("2026-02-28")).contact.min_gaps == ()


def test_the_fingerprint_covers_the_whole_timeline() -> None:
    cn = load_policy("cn")
    later = compose(cn, {"contact": {"counters": [{"name": "unanswered", "effective_from": None}]}})
    assert later.fingerprint != cn.fingerprint
    assert later.in_force(D("2026-01-30")).fingerprint != cn.in_force(D("2026-01-30")).fingerprint


@pytest.mark.parametrize(
    ("overlay", "field"),
    [
        ({"contact": {"third_party": {"effective_from": "2026-01-01"}}}, "contact.third_party"),
        ({"ladder": {"formal": {"effective_to": "2027-01-01"}}}, "ladder.formal"),
        ({"contact": {"quiet_hours": {"effective_from": "2026-01-01"}}}, "contact.quiet_hours"),
    ],
)
def test_a_rule_the_policy_cannot_be_without_carries_no_dates(
    overlay: dict[str, Any], field: str
) -> None:
    with pytest.raises(PolicyError) as info:
        compose(load_policy("cn"), overlay)
    assert field in str(info.value)
    assert "carries no effective_from or effective_to" in str(info.value)


def test_a_hold_rule_carries_no_dates() -> None:
    with pytest.raises(PolicyError) as info:
        compose(load_policy("us"), {"holds": {"hardship": {"effective_from": "2026-01-01"}}})
    assert "holds" in info.value.field
    assert "every hold kind has a rule at every date" in info.value.problem


def test_a_rule_cannot_end_before_it_starts() -> None:
    with pytest.raises(PolicyError) as info:
        compose(
            load_policy("cn"),
            {"contact": {"counters": [{"name": "unanswered", "effective_to": "2026-01-01"}]}},
        )
    assert "effective_to (2026-01-01) is before effective_from (2026-01-30)" in str(info.value)


# -- overlays -----------------------------------------------------------------------------


def test_an_overlay_may_start_a_law_earlier_and_takes_its_layer() -> None:
    p = compose(
        load_policy("cn"),
        {
            "contact": {
                "counters": [
                    {
                        "name": "unanswered",
                        "effective_from": "2025-06-01",
                        "citation": "Lender policy: the CBA cap from June 2025",
                    }
                ]
            }
        },
    )
    (unanswered,) = [c for c in p.contact.counters if c.name == "unanswered"]
    assert (unanswered.effective_from, unanswered.layer) == (D("2025-06-01"), "<overlay>")
    assert unanswered.citation == "Lender policy: the CBA cap from June 2025"
    assert "unanswered" in [c.name for c in p.in_force(D("2025-06-01")).contact.counters]


def test_an_overlay_that_changes_a_value_keeps_the_base_dates() -> None:
    p = compose(load_policy("cn"), {"contact": {"counters": [{"name": "unanswered", "limit": 4}]}})
    (unanswered,) = [c for c in p.contact.counters if c.name == "unanswered"]
    assert (unanswered.limit, unanswered.effective_from) == (4, D("2026-01-30"))


def test_an_overlay_that_takes_a_date_away_keeps_the_rule_in_force_always() -> None:
    p = compose(
        load_policy("cn"),
        {"contact": {"field_visit": {"collectors": {"effective_from": None}}}},
    )
    assert p.in_force(D("2020-01-01")).contact.field_visit.min_collectors == 2


@pytest.mark.parametrize(
    ("overlay", "field", "was", "said"),
    [
        (
            {"contact": {"counters": [{"name": "unanswered", "effective_from": "2026-03-01"}]}},
            "contact.counters[unanswered].effective_from",
            "2026-01-30",
            "2026-03-01",
        ),
        (
            {"contact": {"counters": [{"name": "unanswered", "effective_to": "2026-12-31"}]}},
            "contact.counters[unanswered].effective_to",
            "none",
            "2026-12-31",
        ),
        (
            {"contact": {"quiet_hours": {"windows": {"call": {"effective_from": "2026-01-01"}}}}},
            "contact.quiet_hours.windows.call.effective_from",
            "none",
            "2026-01-01",
        ),
    ],
)
def test_an_overlay_cannot_keep_a_law_in_force_for_fewer_days(
    overlay: dict[str, Any], field: str, was: str, said: str
) -> None:
    with pytest.raises(LooseningOverlayError) as info:
        compose(load_policy("cn"), overlay)
    error = info.value
    assert (error.field, error.base, error.overlay) == (field, was, said)
    assert "which keeps it in force for fewer days" in error.problem


# -- the engine at a boundary, in any zone --------------------------------------------------

ZONES_EVERYWHERE = (
    "Pacific/Kiritimati",  # UTC+14: already the next day in most places
    "Asia/Shanghai",
    "Europe/London",
    "America/Los_Angeles",
    "Pacific/Pago_Pago",  # UTC-11
)


@pytest.mark.parametrize("zone", ZONES_EVERYWHERE)
def test_every_zone_switches_rules_at_midnight_in_the_home_zone(zone: str) -> None:
    policy = compose(
        load_policy("cn"),
        {
            "contact": {
                "rest_days": {
                    "weekdays": [1, 2, 3, 4, 5, 6, 7],
                    "effective_from": "2026-01-30",
                    "citation": "test: a moratorium on contact from 30 January",
                }
            }
        },
    )
    eng = Engine(policy)
    case = eng.open_case(make_loan(), make_borrower(zone))
    start = dt.datetime(2026, 1, 30, tzinfo=SH)
    before = eng.check(case, ContactAttempt(channel="sms"), at=start - dt.timedelta(seconds=1))
    on = eng.check(case, ContactAttempt(channel="sms"), at=start)
    assert "contact.rest_day" not in before.codes
    assert "contact.rest_day" in on.codes
    assert before.policy == on.policy == policy.fingerprint  # stamped with the whole timeline


def test_the_guards_switch_too() -> None:
    policy = compose(
        load_policy("cn"),
        {
            "ladder": {
                "negotiation": {
                    "notice": {
                        "kinds": ["reminder"],
                        "effective_from": "2026-03-01",
                        "citation": "Lender policy: a reminder before negotiation, from March",
                    }
                }
            }
        },
    )
    eng = Engine(policy)
    case = eng.open_case(make_loan(), make_borrower("America/New_York"))
    start = dt.datetime(2026, 3, 1, tzinfo=SH)
    before = eng.check(case, Escalate(to="negotiation"), at=start - dt.timedelta(minutes=1))
    on = eng.check(case, Escalate(to="negotiation"), at=start)
    assert before.allowed
    assert on.codes == ("transition.notice_required",)
    assert on.violations[0].layer == "<overlay>"
    assert eng.check(case, Report(), at=start).policy == policy.fingerprint


def test_next_allowed_stops_where_a_rule_ends() -> None:
    """A gap that ends at midnight in Beijing lets a London borrower be called at 17:00 (BST),
    not at the gap's end two hours later."""
    policy = compose(
        load_policy("cn"),
        {
            "contact": {
                "min_gaps": [
                    {
                        "name": "calls",
                        "channels": ["call"],
                        "minutes": 240,
                        "effective_to": "2026-03-31",
                        "citation": "Lender manual 2025 edition: 4 hours between calls",
                    }
                ]
            }
        },
    )
    eng = Engine(policy)
    london = ZoneInfo("Europe/London")
    case = eng.open_case(make_loan(), make_borrower("Europe/London"))
    called = dt.datetime(2026, 3, 31, 15, tzinfo=london)
    case = eng.apply(
        case,
        parse_event(
            {"type": "contact", "at": called.isoformat(), "channel": "call", "outcome": "busy"},
            currency="CNY",
        ),
    )
    refused = eng.check(case, ContactAttempt(channel="call"), at=called + dt.timedelta(minutes=30))
    assert refused.codes == ("contact.min_gap",)
    assert refused.violations[0].retry_at == called + dt.timedelta(hours=4)
    found = eng.next_allowed(case, ContactAttempt(channel="call"), after=called)
    assert found == dt.datetime(2026, 4, 1, tzinfo=SH)  # 17:00 in London
    assert found.astimezone(london).hour == 17


def test_next_allowed_finds_the_end_of_a_rule_with_no_end_of_its_own() -> None:
    """Contact at work is refused with no retry while the rule holds; once it ends, it is not."""
    policy = compose(
        load_policy("cn"),
        {"contact": {"workplace": {"citation": "test", "effective_to": "2026-03-31"}}},
    )
    eng = Engine(policy)
    borrower = make_borrower(work_phones=["+8613900000000"])
    case = eng.open_case(make_loan(), borrower)
    case = eng.apply(
        case,
        parse_event(
            {"type": "preference", "at": "2026-03-01T09:00:00+08:00", "no_work_contact": True},
            currency="CNY",
        ),
    )
    at_work = ContactAttempt(channel="call", number="+8613900000000")
    refused = eng.check(case, at_work, at=dt.datetime(2026, 3, 20, 10, tzinfo=SH))
    assert refused.codes == ("contact.workplace",)
    assert refused.violations[0].retry_at is None
    after = dt.datetime(2026, 3, 20, 10, tzinfo=SH)
    assert eng.next_allowed(case, at_work, after=after) == dt.datetime(2026, 4, 1, 8, tzinfo=SH)


DATED = [_dated("cn"), _dated("uk"), load_policy("cn")]
DATED = [
    compose(
        p,
        {
            "ladder": {
                "negotiation": {
                    "notice": {
                        "kinds": ["reminder"],
                        "effective_from": str(p.boundaries()[-1]),
                        "citation": "test: a reminder before negotiation",
                    }
                }
            }
        },
    )
    for p in DATED
]
ENGINES = {p.fingerprint: Engine(p) for p in DATED}
VIEWS: dict[str, Engine] = {}


def view_engine(policy: Policy, at: dt.datetime) -> Engine:
    """An engine on the rules in force at ``at`` alone, built from the policy's own view."""
    view = policy.in_force(at.astimezone(ZoneInfo(policy.home_timezone)).date())
    found = VIEWS.get(view.fingerprint)
    if found is None:
        found = VIEWS[view.fingerprint] = Engine(view)
    return found


@st.composite
def near_a_boundary(draw: st.DrawFn) -> tuple[Policy, Case, list[Event], dt.datetime]:
    policy = draw(st.sampled_from(DATED))
    day = draw(st.sampled_from(policy.boundaries()))
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(policy.home_timezone))
    nudge = draw(
        st.one_of(
            st.sampled_from([0, -1, 1, -60, 60, -3600, 3600]),
            st.integers(-30 * 3600, 30 * 3600),
        )
    )
    at = (midnight + dt.timedelta(seconds=nudge)).astimezone(dt.UTC)
    borrower = draw(borrowers())
    events: list[Event] = [parse_event(e, currency="USD") for e in draw(histories(at))]
    case = ENGINES[policy.fingerprint].replay(LOAN, borrower, events, breaches=True)
    return policy, case, events, at


def attempts(draw: Callable[[st.SearchStrategy[Any]], Any]) -> ContactAttempt:
    return ContactAttempt.model_validate(contact_fields(draw))


@settings(max_examples=150, deadline=None)
@given(scenario=near_a_boundary(), data=st.data())
def test_a_decision_uses_the_rules_in_force_at_its_instant(
    scenario: tuple[Policy, Case, list[Event], dt.datetime], data: st.DataObject
) -> None:
    policy, case, events, at = scenario
    eng = ENGINES[policy.fingerprint]
    then = view_engine(policy, at)
    static = then.replay(LOAN, case.borrower, events, trusted=True)
    attempt = attempts(data.draw)
    for request in (attempt, Escalate(to="negotiation"), Report()):
        got = eng.check(case, request, at=at)
        want = then.check(static, request, at=at)
        assert got.violations == want.violations
        assert got.policy == policy.fingerprint
    expected = reference_codes(policy, LOAN, case.borrower, case.events, attempt, at)
    assert set(eng.check(case, attempt, at=at).codes) == expected


@settings(max_examples=60, deadline=None)
@given(scenario=near_a_boundary(), data=st.data())
def test_next_allowed_across_a_boundary_is_allowed_and_no_earlier_minute_is(
    scenario: tuple[Policy, Case, list[Event], dt.datetime], data: st.DataObject
) -> None:
    policy, case, _, at = scenario
    eng = ENGINES[policy.fingerprint]
    attempt = attempts(data.draw)
    after = max(at, case.as_of or at)
    found = eng.next_allowed(case, attempt, after=after)
    end = (
        after + dt.timedelta(days=2) if found is None else min(found, after + dt.timedelta(days=2))
    )
    if found is not None:
        assert found >= after
        assert eng.check(case, attempt, at=found).allowed
    t = after
    while t < end:
        assert not eng.check(case, attempt, at=t).allowed, f"allowed at {t.isoformat()}"
        t += dt.timedelta(minutes=1)


def test_next_allowed_judges_an_instant_the_rules_change_at_by_the_new_rules() -> None:
    # Sundays are rest days for letters; from Monday 9 March a letter waits three days after
    # the last. After a letter on Saturday, asked on Sunday: the hours free Monday 00:00, the
    # very instant the gap starts, and the gap (not Sunday's rules) refuses it there.
    policy = compose(
        load_policy("us"),
        {
            "name": "us-dated-gap",
            "contact": {
                "rest_days": {"weekdays": [7], "letters": True, "citation": "test: no Sundays"},
                "min_gaps": [
                    {
                        "name": "letters",
                        "channels": ["letter"],
                        "minutes": 3 * 24 * 60,
                        "effective_from": "2026-03-09",
                        "citation": "test: three days between letters, from 9 March",
                    }
                ],
            },
        },
    )
    engine = Engine(policy)
    ny = ZoneInfo("America/New_York")
    letter = parse_event(
        {
            "type": "contact",
            "at": "2026-03-07T12:00:00-05:00",
            "channel": "letter",
            "outcome": "delivered",
        },
        currency="USD",
    )
    case = engine.replay(make_loan(), make_borrower("America/New_York"), [letter])
    attempt = ContactAttempt(channel="letter")
    monday = dt.datetime(2026, 3, 9, tzinfo=ny)
    assert engine.check(case, attempt, at=monday).codes == ("contact.min_gap",)
    found = engine.next_allowed(case, attempt, after=dt.datetime(2026, 3, 8, 10, tzinfo=ny))
    assert found == dt.datetime(2026, 3, 10, 13, tzinfo=ny)  # three days after the letter
    assert engine.check(case, attempt, at=found).allowed
    assert not engine.check(case, attempt, at=found - dt.timedelta(minutes=1)).allowed
