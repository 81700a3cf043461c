"""The contact guard over a space of inputs: zones with DST, two zones, instants at window
edges and DST changes, random contact histories, under the presets and lenders' own rules
(windows for particular weekdays, minimum gaps, calendar weeks, rest days for letters) and
policies whose rules start and end on the days drawn.

(a) ``check`` agrees with the plain reference in ``reference_contact.py``;
(b) ``next_allowed`` returns an allowed instant and no earlier minute is allowed;
(c) an allowed contact, once applied, never takes a counter over its limit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from staged_collection import (
    Borrower,
    Case,
    Contact,
    ContactAttempt,
    Engine,
    Event,
    Loan,
    Policy,
    compose,
    load_policy,
    parse_event,
)
from staged_collection.testing import _oracle as oracle
from staged_collection.testing import edge_instants
from tests.reference_contact import reference_codes

ZONES = (
    "Asia/Shanghai",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Havana",  # DST at midnight
    "America/Santiago",  # falls back across midnight
    "Asia/Kolkata",
)
# Window edges of the presets (08:00, 21:00, 22:00), the edges of the inconvenient ranges
# the borrowers draw, and the hours DST changes happen at: the kit's instants sit a second,
# a minute or an hour around them, mostly on DST days.
WALLS = ("08:00", "21:00", "22:00", "12:00", "14:00", "20:00", "09:00", "08:30", "00:00", "02:00")
NUMBERS = ("+8613800000000", "+8613900000000", "+14155550100")
LOAN = Loan.model_validate(
    {
        "id": "L1",
        "currency": "USD",
        "principal": "6000.00",
        "opened": "2025-12-01",
        "installments": [{"due": f"2026-{m:02d}-01", "amount": "500.00"} for m in range(1, 13)],
    }
)


def _variant(name: str) -> Policy:
    base = load_policy(name)
    overlay: dict[str, Any] = {
        "name": f"{name}-strict",
        "contact": {
            "rest_days": {
                "weekdays": [7, "public_holidays"],
                "citation": "test: no Sundays, no public holidays",
            },
            "workplace": {"citation": "test: not at work"},
            "represented": {"citation": "test: not when represented"},
        },
    }
    if base.validation is not None:
        overlay["validation"] = {"required_before_contact": True}
    return compose(base, overlay)


def _lender(name: str) -> Policy:
    """A lender's own rules over a preset: Saturday and Sunday windows, a minimum gap between
    calls, a cap per calendar week, rest days that apply to letters."""
    weekend = {"start": "10:00", "end": "16:00", "citation": "test: weekend hours"}
    return compose(
        load_policy(name),
        {
            "name": f"{name}-lender",
            "contact": {
                "quiet_hours": {
                    "weekdays": {
                        "saturday": {"call": weekend, "sms": weekend},
                        "sunday": {"call": {**weekend, "start": "12:00"}, "letter": weekend},
                    }
                },
                "rest_days": {"dates": ["2026-03-09"], "letters": True, "citation": "test"},
                "counters": [
                    {
                        "name": "weekly",
                        "key": "debtor",
                        "window": "calendar_week",
                        "channels": ["call", "ai_voice"],
                        "outcomes": ["conversation", "no_answer", "busy", "voicemail"],
                        "limit": 6,
                        "citation": "test: six calls a calendar week",
                    }
                ],
                "min_gaps": [
                    {
                        "name": "calls",
                        "channels": ["call", "ai_voice"],
                        "minutes": 180,
                        "citation": "test: three hours between calls",
                    },
                    {
                        "name": "texts",
                        "channels": ["sms"],
                        "minutes": 30,
                        "key": "number",
                        "citation": "test: half an hour between texts to a number",
                    },
                ],
            },
        },
    )


def _dated(name: str) -> Policy:
    """Rules that start or end on the days the instants are drawn around, in the policy's home
    zone whatever zones the borrower is in: the judges must switch rules at midnight there."""
    base = load_policy(name)
    ends: dict[str, Any] = {}
    if base.contact.workplace is None:  # a rule the preset has cannot be ended by an overlay
        ends["workplace"] = {"citation": "test: not at work", "effective_to": "2026-11-01"}
    return compose(
        base,
        {
            "name": f"{name}-dated",
            "contact": {
                "quiet_hours": {
                    "weekdays": {
                        "sunday": {
                            "call": {
                                "start": "09:00",
                                "end": "20:00",
                                "effective_from": "2026-04-05",
                                "effective_to": "2026-10-04",
                            },
                            "sms": {"start": "13:00", "end": "15:00", "effective_to": "2026-03-08"},
                        }
                    }
                },
                "rest_days": {
                    "weekdays": [6],
                    "letters": True,
                    "effective_from": "2026-03-09",
                    "effective_to": "2026-03-29",
                    "citation": "test: no Saturdays for three weeks",
                },
                "counters": [
                    {
                        "name": "daily_two",
                        "key": "debt",
                        "window": "local_day",
                        "channels": ["call"],
                        "outcomes": ["conversation", "no_answer", "busy", "voicemail"],
                        "limit": 2,
                        "effective_from": "2026-06-15",
                        "effective_to": "2026-10-25",
                        "citation": "test: two calls a day, for a season",
                    }
                ],
                "min_gaps": [
                    {
                        "name": "letters",
                        "channels": ["letter", "email"],
                        "minutes": 24 * 60,
                        "effective_from": "2026-09-27",
                        "citation": "test: a day between letters and emails",
                    },
                    {
                        "name": "calls",
                        "channels": ["call", "ai_voice"],
                        "minutes": 150,
                        "effective_to": "2026-04-04",
                        "citation": "test: two and a half hours between calls, until April",
                    },
                ],
                **ends,
            },
        },
    )


POLICIES: list[Policy] = [load_policy(n) for n in ("cn", "us", "uk", "us-ma")]
POLICIES += [_variant(n) for n in ("cn", "us")]
POLICIES += [_lender("cn"), _dated("cn"), _dated("uk")]
ENGINES = {p.fingerprint: Engine(p) for p in POLICIES}


def engine_for(policy: Policy) -> Engine:
    return ENGINES[policy.fingerprint]


# The kit's days (most of them Sundays: clocks change on Sundays) and days around them, for the
# windows of particular weekdays; several are the dates the dated policies change their rules.
DAYS = tuple(
    dt.date.fromisoformat(d)
    for d in (
        "2026-03-06",  # a Friday
        "2026-03-07",
        "2026-03-08",
        "2026-03-09",
        "2026-03-29",
        "2026-04-04",
        "2026-04-05",
        "2026-06-13",
        "2026-06-15",
        "2026-09-27",
        "2026-10-04",
        "2026-10-24",
        "2026-10-25",
        "2026-11-01",
        "2026-11-02",
    )
)


def instants(zones: tuple[str, ...]) -> st.SearchStrategy[dt.datetime]:
    return edge_instants(zones or ("UTC",), walls=WALLS, days=DAYS)


@st.composite
def borrowers(draw: st.DrawFn) -> Borrower:
    zones = draw(st.lists(st.sampled_from(ZONES), min_size=0, max_size=2, unique=True))
    if draw(st.integers(0, 9)):  # mostly a known zone; sometimes none
        zones = zones or [draw(st.sampled_from(ZONES))]
    ranges = draw(
        st.lists(
            st.sampled_from([("12:00", "14:00"), ("20:00", "09:00"), ("08:00", "08:30")]),
            max_size=1,
        )
    )
    return Borrower.model_validate(
        {
            "id": "B1",
            "timezones": zones,
            "phones": [NUMBERS[0]],
            "work_phones": [NUMBERS[1]],
            "inconvenient": [{"start": a, "end": b} for a, b in ranges],
        }
    )


def contact_fields(draw: Callable[[st.SearchStrategy[Any]], Any]) -> dict[str, Any]:
    third = draw(st.integers(0, 5)) == 0
    return {
        "channel": draw(st.sampled_from(["call", "call", "ai_voice", "sms", "letter", "email"])),
        "recipient": "third_party" if third else "borrower",
        "relation": draw(st.sampled_from(["emergency_contact", "spouse"])) if third else None,
        "number": draw(st.sampled_from(NUMBERS)),
        "purpose": draw(st.sampled_from(["location", "relay", "collection"]))
        if third
        else "collection",
        "initiated_by": draw(st.sampled_from(["collector"] * 5 + ["borrower"])),
    }


@st.composite
def histories(draw: st.DrawFn, end: dt.datetime) -> list[dict[str, Any]]:
    """Events over the days before ``end``, in time order, often ending in a burst of calls."""
    burst = draw(st.sampled_from([0, 0, 2, 3, 5, 6, 7, 8]))
    burst_start = end - dt.timedelta(minutes=draw(st.integers(burst * 2 + 1, 30 * 60)))
    n = draw(st.integers(0, 30))
    span = draw(st.sampled_from([1, 2, 3, 8]))  # dense histories fill the counters
    offsets = sorted(draw(st.lists(st.integers(1, span * 24 * 60), min_size=n, max_size=n)))
    out = []
    for minutes in reversed(offsets):
        at = burst_start - dt.timedelta(minutes=minutes)
        kind = draw(
            st.sampled_from(
                ["contact"] * 24
                + ["consent", "cease", "hold", "hold_lifted", "attorney", "preference"]
                + ["dispute", "dispute_resolved", "notice", "undeliverable", "cease"]
            )
        )
        fields: dict[str, Any] = {}
        if kind == "contact":
            fields = contact_fields(draw)
            fields["outcome"] = draw(
                st.sampled_from(
                    [
                        "conversation",
                        "no_answer",
                        "voicemail",
                        "busy",
                        "not_in_service",
                        "delivered",
                        "refused",
                    ]
                )
            )
        elif kind == "consent":
            until = at + dt.timedelta(days=draw(st.integers(1, 10)))  # past 7: the cap
            fields = {"channel": "call", "until": until.isoformat()}
        elif kind == "cease":
            fields = {"channels": draw(st.lists(st.sampled_from(["call", "sms"]), max_size=1))}
            if draw(st.booleans()):  # a third party asks to stop
                fields["recipient"] = "third_party"
                fields["relation"] = draw(st.sampled_from(["emergency_contact", "spouse"]))
        elif kind in ("notice", "undeliverable"):
            fields = {"kind": "validation"}
        elif kind in ("hold", "hold_lifted"):
            fields = {"kind": draw(st.sampled_from(["hardship", "deceased", "breathing_space"]))}
            if kind == "hold" and draw(st.booleans()):
                fields["until"] = str((at + dt.timedelta(days=draw(st.integers(0, 3)))).date())
        elif kind == "preference":  # what the borrower states replaces what was known
            fields = {"no_work_contact": draw(st.booleans())}
            if draw(st.booleans()):
                fields["timezones"] = draw(
                    st.lists(st.sampled_from(ZONES), min_size=1, max_size=2, unique=True)
                )
            if draw(st.booleans()):
                hour = draw(st.integers(0, 23))
                stop = (hour + draw(st.integers(1, 12))) % 24  # some across midnight
                fields["inconvenient"] = [{"start": f"{hour:02}:00", "end": f"{stop:02}:30"}]
        out.append({"type": kind, "at": at.isoformat(), **fields})
    # A burst of calls to one number just before ``end``: the counters' edges.
    number = draw(st.sampled_from(NUMBERS[:2]))
    for i in range(burst):
        outcome = draw(st.sampled_from(["conversation", "no_answer", "no_answer", "busy"]))
        at = burst_start + dt.timedelta(minutes=2 * i)
        out.append(
            {
                "type": "contact",
                "at": at.isoformat(),
                "channel": "call",
                "number": number,
                "outcome": outcome,
            }
        )
    return out


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Policy, Case, ContactAttempt, dt.datetime]:
    policy = draw(st.sampled_from(POLICIES))
    borrower = draw(borrowers())
    at = draw(instants(borrower.timezones))
    events: list[Event] = [parse_event(e, currency="USD") for e in draw(histories(at))]
    # Record whatever happened, breaches included: a history is what it is.
    case = engine_for(policy).replay(LOAN, borrower, events, breaches=True)
    fields = contact_fields(draw)
    fields["at_work"] = draw(st.integers(0, 6)) == 0
    attempt = ContactAttempt.model_validate(fields)
    return policy, case, attempt, at


@settings(max_examples=300)
@given(scenarios())
def test_check_agrees_with_the_reference(
    scenario: tuple[Policy, Case, ContactAttempt, dt.datetime],
) -> None:
    policy, case, attempt, at = scenario
    decision = engine_for(policy).check(case, attempt, at=at)
    expected = reference_codes(policy, case.loan, case.borrower, case.events, attempt, at)
    assert {str(c) for c in decision.codes} == expected
    assert decision.allowed == (not expected)


@settings(max_examples=150)
@given(scenarios())
def test_every_retry_at_is_later_and_clears_its_own_rule(
    scenario: tuple[Policy, Case, ContactAttempt, dt.datetime],
) -> None:
    policy, case, attempt, at = scenario
    eng = engine_for(policy)
    for v in eng.check(case, attempt, at=at).violations:
        if v.retry_at is None:
            continue
        assert v.retry_at > at
        later = eng.check(case, attempt, at=v.retry_at)
        same = [w for w in later.violations if w.code == v.code and w.details == v.details]
        if v.code not in ("contact.frequency", "contact.cooldown"):
            assert not [w for w in same if w.details.get("zone") == v.details.get("zone")]


def _grid_refused(
    eng: Engine, case: Case, attempt: ContactAttempt, start: dt.datetime, end: dt.datetime
) -> None:
    """Every minute of the first and the last two days of ``[start, end)`` is refused, and
    every hour between them (a 60-day breathing space is a long grid)."""
    edge = dt.timedelta(days=2)
    t = start
    while t < end:
        assert not eng.check(case, attempt, at=t).allowed, f"allowed at {t.isoformat()}"
        near = t - start < edge or end - t <= edge
        t += dt.timedelta(minutes=1) if near else dt.timedelta(hours=1)


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_next_allowed_is_allowed_and_no_earlier_minute_is(
    scenario: tuple[Policy, Case, ContactAttempt, dt.datetime],
) -> None:
    policy, case, attempt, at = scenario
    eng = engine_for(policy)
    after = max(at, case.as_of or at)
    found = eng.next_allowed(case, attempt, after=after)
    if found is None:
        # Nothing in the known future: at least the next three days are all refused.
        _grid_refused(eng, case, attempt, after, after + dt.timedelta(days=3))
        return
    assert found >= after
    assert eng.check(case, attempt, at=found).allowed
    # No hold the presets set lasts longer than 70 days; a dated rule may refuse until it ends.
    ends = [dt.datetime.combine(b, dt.time(), tzinfo=dt.UTC) for b in policy.boundaries()]
    assert found - max([after, *ends]) <= dt.timedelta(days=71), "longer than any hold lasts"
    _grid_refused(eng, case, attempt, after, found)


def counts_over(policy: Policy, case: Case) -> list[str]:
    """Counters in force at some contact whose window, ending on its day, holds more than
    their limit (counted by the testing kit's oracle, from the events alone)."""
    events = list(case.events)
    zone = oracle.days_zone(policy, case.borrower)
    return [
        f"{counter.name} at {c.at}: {n}"
        for c in events
        if isinstance(c, Contact)
        for counter in policy.contact.counters
        if oracle.in_force(counter, policy, c.at)
        and (n := oracle.counter_count(counter, events, c, zone, policy.contact.consent))
        > counter.limit
    ]


@settings(max_examples=60, deadline=None)
@given(data=st.data(), policy=st.sampled_from(POLICIES))
def test_allowed_contacts_never_take_a_counter_over_its_limit(
    data: st.DataObject, policy: Policy
) -> None:
    eng = engine_for(policy)
    borrower = data.draw(borrowers())
    case = eng.open_case(LOAN, borrower)
    at = dt.datetime(2026, 2, 2, tzinfo=dt.UTC)
    for _ in range(data.draw(st.integers(5, 60))):
        at += dt.timedelta(minutes=data.draw(st.integers(1, 12 * 60)))
        fields = contact_fields(data.draw)
        if not eng.check(case, ContactAttempt.model_validate(fields), at=at).allowed:
            continue
        outcome = data.draw(st.sampled_from(["conversation", "no_answer", "busy", "voicemail"]))
        event = parse_event({"type": "contact", "at": at.isoformat(), "outcome": outcome, **fields})
        case = eng.apply(case, event)
    assert counts_over(policy, case) == []
