"""What the invariants need to know, recomputed from the events alone.

Deliberately plain: every answer is worked out from the list of recorded
events each time, with none of the engine's indexes, caches or shortcuts, so
that an invariant checks the engine rather than repeating it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
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
from staged_collection.policy import WEEKDAYS, Counter, MinGap, NoticeRule, Policy, Window
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
    for e in events:
        if e.at > at:
            break
        if isinstance(e, Promise):
            promise = e
        elif isinstance(e, Plan):
            plan = e
        elif isinstance(e, PlanBroken):
            plan = None
    if promise is not None and day <= promise.due:
        since = paid(events, at) - paid(events, promise.at)
        if since < promise.amount.amount:
            return True
    if plan is not None:
        since = paid(events, at) - paid(events, plan.at)
        owed = Decimal(0)
        for item in plan.installments:
            if item.due >= day:
                break
            owed += item.amount.amount
            if since < owed:
                return False
        return True
    return False


def notice_satisfied(rule: NoticeRule, events: list[Event], at: dt.datetime, zone: str) -> bool:
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
            if e.remedy_date is None or e.remedy_date < sent + dt.timedelta(rule.min_remedy_days):
                continue
            if local_day(at, zone) <= e.remedy_date:
                continue
        return True
    return False


def _consented(events: list[Event], channel: str, at: dt.datetime) -> bool:
    return any(
        isinstance(e, Consent) and e.channel == channel and e.at <= at < e.until for e in events
    )


def _party(c: Contact) -> str:
    return "borrower" if c.recipient == "borrower" else f"tp:{c.number or c.relation}"


def counter_count(counter: Counter, events: list[Event], last: Contact, zone: str) -> int:
    """How many contacts count toward ``counter`` in its window ending on ``last``'s day,
    up to and including ``last``, as ``last`` would see them."""
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
        if counter.exempt_consent and _consented(events, e.channel, e.at):
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
