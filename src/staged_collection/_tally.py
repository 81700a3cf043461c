"""Counters as data in the fold: per-day counts, so a check reads a few integers.

Each counter of the policy (its key, window, channels, outcomes, initiator,
placement, consent exemption) keeps, per key value, the counts of the local
days it can still read, newest first. Recording a contact adds one to the
counters it matches; a check sums the days inside its window. The cool-down
reads the last conversation day per person and channel, and the ``cn``
unreachable rule the attempted and connected flags of the last few days.

The counts are a function of the contacts inside the counters' windows: a
snapshot keeps those contacts, and ``rebuild`` recounts them on restore.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import NamedTuple

from staged_collection.case import ContactRecord
from staged_collection.policy import Counter, Policy
from staged_collection.terms import Channel, Initiator, Outcome

Days = tuple[tuple[int, int], ...]
"""``((local day ordinal, count), ...)``, newest first."""

_CALLS = frozenset({Channel.CALL, Channel.AI_VOICE})
_MONTH = 31  # the most days a calendar month can reach back


class Spec(NamedTuple):
    """One counter, compiled: what it matches and how many days of counts it can read."""

    counter: Counter
    channels: frozenset[Channel]
    outcomes: frozenset[Outcome]
    collector: bool  # counts collector-initiated contacts
    borrower: bool  # counts borrower-initiated contacts
    placed_by: str
    key: str
    exempt_consent: bool
    span: int

    def matches(self, r: ContactRecord) -> bool:
        if r.channel not in self.channels or r.outcome not in self.outcomes:
            return False
        if not (self.collector if r.collector else self.borrower):
            return False
        if self.key == "debtor" and not r.to_borrower:
            return False
        return placed(self.placed_by, r.placed_by)

    def key_of(self, number: str, party: str) -> str:
        if self.key == "number":
            return number
        if self.key == "person_debt":
            return party
        return ""  # debtor and debt: one count for the case


def placed(rule: str, placed_by: str) -> bool:
    """Whether a contact placed by ``placed_by`` counts for a rule that says ``rule``."""
    if rule == "any":
        return True
    return (placed_by == "lender") == (rule == "lender")


def span_of(counter: Counter) -> int:
    if counter.window == "local_day":
        return 1
    if counter.window == "rolling_days":
        return counter.days
    return _MONTH


_SPECS: dict[str, tuple[Spec, ...]] = {}


def specs_for(policy: Policy) -> tuple[Spec, ...]:
    """The compiled counters of a policy, one tuple per fingerprint (a bounded cache)."""
    key = policy.fingerprint
    specs = _SPECS.get(key)
    if specs is None:
        if len(_SPECS) >= 64:
            _SPECS.clear()
        specs = _SPECS[key] = compile_specs(policy)
    return specs


def compile_specs(policy: Policy) -> tuple[Spec, ...]:
    return tuple(
        Spec(
            counter=c,
            channels=c.channels,
            outcomes=c.outcomes,
            collector=Initiator.COLLECTOR in c.initiated_by,
            borrower=Initiator.BORROWER in c.initiated_by,
            placed_by=c.placed_by,
            key=c.key,
            exempt_consent=c.exempt_consent,
            span=span_of(c),
        )
        for c in policy.contact.counters
    )


def keep_days(policy: Policy) -> int:
    """How many local days back, counting today, the contact rules can read."""
    rules = policy.contact
    spans = [span_of(c) for c in rules.counters]
    if rules.cooldown is not None:
        spans.append(rules.cooldown.days)
    spans.append(rules.third_party.unreachable_days + 1)
    return max(spans)


class Tally(NamedTuple):
    counts: tuple[Mapping[str, Days], ...]  # per counter spec: key value -> days
    talks: Mapping[tuple[str, Channel], int]  # (party, channel) -> day of the last conversation
    reach: tuple[tuple[int, bool, bool], ...]  # (day, attempted, connected) for the borrower


def empty(specs: tuple[Spec, ...]) -> Tally:
    return Tally(tuple({} for _ in specs), {}, ())


def add(
    tally: Tally, specs: tuple[Spec, ...], r: ContactRecord, consented: bool, keep: int
) -> Tally:
    """``tally`` with one more contact counted (``consented``: inside a consent window)."""
    day = r.day.toordinal()
    counts = tally.counts
    changed: list[Mapping[str, Days]] | None = None
    for i, spec in enumerate(specs):
        if not spec.matches(r) or (spec.exempt_consent and consented):
            continue
        if changed is None:
            changed = list(counts)
        per_key = dict(changed[i])
        key = spec.key_of(r.number, r.party)
        per_key[key] = _bump(per_key.get(key, ()), day, day - spec.span + 1)
        changed[i] = per_key
    talks = tally.talks
    if r.outcome is Outcome.CONVERSATION:
        talks = {k: d for k, d in talks.items() if d > day - keep}
        talks[(r.party, r.channel)] = day
    reach = tally.reach
    if r.to_borrower:
        connected = r.outcome is Outcome.CONVERSATION
        attempted = not connected and r.collector and r.channel in _CALLS
        if connected or attempted:
            reach = _flag(reach, day, attempted, connected, day - keep)
    return Tally(counts if changed is None else tuple(changed), talks, reach)


def _bump(days: Days, day: int, oldest: int) -> Days:
    if days and days[0][0] == day:
        head = ((day, days[0][1] + 1),)
        rest = days[1:]
    else:
        head = ((day, 1),)
        rest = days
    return head + tuple(d for d in rest if d[0] >= oldest)


def _flag(
    reach: tuple[tuple[int, bool, bool], ...],
    day: int,
    attempted: bool,
    connected: bool,
    oldest: int,
) -> tuple[tuple[int, bool, bool], ...]:
    if reach and reach[0][0] == day:
        _, a, c = reach[0]
        return ((day, a or attempted, c or connected), *reach[1:])
    return ((day, attempted, connected), *(r for r in reach if r[0] > oldest))


def in_window(days: Days, since: dt.date) -> Days:
    """The days of ``days`` on or after ``since``."""
    oldest = since.toordinal()
    out = []
    for d in days:
        if d[0] < oldest:
            break
        out.append(d)
    return tuple(out)
