"""Duties: what the lender must do by a deadline, open at an instant (DOMAIN section 7).

A duty never blocks an action; ``Engine.state`` and ``Engine.explain`` list the
open ones. Its ``due`` is the instant its deadline day ends (the next local
midnight in the borrower's zone), and it is ``overdue`` from then on. A case
that has ended (resolved, settled, written off) has none.

- ``duty.validation_notice``: opens at the first communication with the
  borrower (a conversation, or a message delivered); due at the end of the
  ``days``-th day after it; a delivered validation notice closes it (one sent
  before the first communication means it never opens).
- ``duty.arrears_notice``: opens on the first day ``instalments`` instalments
  are overdue at once; due at the end of the ``days``-th day counting that day
  as day 1; an arrears notice sent closes it. While they stay overdue it opens
  again ``every_months`` calendar months after the last notice's local date (a
  day the shorter month lacks becomes its last day), due at the end of that day.

The validation period (``Validation``) ends at the end of the ``period_days``-th
day after the first delivered validation notice is assumed received: the
``receipt_working_days``-th working day after it was sent.
"""

from __future__ import annotations

import datetime as dt

from dateutil.relativedelta import relativedelta

from staged_collection._guards import Facts
from staged_collection._localtime import day_after, local, local_date
from staged_collection._trusted import trusted
from staged_collection._workdays import add_working_days
from staged_collection.policy import ArrearsDuty, Policy, ValidationDuty
from staged_collection.rules import DutyCode
from staged_collection.state import CaseState, Duty
from staged_collection.terms import NoticeKind


def open_duties(policy: Policy, f: Facts) -> tuple[Duty, ...]:
    """The duties open at ``f.at``, the earliest deadline first."""
    if f.stage.terminal:
        return ()
    duties = policy.duties
    found: list[Duty] = []
    if duties.validation_notice is not None:
        found += _validation_notice(duties.validation_notice, f)
    if duties.arrears_notice is not None:
        found += _arrears_notice(duties.arrears_notice, f)
    return tuple(sorted(found, key=lambda d: (d.due, d.code)))


def _duty(
    code: DutyCode, rule: ValidationDuty | ArrearsDuty, f: Facts, last_day: dt.date, **details: str
) -> list[Duty]:
    after = day_after(last_day)
    due = None if after is None else f.start_of(after)
    if due is None:
        return []  # a deadline past the last representable day is no deadline
    return [
        trusted(
            Duty,
            code=code,
            citation=rule.citation,
            due=due,
            overdue=f.at >= due,
            details={**details, "last_day": str(last_day)},
            layer=rule.layer,
        )
    ]


def _validation_notice(rule: ValidationDuty, f: Facts) -> list[Duty]:
    first = f.s.first_communication_at
    if first is None or f.s.first_validation_at is not None:
        return []
    day = local_date(first, f.zone)
    return _duty(
        DutyCode.VALIDATION_NOTICE,
        rule,
        f,
        day + dt.timedelta(days=rule.days),
        opened_on=str(day),
    )


def arrears_since(f: Facts, instalments: int) -> dt.date | None:
    """The first day of the current stretch with ``instalments`` overdue at once, or None.

    A payment that left them overdue fixed it in the fold; otherwise it follows
    from what is paid, since no payment has moved anything since it began.
    """
    missed = f.schedule.missed(f.s.paid, f.day, instalments)
    if missed is None:
        return None  # fewer are overdue now
    return f.s.arrears_since or day_after(missed)


def _arrears_notice(rule: ArrearsDuty, f: Facts) -> list[Duty]:
    since = arrears_since(f, rule.instalments)
    if since is None:
        return []
    last = _last_arrears_notice(f)
    if last is None or last < since:
        return _duty(
            DutyCode.ARREARS_NOTICE,
            rule,
            f,
            since + dt.timedelta(days=rule.days - 1),
            opened_on=str(since),
        )
    again = last + relativedelta(months=rule.every_months)
    if f.day < again:
        return []
    return _duty(
        DutyCode.ARREARS_NOTICE, rule, f, again, opened_on=str(again), last_notice=str(last)
    )


def _last_arrears_notice(f: Facts) -> dt.date | None:
    """The local date of the newest arrears notice sent (delivered) by ``f.at``."""
    for n in f.case.notices((NoticeKind.ARREARS,)):  # newest first
        if n.delivered and n.at <= f.at:
            return local_date(n.at, f.zone)
    return None


def validation_period_ends(policy: Policy, f: Facts) -> tuple[dt.datetime, bool] | None:
    """The end of the validation period, and whether a provisional calendar decided it;
    ``None`` before the first delivered validation notice or where the policy has none."""
    rule = policy.validation
    sent_at = f.s.first_validation_at
    if rule is None or sent_at is None:
        return None
    calendar = None if policy.calendar is None else policy.calendar.compiled
    receipt, provisional = add_working_days(
        calendar, local_date(sent_at, f.zone), rule.receipt_working_days
    )
    try:
        after = receipt + dt.timedelta(days=rule.period_days + 1)
    except OverflowError:
        return None
    ends = f.start_of(after)
    return None if ends is None else (ends, provisional)


def explain_lines(policy: Policy, f: Facts, state: CaseState) -> list[str]:
    """What ``explain`` says of the validation period and the open duties."""
    lines = []
    validation = validation_period_ends(policy, f)
    if validation is not None:
        ends, provisional = validation
        guess = " (provisional: counted on a calendar past the year it is known)"
        when = local(ends, f.zone).isoformat()
        lines.append(f"The validation period ends {when}{guess if provisional else ''}.")
    for duty in state.duties:
        late = "overdue since" if duty.overdue else "due by"
        when = local(duty.due, f.zone).isoformat()
        lines.append(f"Duty {duty.code}: {late} {when} [{duty.citation}].")
    return lines
