"""The contact guard: may this person be reached now, this way, and if not, when?

Checks run in the order of DOMAIN section 3 (hard stops, recipient, stage,
time in every zone, frequency) and every violation found is kept. Each
violation's ``retry_at`` is the earliest instant at which *that rule alone*
would allow the attempt, or ``None`` when the case's known future holds none;
``next_allowed`` steps from one such instant to the next.

Frequency reads the per-day counts the fold keeps for each counter
(``_tally.py``): a check sums a few integers, whatever the history. An
attempt's outcome is not known yet, so it counts as if it will match every
counter it could match (a call may connect, or may not). A minimum gap reads
the latest attempt the fold keeps per key. The borrower's other debts count as
they were at the instant judged: one that has moved on since is read from its
contacts, its later ones left out.

The policy a judge is given is the one in force at the instant judged (the
engine chooses it); ``next_allowed`` asks for the rules of each instant it
looks at, and never jumps past a date on which they change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import partial
from typing import NamedTuple

from staged_collection._fold import consent_covers, party_of
from staged_collection._guards import Facts, facts, hold_violation
from staged_collection._hours import free_from
from staged_collection._localtime import (
    day_after,
    day_start,
    day_start_or_none,
    local,
    next_wall_in,
    wall_intervals,
)
from staged_collection._per_policy import PerPolicy
from staged_collection._privacy import relation_kind
from staged_collection._tally import Days, GapSpec, Spec, in_window, key_value, placed, specs_for
from staged_collection._trusted import trusted
from staged_collection.actions import ContactAttempt
from staged_collection.borrower import LocalTimeRange
from staged_collection.calendars import FIRST_YEAR, LAST_YEAR
from staged_collection.case import Case
from staged_collection.decision import Violation
from staged_collection.policy import (
    WEEKDAYS,
    Cooldown,
    Counter,
    MinGap,
    Policy,
    QuietHours,
    RestDays,
    Rule,
    ThirdPartyRule,
    Window,
)
from staged_collection.rules import RuleCode
from staged_collection.terms import (
    TERMINAL,
    Channel,
    HoldKind,
    Initiator,
    NoticeKind,
    Purpose,
    Recipient,
)

_ONE_DAY = dt.timedelta(days=1)
_UNREACHABLE_HOLDS = frozenset({HoldKind.DECEASED, HoldKind.CAPACITY})
_MOMENTLESS = frozenset({Channel.LETTER})  # reaches no one at a particular moment
_CALLS = frozenset({Channel.CALL, Channel.AI_VOICE})
_NO_WEEKDAYS: dict[int, Window] = {}


_Count = tuple[Spec, str, str, int, bool, int]
"""A counter as a check reads it: the spec, its tag, key, days back, consent exemption and
limit (unpacked at once, rather than read field by field on every check)."""


def _count(spec: Spec) -> _Count:
    return (spec, spec.tag, spec.key, spec.back, spec.exempt_consent, spec.counter.limit)


class _Channel(NamedTuple):
    """What the contact rules of one policy say of one channel, worked out once."""

    window: Window | None  # (None for a letter: it reaches no one at a moment)
    weekday: dict[int, Window]  # ISO weekday -> that day's own window (none for a letter)
    momentless: bool  # a letter: only rest days that say so apply to it
    rest: RestDays | None
    counters: tuple[Spec, ...]  # the counters a collector's attempt on the channel may count in
    cooldown: Cooldown | None
    gaps: tuple[GapSpec, ...]
    timed: bool  # the hours can refuse it (a letter only on rest days that say so)
    by_lender: tuple[_Count, ...]  # of ``counters``, those an attempt the lender places counts in
    by_agency: tuple[_Count, ...]  # those an attempt an agency places counts in


class _Book(NamedTuple):
    """A policy (as in force for a period) compiled for the contact guard."""

    channels: dict[Channel, _Channel]
    holiday: Callable[[dt.date], bool] | None
    letters_rest: bool
    told: bool  # a validation notice must precede collection calls


_BOOKS: PerPolicy[_Book] = PerPolicy()
_LAST: list[tuple[Policy, _Book]] = []  # the policy asked about last, and its book


def _book(policy: Policy) -> _Book:
    """The compiled contact rules of a policy: one per fingerprint, a bounded cache.

    A check asks several times for the same policy's book: the last one answers first.
    """
    last = _LAST[0] if _LAST else None
    if last is not None and last[0] is policy:
        return last[1]
    found = _BOOKS.get(policy, lambda: _compile_book(policy))
    _LAST[:] = [(policy, found)]
    return found


def _compile_book(policy: Policy) -> _Book:
    rules = policy.contact
    specs = specs_for(policy)
    cooldown = rules.cooldown
    letters_rest = _rests_letters(rules.rest_days)
    channels = {}
    for channel in Channel:
        counters = tuple(s for s in specs.counters if channel in s.channels and s.collector)
        momentless = channel in _MOMENTLESS
        channels[channel] = _Channel(
            window=None if momentless else rules.quiet_hours.windows.get(channel),
            weekday=_NO_WEEKDAYS if momentless else _weekday_windows(rules.quiet_hours, channel),
            momentless=momentless,
            rest=rules.rest_days,
            counters=counters,
            cooldown=cooldown if cooldown is not None and channel in cooldown.channels else None,
            gaps=tuple(g for g in specs.gaps if channel in g.channels),
            timed=channel not in _MOMENTLESS or letters_rest,
            by_lender=tuple(_count(s) for s in counters if placed(s.placed_by, "lender")),
            by_agency=tuple(_count(s) for s in counters if placed(s.placed_by, "agency")),
        )
    validation = policy.validation
    told = validation is not None and validation.required_before_contact
    return _Book(channels, _holiday_test(policy, rules.rest_days), letters_rest, told)


def judge_contact(
    policy: Policy,
    case: Case,
    attempt: ContactAttempt,
    at: dt.datetime,
    others: Sequence[Case] = (),
) -> tuple[Facts, list[Found | Violation]]:
    """Every violation of the contact rules by ``attempt`` at ``at``, in DOMAIN order."""
    f = facts(case, policy, at)
    if attempt.initiated_by is Initiator.BORROWER:
        return f, []  # answering the borrower is never a collection attempt
    out: list[Found | Violation] = []
    book = _book(policy)
    s = f.s
    if f.holds or s.ceased or s.represented or s.no_work_contact or f.stage in TERMINAL:
        _hard_stops(policy, f, attempt, out)  # (none can apply otherwise)
    # The rarer rules are asked only where they can apply: the common call to the borrower
    # by the lender skips them (each costs a function call on every check).
    third_party = attempt.recipient is not Recipient.BORROWER
    if third_party or book.told:
        _asked_and_told(policy, f, attempt, out)
    if third_party:
        _third_party(policy, f, attempt, out)
    channel = attempt.channel
    if channel is Channel.FIELD_VISIT or attempt.placed_by != "lender":
        _stage(policy, f, attempt, out)
    ch = book.channels[channel]
    if ch.timed:
        _time(policy, book, ch, f, attempt, out)
    _frequency(ch, f, attempt, others, out)
    if ch.gaps:
        _min_gap(ch, f, attempt, others, out)
    return f, out


def _rests_letters(rest: RestDays | None) -> bool:
    return rest is not None and rest.letters


# -- 1. hard stops --------------------------------------------------------------------------


def _hard_stops(
    policy: Policy, f: Facts, attempt: ContactAttempt, out: list[Found | Violation]
) -> None:
    rules = policy.contact
    case = f.case
    to_borrower = attempt.recipient is Recipient.BORROWER
    if attempt.purpose is Purpose.COLLECTION and f.holds:
        v = hold_violation(policy, f, list(f.holds), RuleCode.CONTACT_HOLD, rules.holds.citation)
        out.append(v)
    if to_borrower and attempt.channel in f.s.ceased:
        everything = len(f.s.ceased) == len(Channel)
        what = "all contact" if everything else f"contact by {attempt.channel}"
        out.append(
            _v(RuleCode.CONTACT_CEASED, lambda: f"the borrower asked to stop {what}", rules.ceased)
        )
    if to_borrower and f.s.represented and rules.represented is not None:
        out.append(
            _v(
                RuleCode.CONTACT_REPRESENTED,
                lambda: (
                    "the borrower is represented by an attorney for this debt: contact the attorney"
                ),
                rules.represented,
            )
        )
    at_work = attempt.at_work or (
        attempt.number is not None and attempt.number in case._profile.work_phones
    )
    if at_work and f.s.no_work_contact and rules.workplace is not None:
        out.append(
            _v(
                RuleCode.CONTACT_WORKPLACE,
                lambda: "the borrower may not be contacted at work",
                rules.workplace,
            )
        )
    if f.stage.terminal:
        out.append(
            _v(
                RuleCode.CONTACT_NOTHING_DUE,
                lambda: f"the case is {f.stage}: nothing is left to collect",
                rules.nothing_due,
            )
        )


def _asked_and_told(
    policy: Policy, f: Facts, attempt: ContactAttempt, out: list[Found | Violation]
) -> None:
    """Hard stops of DOMAIN section 7: a third party who asked to stop, and (where the policy
    asks for it) a collection call before the validation notice."""
    if attempt.recipient is Recipient.THIRD_PARTY and attempt.relation is not None:
        stopped = f.s.third_parties_ceased.get(attempt.relation)
        if stopped is not None and attempt.channel in stopped:
            out.append(
                _v(
                    RuleCode.CONTACT_CEASED,
                    lambda: "this third party asked not to be contacted again",
                    policy.contact.third_party,
                )
            )
    validation = policy.validation
    if (
        validation is not None
        and validation.required_before_contact
        and attempt.recipient is Recipient.BORROWER
        and attempt.purpose is Purpose.COLLECTION
        and attempt.channel in _CALLS
        and not any(n.good and n.at < f.at for n in f.case.notices((NoticeKind.VALIDATION,)))
    ):
        out.append(
            _v(
                RuleCode.CONTACT_VALIDATION_REQUIRED,
                lambda: (
                    "no validation notice has been sent: this policy sends it before "
                    "collection calls"
                ),
                validation,
            )
        )


# -- 2. recipient ----------------------------------------------------------------------------


def _third_party(
    policy: Policy, f: Facts, attempt: ContactAttempt, out: list[Found | Violation]
) -> None:
    rule = policy.contact.third_party
    # The relation is free text that may name a person: messages give only its category.
    kind = relation_kind(attempt.relation)
    who = f"a third party ({kind})" if kind is not None else "a third party"
    if not rule.allowed:
        out.append(
            _v(
                RuleCode.CONTACT_THIRD_PARTY,
                lambda: "third parties may not be contacted",
                rule,
                reason="not_allowed",
            )
        )
        return
    if attempt.purpose not in rule.purposes:
        allowed = " or ".join(sorted(rule.purposes))
        out.append(
            _v(
                RuleCode.CONTACT_THIRD_PARTY,
                lambda: (
                    f"{who} may be contacted only to {allowed}, never about the debt "
                    f"(purpose {attempt.purpose})"
                ),
                rule,
                reason="purpose",
            )
        )
    if rule.only_when_unreachable:
        excused = any(h.kind in _UNREACHABLE_HOLDS for h in f.holds)
        days = rule.unreachable_days
        if not excused and not unreachable(f, days) and not unreachable_by_line(f, rule):
            # Today held the n-th failed call in a row: unreachable from tomorrow (失联 (b)).
            tomorrow = None
            if rule.unreachable_calls is not None and f.day.toordinal() in f.s.failed_days:
                tomorrow = _start_after_in(f.day, f.zone)
            out.append(
                _v(
                    RuleCode.CONTACT_THIRD_PARTY,
                    lambda: (
                        f"the borrower is not unreachable: {who} may be contacted only after "
                        f"{days} consecutive days of attempts with no answer"
                        + _other_triggers(rule)
                        + " (or if the borrower died or lacks capacity)"
                    ),
                    rule,
                    retry_at=tomorrow,
                    reason="not_unreachable",
                )
            )
    if rule.once_per_party and party_of(attempt) in f.s.parties:
        out.append(
            _v(
                RuleCode.CONTACT_THIRD_PARTY,
                lambda: f"{who} has already been contacted once for location information",
                rule,
                reason="contacted_once",
            )
        )


def unreachable(f: Facts, days: int) -> bool:
    """``days`` consecutive local days, ending today or yesterday, of attempts and no talk."""
    flags = {day: (attempted, connected) for day, attempted, connected in f.s.tally.reach}
    today = f.day.toordinal()
    for end in (today, today - 1):
        if all(
            flags.get(d, (False, True)) == (True, False) for d in range(end - days + 1, end + 1)
        ):
            return True
    return False


def unreachable_by_line(f: Facts, rule: ThirdPartyRule) -> bool:
    """失联 (a) and (b), where the policy grants them: every number called was out of service
    at its latest attempt, or yesterday held the n-th (or later) failed call in a row. A
    connected call ends both (the fold forgets the lines and the streak)."""
    lines = f.s.lines
    if rule.unreachable_lines is not None and lines and all(lines.values()):
        return True
    return rule.unreachable_calls is not None and f.day.toordinal() - 1 in f.s.failed_days


def _other_triggers(rule: ThirdPartyRule) -> str:
    said = ""
    if rule.unreachable_lines is not None:
        said += ", or once every number called is out of service"
    if rule.unreachable_calls is not None:
        said += f", or the day after {rule.unreachable_calls.calls} failed calls in a row"
    return said


# -- 3. stage --------------------------------------------------------------------------------


def _stage(policy: Policy, f: Facts, attempt: ContactAttempt, out: list[Found | Violation]) -> None:
    if attempt.channel is Channel.FIELD_VISIT:
        rule = policy.contact.field_visit
        if f.stage not in rule.from_stages:
            stages = ", ".join(sorted(rule.from_stages))
            out.append(
                _v(
                    RuleCode.CONTACT_STAGE,
                    lambda: f"field visits are made from {stages}; the case is {f.stage}",
                    rule,
                )
            )
        within_minutes = dt.timedelta(minutes=rule.appointment_within_minutes)
        booked = [
            visit
            for visit in f.s.appointments
            if local(visit, f.zone).date() == f.day and abs(visit - f.at) <= within_minutes
        ]
        if not booked:
            out.append(
                _v(
                    RuleCode.CONTACT_VISIT_REQUIREMENTS,
                    lambda: (
                        "no appointment booked for a visit on "
                        f"{f.day} within {rule.appointment_within_minutes} minutes of it"
                    ),
                    rule,
                    retry_at=_next_appointment(f, within_minutes),
                )
            )
        if attempt.collectors < rule.min_collectors:
            out.append(
                _v(
                    RuleCode.CONTACT_VISIT_REQUIREMENTS,
                    lambda: (
                        f"a visit needs at least {rule.min_collectors} collectors, "
                        f"not {attempt.collectors}"
                    ),
                    rule,
                )
            )
    if attempt.by_agency and f.s.placement != attempt.placed_by:
        placed = f"placed with {f.s.placement}" if f.s.placement else "not placed"
        out.append(
            _v(
                RuleCode.CONTACT_STAGE,
                lambda: (
                    f"agency {attempt.placed_by!r} may contact the borrower only while the case is "
                    f"placed with it; it is {placed}"
                ),
                policy.contact.agency,
            )
        )


def _next_appointment(f: Facts, within: dt.timedelta) -> dt.datetime | None:
    best: dt.datetime | None = None
    for visit in f.s.appointments:
        day = local(visit, f.zone).date()
        lo = max(f.at, visit - within, day_start(day, f.zone))
        hi = min(visit + within, day_start(day + _ONE_DAY, f.zone) - dt.timedelta(microseconds=1))
        if lo <= hi and (best is None or lo < best):
            best = lo
    return best


# -- 4. time ---------------------------------------------------------------------------------


def _time(
    policy: Policy,
    book: _Book,
    ch: _Channel,
    f: Facts,
    attempt: ContactAttempt,
    out: list[Found | Violation],
) -> None:
    window = ch.window
    by_weekday = ch.weekday
    ranges = () if ch.momentless else f.s.inconvenient
    rest = ch.rest
    if window is None and not by_weekday and not ranges and rest is None:
        return
    rules = policy.contact
    hours = rules.quiet_hours
    zones = f.s.zones
    if not zones:
        out.append(
            _v(
                RuleCode.CONTACT_UNKNOWN_TIMEZONE,
                lambda: (
                    "no time zone is known for the borrower, so no local time can be shown allowed"
                ),
                rules.unknown_timezone,
            )
        )
        return
    holiday = book.holiday
    for name in zones:
        here = f.here if name == f.zone else local(f.at, name)
        wall = here.time()  # naive: the wall time alone
        if window is not None and not (window.start <= wall < window.end):
            out.append(
                _outside_window(f.at, here, name, window, attempt.channel, rules.quiet_hours)
            )
        special = by_weekday.get(here.isoweekday())
        if special is not None and not (special.start <= wall < special.end):
            out.append(_outside_weekday_window(f.at, here, name, special, attempt.channel, hours))
        for r in ranges:
            if r.contains(wall):
                free: list[tuple[dt.time, dt.time | None]] = (
                    [(r.end, r.start)]  # a range across midnight leaves the middle of the day
                    if r.start > r.end
                    else [(dt.time(0), r.start), (r.end, None)]
                )
                out.append(
                    _v(
                        RuleCode.CONTACT_BORROWER_INCONVENIENT,
                        partial(_inconvenient_message, here, name, r),
                        rules.inconvenient,
                        retry_at=next_wall_in(f.at, free, name),
                        zone=name,
                        local_time=here.isoformat(),
                    )
                )
        if rest is not None and _is_rest_day(here.date(), rest.weekdays, rest.dates, holiday):
            out.append(
                _v(
                    RuleCode.CONTACT_REST_DAY,
                    partial(_rest_day_message, policy, here, name, holiday),
                    rest,
                    retry_at=_after_rest(here.date(), rest.weekdays, rest.dates, name, holiday),
                    zone=name,
                    local_time=here.isoformat(),
                    **_provisional(policy, here.date(), holiday),
                )
            )


def _outside_window(
    at: dt.datetime,
    here: dt.datetime,
    name: str,
    window: Window,
    channel: Channel,
    rule: Rule,
) -> Found:
    return Found(
        RuleCode.CONTACT_QUIET_HOURS,
        lambda: f"{_hm(here)} on {here.date()} in {name} is outside {window} for {channel}",
        window if window.citation else rule,  # each channel's window cites its own source
        next_wall_in(at, ((window.start, window.end),), name),
        lambda: {"zone": name, "local_time": here.isoformat(), "window": str(window)},
    )


def _hm(t: dt.datetime | dt.time) -> str:
    """``HH:MM`` (``strftime`` costs several times as much, on every refusal)."""
    return f"{t.hour:02}:{t.minute:02}"


def _weekday_windows(hours: QuietHours, channel: Channel) -> dict[int, Window]:
    """The channel's windows for particular weekdays, by ISO weekday (1 = Monday)."""
    out: dict[int, Window] = {}
    for number, name in enumerate(WEEKDAYS, start=1):
        window = hours.weekdays.get(name, {}).get(channel)
        if window is not None:
            out[number] = window
    return out


def _outside_weekday_window(
    at: dt.datetime,
    here: dt.datetime,
    name: str,
    window: Window,
    channel: Channel,
    rule: Rule,
) -> Found:
    # This window alone allows the rest of the week: its own next start today, or tomorrow.
    retry: dt.datetime | None = None
    for lo, _ in wall_intervals(here.date(), window.start, window.end, name):
        if lo > at:
            retry = lo
            break
    if retry is None:
        retry = _start_after_in(here.date(), name)
    return _v(
        RuleCode.CONTACT_QUIET_HOURS,
        lambda: (
            f"{here:%H:%M} on {here:%A} {here:%Y-%m-%d} in {name} is outside {window}, the "
            f"{here:%A} window for {channel}"
        ),
        window if window.citation else rule,
        retry_at=retry,
        zone=name,
        local_time=here.isoformat(),
        window=str(window),
        weekday=f"{here:%A}".lower(),
    )


def _start_after_in(day: dt.date, name: str) -> dt.datetime | None:
    nxt = day_after(day)
    return None if nxt is None else day_start_or_none(nxt, name)


def _is_rest_day(
    day: dt.date,
    weekdays: frozenset[int],
    dates: frozenset[dt.date],
    holiday: Callable[[dt.date], bool] | None = None,
) -> bool:
    return day.isoweekday() in weekdays or day in dates or (holiday is not None and holiday(day))


def _after_rest(
    day: dt.date,
    weekdays: frozenset[int],
    dates: frozenset[dt.date],
    name: str,
    holiday: Callable[[dt.date], bool] | None = None,
) -> dt.datetime | None:
    if len(weekdays) >= 7:
        return None
    nxt = day + _ONE_DAY
    # Public holidays run a week at most (a cn Golden Week), weekends around them included.
    for _ in range(len(dates) + 8 + (0 if holiday is None else 14)):
        if not _is_rest_day(nxt, weekdays, dates, holiday):
            return day_start(nxt, name)
        nxt += _ONE_DAY
    return None  # pragma: no cover - more rest dates than days looked at


def _holiday_test(policy: Policy, rest: RestDays | None) -> Callable[[dt.date], bool] | None:
    """Whether a local date is a public holiday of the policy's calendar, where its rest days
    name them (a date past the calendar's years is none: the calendar cannot say)."""
    calendar = policy.calendar
    if rest is None or not rest.public_holidays or calendar is None:
        return None
    compiled = calendar.compiled

    def holiday(day: dt.date) -> bool:
        return FIRST_YEAR <= day.year <= LAST_YEAR and compiled.is_holiday(day)

    return holiday


def _holiday_name(policy: Policy, day: dt.date, holiday: Callable[[dt.date], bool] | None) -> str:
    if holiday is None or policy.calendar is None or not holiday(day):
        return ""
    return f" (a public holiday: {policy.calendar.compiled.holiday_name(day)})"


def _provisional(
    policy: Policy, day: dt.date, holiday: Callable[[dt.date], bool] | None
) -> dict[str, str]:
    """``provisional: true`` when a public holiday past the year the calendar is known
    decided the refusal or its end."""
    calendar = policy.calendar
    if holiday is None or calendar is None or day.year <= calendar.known_through:
        return {}
    return {"provisional": "true"}


# -- 5. frequency ----------------------------------------------------------------------------


def _window_start(counter: Counter, day: dt.date) -> dt.date:
    if counter.window == "local_day":
        return day
    if counter.window == "rolling_days":
        return day - dt.timedelta(days=counter.days - 1)
    if counter.window == "calendar_week":
        return day - dt.timedelta(days=day.weekday())  # weeks start on Monday
    return day.replace(day=1)


def _frequency(
    ch: _Channel,
    f: Facts,
    attempt: ContactAttempt,
    others: Sequence[Case],
    out: list[Found | Violation],
) -> None:
    to_borrower = attempt.recipient is Recipient.BORROWER
    party = "borrower" if to_borrower else party_of(attempt)
    number = attempt.number or ""
    consents = f.s.consents
    consented: bool | None = None if consents else False
    counts = f.s.tally.counts
    today = f.day.toordinal()
    for spec, tag, kind, back, exempt, limit in (
        ch.by_lender if attempt.placed_by == "lender" else ch.by_agency
    ):
        if kind == "debtor" and not to_borrower:
            continue
        if exempt:
            if consented is None:
                consented = consent_covers(consents, attempt.channel, f.at)
            if consented:
                continue
        oldest = today - back if back >= 0 else _window_start(spec.counter, f.day).toordinal()
        key = number if kind == "number" else party if kind == "person_debt" else ""
        per_key = counts.get(tag)
        n = 0
        if per_key:
            for day, count in per_key.get(key, ()):
                if day < oldest:
                    break
                n += count
        if kind == "debtor" and others:
            since = dt.date.fromordinal(oldest)
            days = in_window(per_key.get(key, ()) if per_key else (), since)
            for other in others:
                extra = _counted_by(other, spec, key, since, f.at)
                n += sum(c for _, c in extra)
                days = _merged(days, extra)
            if n >= limit:
                out.append(_over(spec.counter, f, n, days, since))
        elif n >= limit:
            # The days as kept: ``_over`` reaches the limit inside the window, whose count
            # is already at it, before any older day.
            days = per_key.get(key, ()) if per_key else ()
            out.append(_over(spec.counter, f, n, days, dt.date.fromordinal(oldest)))
    cooldown = ch.cooldown
    if cooldown is not None:
        if cooldown.exempt_consent:
            if consented is None:
                consented = consent_covers(consents, attempt.channel, f.at)
            if consented:
                return
        talks = f.s.tally.talks
        last = 0
        for channel in cooldown.channels:
            seen = talks.get((party, channel), 0)
            if seen > last:
                last = seen
        if last > today - cooldown.days:
            talked = dt.date.fromordinal(last)
            ends = talked + dt.timedelta(days=cooldown.days)
            out.append(
                _v(
                    RuleCode.CONTACT_COOLDOWN,
                    lambda: (
                        f"a conversation on {talked} ({f.zone}): no call until {ends} "
                        f"({cooldown.days} days counting that day)"
                    ),
                    cooldown,
                    retry_at=day_start_or_none(ends, f.zone),
                    conversation_day=str(talked),
                )
            )


def _min_gap(
    ch: _Channel,
    f: Facts,
    attempt: ContactAttempt,
    others: Sequence[Case],
    out: list[Found | Violation],
) -> None:
    for spec in ch.gaps:
        if spec.key == "debtor" and attempt.recipient is not Recipient.BORROWER:
            continue
        key = key_value(spec.key, attempt.number or "", party_of(attempt))
        cases = (f.case, *others) if spec.key == "debtor" else (f.case,)
        seen = [_latest_by(c, spec, key, f.at) for c in cases]
        last = max((t for t in seen if t is not None), default=None)
        if last is None or f.at >= last + spec.span:
            continue
        rule = spec.gap
        per = {"debtor": "the borrower", "debt": "this debt", "number": "this number"}.get(
            spec.key, "this person"
        )
        out.append(
            _v(
                RuleCode.CONTACT_MIN_GAP,
                partial(_gap_message, rule, per, last, f.zone),
                rule,
                retry_at=last + spec.span,
                gap=rule.name,
                last_attempt=last.isoformat(),
            )
        )


def _seen_whole(case: Case, at: dt.datetime) -> bool:
    """Whether ``case`` (one of the borrower's other debts) made contacts after ``at`` and
    holds every contact its counters can read as of ``at``: it is then read from those
    contacts, leaving the later ones out. A case restored from a snapshot taken after
    ``at`` cannot be: its counts (later contacts included) and its latest attempts stand."""
    if case.as_of is None or case.as_of <= at:
        return False  # nothing after ``at``: its counts are the answer
    base = case._base.as_of
    return base is None or base <= at


def _counted_by(case: Case, spec: Spec, key: str, since: dt.date, at: dt.datetime) -> Days:
    """The counts of ``spec`` under ``key`` on the local days from ``since``, of the contacts
    ``case`` made by ``at``: a question about a past instant does not count what came after."""
    if not _seen_whole(case, at):
        return in_window(case._s.tally.counts.get(spec.tag, {}).get(key, ()), since)
    oldest = since.toordinal()
    consents = case._s.consents
    by_day: dict[int, int] = {}
    for r in case._s.contacts or ():  # newest first
        day = r.day.toordinal()
        if day < oldest:
            break
        if r.at > at or not spec.matches(r) or spec.key_of(r.number, r.party) != key:
            continue
        if spec.exempt_consent and consent_covers(consents, r.channel, r.at):
            continue
        by_day[day] = by_day.get(day, 0) + 1
    return tuple(sorted(by_day.items(), reverse=True))


def _latest_by(case: Case, spec: GapSpec, key: str, at: dt.datetime) -> dt.datetime | None:
    """The latest attempt ``spec`` reads under ``key``, made by ``at`` (``None``: none that
    is still inside the gap)."""
    if not _seen_whole(case, at):
        latest = case._s.tally.latest.get(spec.tag, {}).get(key)
        return latest if latest is not None and latest <= at else None
    for r in case._s.contacts or ():  # newest first
        if r.at > at:
            continue
        if r.at <= at - spec.span:
            return None  # older attempts cannot refuse one at ``at``
        if spec.matches(r) and spec.key_of(r.number, r.party) == key:
            return r.at
    return None


def _gap_message(rule: MinGap, per: str, last: dt.datetime, zone: str) -> str:
    return (
        f"the last {'/'.join(sorted(rule.channels))} attempt to {per} was at "
        f"{local(last, zone):%Y-%m-%d %H:%M} ({zone}): at least "
        f"{_duration(rule.minutes)} between attempts"
    )


def _inconvenient_message(here: dt.datetime, name: str, r: LocalTimeRange) -> str:
    return (
        f"{here:%H:%M} in {name} is in the borrower's inconvenient time "
        f"{r.start:%H:%M}-{r.end:%H:%M}"
    )


def _rest_day_message(
    policy: Policy, here: dt.datetime, name: str, holiday: Callable[[dt.date], bool] | None
) -> str:
    return f"{here:%Y-%m-%d} ({here:%A}) in {name} is a rest day" + _holiday_name(
        policy, here.date(), holiday
    )


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if rest:
        return f"{minutes} minutes"
    return f"{hours} hour{'s' if hours != 1 else ''}"


def _merged(a: Days, b: Days) -> Days:
    """Two lists of (day, count), newest first, as one."""
    by_day: dict[int, int] = {}
    for day, n in (*a, *b):
        by_day[day] = by_day.get(day, 0) + n
    return tuple(sorted(by_day.items(), reverse=True))


def _over(counter: Counter, f: Facts, n: int, days: Days, since: dt.date) -> Found:
    """The refusal of a counter at its limit: ``n`` counted from ``since``; ``days`` newest
    first, those of the window at least (older ones are never reached)."""
    limit = counter.limit
    retry: dt.datetime | None
    window = counter.window
    if window == "local_day":
        retry = _start_after(f, f.day)
    elif window == "rolling_days":
        retry = None
        if limit:
            # Allowed again once the day of the ``limit``-th newest counted contact
            # leaves the window.
            seen = 0
            for day, count in days:
                seen += count
                if seen >= limit:
                    leaves = dt.date.fromordinal(day) + dt.timedelta(days=counter.days)
                    retry = day_start_or_none(leaves, f.zone)
                    break
    elif window == "calendar_week":
        retry = day_start_or_none(since + dt.timedelta(days=7), f.zone)
    else:
        month = (f.day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        retry = day_start_or_none(month, f.zone)
    return Found(
        RuleCode.CONTACT_FREQUENCY,
        partial(_over_message, counter, f, n, since),
        counter,
        retry if limit else None,
        lambda: {"counter": counter.name, "count": str(n), "limit": str(limit)},
    )


def _over_message(counter: Counter, f: Facts, n: int, since: dt.date) -> str:
    window = counter.window
    if window == "local_day":
        span = f"on {f.day}"
    elif window == "rolling_days":
        span = f"in the {counter.days} days {since} to {f.day}"
    elif window == "calendar_week":
        span = f"in the week {since} to {since + dt.timedelta(days=6)}"
    else:
        span = f"in {f.day:%B %Y}"
    per = {"debtor": "the borrower", "debt": "this debt", "number": "this number"}.get(
        counter.key, "this person for this debt"
    )
    name = counter.name.replace("_", " ")
    return f"{n} {name} with {per} {span} ({f.zone}): at most {counter.limit}"


def _start_after(f: Facts, day: dt.date) -> dt.datetime | None:
    nxt = day_after(day)
    return None if nxt is None else day_start_or_none(nxt, f.zone)


class Found(NamedTuple):
    """A rule a contact breaks, before its words are written: ``next_allowed`` reads only
    the code and ``retry_at``; ``check`` writes the message (``violation``)."""

    code: RuleCode
    message: Callable[[], str]
    rule: Rule | Window
    retry_at: dt.datetime | None
    details: dict[str, str] | Callable[[], dict[str, str]]

    def violation(self) -> Violation:
        details = self.details
        return trusted(
            Violation,
            code=self.code,
            message=self.message(),
            citation=self.rule.citation,
            retry_at=self.retry_at,
            details=details if isinstance(details, dict) else details(),
            layer=self.rule.layer,
        )


def _v(
    code: RuleCode,
    message: Callable[[], str],
    rule: Rule | Window,
    retry_at: dt.datetime | None = None,
    **details: str,
) -> Found:
    return Found(code, message, rule, retry_at, details)


def violations(found: list[Found | Violation]) -> list[Violation]:
    """The findings of a judge, with their messages written."""
    return [v if isinstance(v, Violation) else v.violation() for v in found]


# -- when next -------------------------------------------------------------------------------

_MAX_JUMPS = 200  # each jump passes a rule's end; far more than any policy has rules


RulesAt = Callable[[dt.datetime], tuple[Policy, dt.datetime | None]]
"""The rules in force at an instant, and the instant they next change (``None``: never)."""


def next_allowed(
    policy: Policy,
    case: Case,
    attempt: ContactAttempt,
    after: dt.datetime,
    others: Sequence[Case],
    horizon: dt.timedelta,
    *,
    rules_at: RulesAt | None = None,
) -> dt.datetime | None:
    """The earliest instant at or after ``after`` when ``attempt`` would be allowed.

    First the hours: the first instant from ``at`` on whose hours every zone
    allows (``_hours.free_from``, over a whole refused span at once); then
    the other rules there. From their refusal it jumps to the latest
    ``retry_at`` and starts again. A refusal by quiet hours costs one check
    (the one that allows), a cap or a cooldown two. With ``rules_at`` (a policy whose rules
    change on dates) each instant is judged by the rules in force then, and no
    jump passes a change: it stops there and starts again, since a rule that
    ends (or a wider window that starts) may allow what the earlier rules refused.
    """
    at, limit = after, after + horizon
    hours_by_rules: dict[str, Callable[[dt.datetime], dt.datetime | None] | None] = {}
    for _ in range(_MAX_JUMPS):
        if at > limit:
            return None
        rules, changes = (policy, None) if rules_at is None else rules_at(at)
        key = rules.fingerprint
        if key not in hours_by_rules:
            hours_by_rules[key] = _hours_of(rules, case, attempt)
        hours = hours_by_rules[key]
        if hours is not None:
            free = hours(at)
            if changes is not None and (free is None or free >= changes):
                # The rules change first (or at that very instant, where the new ones are in
                # force already): start again under them.
                at = changes
                continue
            if free is None or free > limit:
                return None
            at = free
        _, violations = judge_contact(rules, case, attempt, at, others)
        if not violations:
            return at
        retries = [v.retry_at for v in violations]
        nxt: dt.datetime | None = None
        if all(r is not None for r in retries):
            nxt = max(r for r in retries if r is not None)
        if changes is not None and (nxt is None or nxt > changes):
            nxt = changes  # the rules change first: judge again under the new ones
        if nxt is None:
            return None
        if nxt <= at:  # pragma: no cover - every retry_at is later than a refused instant
            raise RuntimeError(f"no progress from {at.isoformat()}: {violations}")
        at = nxt
    return None  # pragma: no cover - more jumps than rules that could refuse


_HOURS_CACHE: dict[tuple[object, ...], Callable[[dt.datetime], dt.datetime | None] | None] = {}


def _hours_of(
    policy: Policy, case: Case, attempt: ContactAttempt
) -> Callable[[dt.datetime], dt.datetime | None] | None:
    """``free_from`` for this attempt's channel and this case's zones, or ``None`` if the
    hours never refuse it. Built once per (policy, channel, zones, stated ranges)."""
    if attempt.initiated_by is Initiator.BORROWER:
        return None
    key = (policy.fingerprint, attempt.channel, case._s.zones, case._s.inconvenient)
    found = _HOURS_CACHE.get(key, _HOURS_CACHE)
    if found is _HOURS_CACHE:
        if len(_HOURS_CACHE) >= 4096:
            _HOURS_CACHE.clear()
        found = _HOURS_CACHE[key] = _hours_for(policy, attempt.channel, key[2], key[3])
    return found  # type: ignore[return-value]


def _hours_for(
    policy: Policy,
    channel: Channel,
    zones: tuple[str, ...],
    ranges: tuple[LocalTimeRange, ...],
) -> Callable[[dt.datetime], dt.datetime | None] | None:
    book = _book(policy)
    rest = policy.contact.rest_days
    momentless = channel in _MOMENTLESS
    if momentless and not book.letters_rest:
        return None
    ch = book.channels[channel]
    window = ch.window
    by_weekday = ch.weekday
    ranges = () if momentless else ranges
    if (window is None and not by_weekday and not ranges and rest is None) or not zones:
        return None
    span = None if window is None else (window.start, window.end)
    weekday_spans = {day: (w.start, w.end) for day, w in by_weekday.items()}
    is_rest = None if rest is None else _rest_test(rest.weekdays, rest.dates, book.holiday)

    memo: dict[tuple[tuple[dt.date, ...], int], list[tuple[dt.datetime, dt.datetime]]] = {}

    def hours(at: dt.datetime) -> dt.datetime | None:
        return free_from(at, zones, span, ranges, is_rest, weekday_spans, memo)

    return hours


def _rest_test(
    weekdays: frozenset[int],
    dates: frozenset[dt.date],
    holiday: Callable[[dt.date], bool] | None = None,
) -> Callable[[dt.date], bool]:
    def rest(day: dt.date) -> bool:
        return _is_rest_day(day, weekdays, dates, holiday)

    return rest
