"""The credit-bureau track: notices before reporting, waits, disputes, updates, obsolescence."""

from __future__ import annotations

import datetime as dt

import pytest

from staged_collection import BureauStatus, Decision, Report, TransitionNotAllowed
from tests.builders import DUE0, case_of, engine, ev, local, on_dpd

NY = "America/New_York"


def codes(decision: Decision) -> set[str]:
    return {str(v.code) for v in decision.violations}


def test_cn_reports_only_after_a_delivered_pre_reporting_notice() -> None:
    case = case_of("cn")
    assert codes(engine("cn").check(case, Report(), at=on_dpd(20))) == {"bureau.notice_required"}
    at = on_dpd(20)
    noticed = engine("cn").apply(case, ev("notice", at, kind="pre_reporting"))
    assert noticed.bureau is BureauStatus.NOTICE_SENT
    assert codes(engine("cn").check(noticed, Report(), at=at)) == {"bureau.notice_required"}
    assert engine("cn").check(noticed, Report(), at=at + dt.timedelta(seconds=1)).allowed
    reported = engine("cn").apply(noticed, ev("report", on_dpd(21)))
    assert reported.bureau is BureauStatus.REPORTED


def test_a_returned_notice_takes_the_track_back_and_blocks_the_report() -> None:
    case = case_of("cn", ev("notice", on_dpd(20), kind="pre_reporting"))
    returned = engine("cn").apply(case, ev("undeliverable", on_dpd(22), kind="pre_reporting"))
    assert returned.bureau is BureauStatus.NOT_REPORTED
    assert codes(engine("cn").check(returned, Report(), at=on_dpd(23))) == {
        "bureau.notice_required"
    }


def test_us_needs_dpd_30() -> None:
    case = case_of("us", ev("notice", on_dpd(1, zone=NY), kind="validation"), zones=(NY,))
    assert codes(engine("us").check(case, Report(), at=on_dpd(29, zone=NY))) == {"bureau.min_dpd"}
    assert engine("us").check(case, Report(), at=on_dpd(30, zone=NY)).allowed


def test_us_waits_14_full_days_after_the_mailing_date() -> None:
    mailed = on_dpd(40, hour=17, zone=NY)
    s = mailed.date()
    case = case_of("us", ev("notice", mailed, kind="validation"), zones=(NY,))
    last_day = local(s + dt.timedelta(days=14), 23, NY)
    refused = engine("us").check(case, Report(), at=last_day)
    assert codes(refused) == {"bureau.notice_required"}
    ready = local(s + dt.timedelta(days=15), 0, NY)
    assert refused.violations[0].retry_at == ready
    assert engine("us").check(case, Report(), at=ready).allowed


def test_us_an_undeliverable_notice_after_mailing_voids_it() -> None:
    mailed = on_dpd(40, zone=NY)
    case = case_of(
        "us",
        ev("notice", mailed, kind="pre_reporting"),
        ev("undeliverable", on_dpd(45, zone=NY), kind="pre_reporting"),
        zones=(NY,),
    )
    assert codes(engine("us").check(case, Report(), at=on_dpd(70, zone=NY))) == {
        "bureau.notice_required"
    }


def test_us_a_conversation_with_the_borrower_suffices() -> None:
    talk = ev("contact", on_dpd(35, zone=NY), channel="call", outcome="conversation")
    case = case_of("us", talk, zones=(NY,))
    assert engine("us").check(case, Report(), at=on_dpd(36, zone=NY)).allowed


def test_uk_reports_a_default_from_the_start_of_a_remedy_date_counted_from_service() -> None:
    zone = "Europe/London"
    sent = on_dpd(40, zone=zone)
    assert sent.date() == dt.date(2026, 2, 10)
    assert sent.weekday() == 1  # a Tuesday
    served = dt.date(2026, 2, 12)  # posted: served on the second working day after
    short = ev("notice", sent, kind="default", remedy_date=str(sent.date() + dt.timedelta(14)))
    case = case_of("uk", short, zones=(zone,))
    refused = engine("uk").check(case, Report(), at=on_dpd(80, zone=zone))
    assert codes(refused) == {"bureau.notice_required"}
    assert "served by post on 2026-02-12" in refused.violations[0].message
    remedy = served + dt.timedelta(days=14)
    case = case_of("uk", ev("notice", sent, kind="default", remedy_date=str(remedy)), zones=(zone,))
    before = engine("uk").check(case, Report(), at=local(remedy - dt.timedelta(days=1), 23, zone))
    assert codes(before) == {"bureau.notice_required"}
    assert before.violations[0].retry_at == local(remedy, 0, zone)
    assert engine("uk").check(case, Report(), at=local(remedy, 0, zone)).allowed


def test_many_notices_with_short_remedy_dates_give_a_decision_its_log_line_reads_back() -> None:
    # Each short notice was named in the refusal: the nine a case keeps of a kind (eighteen
    # for a rule of two kinds) made a message near or over the 2,000 characters a decision
    # read back from its log line accepts. Five are named, and how many more.
    zone = "Europe/London"
    sent = [on_dpd(40, zone=zone) + dt.timedelta(hours=i) for i in range(40)]
    short = [
        ev("notice", at, kind="default", remedy_date=str(at.date() + dt.timedelta(14)))
        for at in sent
    ]
    refused = engine("uk").check(case_of("uk", *short, zones=(zone,)), Report(), at=on_dpd(80))
    assert codes(refused) == {"bureau.notice_required"}
    message = refused.violations[0].message
    assert message.count("less than 14 days after service") == 5
    assert message.endswith("; and 4 more default notices like these")
    assert Decision.model_validate_json(refused.to_log_line()) == refused


def test_a_notice_served_by_hand_or_on_a_stated_date_counts_from_that_date() -> None:
    zone = "Europe/London"
    sent = on_dpd(40, zone=zone)
    remedy = str(sent.date() + dt.timedelta(days=14))
    by_hand = ev("notice", sent, kind="default", remedy_date=remedy, method="hand")
    assert (
        engine("uk").check(case_of("uk", by_hand, zones=(zone,)), Report(), at=on_dpd(80)).allowed
    )
    stated = ev(
        "notice",
        sent,
        kind="default",
        remedy_date=remedy,
        served_on=str(sent.date() + dt.timedelta(1)),
    )
    late = engine("uk").check(case_of("uk", stated, zones=(zone,)), Report(), at=on_dpd(80))
    assert codes(late) == {"bureau.notice_required"}


@pytest.mark.parametrize("policy", ["cn", "us", "uk"])
def test_a_disputed_debt_is_not_reported(policy: str) -> None:
    case = case_of(policy, ev("dispute", on_dpd(50)))
    assert "bureau.disputed" in codes(engine(policy).check(case, Report(), at=on_dpd(60)))
    resolved = engine(policy).apply(case, ev("dispute_resolved", on_dpd(55)))
    assert "bureau.disputed" not in codes(engine(policy).check(resolved, Report(), at=on_dpd(60)))


def test_other_holds_block_reporting_too() -> None:
    case = case_of(
        "cn",
        ev("notice", on_dpd(10), kind="pre_reporting"),
        ev("hold", on_dpd(11), kind="complaint"),
    )
    assert codes(engine("cn").check(case, Report(), at=on_dpd(20))) == {"transition.hold"}


def test_a_dispute_after_reporting_marks_the_item_until_resolved() -> None:
    case = case_of(
        "cn",
        ev("notice", on_dpd(10), kind="pre_reporting"),
        ev("report", on_dpd(11)),
        ev("dispute", on_dpd(12)),
    )
    state = engine("cn").state(case, at=on_dpd(13))
    assert (state.bureau, state.bureau_disputed) == (BureauStatus.REPORTED, True)
    resolved = engine("cn").apply(case, ev("dispute_resolved", on_dpd(14)))
    assert engine("cn").state(resolved, at=on_dpd(15)).bureau_disputed is False


def test_paying_up_updates_the_report_and_a_new_delinquency_can_be_reported() -> None:
    case = case_of(
        "cn",
        ev("notice", on_dpd(10), kind="pre_reporting"),
        ev("report", on_dpd(11)),
    )
    with pytest.raises(TransitionNotAllowed) as info:
        engine("cn").apply(case, ev("report", on_dpd(12)))
    assert codes(info.value.decision) == {"transition.not_allowed"}
    cured = engine("cn").apply(case, ev("payment", on_dpd(20), amount="1000.00"))
    assert cured.bureau is BureauStatus.UPDATED
    # The next instalment (due 2026-02-01) goes unpaid: a new delinquency.
    again = engine("cn").check(cured, Report(), at=local(dt.date(2026, 2, 10)))
    assert again.allowed


def test_us_an_item_is_obsolete_from_the_start_of_dofd_plus_180_days_and_seven_years() -> None:
    case = case_of("us", ev("notice", on_dpd(1, zone=NY), kind="validation"), zones=(NY,))
    began = DUE0 + dt.timedelta(days=1)  # the date of first delinquency
    obsolete = (began + dt.timedelta(days=180)).replace(year=began.year + 7)
    last = engine("us").check(case, Report(), at=local(obsolete - dt.timedelta(days=1), 23, NY))
    assert last.allowed
    late = engine("us").check(case, Report(), at=local(obsolete, 0, NY))
    assert codes(late) == {"bureau.obsolete"}
    assert late.violations[0].details["delinquency_began"] == str(began)


def test_a_part_payment_does_not_move_the_date_of_first_delinquency() -> None:
    # The first instalment (due 2026-01-01) is missed; a payment that clears it but leaves the
    # second (due 2026-02-01) overdue does not re-age the account: 1681c(c)(1).
    first_miss = DUE0 + dt.timedelta(days=1)
    loan_paid_late = ev(
        "payment", local(dt.date(2026, 2, 10), zone=NY), amount="1000.00", currency="USD"
    )
    case = case_of("us", loan_paid_late, zones=(NY,))
    at = local(dt.date(2033, 7, 1), 9, NY)
    refused = engine("us").check(case, Report(), at=at)
    obsolete = [v for v in refused.violations if v.code == "bureau.obsolete"]
    assert [v.details["delinquency_began"] for v in obsolete] == [str(first_miss)]
    # A cure ends the run: paying everything overdue, then missing again, starts a new one.
    cured = case_of(
        "us",
        ev("payment", local(dt.date(2026, 2, 10), zone=NY), amount="2000.00", currency="USD"),
        zones=(NY,),
    )
    decision = engine("us").check(cured, Report(), at=at)
    assert "bureau.obsolete" not in codes(decision)


def test_an_undeliverable_notice_voids_every_earlier_notice_of_its_kind() -> None:
    # Found by the kit's stateful test: two notices sent, one came back. DOMAIN section 4
    # counts a notice only "with no undeliverable notice after it", so neither counts.
    sent = on_dpd(10)
    c = case_of(
        "cn",
        ev("notice", sent, kind="pre_reporting"),
        ev("notice", sent, kind="pre_reporting"),
        ev("undeliverable", on_dpd(11), kind="pre_reporting"),
    )
    assert c.bureau is BureauStatus.NOT_REPORTED
    assert codes(engine("cn").check(c, Report(), at=on_dpd(15))) == {"bureau.notice_required"}
    again = engine("cn").apply(c, ev("notice", on_dpd(12), kind="pre_reporting"))
    assert engine("cn").check(again, Report(), at=on_dpd(15)).allowed
