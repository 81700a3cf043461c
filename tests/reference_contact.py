"""A plain reference for the contact rules, written from DOMAIN sections 3, 4 and 7 and the
policy model's docstrings (weekday windows, calendar weeks, minimum gaps, rest days on letters,
effective dates).

It reads only the public events of a case and scans all of them every time:
slow and obviously so, with none of the engine's indexes or early exits. The
property tests compare the engine's codes with this one's.

Scope: the case stays on the lower rungs (no escalations in the histories
these tests draw), so stage rules for visits and agencies are left to the
example tests.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from staged_collection import (
    Attorney,
    Borrower,
    Cease,
    Consent,
    Contact,
    ContactAttempt,
    Dispute,
    DisputeResolved,
    Event,
    Hold,
    HoldLifted,
    Loan,
    Notice,
    Payment,
    Policy,
    Preference,
    Settlement,
    Undeliverable,
    WrittenOff,
)
from staged_collection.policy import Counter

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CALLS = ("call", "ai_voice")
# The holidays package as DOMAIN section 7 names it: cn with the days off substituted for
# holidays and its adjusted working days, us on the statutory dates, uk England and Wales.
_PACKAGE = {
    "cn": ("CN", None, True, "en_US"),
    "us": ("US", None, False, None),
    "uk": ("GB", "ENG", True, None),
    "uk-sct": ("GB", "SCT", True, None),
    "uk-nir": ("GB", "NIR", True, None),
}


@cache
def _public_holidays(name: str, year: int) -> frozenset[dt.date]:
    country, subdiv, observed, language = _PACKAGE[name]
    found = holidays.country_holidays(
        country, subdiv=subdiv, years=(year, year + 1), observed=observed, language=language
    )
    working = set(found.weekend_workdays)
    return frozenset(d for d in found if d.year == year and d not in working)


def is_public_holiday(policy: Policy, day: dt.date) -> bool:
    cal = policy.calendar
    if cal is None or day in cal.remove or day in cal.working:
        return False
    return day in cal.add or day in _public_holidays(cal.name, day.year)


def _local(at: dt.datetime, zone: str) -> dt.datetime:
    return at.astimezone(ZoneInfo(zone))


def _party(c: Contact | ContactAttempt) -> str:
    if c.recipient == "borrower":
        return "borrower"
    return f"tp:{c.number or c.relation or 'unknown'}"


def _covered(
    consents: list[tuple[str, dt.datetime, dt.datetime]], channel: str, at: dt.datetime
) -> bool:
    return any(c == channel and since <= at < until for c, since, until in consents)


def consent_window(
    policy: Policy, consent: Consent, days_zone: str
) -> tuple[str, dt.datetime, dt.datetime]:
    """A consent's channel and span: from its instant to its ``until``, and no later than
    the end of its ``days``-th local day (the day it is given is day 1)."""
    until = consent.until
    rule = policy.contact.consent
    if rule is not None:
        first = _local(consent.at, days_zone).date()
        last = first + dt.timedelta(days=rule.days - 1)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), ZoneInfo(days_zone))
        until = min(until, end)
    return consent.channel, consent.at, until


def counter_matches(
    counter: Counter,
    contact: Contact,
    attempt: ContactAttempt,
    consents: list[tuple[str, dt.datetime, dt.datetime]],
) -> bool:
    """Does a recorded contact count toward ``counter`` for this attempt?"""
    if contact.channel not in counter.channels or contact.outcome not in counter.outcomes:
        return False
    if contact.initiated_by not in counter.initiated_by:
        return False
    if counter.placed_by != "any" and (contact.placed_by == "lender") != (
        counter.placed_by == "lender"
    ):
        return False
    if counter.exempt_consent and _covered(consents, contact.channel, contact.at):
        return False
    if counter.key == "debtor":
        return contact.recipient == "borrower"
    if counter.key == "number":
        return contact.number == attempt.number
    if counter.key == "person_debt":
        return _party(contact) == _party(attempt)
    return True


def in_window(counter: Counter, day: dt.date, today: dt.date) -> bool:
    if counter.window == "local_day":
        return day == today
    if counter.window == "rolling_days":
        return today - dt.timedelta(days=counter.days - 1) <= day <= today
    if counter.window == "calendar_week":
        return day.isocalendar()[:2] == today.isocalendar()[:2]
    return (day.year, day.month) == (today.year, today.month)


def _same_key(key: str, contact: Contact, attempt: ContactAttempt) -> bool:
    if key == "debtor":
        return contact.recipient == "borrower"
    if key == "number":
        return contact.number == attempt.number
    if key == "person_debt":
        return _party(contact) == _party(attempt)
    return True


def reference_codes(
    policy: Policy,
    loan: Loan,
    borrower: Borrower,
    events: tuple[Event, ...],
    attempt: ContactAttempt,
    at: dt.datetime,
) -> set[str]:
    history = [e for e in events if e.at <= at]
    rules = policy.contact
    days_zone = borrower.timezones[0] if borrower.timezones else policy.home_timezone
    today = _local(at, days_zone).date()
    if attempt.initiated_by == "borrower":
        return set()
    home_day = _local(at, policy.home_timezone).date()

    def on(rule: object) -> bool:
        """Is this rule (or window) in force at ``at``? Its dates against the home zone's."""
        if rule is None:
            return False
        start = getattr(rule, "effective_from", None)
        end = getattr(rule, "effective_to", None)
        return (start is None or start <= home_day) and (end is None or home_day <= end)

    holds: dict[str, dt.date | None] = {}
    ceased: set[str] = set()
    represented = False
    no_work = False
    inconvenient = list(borrower.inconvenient)
    zones = list(borrower.timezones)
    consents: list[tuple[str, dt.datetime, dt.datetime]] = []
    contacts: list[Contact] = []
    third_parties_stopped: set[tuple[str, str]] = set()  # (relation, channel)
    validation_sent = False
    paid = 0
    ended = False
    for e in history:
        if isinstance(e, Hold):
            until = e.until
            rule = policy.holds[e.kind]
            if until is None and rule.default_days:
                first = e.starts_on or (
                    _local(e.at, days_zone).date() + dt.timedelta(days=int(rule.starts_next_day))
                )
                until = first + dt.timedelta(days=rule.default_days - 1)
            holds[e.kind] = until
        elif isinstance(e, HoldLifted):
            holds.pop(e.kind, None)
        elif isinstance(e, Dispute):
            holds["dispute"] = None
        elif isinstance(e, DisputeResolved):
            holds.pop("dispute", None)
        elif isinstance(e, Cease):
            channels = set(e.channels) if e.channels else {c.value for c in type(attempt.channel)}
            if e.recipient == "third_party":
                third_parties_stopped |= {(str(e.relation), c) for c in channels}
            else:
                ceased |= channels
        elif isinstance(e, Attorney):
            represented = True
        elif isinstance(e, Preference):
            if e.inconvenient is not None:
                inconvenient = list(e.inconvenient)
            if e.timezones is not None:  # what the borrower states replaces what was known
                zones = list(e.timezones)
            if e.no_work_contact is not None:
                no_work = e.no_work_contact
        elif isinstance(e, Consent):
            consents.append(consent_window(policy, e, days_zone))
        elif isinstance(e, Notice) and e.kind == "validation" and e.delivered and e.at < at:
            validation_sent = True
        elif isinstance(e, Undeliverable) and e.kind == "validation":
            validation_sent = False
        elif isinstance(e, Contact):
            contacts.append(e)
        elif isinstance(e, Payment):
            paid += int(e.amount.amount * 100)
        elif isinstance(e, Settlement | WrittenOff):
            ended = True
    total = sum(int(i.amount.amount * 100) for i in loan.installments)
    ended = ended or paid >= total

    codes: set[str] = set()
    to_borrower = attempt.recipient == "borrower"
    active = [k for k, until in holds.items() if until is None or today <= until]
    if attempt.purpose == "collection" and active:
        codes.add("contact.hold")
    if to_borrower and attempt.channel in ceased:
        codes.add("contact.ceased")
    if to_borrower and represented and on(rules.represented):
        codes.add("contact.represented")
    at_work = attempt.at_work or attempt.number in borrower.work_phones
    if at_work and no_work and on(rules.workplace):
        codes.add("contact.workplace")
    if ended:
        codes.add("contact.nothing_due")
    if not to_borrower and (str(attempt.relation), attempt.channel) in third_parties_stopped:
        codes.add("contact.ceased")
    validation = policy.validation
    if (
        validation is not None
        and validation.required_before_contact
        and to_borrower
        and attempt.purpose == "collection"
        and attempt.channel in _CALLS
        and not validation_sent
    ):
        codes.add("contact.validation_required")

    if not to_borrower:
        tp = rules.third_party
        if not tp.allowed or attempt.purpose not in tp.purposes:
            codes.add("contact.third_party")
        if tp.allowed and tp.only_when_unreachable and not {"deceased", "capacity"} & set(active):

            def lost(day: dt.date) -> bool:
                mine = [
                    c
                    for c in contacts
                    if c.recipient == "borrower" and _local(c.at, days_zone).date() == day
                ]
                tried = any(
                    c.initiated_by == "collector"
                    and c.channel in ("call", "ai_voice")
                    and c.outcome != "conversation"
                    for c in mine
                )
                return tried and not any(c.outcome == "conversation" for c in mine)

            n = tp.unreachable_days
            ok = any(
                all(lost(end - dt.timedelta(days=i)) for i in range(n))
                for end in (today, today - dt.timedelta(days=1))
            )
            ok = ok or _lines_dead(on(tp.unreachable_lines), contacts)
            calls = tp.unreachable_calls
            if calls is not None and on(calls):
                ok = ok or _failed_in_a_row(calls.calls, contacts, days_zone, today)
            if not ok:
                codes.add("contact.third_party")
        if (
            tp.allowed
            and tp.once_per_party
            and any(
                c.recipient != "borrower"
                and _party(c) == _party(attempt)
                and c.outcome in ("conversation", "delivered")
                for c in contacts
            )
        ):
            codes.add("contact.third_party")

    rest = rules.rest_days if on(rules.rest_days) else None
    letter = attempt.channel == "letter"
    if letter:
        # A letter has no hours; only rest days that say they apply to letters.
        if rest is not None and rest.letters:
            if not zones:
                codes.add("contact.unknown_timezone")
            for zone in zones:
                here = _local(at, zone)
                if here.isoweekday() in rest.weekdays or here.date() in rest.dates:
                    codes.add("contact.rest_day")
    else:
        hours = rules.quiet_hours
        window = hours.windows.get(attempt.channel)
        window = window if on(window) else None
        by_day = {
            str(day): w
            for day, by_channel in hours.weekdays.items()
            if (w := by_channel.get(attempt.channel)) is not None and on(w)
        }
        if window is not None or by_day or inconvenient or rest is not None:
            if not zones:
                codes.add("contact.unknown_timezone")
            for zone in zones:
                here = _local(at, zone)
                wall = here.time().replace(tzinfo=None)
                if window is not None and not (window.start <= wall < window.end):
                    codes.add("contact.quiet_hours")
                special = by_day.get(WEEKDAY_NAMES[here.weekday()])
                if special is not None and not (special.start <= wall < special.end):
                    codes.add("contact.quiet_hours")
                for r in inconvenient:
                    inside = (
                        r.start <= wall < r.end
                        if r.start < r.end
                        else wall >= r.start or wall < r.end
                    )
                    if inside:
                        codes.add("contact.borrower_inconvenient")
                if rest is not None and (
                    here.isoweekday() in rest.weekdays
                    or here.date() in rest.dates
                    or (rest.public_holidays and is_public_holiday(policy, here.date()))
                ):
                    codes.add("contact.rest_day")

    consented = _covered(consents, attempt.channel, at)
    for counter in rules.counters:
        if not on(counter):
            continue
        if attempt.channel not in counter.channels or "collector" not in counter.initiated_by:
            continue
        if counter.placed_by != "any" and (attempt.placed_by == "lender") != (
            counter.placed_by == "lender"
        ):
            continue
        if counter.key == "debtor" and not to_borrower:
            continue
        if counter.exempt_consent and consented:
            continue
        count = sum(
            1
            for c in contacts
            if in_window(counter, _local(c.at, days_zone).date(), today)
            and counter_matches(counter, c, attempt, consents)
        )
        if count + 1 > counter.limit:
            codes.add("contact.frequency")
    cool = rules.cooldown
    if (
        cool is not None
        and on(cool)
        and attempt.channel in cool.channels
        and not (cool.exempt_consent and consented)
    ):
        for c in contacts:
            day = _local(c.at, days_zone).date()
            if (
                _party(c) == _party(attempt)
                and c.outcome == "conversation"
                and c.channel in cool.channels
                and day <= today < day + dt.timedelta(days=cool.days)
            ):
                codes.add("contact.cooldown")
    for gap in rules.min_gaps:
        if not on(gap) or attempt.channel not in gap.channels:
            continue
        if gap.key == "debtor" and not to_borrower:
            continue
        span = dt.timedelta(minutes=gap.minutes)
        if any(
            c.channel in gap.channels
            and c.initiated_by == "collector"
            and _same_key(gap.key, c, attempt)
            and c.at <= at < c.at + span
            for c in contacts
        ):
            codes.add("contact.min_gap")
    return codes


def _to_borrower_calls(contacts: list[Contact]) -> list[Contact]:
    return [c for c in contacts if c.recipient == "borrower" and c.channel in _CALLS]


def _lines_dead(granted: bool, contacts: list[Contact]) -> bool:
    """失联 (a): every number called was out of service at its latest attempt (a connected
    call, whoever placed it, leaves its number alive)."""
    if not granted:
        return False
    latest: dict[str, str] = {}
    for c in _to_borrower_calls(contacts):
        if c.outcome == "conversation":
            latest[c.number or ""] = "conversation"
        elif c.initiated_by == "collector":
            latest[c.number or ""] = c.outcome
    return bool(latest) and all(o == "not_in_service" for o in latest.values())


def _failed_in_a_row(n: int, contacts: list[Contact], zone: str, today: dt.date) -> bool:
    """失联 (b): yesterday held the n-th (or later) collector call in a row with none
    connected, and no call has connected since."""
    streak = 0
    days: set[dt.date] = set()
    for c in _to_borrower_calls(contacts):
        if c.outcome == "conversation":
            streak, days = 0, set()
        elif c.initiated_by == "collector":
            streak += 1
            if streak >= n:
                days.add(_local(c.at, zone).date())
    return today - dt.timedelta(days=1) in days
