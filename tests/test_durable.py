"""Durable cases: snapshots restore without replay, late facts refold, every action decided.

The properties run over the kit's strategies under every preset:
- a history split at a random point, its prefix snapshotted and restored, the rest
  applied, answers (state, check, next_allowed, explain) and decides exactly as the
  whole history applied at once, and ends with the same snapshot bytes;
- a fact taken out of a history and handed in late refolds the case into the one the
  history makes with the fact in its place, and revises nothing the fact allowed;
- snapshots do not grow with history beyond the counters' windows.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staged_collection import (
    Borrower,
    Case,
    CaseMismatchError,
    ContactAttempt,
    Decision,
    Engine,
    Event,
    InputError,
    Loan,
    OutOfOrderError,
    Refused,
    Report,
    WriteOff,
    parse_event,
)
from staged_collection._fold import REDUCERS
from staged_collection.testing import borrowers, histories, loans
from tests.builders import ACTIONS, case_of, ev, make_borrower, make_loan, on_dpd

ROOT = Path(__file__).resolve().parent.parent

PRESETS = ("cn", "us", "uk", "cn-lender")
CURRENCY = {"cn": "CNY", "us": "USD", "uk": "GBP", "cn-lender": "CNY"}
# A lender's own rules over cn: a minimum gap between calls (the fold keeps the last attempt),
# a calendar-week cap, Saturday hours, rest days for letters; and cn's dated rules.
POLICY_FILES = {"cn-lender": ROOT / "examples" / "scenarios" / "cn" / "cn-lender.yaml"}
CALL = ContactAttempt(channel="call", number="+8613800000000")
SMS = ContactAttempt(channel="sms")


def engines() -> dict[str, Engine]:
    return {name: Engine(POLICY_FILES.get(name, name)) for name in PRESETS}


ENGINES = engines()


def accepted_history(
    eng: Engine, loan: Loan, borrower: Borrower, candidates: list[Event]
) -> tuple[list[Event], list[Decision | None]]:
    """The candidates the rules accept, in order, with each one's decision."""
    case = eng.open_case(loan, borrower)
    kept: list[Event] = []
    decisions: list[Decision | None] = []
    for event in candidates:
        outcome = eng.decide(case, event)
        if outcome.recorded:
            kept.append(event)
            decisions.append(outcome.decision)
            case = outcome.case
    return kept, decisions


def drawn_history(
    data: st.DataObject, policy: str
) -> tuple[Engine, Loan, Borrower, list[Event], list[Decision | None]]:
    """A loan, a borrower and a history the rules accept under ``policy``, drawn from the kit's
    strategies, with each event's decision."""
    eng = ENGINES[policy]
    loan = data.draw(loans(CURRENCY[policy]), label="loan")
    borrower = data.draw(borrowers(), label="borrower")
    events, decisions = accepted_history(eng, loan, borrower, data.draw(histories(loan)))
    return eng, loan, borrower, events, decisions


def answers(eng: Engine, case: Case, at: dt.datetime) -> tuple[object, ...]:
    return (
        eng.state(case, at=at),
        tuple(eng.check(case, a, at=at) for a in (*ACTIONS, CALL, SMS)),
        eng.next_allowed(case, CALL, after=at),
        eng.next_allowed(case, SMS, after=at),
        eng.explain(case, at=at),
    )


def probes(case: Case) -> list[dt.datetime]:
    last = case.as_of or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return [last, last + dt.timedelta(days=2, hours=7), last + dt.timedelta(days=45)]


@settings(max_examples=40)
@given(data=st.data(), policy=st.sampled_from(PRESETS))
def test_restore_a_snapshot_then_apply_the_rest_equals_applying_everything(
    data: st.DataObject, policy: str
) -> None:
    eng, loan, borrower, events, decisions = drawn_history(data, policy)
    cut = data.draw(st.integers(0, len(events)), label="cut")

    whole = eng.replay(loan, borrower, events)
    prefix = eng.replay(loan, borrower, events[:cut])
    restored = eng.restore(eng.snapshot(prefix))
    assert restored.version == cut
    for i, event in enumerate(events[cut:], start=cut):
        outcome = eng.decide(restored, event)
        assert outcome.recorded
        assert outcome.decision == decisions[i]  # the same decision, id and version included
        restored = outcome.case

    assert restored == whole
    assert restored.version == whole.version == len(events)
    assert eng.snapshot(restored) == eng.snapshot(whole)
    assert restored.loan == loan
    assert restored.borrower == borrower
    for at in probes(whole):
        assert answers(eng, restored, at) == answers(eng, whole, at)


@settings(max_examples=40)
@given(data=st.data(), policy=st.sampled_from(PRESETS))
def test_a_late_fact_refolds_the_case_as_if_it_had_come_in_time(
    data: st.DataObject, policy: str
) -> None:
    eng, loan, borrower, events, _ = drawn_history(data, policy)
    facts = [i for i, e in enumerate(events[:-1]) if REDUCERS[type(e)].late]
    if not facts:
        return
    i = data.draw(st.sampled_from(facts), label="late fact")
    late = events[i]
    without = eng.replay(loan, borrower, events[:i] + events[i + 1 :], trusted=True)
    if without.as_of is None or late.at >= without.as_of:
        return  # nothing after it: not late
    outcome = eng.decide(without, late)

    assert outcome.recorded
    assert outcome.decision is None
    # Every later action was allowed with the fact in its place: nothing to revise.
    assert outcome.revisions == ()
    on_time = eng.replay(loan, borrower, events)
    assert outcome.case.version == on_time.version
    assert eng.snapshot(outcome.case) == eng.snapshot(on_time)
    for at in probes(on_time):
        assert answers(eng, outcome.case, at) == answers(eng, on_time, at)


def test_a_dispute_received_late_revises_the_bureau_report_sent_after_it() -> None:
    eng = Engine("cn")
    case = eng.replay(
        make_loan(),
        make_borrower(),
        [
            ev("notice", on_dpd(5), kind="pre_reporting"),
            ev("report", on_dpd(8)),
            ev("contact", on_dpd(9), channel="sms", outcome="delivered"),
        ],
    )
    dispute = ev("dispute", on_dpd(7))
    outcome = eng.decide(case, dispute)

    assert outcome.recorded
    assert [r.event.type for r in outcome.revisions] == ["report", "contact"]
    report, sms = outcome.revisions
    assert {v.code for v in report.violations} >= {"bureau.disputed"}
    assert {v.code for v in sms.violations} == {"contact.hold"}
    assert report.at == on_dpd(8)
    assert report.decision.version == 1  # the report was the case's second event
    # The actions stay: they happened.
    assert outcome.case.bureau == "reported"
    assert outcome.case.version == 4
    assert eng.state(outcome.case, at=on_dpd(10)).holds == ("dispute",)


def test_a_payment_with_an_earlier_value_date_is_accepted_and_moves_the_dpd() -> None:
    eng = Engine("cn")
    case = eng.replay(
        make_loan(),
        make_borrower(),
        [ev("notice", on_dpd(20), kind="reminder"), ev("notice", on_dpd(40), kind="reminder")],
    )
    late = ev("payment", on_dpd(10), amount="2000.00", recorded_at=on_dpd(41).isoformat())
    outcome = eng.decide(case, late)
    state = eng.state(outcome.case, at=on_dpd(41))
    assert state.stage == "current"
    assert state.dpd == 0
    assert outcome.case.events[-1].recorded_at == on_dpd(41)
    # The cure is stamped when the payment was made, not when it was learned.
    cure = [m for m in eng.explain(outcome.case, at=on_dpd(41)).moves if m.trigger == "cure"]
    assert [m.at for m in cure] == [on_dpd(10)]


def test_actions_cannot_be_back_dated_and_a_restored_case_needs_its_history() -> None:
    eng = Engine("cn")
    case = eng.replay(make_loan(), make_borrower(), [ev("notice", on_dpd(40), kind="reminder")])
    with pytest.raises(OutOfOrderError, match="cannot be back-dated"):
        eng.decide(case, ev("escalate", on_dpd(35), to="negotiation"))
    with pytest.raises(OutOfOrderError, match="cannot be back-dated"):
        eng.decide(case, ev("contact", on_dpd(35), channel="sms", outcome="delivered"))
    restored = eng.restore(eng.snapshot(case))
    with pytest.raises(OutOfOrderError, match="snapshot"):
        eng.decide(restored, ev("payment", on_dpd(30), amount="10.00"))
    with pytest.raises(InputError, match="snapshot"):
        eng.state(restored, at=on_dpd(30))


def test_decide_gives_a_decision_for_allowed_and_refused_actions_alike() -> None:
    eng = Engine("cn")
    case = eng.replay(make_loan(), make_borrower(), [ev("notice", on_dpd(20), kind="reminder")])
    refused = eng.decide(case, ev("escalate", on_dpd(25), to="negotiation"))
    assert not refused.recorded
    assert refused.case is case
    assert refused.decision is not None
    assert not refused.decision.allowed
    assert refused.decision.version == 1 == case.version
    allowed = eng.decide(case, ev("escalate", on_dpd(31), to="negotiation"))
    assert allowed.recorded
    assert allowed.decision is not None
    assert allowed.decision.allowed
    assert allowed.case.version == 2
    fact = eng.decide(case, ev("payment", on_dpd(25), amount="1.00"))
    assert fact.recorded
    assert fact.decision is None


def test_decision_ids_name_the_state_and_the_question() -> None:
    eng = Engine("cn")
    case = eng.replay(make_loan(), make_borrower(), [ev("notice", on_dpd(20), kind="reminder")])
    later = eng.apply(case, ev("notice", on_dpd(21), kind="reminder"))
    a = eng.check(case, Report(), at=on_dpd(22))
    assert a.decision_id == eng.check(case, Report(), at=on_dpd(22)).decision_id
    assert a.decision_id != eng.check(later, Report(), at=on_dpd(22)).decision_id
    assert a.decision_id != eng.check(case, Report(), at=on_dpd(23)).decision_id
    assert a.decision_id != eng.check(case, WriteOff(), at=on_dpd(22)).decision_id
    line = a.to_log_line()
    assert f'"decision_id":"{a.decision_id}"' in line
    assert '"version":1' in line
    assert Decision.model_validate_json(line) == a
    with pytest.raises(ValueError, match="decision_id"):
        Decision.model_validate_json(line.replace('"version":1', '"version":2'))


@settings(max_examples=25)
@given(data=st.data(), policy=st.sampled_from(PRESETS))
def test_replay_records_refusals_on_request_and_trusted_replay_folds_the_same_case(
    data: st.DataObject, policy: str
) -> None:
    eng = ENGINES[policy]
    loan = data.draw(loans(CURRENCY[policy]), label="loan")
    borrower = data.draw(borrowers(), label="borrower")
    candidates = data.draw(histories(loan))

    recorded = eng.replay(loan, borrower, candidates, on_refused="record")
    assert recorded.version == len(candidates)
    refused = [d for d in recorded.breaches if not d.allowed]
    assert len(refused) == len(recorded.breaches)
    with contextlib.suppress(Refused):
        eng.replay(loan, borrower, candidates)
        assert refused == []  # a history replayed without a refusal has no breach
    # What was recorded folds again, unjudged, into the same case.
    assert eng.replay(loan, borrower, candidates, trusted=True) == recorded
    events, _ = accepted_history(eng, loan, borrower, candidates)
    assert eng.replay(loan, borrower, events, trusted=True) == eng.replay(loan, borrower, events)


def test_snapshots_do_not_grow_with_the_history() -> None:
    eng = Engine("us")
    loan = make_loan(currency="USD")
    borrower = make_borrower("America/New_York")
    start = dt.datetime(2026, 1, 2, 14, tzinfo=dt.UTC)

    def case_with(old: int) -> Case:
        # ``old`` calls long ago, then the same last week.
        events: list[Event] = [
            ev(
                "contact",
                start + dt.timedelta(hours=i),
                channel="sms",
                outcome="delivered",
                currency="USD",
            )
            for i in range(old)
        ]
        week = dt.datetime(2026, 6, 1, 14, tzinfo=dt.UTC)
        events += [
            ev(
                "contact",
                week + dt.timedelta(days=d),
                channel="call",
                number="+14155550100",
                outcome="no_answer",
                currency="USD",
            )
            for d in range(5)
        ]
        return eng.replay(loan, borrower, events, trusted=True)

    sizes = {n: len(eng.snapshot(case_with(n))) for n in (20, 200, 2000)}
    assert sizes[2000] - sizes[20] <= 2  # only the version number is longer
    restored = eng.restore(eng.snapshot(case_with(2000)))
    assert restored.events == ()
    assert restored.version == 2005
    at = dt.datetime(2026, 6, 6, 15, tzinfo=dt.UTC)
    assert eng.check(restored, CALL, at=at) == eng.check(case_with(2000), CALL, at=at)


def test_restoring_under_another_policy_needs_migrate() -> None:
    case = Engine("cn").replay(
        make_loan(), make_borrower(), [ev("notice", on_dpd(5), kind="reminder")]
    )
    data = Engine("cn").snapshot(case)
    with pytest.raises(CaseMismatchError, match="migrate=True"):
        Engine("us").restore(data)
    moved = Engine("us").restore(data, migrate=True)
    assert moved.policy == Engine("us").policy.fingerprint
    assert moved.stage == case.stage
    assert moved.version == case.version
    assert Engine("us").state(moved, at=on_dpd(6)).dpd == 6


def test_a_migrated_case_counts_its_contacts_as_the_new_policy_does() -> None:
    calls = [
        ev("contact", on_dpd(3 + day, hour), channel="call", outcome="no_answer")
        for day in range(3)
        for hour in (10, 11, 12)
    ][:7]
    case = Engine("cn").replay(make_loan(), make_borrower(), calls)
    moved = Engine("us").restore(Engine("cn").snapshot(case), migrate=True)
    replayed = Engine("us").replay(make_loan(), make_borrower(), calls)
    at = on_dpd(6, 10)
    decision = Engine("us").check(moved, CALL, at=at)
    assert "contact.frequency" in decision.codes  # an 8th call in 7 days: Regulation F's 7
    assert decision == Engine("us").check(replayed, CALL, at=at)


@pytest.mark.parametrize(
    "damage",
    [b"", b"\x00\x01", b"not msgpack at all", b"\x93\xa1a\x01\x02"],
)
def test_a_damaged_snapshot_is_an_input_error(damage: bytes) -> None:
    with pytest.raises(InputError, match="snapshot"):
        Engine("cn").restore(damage)


@pytest.mark.parametrize("damage", ["stage", "channel"])
def test_a_snapshot_naming_an_unknown_stage_or_channel_is_an_input_error(damage: str) -> None:
    # A snapshot whose stage, or a kept contact's channel, is no value of its kind.
    call = ev("contact", on_dpd(3, 10), channel="call", outcome="no_answer")
    case = Engine("cn").replay(make_loan(), make_borrower(), [call])
    top = msgpack.unpackb(Engine("cn").snapshot(case), strict_map_key=True)
    form = top[-1]  # the fold, in _snapshot.folded_form's order
    if damage == "stage":
        form[0] = "nowhere"
    else:
        contact = form[23][0]  # the kept contacts, oldest first: instant, day, channel, ...
        assert contact[2] == "call"
        contact[2] = "carrier_pigeon"
    with pytest.raises(InputError, match="damaged snapshot"):
        Engine("cn").restore(msgpack.packb(top))


def test_a_snapshot_keeps_the_contacts_of_a_day_a_clock_put_back_across_midnight_repeats() -> None:
    # Antarctica/Casey went from +11 to +08 at 02:00 on 5 March 2010, back to 23:00 on the
    # 4th: a call on the 5th, then one on the 4th two hours later. Rolling back from the 11th,
    # the us window of seven days holds the one on the 5th: with six more on the 11th, an
    # eighth call is refused, restored or not.
    engine = Engine("us")
    loan = make_loan([dt.date(2010, 2, 1)], amount="600.00", currency="USD")
    number = "+14155550100"
    borrower = Borrower(id="B1", timezones=("Antarctica/Casey",), phones=(number,))

    def call(at: str) -> Event:
        data = {"type": "contact", "at": at, "channel": "call", "outcome": "no_answer"}
        return parse_event({**data, "number": number}, currency="USD")

    events = [call("2010-03-05T00:30:00+11:00"), call("2010-03-04T23:30:00+08:00")]
    events += [call(f"2010-03-11T{10 + i}:00:00+08:00") for i in range(6)]
    case = engine.replay(loan, borrower, events, breaches=True)
    restored = engine.restore(engine.snapshot(case))
    attempt = ContactAttempt(channel="call", number=number)
    at = dt.datetime.fromisoformat("2010-03-11T18:00:00+08:00")
    assert "contact.frequency" in engine.check(case, attempt, at=at).codes
    assert engine.check(restored, attempt, at=at) == engine.check(case, attempt, at=at)


def _stage_of(case: Case) -> str:
    return str(case.stage)


def long_case(n: int) -> Case:
    eng = Engine("cn")
    start = dt.datetime(2026, 1, 2, 2, tzinfo=dt.UTC)
    events = [
        ev("contact", start + dt.timedelta(minutes=10 * i), channel="email", outcome="delivered")
        for i in range(n)
    ]
    return eng.replay(make_loan(), make_borrower(), events, trusted=True)


def test_a_case_of_100000_events_pickles_and_copies() -> None:
    case = long_case(100_000)
    back = pickle.loads(pickle.dumps(case))
    assert back == case
    assert len(back.events) == 100_000
    assert copy.deepcopy(case) == case
    assert copy.copy(case) is case  # immutable: a copy may be the case itself


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_cases_cross_process_pools(method: str) -> None:
    case = long_case(2_000)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(method)) as pool:
        assert pool.submit(_stage_of, case).result() == str(case.stage)
        assert pool.submit(copy.copy, case).result() == case


def test_the_folds_fast_replace_is_replace() -> None:
    # ``Folded.replace`` copies by field index (the hottest reducers use it); it must be
    # ``_replace`` field for field, and refuse a name the fold does not have.
    from staged_collection.case import Folded

    s = case_of("cn")._s
    for i, name in enumerate(Folded._fields):
        marker: Any = object()
        change: dict[str, Any] = {name: marker}
        assert s.replace(**change) == s._replace(**change)
        assert s.replace(**{name: marker})[i] is marker
    both = s.replace(paid=Decimal(7), as_of=None)
    assert both == s._replace(paid=Decimal(7), as_of=None)
    assert type(both) is Folded
    with pytest.raises(KeyError):
        s.replace(no_such_field=1)
