"""A case is the fold of its events: replay gives an equal case, and apply is pure."""

from __future__ import annotations

import contextlib
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from staged_collection import (
    Case,
    Decision,
    Refused,
    Report,
)
from tests.builders import ACTIONS, engine
from tests.strategies import CURRENCIES, borrowers, histories, loans


def snapshot(case: Case) -> tuple[object, ...]:
    """Everything a caller can see of a case, and its snapshot bytes."""
    eng = engine("cn" if case.policy == engine("cn").policy.fingerprint else "us")
    for name in ("cn", "us", "uk"):
        if engine(name).policy.fingerprint == case.policy:
            eng = engine(name)
    return (case.version, case.stage, case.bureau, case.events, case.breaches, eng.snapshot(case))


@settings(max_examples=60)
@given(data=st.data(), policy=st.sampled_from(["cn", "us", "uk"]))
def test_replay_and_purity(data: st.DataObject, policy: str) -> None:
    currency = CURRENCIES[policy]
    loan = data.draw(loans(currency))
    borrower = data.draw(borrowers())
    candidates = data.draw(histories(currency))
    eng = engine(policy)

    case = eng.open_case(loan, borrower)
    accepted = []
    for event in candidates:
        before = snapshot(case)
        dumped = case.to_dict()
        try:
            new = eng.apply(case, event)
        except Refused as refused:
            assert not refused.decision.allowed  # noqa: PT017 - a refusal is expected here
            assert snapshot(case) == before
            assert case.to_dict() == dumped
            continue
        assert snapshot(case) == before
        assert case.to_dict() == dumped
        assert len(new) == len(case) + 1
        assert new.events[-1] == event
        case = new
        accepted.append(event)

    replayed = eng.replay(loan, borrower, accepted)
    assert replayed == case
    assert (replayed.stage, replayed.bureau) == (case.stage, case.bureau)
    last = case.as_of or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for probe in (last, last + dt.timedelta(days=3, hours=5), last + dt.timedelta(days=100)):
        assert eng.state(replayed, at=probe) == eng.state(case, at=probe)
        for action in ACTIONS:
            mine = eng.check(case, action, at=probe)
            theirs = eng.check(replayed, action, at=probe)
            assert mine == theirs
            assert Decision.model_validate_json(mine.to_log_line()) == mine


@settings(max_examples=30)
@given(data=st.data())
def test_a_question_about_the_past_is_answered_from_the_events_up_to_then(
    data: st.DataObject,
) -> None:
    loan = data.draw(loans())
    borrower = data.draw(borrowers())
    eng = engine("cn")
    case = eng.open_case(loan, borrower)
    for event in data.draw(histories()):
        with contextlib.suppress(Refused):
            case = eng.apply(case, event)
    if not case.events:
        return
    cut = data.draw(st.sampled_from(case.events)).at
    prefix = eng.replay(loan, borrower, [e for e in case.events if e.at <= cut])
    assert eng.state(case, at=cut) == eng.state(prefix, at=cut)
    assert eng.check(case, Report(), at=cut) == eng.check(prefix, Report(), at=cut)
