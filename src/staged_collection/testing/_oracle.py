"""What the invariants need to know, recomputed from the events alone.

Deliberately plain: every answer is worked out from the list of recorded
events each time, with none of the engine's indexes, caches or shortcuts, so
that an invariant checks the engine rather than repeating it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

from staged_collection.borrower import Borrower
from staged_collection.events import (
    Consent,
    Contact,
    Dispute,
    DisputeResolved,
    Event,
    Hold,
    HoldLifted,
    Notice,
    Payment,
    Plan,
    PlanBroken,
    Preference,
    Promise,
    Undeliverable,
)
from staged_collection.loan import Loan
from staged_collection.policy import (
    WEEKDAYS,
    ConsentRule,
    Counter,
    MinGap,
    NoticeRule,
    Policy,
    Window,
)
from staged_collection.terms import Channel


def in_force(rule: Counter | MinGap | Window, policy: Policy, at: dt.datetime) -> bool:
    """Whether ``rule`` is in force at ``at``: on its local date in the policy's home zone."""
    day = local_day(at, policy.home_timezone)
    start, end = rule.effective_from, rule.effective_to
    return (start is None or start <= day) and (end is None or day <= end)


def windows_at(policy: Policy, channel: str, at: dt.datetime, zone: str) -> list[Window]:
    """The windows in force at ``at`` that a contact on ``channel`` must be inside in ``zone``:
    the channel's own and, on a weekday that has one, that weekday's."""
    hours = policy.contact.quiet_hours
    weekday = WEEKDAYS[at.astimezone(ZoneInfo(zone)).isoweekday() - 1]
    key = Channel(channel)
    found = [hours.windows.get(key), hours.weekdays.get(weekday, {}).get(key)]
    return [w for w in found if w is not None and in_force(w, policy, at)]


# The holidays package as DOMAIN section 7 names each calendar: (country, subdivision,
# substituted days off count, language of the names).
_PACKAGE = {
    "cn": ("CN", None, True, "en_US"),
    "us": ("US", None, False, None),
    "uk": ("GB", "ENG", True, None),
    "uk-sct": ("GB", "SCT", True, None),
    "uk-nir": ("GB", "NIR", True, None),
}


def days_zone(policy: Policy, borrower: Borrower) -> str:
    return borrower.timezones[0] if borrower.timezones else policy.home_timezone


def local_day(at: dt.datetime, zone: str) -> dt.date:
    return at.astimezone(ZoneInfo(zone)).date()


def zones_at(borrower: Borrower, events: list[Event], at: dt.datetime) -> list[str]:
    """Every zone the borrower may be in: their own and any they stated since."""
    zones = list(borrower.timezones)
    for e in events:
        if isinstance(e, Preference) and e.timezones and e.at <= at:
            zones += [z for z in e.timezones if z not in zones]
    return zones


def paid(events: list[Event], at: dt.datetime) -> Decimal:
    return sum(
        (e.amount.amount for e in events if isinstance(e, Payment) and e.at <= at), Decimal(0)
    )


def dpd(loan: Loan, events: list[Event], at: dt.datetime, zone: str) -> int:
    """Days past due, without DPD freezes (the presets set none): oldest-first allocation."""
    day = local_day(at, zone)
    left = paid(events, at)
    for item in loan.installments:
        if left >= item.amount.amount:
            left -= item.amount.amount
            continue
        return max(0, (day - item.due).days)
    return 0


def overdue(loan: Loan, events: list[Event], at: dt.datetime, zone: str) -> Decimal:
    day = local_day(at, zone)
    due = sum((i.amount.amount for i in loan.installments if i.due < day), Decimal(0))
    return max(Decimal(0), due - paid(events, at))


def active_holds(policy: Policy, events: list[Event], at: dt.datetime, zone: str) -> list[str]:
    day = local_day(at, zone)
    holds: dict[str, dt.date | None] = {}
    for e in events:
        if e.at > at:
            break
        if isinstance(e, Hold):
            until = e.until
            rule = policy.holds[e.kind]
            if until is None and rule.default_days:
                first = e.starts_on or (
                    local_day(e.at, zone) + dt.timedelta(days=int(rule.starts_next_day))
                )
                until = first + dt.timedelta(days=rule.default_days - 1)
            holds[e.kind] = until
        elif isinstance(e, HoldLifted):
            holds.pop(e.kind, None)
        elif isinstance(e, Dispute):
            holds["dispute"] = None
        elif isinstance(e, DisputeResolved):
            holds.pop("dispute", None)
    return [k for k, until in holds.items() if until is None or day <= until]


def promise_or_plan_holds_back(events: list[Event], at: dt.datetime, zone: str) -> bool:
    """An unexpired unkept promise, or a plan not broken and not missed, as of ``at``."""
    day = local_day(at, zone)
    promise: Promise | None = None
    plan: Plan | None = None
    # What was paid before each was made, in the order of the events (a payment recorded
    # after a promise at the same instant pays toward it).
    so_far = promised_at = planned_at = Decimal(0)
    for e in events:
        if e.at > at:
            break
        if isinstance(e, Payment):
            so_far += e.amount.amount
        elif isinstance(e, Promise):
            promise, promised_at = e, so_far
        elif isinstance(e, Plan):
            plan, planned_at = e, so_far
        elif isinstance(e, PlanBroken):
            plan = None
    if promise is not None and day <= promise.due:
        since = so_far - promised_at
        if since < promise.amount.amount:
            return True
    if plan is not None:
        since = so_far - planned_at
        owed = Decimal(0)
        for item in plan.installments:
            if item.due >= day:
                break
            owed += item.amount.amount
            if since < owed:
                return False
        return True
    return False


@cache
def _package_days(name: str, year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """The holidays and the adjusted working days (Saturdays or Sundays worked) of a year."""
    import holidays

    country, subdiv, observed, language = _PACKAGE[name]
    found = holidays.country_holidays(
        country, subdiv=subdiv, years=(year, year + 1), observed=observed, language=language
    )
    worked = frozenset(d for d in found.weekend_workdays if d.year == year)
    return frozenset(d for d in found if d.year == year and d not in worked), worked


def is_working_day(policy: Policy, day: dt.date) -> bool:
    """Monday to Friday and not a public holiday, or a weekend day the calendar works."""
    cal = policy.calendar
    if cal is None:
        return day.weekday() < 5
    off, worked = _package_days(cal.name, day.year)
    if day in cal.working or day in worked:
        return True
    if day in cal.remove:
        return day.weekday() < 5
    return day.weekday() < 5 and day not in off and day not in cal.add


def served_on(policy: Policy, notice: Notice, zone: str) -> dt.date:
    """The day a notice was served: as it states, else by post on the second working day
    after its local date (the policy's count), else on its date."""
    if notice.served_on is not None:
        return notice.served_on
    sent = local_day(notice.at, zone)
    service = policy.service
    method = notice.method
    if method is None:
        method = "post" if service is not None and notice.kind in service.by_post else "hand"
    if method != "post":
        return sent
    left = 2 if service is None else service.post_working_days
    day = sent
    while left:
        day += dt.timedelta(days=1)
        if is_working_day(policy, day):
            left -= 1
    return day


def notice_satisfied(
    rule: NoticeRule,
    events: list[Event],
    at: dt.datetime,
    zone: str,
    policy: Policy | None = None,
) -> bool:
    """Whether a notice ``rule`` asks for was given in time before ``at``. A remedy date
    counts from the notice's service (``policy``'s rules; by its date without one) and
    allows the action from its first instant."""
    if rule.conversation_suffices and any(
        isinstance(e, Contact)
        and e.outcome == "conversation"
        and e.recipient == "borrower"
        and e.at < at
        for e in events
    ):
        return True
    for i, e in enumerate(events):
        if not isinstance(e, Notice) or e.kind not in rule.kinds or not e.delivered or e.at >= at:
            continue
        returned = any(
            isinstance(r, Undeliverable) and r.kind == e.kind and r.at <= at
            for r in events[i + 1 :]
        )
        if returned:
            continue
        sent = local_day(e.at, zone)
        if rule.wait_days and local_day(at, zone) < sent + dt.timedelta(days=rule.wait_days + 1):
            continue
        if rule.min_remedy_days is not None:
            served = sent if policy is None else served_on(policy, e, zone)
            if e.remedy_date is None or e.remedy_date < served + dt.timedelta(rule.min_remedy_days):
                continue
            if local_day(at, zone) < e.remedy_date:
                continue
        return True
    return False


def _consented(
    events: list[Event], channel: str, at: dt.datetime, rule: ConsentRule | None, zone: str
) -> bool:
    """Inside a consent: from its instant to its ``until``, and no later than the end of its
    ``rule.days``-th local day (the day it is given is day 1)."""
    for e in events:
        if not isinstance(e, Consent) or e.channel != channel or not e.at <= at < e.until:
            continue
        if rule is None or (local_day(at, zone) - local_day(e.at, zone)).days < rule.days:
            return True
    return False


def _party(c: Contact) -> str:
    return "borrower" if c.recipient == "borrower" else f"tp:{c.number or c.relation}"


def counter_count(
    counter: Counter,
    events: list[Event],
    last: Contact,
    zone: str,
    consent: ConsentRule | None = None,
) -> int:
    """How many contacts count toward ``counter`` in its window ending on ``last``'s day,
    up to and including ``last``, as ``last`` would see them (``consent``: the policy's cap
    on how long a consent exempts calls)."""
    today = local_day(last.at, zone)
    if counter.window == "local_day":
        first = today
    elif counter.window == "rolling_days":
        first = today - dt.timedelta(days=counter.days - 1)
    elif counter.window == "calendar_week":
        first = today - dt.timedelta(days=today.weekday())
    else:
        first = today.replace(day=1)
    n = 0
    for e in events:
        if not isinstance(e, Contact) or e.at > last.at:
            continue
        if not first <= local_day(e.at, zone) <= today:
            continue
        if e.channel not in counter.channels or e.outcome not in counter.outcomes:
            continue
        if e.initiated_by not in counter.initiated_by:
            continue
        if counter.placed_by != "any" and (e.placed_by == "lender") != (
            counter.placed_by == "lender"
        ):
            continue
        if counter.exempt_consent and _consented(events, e.channel, e.at, consent, zone):
            continue
        if counter.key == "debtor" and e.recipient != "borrower":
            continue
        if counter.key == "number" and e.number != last.number:
            continue
        if counter.key == "person_debt" and _party(e) != _party(last):
            continue
        n += 1
    return n


def attempt_inside_gap(gap: MinGap, earlier: list[Event], c: Contact) -> Contact | None:
    """An earlier collector attempt that ``c`` follows sooner than ``gap`` allows, if any."""
    if c.channel not in gap.channels or (gap.key == "debtor" and c.recipient != "borrower"):
        return None
    for e in earlier:
        if not isinstance(e, Contact) or e.initiated_by != "collector":
            continue
        if e.channel not in gap.channels or not e.at <= c.at < e.at + dt.timedelta(
            minutes=gap.minutes
        ):
            continue
        same = {
            "debtor": e.recipient == "borrower",
            "number": e.number == c.number,
            "person_debt": _party(e) == _party(c),
            "debt": True,
        }[gap.key]
        if same:
            return e
    return None
