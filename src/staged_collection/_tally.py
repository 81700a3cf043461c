"""Counters as data in the fold: per-day counts, so a check reads a few integers.

Each counter of the policy (its key, window, channels, outcomes, initiator,
placement, consent exemption) keeps, per key value, the counts of the local
days it can still read, newest first. Recording a contact adds one to the
counters it matches; a check sums the days inside its window. The cool-down
reads the last conversation day per person and channel, a minimum gap the
latest attempt per key, and the ``cn`` unreachable rule the attempted and
connected flags of the last few days.

Counts are kept by what a counter counts (its ``tag``), not by its place in
a list: the fold counts every counter of the policy's whole timeline, in
force or not, so that a check under the rules of any date finds the counts of
the counters in force then; two counters that count the same contacts share
their counts.

The counts are a function of the contacts inside the counters' windows: a
snapshot keeps those contacts, and the fold recounts them on restore.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import NamedTuple

from staged_collection._per_policy import PerPolicy
from staged_collection.case import ContactRecord
from staged_collection.policy import Counter, MinGap, Policy
from staged_collection.terms import Channel, Initiator, Outcome

Days = tuple[tuple[int, int], ...]
"""``((local day ordinal, count), ...)``, newest first."""

_CALLS = frozenset({Channel.CALL, Channel.AI_VOICE})
_WEEK = 7
_MONTH = 31  # the most days a calendar month can reach back
_DAY_MINUTES = 24 * 60


class Spec(NamedTuple):
    """One counter, compiled: what it matches and how many days of counts it can read."""

    counter: Counter
    tag: str  # what it counts: the key of its counts in the tally
    first: bool  # the first spec of its tag in the policy: the one the fold counts with
    channels: frozenset[Channel]
    outcomes: frozenset[Outcome]
    collector: bool  # counts collector-initiated contacts
    borrower: bool  # counts borrower-initiated contacts
    placed_by: str
    key: str
    exempt_consent: bool
    span: int
    back: int  # the days before the attempt's its window reads (-1: a calendar window)

    def matches(self, r: ContactRecord) -> bool:
        if r.channel not in self.channels or r.outcome not in self.outcomes:
            return False
        if not (self.collector if r.collector else self.borrower):
            return False
        if self.key == "debtor" and not r.to_borrower:
            return False
        return placed(self.placed_by, r.placed_by)

    def key_of(self, number: str, party: str) -> str:
        return key_value(self.key, number, party)


def key_value(key: str, number: str, party: str) -> str:
    """The value a counter or gap keyed by ``key`` keeps its counts under."""
    if key == "number":
        return number
    if key == "person_debt":
        return party
    return ""  # debtor and debt: one count for the case


def placed(rule: str, placed_by: str) -> bool:
    """Whether a contact placed by ``placed_by`` counts for a rule that says ``rule``."""
    if rule == "any":
        return True
    return (placed_by == "lender") == (rule == "lender")


def span_of(counter: Counter) -> int:
    """How many local days, counting the attempt's, the counter's window can reach back."""
    if counter.window == "local_day":
        return 1
    if counter.window == "rolling_days":
        return counter.days
    if counter.window == "calendar_week":
        return _WEEK
    return _MONTH


def _tag(c: Counter) -> str:
    return "|".join(
        (
            c.key,
            str(span_of(c)),
            ",".join(sorted(c.channels)),
            ",".join(sorted(c.outcomes)),
            ",".join(sorted(c.initiated_by)),
            c.placed_by,
            "consent" if c.exempt_consent else "",
        )
    )


class GapSpec(NamedTuple):
    """One minimum gap, compiled: which attempts it reads, per what key."""

    gap: MinGap
    tag: str
    first: bool
    channels: frozenset[Channel]
    key: str
    span: dt.timedelta

    def matches(self, r: ContactRecord) -> bool:
        if r.channel not in self.channels or not r.collector:
            return False
        return self.key != "debtor" or r.to_borrower

    def key_of(self, number: str, party: str) -> str:
        return key_value(self.key, number, party)


class Specs(NamedTuple):
    """A policy's counters and minimum gaps, compiled."""

    counters: tuple[Spec, ...]
    gaps: tuple[GapSpec, ...]


_SPECS: PerPolicy[Specs] = PerPolicy()


def specs_for(policy: Policy) -> Specs:
    """The compiled counters and gaps of a policy, one per fingerprint (a bounded cache).

    Every counter and gap of the policy, dated or not: the fold counts them all.
    """
    return _SPECS.get(policy, lambda: compile_specs(policy))


def compile_specs(policy: Policy) -> Specs:
    seen: set[str] = set()
    counters = []
    for c in policy.contact.counters:
        tag = _tag(c)
        counters.append(
            Spec(
                counter=c,
                tag=tag,
                first=tag not in seen,
                channels=c.channels,
                outcomes=c.outcomes,
                collector=Initiator.COLLECTOR in c.initiated_by,
                borrower=Initiator.BORROWER in c.initiated_by,
                placed_by=c.placed_by,
                key=c.key,
                exempt_consent=c.exempt_consent,
                span=span_of(c),
                back=span_of(c) - 1 if c.window in ("local_day", "rolling_days") else -1,
            )
        )
        seen.add(tag)
    gaps = []
    for g in policy.contact.min_gaps:
        tag = f"{g.key}|{','.join(sorted(g.channels))}|{g.minutes}"
        span = dt.timedelta(minutes=g.minutes)
        gaps.append(GapSpec(g, tag, tag not in seen, g.channels, g.key, span))
        seen.add(tag)
    return Specs(tuple(counters), tuple(gaps))


def keep_days(policy: Policy) -> int:
    """How many local days back, counting today, the contact rules can read."""
    rules = policy.contact
    spans = [span_of(c) for c in rules.counters]
    # A gap reaches back its length from any instant of today: one day more.
    spans += [-(-g.minutes // _DAY_MINUTES) + 1 for g in rules.min_gaps]
    if rules.cooldown is not None:
        spans.append(rules.cooldown.days)
    spans.append(rules.third_party.unreachable_days + 1)
    return max(spans)


class Tally(NamedTuple):
    counts: Mapping[str, Mapping[str, Days]]  # per counter tag: key value -> days
    talks: Mapping[tuple[str, Channel], int]  # (party, channel) -> day of the last conversation
    reach: tuple[tuple[int, bool, bool], ...]  # (day, attempted, connected) for the borrower
    latest: Mapping[str, Mapping[str, dt.datetime]] = {}  # per gap tag: key value -> last attempt


def empty(specs: Specs) -> Tally:
    return Tally({}, {}, (), {})


def add(tally: Tally, specs: Specs, r: ContactRecord, consented: bool, keep: int) -> Tally:
    """``tally`` with one more contact counted (``consented``: inside a consent window)."""
    day = r.day.toordinal()
    counts = tally.counts
    changed: dict[str, Mapping[str, Days]] | None = None
    for spec in specs.counters:
        if not spec.first or not spec.matches(r) or (spec.exempt_consent and consented):
            continue
        if changed is None:
            changed = dict(counts)
        per_key = dict(changed.get(spec.tag, {}))
        key = spec.key_of(r.number, r.party)
        per_key[key] = _bump(per_key.get(key, ()), day, day - spec.span + 1)
        changed[spec.tag] = per_key
    latest = tally.latest
    if specs.gaps:
        latest = _latest(latest, specs.gaps, r)
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
    return Tally(counts if changed is None else changed, talks, reach, latest)


def recount(records: list[tuple[ContactRecord, bool]], specs: Specs, keep: int) -> Tally:
    """The tally of ``records`` (oldest first, each with whether a consent covered it):
    ``add`` after ``add`` from ``empty``, without copying the counts for every record
    (restoring a snapshot recounts its contacts on every load)."""
    counts: dict[str, dict[str, Days]] = {}
    talks: dict[tuple[str, Channel], int] = {}
    reach: tuple[tuple[int, bool, bool], ...] = ()
    latest: Mapping[str, Mapping[str, dt.datetime]] = {}
    counters = [spec for spec in specs.counters if spec.first]
    for r, consented in records:
        day = r.day.toordinal()
        for spec in counters:
            if not spec.matches(r) or (spec.exempt_consent and consented):
                continue
            per_key = counts.setdefault(spec.tag, {})
            key = spec.key_of(r.number, r.party)
            per_key[key] = _bump(per_key.get(key, ()), day, day - spec.span + 1)
        if specs.gaps:
            latest = _latest(latest, specs.gaps, r)
        if r.outcome is Outcome.CONVERSATION:
            talks = {k: d for k, d in talks.items() if d > day - keep}
            talks[(r.party, r.channel)] = day
        if r.to_borrower:
            connected = r.outcome is Outcome.CONVERSATION
            attempted = not connected and r.collector and r.channel in _CALLS
            if connected or attempted:
                reach = _flag(reach, day, attempted, connected, day - keep)
    return Tally(counts, talks, reach, latest)


def _latest(
    latest: Mapping[str, Mapping[str, dt.datetime]], gaps: tuple[GapSpec, ...], r: ContactRecord
) -> Mapping[str, Mapping[str, dt.datetime]]:
    out: dict[str, Mapping[str, dt.datetime]] | None = None
    for gap in gaps:
        if not gap.first or not gap.matches(r):
            continue
        if out is None:
            out = dict(latest)
        # Only attempts inside the gap's length can still refuse one; older keys go.
        per_key = {k: t for k, t in out.get(gap.tag, {}).items() if t > r.at - gap.span}
        key = gap.key_of(r.number, r.party)
        was = per_key.get(key)
        per_key[key] = r.at if was is None or r.at > was else was
        out[gap.tag] = per_key
    return latest if out is None else out


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
