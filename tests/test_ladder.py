"""Every guard of the ladder table, on both sides of its boundary, with its rule code.

The instalments of the test loan fall due monthly from 2026-01-01, so on the
local date 2026-01-01 + n days the case is n days past due (until paid).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from staged_collection import (
    Case,
    Decision,
    Engine,
    Escalate,
    LegalAction,
    Refer,
    Report,
    Stage,
    TransitionNotAllowed,
    WriteOff,
    load_policy,
)
from tests.builders import DUE0, case_of, engine, ev, local, make_borrower, make_loan, on_dpd

CN = "cn"


def codes(decision: Decision) -> set[str]:
    return {str(v.code) for v in decision.violations}


def day_start(dpd: int, zone: str = "Asia/Shanghai") -> dt.datetime:
    day = DUE0 + dt.timedelta(days=dpd)
    return dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))


def escalated(policy: str, *to: str, zone: str = "Asia/Shanghai") -> Case:
    """A case escalated one rung at a time, each on the first day its DPD allows."""
    events = []
    for stage, dpd in (("negotiation", 31), ("formal", 61)):
        if stage not in to:
            continue
        if stage == "formal" and policy in ("cn", "uk"):
            kind = "formal_demand" if policy == "cn" else "arrears"
            events.append(ev("notice", on_dpd(55, zone=zone), kind=kind))
        events.append(ev("escalate", on_dpd(dpd, zone=zone), to=stage))
        if stage == "formal" and policy == "cn":  # told before the debt is outsourced
            events.append(ev("notice", on_dpd(62, zone=zone), kind="referral"))
    return case_of(policy, *events, zones=(zone,))


# -- current -> reminder (automatic, DPD >= 1) -------------------------------------------


@given(
    zone=st.sampled_from(
        [
            "Asia/Shanghai",
            "America/New_York",
            "Europe/London",
            "Australia/Lord_Howe",
            "America/Havana",
            "Pacific/Chatham",
        ]
    )
)
def test_reminder_is_entered_at_local_midnight_after_the_due_date(zone: str) -> None:
    case = case_of(CN, zones=(zone,))
    midnight = day_start(1, zone)
    just_before = midnight - dt.timedelta(microseconds=1)
    assert engine(CN).state(case, at=just_before).stage is Stage.CURRENT
    assert engine(CN).state(case, at=just_before).dpd == 0
    assert engine(CN).state(case, at=midnight).stage is Stage.REMINDER
    assert engine(CN).state(case, at=midnight).dpd == 1


def test_the_automatic_move_is_recorded_when_the_next_event_arrives() -> None:
    case = case_of(CN, ev("notice", on_dpd(3), kind="reminder"))
    assert case.stage is Stage.REMINDER
    moves = engine(CN).explain(case, at=on_dpd(3)).moves
    assert [(m.trigger, m.source, m.dest) for m in moves] == [("overdue", "current", "reminder")]


# -- escalate to negotiation (DPD >= 31) ---------------------------------------------------


def test_negotiation_needs_dpd_31_and_says_when() -> None:
    case = case_of(CN)
    refused = engine(CN).check(case, Escalate(to="negotiation"), at=on_dpd(30, hour=23))
    assert codes(refused) == {"transition.min_dpd"}
    assert refused.violations[0].retry_at == day_start(31)
    assert engine(CN).check(case, Escalate(to="negotiation"), at=day_start(31)).allowed


@given(
    zone=st.sampled_from(["Asia/Shanghai", "America/Los_Angeles", "Europe/London", "Asia/Tehran"]),
    threshold=st.integers(min_value=31, max_value=200),  # an overlay cannot go below 31
)
def test_min_dpd_retry_at_is_the_first_allowed_instant(zone: str, threshold: int) -> None:
    policy = load_policy("cn", {"ladder": {"negotiation": {"min_dpd": threshold}}})
    eng = Engine(policy)
    case = eng.replay(make_loan(), make_borrower(zone), [])
    early = eng.check(case, Escalate(to="negotiation"), at=day_start(1, zone))
    retry = early.violations[0].retry_at
    assert retry == day_start(threshold, zone)
    assert eng.check(case, Escalate(to="negotiation"), at=retry).allowed
    before = retry - dt.timedelta(microseconds=1)
    assert codes(eng.check(case, Escalate(to="negotiation"), at=before)) == {"transition.min_dpd"}


# -- escalate to formal (DPD >= 61; cn: formal_demand; uk: arrears) ------------------------


@pytest.mark.parametrize(("policy", "notice"), [("cn", "formal_demand"), ("uk", "arrears")])
def test_formal_needs_dpd_61_and_the_presets_notice(policy: str, notice: str) -> None:
    case = escalated(policy, "negotiation")
    check = engine(policy).check
    assert codes(check(case, Escalate(to="formal"), at=on_dpd(60))) == {
        "transition.min_dpd",
        "transition.notice_required",
    }
    assert codes(check(case, Escalate(to="formal"), at=on_dpd(61))) == {
        "transition.notice_required"
    }
    with_notice = engine(policy).apply(case, ev("notice", on_dpd(50), kind=notice))
    assert codes(check(with_notice, Escalate(to="formal"), at=on_dpd(60))) == {"transition.min_dpd"}
    assert check(with_notice, Escalate(to="formal"), at=on_dpd(61)).allowed


def test_us_formal_needs_no_notice() -> None:
    case = escalated("us", "negotiation", zone="America/Chicago")
    chicago = on_dpd(61, zone="America/Chicago")
    assert engine("us").check(case, Escalate(to="formal"), at=chicago).allowed
    # Noon in Shanghai on that date is still the day before in Chicago: DPD 60 there.
    assert not engine("us").check(case, Escalate(to="formal"), at=on_dpd(61)).allowed


@pytest.mark.parametrize(
    "after",
    [
        [("notice", {"kind": "formal_demand", "delivered": False})],
        [("notice", {"kind": "formal_demand"}), ("undeliverable", {"kind": "formal_demand"})],
        [("notice", {"kind": "reminder"})],
    ],
)
def test_an_undelivered_or_returned_or_other_notice_does_not_count(
    after: list[tuple[str, dict[str, object]]],
) -> None:
    case = escalated(CN, "negotiation")
    for i, (kind, fields) in enumerate(after):
        case = engine(CN).apply(case, ev(kind, on_dpd(50 + i), **fields))
    decision = engine(CN).check(case, Escalate(to="formal"), at=on_dpd(61))
    assert codes(decision) == {"transition.notice_required"}


def test_the_notice_must_come_strictly_before_the_move() -> None:
    case = escalated(CN, "negotiation")
    at = on_dpd(61)
    case = engine(CN).apply(case, ev("notice", at, kind="formal_demand"))
    assert codes(engine(CN).check(case, Escalate(to="formal"), at=at)) == {
        "transition.notice_required"
    }
    later = at + dt.timedelta(seconds=1)
    assert engine(CN).check(case, Escalate(to="formal"), at=later).allowed


# -- refer to third_party (DPD >= 91; cn: agency evaluated within 365 days) -----------------


def test_refer_needs_dpd_91_and_a_recent_agency_evaluation() -> None:
    case = escalated(CN, "negotiation", "formal")
    day91 = DUE0 + dt.timedelta(days=91)
    recent = Refer(agency="A1", evaluated_on=day91 - dt.timedelta(days=365))
    stale = Refer(agency="A1", evaluated_on=day91 - dt.timedelta(days=366))
    check = engine(CN).check
    assert codes(check(case, recent, at=on_dpd(90))) == {"transition.min_dpd"}
    assert check(case, recent, at=on_dpd(91)).allowed
    assert codes(check(case, stale, at=on_dpd(91))) == {"transition.agency_not_evaluated"}
    assert codes(check(case, Refer(agency="A1"), at=on_dpd(91))) == {
        "transition.agency_not_evaluated"
    }
    future = Refer(agency="A1", evaluated_on=day91 + dt.timedelta(days=1))
    assert codes(check(case, future, at=on_dpd(91))) == {"transition.agency_not_evaluated"}


def test_cn_refer_needs_a_delivered_referral_notice_before_it() -> None:
    events = [
        ev("notice", on_dpd(55), kind="formal_demand"),
        ev("escalate", on_dpd(31), to="negotiation"),
        ev("escalate", on_dpd(61), to="formal"),
    ]
    case = case_of(CN, *sorted(events, key=lambda e: e.at))
    refer = Refer(agency="A1", evaluated_on=DUE0 + dt.timedelta(days=60))
    refused = engine(CN).check(case, refer, at=on_dpd(95))
    assert codes(refused) == {"transition.notice_required"}
    assert "art. 41" in refused.violations[0].citation
    returned = engine(CN).apply(case, ev("notice", on_dpd(92), kind="referral", delivered=False))
    assert codes(engine(CN).check(returned, refer, at=on_dpd(95))) == {"transition.notice_required"}
    told = engine(CN).apply(case, ev("notice", on_dpd(92), kind="referral"))
    assert engine(CN).check(told, refer, at=on_dpd(95)).allowed


def test_us_refer_needs_no_agency_evaluation() -> None:
    case = escalated("us", "negotiation", "formal", zone="America/New_York")
    at = on_dpd(91, zone="America/New_York")
    assert engine("us").check(case, Refer(agency="A1"), at=at).allowed


# -- one rung at a time --------------------------------------------------------------------


def test_skipping_a_rung_is_refused_unless_the_policy_allows_it() -> None:
    case = case_of(
        CN,
        ev("notice", on_dpd(50), kind="formal_demand"),
        ev("notice", on_dpd(51), kind="referral"),
    )
    refused = engine(CN).check(case, Escalate(to="formal"), at=on_dpd(70))
    assert codes(refused) == {"transition.not_allowed"}
    assert "one rung at a time" in refused.violations[0].message
    refer = engine(CN).check(case, Refer(agency="A", evaluated_on=DUE0), at=on_dpd(100))
    assert codes(refer) == {"transition.not_allowed"}

    lenient = load_policy("cn")
    lenient = lenient.model_copy(
        update={"ladder": lenient.ladder.model_copy(update={"skip_allowed": True})}
    )
    eng = Engine(lenient)
    case = eng.replay(make_loan(), make_borrower(), case.events)
    assert eng.check(case, Escalate(to="formal"), at=on_dpd(70)).allowed
    assert eng.apply(case, ev("escalate", on_dpd(70), to="formal")).stage is Stage.FORMAL


def test_going_back_down_is_not_a_move() -> None:
    case = escalated(CN, "negotiation", "formal")
    decision = engine(CN).check(case, Escalate(to="negotiation"), at=on_dpd(70))
    assert codes(decision) == {"transition.not_allowed"}


# -- holds, plans and promises ----------------------------------------------------------------


def test_a_hold_with_an_end_date_blocks_until_the_day_after() -> None:
    until = DUE0 + dt.timedelta(days=40)
    case = case_of(CN, ev("hold", on_dpd(20), kind="hardship", until=str(until)))
    refused = engine(CN).check(case, Escalate(to="negotiation"), at=on_dpd(40, hour=23))
    assert codes(refused) == {"transition.hold"}
    assert refused.violations[0].retry_at == day_start(41)
    assert "hardship" in refused.violations[0].message
    assert engine(CN).check(case, Escalate(to="negotiation"), at=day_start(41)).allowed


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (("hold", {"kind": "bankruptcy"}), ("hold_lifted", {"kind": "bankruptcy"})),
        (("dispute", {}), ("dispute_resolved", {})),
    ],
)
def test_an_open_hold_blocks_every_move_until_lifted(
    start: tuple[str, dict[str, object]], end: tuple[str, dict[str, object]]
) -> None:
    case = escalated(CN, "negotiation", "formal")
    case = engine(CN).apply(case, ev(start[0], on_dpd(80), **start[1]))
    at = on_dpd(200)
    for action in (Refer(agency="A", evaluated_on=DUE0 + dt.timedelta(days=150)), LegalAction()):
        decision = engine(CN).check(case, action, at=at)
        assert "transition.hold" in codes(decision)
        hold = next(v for v in decision.violations if v.code == "transition.hold")
        assert hold.retry_at is None
    case = engine(CN).apply(case, ev(end[0], on_dpd(199), **end[1]))
    assert engine(CN).check(case, LegalAction(), at=at).allowed


def test_uk_breathing_space_lasts_60_days_from_the_day_after_registration() -> None:
    # SI 2020/1311 reg. 26: the moratorium starts the day after registration; day 60 ends it.
    case = escalated("uk", "negotiation", zone="Europe/London")
    start = on_dpd(40, zone="Europe/London")
    case = engine("uk").apply(case, ev("hold", start, kind="breathing_space"))
    assert codes(engine("uk").check(case, Escalate(to="formal"), at=start)) >= {"transition.hold"}
    last_day = on_dpd(40 + 60, hour=23, zone="Europe/London")
    case = engine("uk").apply(case, ev("notice", on_dpd(50, zone="Europe/London"), kind="arrears"))
    assert codes(engine("uk").check(case, Escalate(to="formal"), at=last_day)) == {
        "transition.hold"
    }
    assert (
        engine("uk").check(case, Escalate(to="formal"), at=day_start(101, "Europe/London")).allowed
    )


def test_a_breathing_space_can_say_its_first_day() -> None:
    case = escalated("uk", "negotiation", zone="Europe/London")
    case = engine("uk").apply(
        case,
        ev(
            "hold",
            on_dpd(40, zone="Europe/London"),
            kind="breathing_space",
            starts_on=str(DUE0 + dt.timedelta(days=45)),
        ),
    )
    case = engine("uk").apply(case, ev("notice", on_dpd(50, zone="Europe/London"), kind="arrears"))
    last_day = on_dpd(45 + 59, hour=23, zone="Europe/London")
    assert not engine("uk").check(case, Escalate(to="formal"), at=last_day).allowed
    assert (
        engine("uk").check(case, Escalate(to="formal"), at=day_start(105, "Europe/London")).allowed
    )


def test_an_unexpired_promise_blocks_until_its_date_passes_unpaid() -> None:
    due = DUE0 + dt.timedelta(days=35)
    case = case_of(CN, ev("promise", on_dpd(25), amount="1000.00", due=str(due)))
    refused = engine(CN).check(case, Escalate(to="negotiation"), at=on_dpd(35, hour=21))
    assert codes(refused) == {"transition.plan_performing"}
    assert refused.violations[0].retry_at == day_start(36)
    assert engine(CN).check(case, Escalate(to="negotiation"), at=day_start(36)).allowed


def test_a_kept_promise_no_longer_blocks() -> None:
    due = DUE0 + dt.timedelta(days=45)
    case = case_of(
        CN,
        ev("promise", on_dpd(25), amount="500.00", due=str(due)),
        ev("payment", on_dpd(31), amount="500.00"),
    )
    assert engine(CN).check(case, Escalate(to="negotiation"), at=on_dpd(32)).allowed


def test_a_plan_blocks_while_it_performs_and_resumes_when_broken() -> None:
    plan = ev(
        "plan",
        on_dpd(32),
        kind="instalments",
        installments=[
            {"due": str(DUE0 + dt.timedelta(days=70)), "amount": "300.00"},
            {"due": str(DUE0 + dt.timedelta(days=100)), "amount": "300.00"},
        ],
    )
    case = escalated(CN, "negotiation")
    case = engine(CN).apply(case, plan)
    case = engine(CN).apply(case, ev("notice", on_dpd(55), kind="formal_demand"))
    assert codes(engine(CN).check(case, Escalate(to="formal"), at=on_dpd(61))) == {
        "transition.plan_performing"
    }
    # The plan's first instalment was due on day 70 and nothing was paid: it is broken.
    missed = engine(CN).check(case, Escalate(to="formal"), at=on_dpd(71))
    assert missed.allowed
    paid = engine(CN).apply(case, ev("payment", on_dpd(69), amount="300.00"))
    assert not engine(CN).check(paid, Escalate(to="formal"), at=on_dpd(71)).allowed
    broken = engine(CN).apply(paid, ev("plan_broken", on_dpd(71)))
    assert engine(CN).check(broken, Escalate(to="formal"), at=on_dpd(71)).allowed


# -- legal action ------------------------------------------------------------------------


def test_legal_action_is_taken_from_formal_or_third_party_only() -> None:
    case = escalated(CN, "negotiation")
    assert codes(engine(CN).check(case, LegalAction(), at=on_dpd(70))) == {"transition.not_allowed"}
    formal = escalated(CN, "negotiation", "formal")
    assert engine(CN).check(formal, LegalAction(), at=on_dpd(70)).allowed


def test_cn_limitation_is_three_years_from_the_last_due_date_restarted_by_a_demand() -> None:
    case = escalated(CN, "negotiation", "formal")
    last_due = DUE0.replace(month=12)
    three_years = last_due.replace(year=last_due.year + 3)
    assert three_years.weekday() == 5  # a Saturday: the period ends on Monday 2029-12-03
    ends = three_years + dt.timedelta(days=2)
    check = engine(CN).check
    assert check(case, LegalAction(), at=local(ends, 23)).allowed
    barred = check(case, LegalAction(), at=local(ends + dt.timedelta(days=1), 0))
    assert codes(barred) == {"legal.time_barred"}
    assert barred.violations[0].retry_at is None
    assert barred.violations[0].details["limitation_ended"] == str(ends)
    assert barred.violations[0].details["provisional"] == "true"  # 2029: past known_through
    demanded = engine(CN).apply(case, ev("notice", local(ends, 10), kind="formal_demand"))
    assert check(demanded, LegalAction(), at=local(ends + dt.timedelta(days=1), 0)).allowed
    too_late = engine(CN).apply(
        case, ev("notice", local(ends + dt.timedelta(days=1), 10), kind="formal_demand")
    )
    revived = check(too_late, LegalAction(), at=local(ends + dt.timedelta(days=2), 10))
    assert codes(revived) == {"legal.time_barred"}


def test_cn_a_returned_demand_restarts_nothing() -> None:
    case = escalated(CN, "negotiation", "formal")
    ends = dt.date(2029, 12, 3)
    demand = ev("notice", local(dt.date(2029, 6, 1), 10), kind="formal_demand")
    paid = ev("payment", local(dt.date(2029, 12, 20), 10), amount="1.00")
    # The demand (June 2029) makes the payment (after the first three years) count...
    kept = engine(CN).replay(case.loan, case.borrower, [*case.events, demand, paid])
    assert engine(CN).check(kept, LegalAction(), at=local(dt.date(2031, 1, 1), 10)).allowed
    # ... but once the demand comes back, the period ran on 2029-12-03 and the payment after it
    # revives nothing.
    returned = ev("undeliverable", local(dt.date(2030, 1, 5), 10), kind="formal_demand")
    gone = engine(CN).replay(case.loan, case.borrower, [*case.events, demand, paid, returned])
    barred = engine(CN).check(gone, LegalAction(), at=local(dt.date(2031, 1, 1), 10))
    assert codes(barred) == {"legal.time_barred"}
    assert barred.violations[0].details["limitation_ended"] == str(ends)


def test_uk_limitation_is_restarted_by_a_payment_not_by_a_demand() -> None:
    case = escalated("uk", "negotiation", "formal", zone="Europe/London")
    zone = "Europe/London"
    ends = DUE0.replace(month=12, year=2032)
    after = local(ends + dt.timedelta(days=1), 9, zone)
    case = engine("uk").apply(case, ev("forbearance_assessed", on_dpd(70, zone=zone)))
    remedy = DUE0 + dt.timedelta(days=100)
    case = engine("uk").apply(
        case, ev("notice", on_dpd(75, zone=zone), kind="default", remedy_date=str(remedy))
    )
    demanded = engine("uk").apply(case, ev("notice", local(ends, 9, zone), kind="formal_demand"))
    assert codes(engine("uk").check(demanded, LegalAction(), at=after)) == {"legal.time_barred"}
    paid = engine("uk").apply(
        case, ev("payment", local(ends, 9, zone), currency="GBP", amount="10.00")
    )
    assert engine("uk").check(paid, LegalAction(), at=after).allowed
    acknowledged = engine("uk").apply(case, ev("acknowledgment", local(ends, 9, zone)))
    assert engine("uk").check(acknowledged, LegalAction(), at=after).allowed
    for late in ("payment", "acknowledgment"):
        fields = {"currency": "GBP", "amount": "10.00"} if late == "payment" else {}
        revived = engine("uk").apply(case, ev(late, after, **fields))
        later = after + dt.timedelta(days=1)
        assert codes(engine("uk").check(revived, LegalAction(), at=later)) == {"legal.time_barred"}


def test_uk_legal_action_needs_a_valid_default_notice_passed_and_forbearance() -> None:
    zone = "Europe/London"
    case = escalated("uk", "negotiation", "formal", zone=zone)
    check = engine("uk").check
    sent = on_dpd(70, zone=zone)
    sent_day = sent.date()
    assert codes(check(case, LegalAction(), at=on_dpd(100, zone=zone))) == {
        "transition.notice_required",
        "legal.forbearance_required",
    }
    case = engine("uk").apply(case, ev("forbearance_assessed", on_dpd(69, zone=zone)))
    # Posted on Thursday 2026-03-12: served on the second working day after, Monday 16th.
    assert sent_day == dt.date(2026, 3, 12)
    served = dt.date(2026, 3, 16)
    short = engine("uk").apply(
        case, ev("notice", sent, kind="default", remedy_date=str(served + dt.timedelta(days=13)))
    )
    refused = check(short, LegalAction(), at=on_dpd(100, zone=zone))
    assert codes(refused) == {"transition.notice_required"}
    assert "less than 14 days after service" in refused.violations[0].message

    remedy = served + dt.timedelta(days=14)
    valid = engine("uk").apply(case, ev("notice", sent, kind="default", remedy_date=str(remedy)))
    the_day_before = local(remedy - dt.timedelta(days=1), 23, zone)
    waiting = check(valid, LegalAction(), at=the_day_before)
    assert codes(waiting) == {"transition.notice_required"}
    remedy_day = local(remedy, 0, zone)  # s88(2): action from the start of the remedy date
    assert waiting.violations[0].retry_at == remedy_day
    assert check(valid, LegalAction(), at=remedy_day).allowed


# -- write-off ------------------------------------------------------------------------------


def test_write_off_needs_dpd_181() -> None:
    case = case_of(CN)
    assert codes(engine(CN).check(case, WriteOff(), at=on_dpd(180))) == {"transition.min_dpd"}
    assert engine(CN).check(case, WriteOff(), at=on_dpd(181)).allowed
    done = engine(CN).apply(case, ev("write_off", on_dpd(181)))
    assert done.stage is Stage.WRITTEN_OFF


# -- terminal stages and nothing overdue ---------------------------------------------------


@pytest.mark.parametrize(
    "ending",
    [
        ("payment", {"amount": "12000.00"}),
        ("settle", {"amount": "5000.00"}),
        ("write_off", {}),
    ],
)
def test_terminal_stages_absorb_every_move(ending: tuple[str, dict[str, object]]) -> None:
    case = escalated(CN, "negotiation", "formal")
    case = engine(CN).apply(case, ev(ending[0], on_dpd(190), **ending[1]))
    assert case.stage.terminal
    at = on_dpd(400)
    for action in (
        Escalate(to="formal"),
        Refer(agency="A", evaluated_on=at.date()),
        Report(),
        LegalAction(),
        WriteOff(),
    ):
        assert codes(engine(CN).check(case, action, at=at)) == {"transition.terminal"}
    with pytest.raises(TransitionNotAllowed):
        engine(CN).apply(case, ev("settle", at, amount="1.00"))


def test_nothing_overdue_is_not_delinquent() -> None:
    case = case_of(CN, ev("payment", on_dpd(-5), amount="1000.00"))
    assert codes(engine(CN).check(case, Report(), at=on_dpd(10))) == {
        "transition.not_delinquent",
        "bureau.notice_required",
    }
    decision = engine(CN).check(case, Escalate(to="negotiation"), at=on_dpd(10))
    assert codes(decision) == {"transition.not_allowed", "transition.not_delinquent"}


# -- cure, resolve, recall, settle ----------------------------------------------------------


def test_paying_everything_overdue_cures_and_ends_a_placement() -> None:
    case = escalated(CN, "negotiation", "formal")
    evaluated = str(DUE0 + dt.timedelta(days=60))
    case = engine(CN).apply(case, ev("refer", on_dpd(95), agency="A1", evaluated_on=evaluated))
    assert case.stage is Stage.THIRD_PARTY
    assert engine(CN).state(case, at=on_dpd(96)).placed_with == "A1"
    partial = engine(CN).apply(case, ev("payment", on_dpd(100), amount="3999.99"))
    assert partial.stage is Stage.THIRD_PARTY
    cured = engine(CN).apply(partial, ev("payment", on_dpd(100), amount="0.01"))
    state = engine(CN).state(cured, at=on_dpd(100))
    assert (state.stage, state.placed_with, state.dpd) == (Stage.CURRENT, None, 0)


def test_paying_the_whole_balance_resolves() -> None:
    case = escalated(CN, "negotiation")
    done = engine(CN).apply(case, ev("payment", on_dpd(40), amount="12000.00"))
    assert done.stage is Stage.RESOLVED
    later = engine(CN).apply(done, ev("payment", on_dpd(41), amount="5.00"))
    assert later.stage is Stage.RESOLVED


def test_recall_returns_a_placed_case_to_formal_and_only_that() -> None:
    case = escalated(CN, "negotiation", "formal")
    with pytest.raises(TransitionNotAllowed) as info:
        engine(CN).apply(case, ev("recall", on_dpd(95)))
    assert codes(info.value.decision) == {"transition.not_allowed"}
    evaluated = str(DUE0 + dt.timedelta(days=60))
    placed = engine(CN).apply(case, ev("refer", on_dpd(95), agency="A1", evaluated_on=evaluated))
    recalled = engine(CN).apply(placed, ev("recall", on_dpd(96)))
    assert recalled.stage is Stage.FORMAL
    assert engine(CN).state(recalled, at=on_dpd(97)).placed_with is None


def test_a_refused_apply_raises_with_the_decision_and_records_nothing() -> None:
    case = case_of(CN)
    with pytest.raises(TransitionNotAllowed) as info:
        engine(CN).apply(case, ev("escalate", on_dpd(10), to="negotiation"))
    decision = info.value.decision
    assert not decision.allowed
    assert codes(decision) == {"transition.min_dpd"}
    assert "transition.min_dpd" in str(info.value)
    assert len(case) == 0
    assert case.stage is Stage.CURRENT
