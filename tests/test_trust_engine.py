"""Issue 9's engine items: recording re-checks what checking checks, explain tells the real
instant, a paid-off written-off debt is updated at the bureau, and "no end" sentinels never
overflow."""

from __future__ import annotations

import datetime as dt

import pytest

from staged_collection import (
    ContactAttempt,
    ContactRefused,
    Engine,
    Escalate,
    Event,
    InputError,
    Report,
)
from tests.builders import DUE0, ev, make_borrower, make_loan, on_dpd

CN = Engine("cn")
CALL = ContactAttempt(channel="call", number="+8613800000000")


def talk(hour: int) -> Event:
    return ev(
        "contact", on_dpd(3, hour), channel="call", number="+8613800000000", outcome="conversation"
    )


def test_apply_counts_the_borrowers_other_debts_as_check_does() -> None:
    borrower = make_borrower()
    first = CN.replay(make_loan(loan_id="L1"), borrower, [talk(9), talk(10), talk(11)])
    second = CN.open_case(make_loan(loan_id="L2"), borrower)
    fourth = talk(12)
    assert not CN.check(second, CALL, at=on_dpd(3, 12), others=[first]).allowed
    with pytest.raises(ContactRefused) as refused:
        CN.apply(second, fourth, others=[first])
    assert "contact.frequency" in refused.value.decision.codes
    kept = CN.apply(second, fourth, breach=True, others=[first])
    assert [d.codes for d in kept.breaches] == [("contact.frequency",)]
    assert CN.apply(second, fourth) is not None  # alone, the second debt has no conversation yet


def test_the_borrowers_other_debts_count_as_they_were_at_the_instant_judged() -> None:
    # Three conversations on the other debt at 11:00, 12:00 and 13:00: a call at 10:00 came
    # before all of them (the first of the day), one at 14:00 after (the fourth).
    borrower = make_borrower()
    first = CN.replay(make_loan(loan_id="L1"), borrower, [talk(11), talk(12), talk(13)])
    second = CN.open_case(make_loan(loan_id="L2"), borrower)
    assert CN.check(second, CALL, at=on_dpd(3, 10), others=[first]).allowed
    assert CN.next_allowed(second, CALL, after=on_dpd(3, 10), others=[first]) == on_dpd(3, 10)
    assert CN.apply(second, talk(10), others=[first]).version == 1
    assert not CN.check(second, CALL, at=on_dpd(3, 14), others=[first]).allowed


def test_explain_stamps_an_automatic_move_when_it_became_due() -> None:
    # The first instalment falls due on DUE0: the case is overdue from the next local day.
    case = CN.replay(make_loan(), make_borrower(), [ev("notice", on_dpd(5), kind="reminder")])
    entered = dt.datetime.combine(DUE0 + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)
    shanghai_midnight = entered - dt.timedelta(hours=8)
    explanation = CN.explain(case, at=on_dpd(6))
    (move,) = [m for m in explanation.moves if m.trigger == "overdue"]
    assert move.at == shanghai_midnight
    assert f"Entered reminder on {shanghai_midnight.isoformat()}" in str(explanation)
    # Not yet folded: explain still says when the move became due.
    fresh = CN.open_case(make_loan(), make_borrower())
    assert f"automatically on {shanghai_midnight.isoformat()}" in str(
        CN.explain(fresh, at=on_dpd(4))
    )


def test_a_written_off_debt_paid_in_full_is_updated_at_the_bureau() -> None:
    case = CN.replay(
        make_loan(),
        make_borrower(),
        [
            ev("notice", on_dpd(2), kind="pre_reporting"),
            ev("report", on_dpd(3)),
            ev("write_off", on_dpd(190)),
        ],
    )
    assert (case.stage, case.bureau) == ("written_off", "reported")
    paid = CN.apply(case, ev("payment", on_dpd(200), amount="12000.00"))
    assert (paid.stage, paid.bureau) == ("written_off", "updated")


@pytest.mark.parametrize("kind", ["hold", "promise"])
def test_the_no_end_sentinel_9999_12_31_never_overflows(kind: str) -> None:
    fields = (
        {"kind": "hardship", "until": "9999-12-31"}
        if kind == "hold"
        else {"amount": "10.00", "due": "9999-12-31"}
    )
    case = CN.replay(make_loan(), make_borrower(), [ev(kind, on_dpd(40), **fields)])
    at = on_dpd(41)
    decision = CN.check(case, Escalate(to="negotiation"), at=at)
    assert not decision.allowed
    blocking = [
        v
        for v in decision.violations
        if v.code in ("transition.hold", "transition.plan_performing")
    ]
    assert blocking
    assert all(v.retry_at is None for v in blocking)
    CN.state(case, at=at)
    CN.explain(case, at=at)
    if kind == "hold":
        assert CN.next_allowed(case, CALL, after=at) is None


@pytest.mark.parametrize(
    "at",
    [
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 23, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 20, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    ],
)
def test_instants_at_the_ends_of_time_are_input_errors(at: dt.datetime) -> None:
    case = CN.open_case(make_loan(), make_borrower())
    for ask in (
        lambda: CN.state(case, at=at),
        lambda: CN.check(case, Report(), at=at),
        lambda: CN.check(case, CALL, at=at),
        lambda: CN.next_allowed(case, CALL, after=at),
        lambda: CN.explain(case, at=at),
    ):
        with pytest.raises(InputError, match="between the years"):
            ask()


def test_a_preference_replaces_the_zones_and_the_case_shows_them() -> None:
    us = Engine("us")
    borrower = make_borrower("America/New_York", "America/Los_Angeles")
    case = us.open_case(make_loan(currency="USD"), borrower)
    assert case.zones == ("America/New_York", "America/Los_Angeles")
    moved = us.apply(
        case,
        ev(
            "preference",
            on_dpd(3, 12, zone="America/New_York"),
            timezones=["America/New_York"],
            currency="USD",
        ),
    )
    assert moved.zones == ("America/New_York",)
    # 08:30 in New York is 05:30 in Los Angeles: refused before, allowed once they said so.
    at = on_dpd(4, 8, zone="America/New_York") + dt.timedelta(minutes=30)
    call = ContactAttempt(channel="call", number="+14155550100")
    assert not us.check(case, call, at=at).allowed
    assert us.check(moved, call, at=at).allowed


def test_an_engines_policy_is_read_only_and_a_changed_copy_is_another_policy() -> None:
    eng = Engine("cn")
    with pytest.raises(AttributeError):
        eng.policy = Engine("us").policy  # type: ignore[misc]
    policy = eng.policy
    fingerprint = policy.fingerprint
    rung = policy.ladder.negotiation.model_copy(update={"min_dpd": 45})
    variant = policy.model_copy(
        update={"ladder": policy.ladder.model_copy(update={"negotiation": rung})}
    )
    assert variant.fingerprint != fingerprint
    other = Engine(variant)
    case = other.replay(make_loan(), make_borrower(), [])
    decision = other.check(case, Escalate(to="negotiation"), at=on_dpd(40))
    assert decision.policy == variant.fingerprint
    assert "transition.min_dpd" in decision.codes  # the new threshold, not the old one
    # The engine of the original policy still runs the old threshold (31): allowed at DPD 40.
    original = eng.open_case(make_loan(), make_borrower())
    assert eng.check(original, Escalate(to="negotiation"), at=on_dpd(40)).allowed


def test_next_allowed_crosses_many_ranges_and_zones_in_a_few_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from staged_collection import _contact

    zones = [
        "Asia/Shanghai",
        "Asia/Tokyo",
        "Asia/Kolkata",
        "Europe/London",
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
        "Australia/Sydney",
        "Pacific/Auckland",
        "Asia/Dubai",
        "Europe/Berlin",
    ]
    # 24 stated inconvenient half-hours across the day: the most the model allows.
    ranges = [{"start": f"{h:02d}:00", "end": f"{h:02d}:30"} for h in range(24)]
    borrower = make_borrower(*zones, inconvenient=ranges)
    case = Engine("us").open_case(make_loan(currency="USD"), borrower)
    calls = 0
    judge = _contact.judge_contact

    def counted(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return judge(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_contact, "judge_contact", counted)
    found = Engine("us").next_allowed(
        case, ContactAttempt(channel="email"), after=on_dpd(5, 0, zone="America/New_York")
    )
    assert calls <= 3
    assert (
        found is None or Engine("us").check(case, ContactAttempt(channel="email"), at=found).allowed
    )
