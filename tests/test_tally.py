"""Counters as data: the per-day counts the fold keeps equal a recount from the events.

After every contact of a random history, for every counter of the policy, the count the
fold keeps for that contact's key over the counter's window ending on its day equals what
the testing kit's oracle counts from the events alone (a plain walk over them).
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from staged_collection import Contact, Engine, Event, load_policy
from staged_collection._fold import party_of
from staged_collection._tally import specs_for
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
