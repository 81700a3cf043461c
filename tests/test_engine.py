"""The engine as a whole: the diagram, the shared compiled machine, threads, explain."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staged_collection import BureauStatus, Engine, Escalate, Policy, Stage, load_policy
from staged_collection._machine import _COMPILED
from staged_collection.policy import PRESETS
from tests.builders import case_of, engine, ev, on_dpd


def test_the_mermaid_diagram_lists_every_stage_and_the_bureau_track() -> None:
    text = Engine("cn").diagram()
    assert text.startswith("stateDiagram-v2")
    for state in [*Stage, *BureauStatus]:
        assert (
            f" {state.value} " in text or f" {state.value}:" in text or f"{state.value}\n" in text
        )
    assert "escalate_formal [delinquent, dpd>=61, notice(formal_demand), no_hold" in text
    assert "refer [" in text
    assert "agency_evaluated<=365d" in text
    assert "--" in text  # the two tracks are concurrent regions


def test_the_dot_diagram_has_both_tracks() -> None:
    text = Engine("us").diagram("dot")
    assert text.startswith("digraph case")
    assert "cluster_ladder" in text
    assert "cluster_bureau" in text
    assert "notice(pre_reporting|validation)" in text


def test_one_compiled_machine_per_fingerprint() -> None:
    a = Engine("cn")
    b = Engine(load_policy("cn"))
    a.diagram()
    b.diagram()
    assert a._c is b._c
    assert a._c.machine is b._c.machine
    assert sum(1 for key in _COMPILED if key == a.policy.fingerprint) == 1


@pytest.mark.parametrize("skips", [False, True])
@pytest.mark.parametrize("preset", PRESETS)
def test_the_move_table_and_transitions_agree_on_every_state_and_trigger(
    preset: str, skips: bool
) -> None:
    # The fold moves through the table read from the machines; ``transitions`` must land
    # every move where the table says, and refuse every move the table lacks.
    policy = load_policy(preset)
    if skips:  # a whole policy of its own: an overlay cannot loosen the ladder
        data = policy.model_dump(mode="json")
        data["ladder"]["skip_allowed"] = True
        policy = Policy.model_validate(data)
    machine = Engine(policy)._c.machine
    tracks: dict[str, list[str]] = {
        "ladder": [s.value for s in Stage],
        "bureau": [s.value for s in BureauStatus],
    }
    triggers = {track: {t for (k, t, _) in machine.table if k == track} for track in tracks}
    assert "refer" in triggers["ladder"]
    assert "update" in triggers["bureau"]
    moves = 0
    for track, states in tracks.items():
        for trigger in sorted(triggers[track]):
            for state in states:
                dest = machine.table.get((track, trigger, state))
                if dest is None:
                    with pytest.raises(RuntimeError):
                        machine.fire(track, trigger, state)
                else:
                    assert machine.fire(track, trigger, state) == dest
                    moves += 1
    assert moves == len(machine.table)


def test_engines_are_safe_to_share_between_threads() -> None:
    eng = engine("cn")
    base = case_of("cn", ev("notice", on_dpd(30), kind="formal_demand"))

    def run(i: int) -> tuple[str, str, bool]:
        case = eng.apply(base, ev("escalate", on_dpd(31 + i % 5), to="negotiation"))
        case = eng.apply(case, ev("escalate", on_dpd(61 + i % 7), to="formal"))
        check = eng.check(case, Escalate(to="formal"), at=on_dpd(70))
        return case.stage.value, case.bureau.value, check.allowed

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, range(200)))
    assert set(results) == {("formal", "not_reported", False)}
    assert base.stage is Stage.REMINDER
    assert len(base) == 1


def test_explain_names_dpd_thresholds_holds_notices_and_next_moves() -> None:
    case = case_of(
        "cn",
        ev("notice", on_dpd(20), kind="pre_reporting"),
        ev("escalate", on_dpd(31), to="negotiation"),
        ev("hold", on_dpd(40), kind="hardship", until="2026-02-20"),
    )
    text = str(engine("cn").explain(case, at=on_dpd(45)))
    assert "45 days past due" in text
    assert "oldest unpaid instalment fell due on 2026-01-01" in text
    assert "Entered negotiation" in text
    assert "formal needs DPD >= 61 and a formal_demand notice: DPD not yet." in text
    assert "Hold: hardship" in text
    assert "until 2026-02-20" in text
    assert "Notice pre_reporting sent" in text
    assert "Next: escalate to formal is refused" in text


def test_state_after_the_last_event_applies_the_automatic_moves() -> None:
    case = case_of("cn")
    state = engine("cn").state(case, at=on_dpd(3))
    assert (state.stage, state.dpd, str(state.overdue)) == (Stage.REMINDER, 3, "1000.00 CNY")
    assert str(state.balance) == "12000.00 CNY"
    assert case.stage is Stage.CURRENT  # the case itself did not move
    assert state.at == on_dpd(3)
    assert isinstance(state.at, dt.datetime)


def test_skip_edges_appear_only_when_the_policy_allows_skips() -> None:
    strict = load_policy("cn")
    lenient = strict.model_copy(
        update={"ladder": strict.ladder.model_copy(update={"skip_allowed": True})}
    )
    assert "skips a rung" not in Engine(strict).diagram()
    assert "reminder --> formal: escalate_formal (skips a rung)" in Engine(lenient).diagram()


def test_what_is_compiled_from_a_policy_is_built_once_per_fingerprint_and_bounded() -> None:
    from staged_collection._per_policy import PerPolicy

    cache: PerPolicy[object] = PerPolicy(size=3)
    builds: list[str] = []

    def build(policy: Policy) -> object:
        builds.append(policy.fingerprint)
        return object()

    cn = load_policy("cn")
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda p: cache.get(p, lambda: build(p)), [cn, load_policy("cn")] * 50))
    assert len({id(g) for g in got}) == 1
    assert builds == [cn.fingerprint]
    for other in (load_policy(name) for name in ("us", "uk", "us-ma")):
        cache.get(other, partial(build, other))
    assert len(cache) <= 3
    assert cache.get(cn, lambda: build(cn)) is not got[0]  # started again: built anew


# -- one instant, any tzinfo ------------------------------------------------------------------


class _NoOffset(dt.tzinfo):
    """A tzinfo that knows no offset: an instant in it is naive, whatever its type says."""

    def utcoffset(self, d: dt.datetime | None) -> dt.timedelta | None:
        return None

    def dst(self, d: dt.datetime | None) -> dt.timedelta | None:
        return None

    def tzname(self, d: dt.datetime | None) -> str | None:
        return None


def _spellings(at: dt.datetime) -> list[dt.datetime]:
    """``at`` in UTC, in two location zones, in a fixed offset and in pydantic's own tzinfo
    (what a parsed event carries): the same instant every time."""
    from zoneinfo import ZoneInfo

    from pydantic_core import TzInfo

    return [
        at.astimezone(dt.UTC),
        at.astimezone(ZoneInfo("Asia/Shanghai")),
        at.astimezone(ZoneInfo("America/New_York")),
        at.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))),
        at.astimezone(TzInfo(-3 * 3600)),
    ]


@given(minutes=st.integers(min_value=-3 * 24 * 60, max_value=6 * 24 * 60))
@settings(max_examples=60, deadline=None)
def test_an_instant_is_answered_alike_whatever_its_tzinfo(minutes: int) -> None:
    # The engine compares instants in UTC; an instant before the last event asks about the
    # past, one after it about now: the same whichever zone it is written in. The cn rules
    # change on 2026-01-30 (the 失联 triggers), inside the range.
    from staged_collection import ContactAttempt

    last = on_dpd(20, 10)
    case = case_of(
        "cn",
        ev("contact", on_dpd(20, 9), channel="call", number="+8613800000000", outcome="no_answer"),
        ev("contact", last, channel="call", number="+8613800000000", outcome="no_answer"),
    )
    at = last + dt.timedelta(minutes=minutes)
    attempt = ContactAttempt(channel="call", number="+8613800000000")
    eng = engine("cn")
    answers = [
        (
            eng.check(case, attempt, at=t).model_dump(exclude={"at"}),
            eng.next_allowed(case, attempt, after=t),
            eng.state(case, at=t).model_dump(exclude={"at"}),
            eng.check(case, Escalate(to="negotiation"), at=t).model_dump(exclude={"at"}),
        )
        for t in _spellings(at)
    ]
    assert all(a == answers[0] for a in answers), at


def test_an_instant_whose_tzinfo_gives_no_offset_is_refused_naming_the_field() -> None:
    from staged_collection import ContactAttempt, NaiveDatetimeError

    case = case_of("cn")
    naive = dt.datetime(2026, 3, 1, 12, tzinfo=_NoOffset())
    attempt = ContactAttempt(channel="call", number="+8613800000000")
    with pytest.raises(NaiveDatetimeError) as info:
        engine("cn").check(case, attempt, at=naive)
    assert info.value.field == "at"
    with pytest.raises(NaiveDatetimeError) as info:
        engine("cn").next_allowed(case, attempt, after=naive)
    assert info.value.field == "after"


def test_the_horizon_of_next_allowed_is_elapsed_time_whatever_the_zone_of_after() -> None:
    # The night New York springs forward (8 March 2026): from Saturday 21:30 EST, the first
    # allowed us call is Sunday 08:00 EDT, 9 h 30 min of real time later. A horizon of 9 h 30
    # min reaches it, one of 9 h 29 min does not, however ``after`` is written (wall-clock
    # arithmetic in New York would make that night an hour longer).
    from zoneinfo import ZoneInfo

    from staged_collection import ContactAttempt

    new_york = ZoneInfo("America/New_York")
    case = case_of("us", zones=("America/New_York",))
    after = dt.datetime(2026, 3, 7, 21, 30, tzinfo=new_york)
    first = dt.datetime(2026, 3, 8, 8, 0, tzinfo=new_york)
    assert first - after == dt.timedelta(hours=10.5)  # wall-clock difference, same tzinfo
    assert first.astimezone(dt.UTC) - after.astimezone(dt.UTC) == dt.timedelta(hours=9.5)
    call = ContactAttempt(channel="call")
    for written in (after, after.astimezone(dt.UTC)):
        reach = engine("us").next_allowed(
            case, call, after=written, horizon=dt.timedelta(hours=9.5)
        )
        assert reach == first
        short = dt.timedelta(hours=9, minutes=29)
        assert engine("us").next_allowed(case, call, after=written, horizon=short) is None
