"""Counters as data: the per-day counts the fold keeps equal a recount from the events.

After every contact of a random history, for every counter of the policy, the count the
fold keeps for that contact's key over the counter's window ending on its day equals what
the testing kit's oracle counts from the events alone (a plain walk over them).
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from staged_collection import Contact, Engine, Event, compose, load_policy
from staged_collection._fold import party_of
from staged_collection._tally import add, empty, keep_days, recount, specs_for
from staged_collection.case import ContactRecord
from staged_collection.terms import Channel, Outcome
from staged_collection.testing import _oracle as oracle
from staged_collection.testing import borrowers, events, histories, loans

POLICIES = {name: load_policy(name) for name in ("cn", "us", "us-ma")}  # uk counts nothing
CURRENCY = {"cn": "CNY", "us": "USD", "us-ma": "USD"}


def window_start(window: str, days: int, day: dt.date) -> dt.date:
    if window == "local_day":
        return day
    if window == "rolling_days":
        return day - dt.timedelta(days=days - 1)
    if window == "calendar_week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(POLICIES)))
def test_the_per_day_counts_equal_a_recount_from_the_events(data: st.DataObject, name: str) -> None:
    policy = POLICIES[name]
    eng = Engine(policy)
    loan = data.draw(loans(CURRENCY[name]), label="loan")
    borrower = data.draw(borrowers(), label="borrower")
    zone = oracle.days_zone(policy, borrower)
    consent = policy.contact.consent
    case = eng.open_case(loan, borrower)
    seen: list[Event] = []
    checked = 0
    history = data.draw(histories(loan, max_size=20), label="history")
    # Mostly contacts, bunched into a few days so that the windows hold several.
    at = history[-1].at if history else dt.datetime(2026, 1, 5, 1, tzinfo=dt.UTC)
    for _ in range(data.draw(st.integers(5, 40), label="contacts")):
        at += dt.timedelta(minutes=data.draw(st.integers(0, 60 * 30)))
        history.append(data.draw(events(loan, at, kind="contact")))
    for event in history:
        outcome = eng.decide(case, event, breach=True)
        if not outcome.recorded:
            continue
        case = outcome.case
        seen.append(event)
        if not isinstance(event, Contact):
            continue
        day = oracle.local_day(event.at, zone)
        for spec in specs_for(policy).counters:
            if not spec.first:
                continue  # counters that count the same share the first one's counts
            counter = spec.counter
            key = spec.key_of(event.number or "", party_of(event))
            oldest = window_start(counter.window, counter.days, day).toordinal()
            kept = case._s.tally.counts.get(spec.tag, {}).get(key, ())
            counted = sum(n for d, n in kept if d >= oldest)
            assert counted == oracle.counter_count(counter, seen, event, zone, consent), (
                f"{counter.name} for {key or 'the case'} on {day}"
            )
            checked += 1
    if specs_for(policy).counters:
        assert checked > 0


_CHANNELS = ("call", "ai_voice", "sms", "email", "letter")
_OUTCOMES = ("conversation", "no_answer", "busy", "delivered", "voicemail", "refused")


@st.composite
def records(draw: st.DrawFn) -> list[tuple[ContactRecord, bool]]:
    """Contact records as a snapshot holds them, oldest first, each with whether a consent
    covered it; their local days mostly rise, and may go back (a clock put back across
    midnight), which the one-pass recount must take as ``add`` does."""
    start = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    out = []
    at = start
    for _ in range(draw(st.integers(0, 40))):
        at += dt.timedelta(minutes=draw(st.integers(0, 60 * 14)))
        day = at.date() - dt.timedelta(days=draw(st.sampled_from([0, 0, 0, 0, 1])))
        third = draw(st.sampled_from([False, False, False, True]))
        number = draw(st.sampled_from(["+8613800000000", "+8613800000001", ""]))
        party = f"third_party:{number or 'sister'}" if third else "borrower"
        record = ContactRecord(
            at,
            day,
            Channel(draw(st.sampled_from(_CHANNELS))),
            Outcome(draw(st.sampled_from(_OUTCOMES))),
            draw(st.sampled_from([True, True, True, False])),  # collector-initiated, mostly
            not third,
            number,
            draw(st.sampled_from(["lender", "A1"])),
            party,
        )
        out.append((record, draw(st.sampled_from([False, False, False, True]))))
    return out


# With a minimum gap too: its latest attempts are part of the tally.
_GAPS = compose(
    load_policy("cn"),
    {
        "contact": {
            "min_gaps": [
                {"name": "calls", "channels": ["call"], "minutes": 240, "citation": "test"},
                {
                    "name": "any",
                    "channels": ["sms", "email"],
                    "minutes": 60,
                    "key": "debtor",
                    "citation": "test",
                },
            ]
        }
    },
)


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from([*sorted(POLICIES), "gaps"]), marked=records())
def test_the_one_pass_recount_is_add_after_add(
    name: str, marked: list[tuple[ContactRecord, bool]]
) -> None:
    # A restored snapshot's contacts are recounted in one pass over mutable counts; it must
    # be the fold's own ``add`` after ``add``, count for count, day for day.
    policy = _GAPS if name == "gaps" else POLICIES[name]
    specs = specs_for(policy)
    keep = keep_days(policy)
    expected = empty(specs)
    for r, consented in marked:
        expected = add(expected, specs, r, consented, keep)
    assert recount(marked, specs, keep) == expected
