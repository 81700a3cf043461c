"""Folding one event into a case: the bookkeeping after the rules have said yes.

Moves on the two tracks go through ``fire`` (the compiled state machine, in
the engine), so this module decides *which* move happens and the machine
makes it. The automatic moves (``overdue``, ``cure``, ``resolve``, the
bureau's ``send_notice``, ``notice_returned`` and ``update``) happen here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from itertools import accumulate
from typing import Any

from staged_collection import _ledger
from staged_collection._localtime import local_date
from staged_collection.actions import ContactFields
from staged_collection.case import (
    Case,
    ConsentState,
    ContactRecord,
    HoldState,
    Link,
    Move,
    NoticeState,
    PlanState,
    PromiseState,
    push,
    with_notice,
    with_returned,
)
from staged_collection.events import (
    Appointment,
    Attorney,
    Cease,
    Consent,
    Contact,
    Dispute,
    DisputeResolved,
    Escalated,
    Event,
    ForbearanceAssessed,
    Hold,
    HoldLifted,
    LegalActionTaken,
    Notice,
    Payment,
    Plan,
    PlanBroken,
    Preference,
    Promise,
    Recalled,
    Referred,
    Reported,
    Settlement,
    Undeliverable,
    WrittenOff,
)
from staged_collection.policy import Policy
from staged_collection.terms import BureauStatus, Channel, HoldKind, Outcome, Recipient, Stage


def party_of(contact: ContactFields) -> str:
    """Who a contact reaches: the borrower, or a third party known by number or relation."""
    if contact.recipient is Recipient.BORROWER:
        return "borrower"
    return f"third_party:{contact.number or contact.relation or 'unknown'}"


Fire = Callable[[str, str, str], str]
"""``fire(track, trigger, source) -> dest``: an allowed move on ``"ladder"`` or ``"bureau"``."""

_ALL_CHANNELS = frozenset(Channel)
_STATES: dict[str, Stage | BureauStatus] = {s.value: s for s in (*Stage, *BureauStatus)}
_DELINQUENT = frozenset({Stage.REMINDER, Stage.NEGOTIATION, Stage.FORMAL, Stage.THIRD_PARTY})


def advance(case: Case, policy: Policy, at: dt.datetime, fire: Fire) -> Case:
    """The automatic moves due by ``at``: a case with something overdue enters ``reminder``."""
    if case.stage is not Stage.CURRENT:
        return case
    day = local_date(at, case._days_zone)
    dpd = _ledger.dpd(case._schedule, case._paid, day, case.frozen_spans())
    if dpd < policy.ladder.reminder.min_dpd:
        return case
    ch: dict[str, Any] = {}
    _move(case, ch, at, "ladder", "overdue", fire)
    return case.evolve(**ch)


def record(case: Case, event: Event, policy: Policy, fire: Fire) -> Case:
    """``case`` with ``event`` folded in (the rules have already allowed it)."""
    at = event.at
    ch: dict[str, Any] = {}

    def move(track: str, trigger: str) -> None:
        _move(case, ch, at, track, trigger, fire)

    def day() -> dt.date:
        return local_date(at, case._days_zone)

    match event:
        case Payment():
            _pay(case, ch, event.amount.amount, at)
            paid = ch["_paid"]
            if not case.stage.terminal:
                if case._schedule.balance(paid) == 0:
                    move("ladder", "resolve")
                    _bureau_paid(case, ch, move)
                elif case.stage in _DELINQUENT and case._schedule.overdue(paid, day()) == 0:
                    move("ladder", "cure")
                    _bureau_paid(case, ch, move)
        case Settlement():
            move("ladder", "settle")
            _bureau_paid(case, ch, move)
        case Contact():
            party = party_of(event)
            ch["_contacts"] = push(case._contacts, ContactRecord(event, day(), party))
            to_borrower = event.recipient is Recipient.BORROWER
            talked = event.outcome is Outcome.CONVERSATION
            if talked and to_borrower and case._first_conversation_at is None:
                ch["_first_conversation_at"] = at
            if not to_borrower and event.outcome in (Outcome.CONVERSATION, Outcome.DELIVERED):
                ch["_parties"] = case._parties | {party}
        case Promise():
            ch["_promise"] = PromiseState(event.amount.amount, event.due, case._paid)
        case Plan():
            amounts = [i.amount.amount for i in event.installments]
            ch["_plan"] = PlanState(
                tuple(i.due for i in event.installments),
                tuple(accumulate(amounts)),
                case._paid,
            )
        case PlanBroken():
            if case._plan is not None:
                ch["_plan"] = PlanState(
                    case._plan.due_dates, case._plan.cum, case._plan.paid_before, broken=True
                )
        case Notice():
            notice = NoticeState(event.kind, at, event.delivered, event.remedy_date)
            ch["_notices"] = with_notice(case._notices, notice)
            bureau_notice = policy.bureau.notice
            if (
                bureau_notice is not None
                and event.kind in bureau_notice.kinds
                and event.delivered
                and case.bureau is BureauStatus.NOT_REPORTED
            ):
                move("bureau", "send_notice")
        case Undeliverable():
            _returned(case, ch, event, policy, move)
        case Dispute():
            _hold(case, ch, HoldState(HoldKind.DISPUTE, at, None), policy, day())
            if case.bureau is BureauStatus.REPORTED:
                ch["_bureau_disputed"] = True
        case DisputeResolved():
            _lift(case, ch, HoldKind.DISPUTE, day())
            ch["_bureau_disputed"] = False
        case Hold():
            until = event.until
            default = policy.holds[event.kind].default_days
            if until is None and default:
                until = day() + dt.timedelta(days=default - 1)
            _hold(case, ch, HoldState(event.kind, at, until), policy, day())
        case HoldLifted():
            _lift(case, ch, event.kind, day())
        case Cease():
            ch["_ceased"] = case._ceased | (frozenset(event.channels) or _ALL_CHANNELS)
        case Preference():
            if event.inconvenient is not None:
                ch["_inconvenient"] = event.inconvenient
            if event.timezones is not None:
                ch["_zones"] = tuple(dict.fromkeys((*case._zones, *event.timezones)))
            if event.no_work_contact is not None:
                ch["_no_work_contact"] = event.no_work_contact
        case Consent():
            ch["_consents"] = (*case._consents, ConsentState(event.channel, at, event.until))
        case Attorney():
            ch["_represented"] = True
        case Appointment():
            ch["_appointments"] = (*case._appointments, event.visit_at)
        case Escalated():
            move("ladder", f"escalate_{event.to.value}")
        case Referred():
            move("ladder", "refer")
            ch["_placement"] = event.agency
        case Recalled():
            move("ladder", "recall")
            ch["_placement"] = None
        case Reported():
            move("bureau", "report")
        case LegalActionTaken():
            ch["_legal_action_at"] = at
        case ForbearanceAssessed():
            ch["_forbearance_at"] = at
        case WrittenOff():
            move("ladder", "write_off")
    ch["as_of"] = at
    ch["_log"] = push(case._log, event)
    return case.evolve(**ch)


def _move(
    case: Case,
    ch: dict[str, Any],
    at: dt.datetime,
    track: str,
    trigger: str,
    fire: Fire,
) -> None:
    field = "stage" if track == "ladder" else "bureau"
    source: str = ch.get(field, getattr(case, field)).value
    dest = fire(track, trigger, source)
    ch[field] = _STATES[dest]
    moves: Link[Move] | None = ch.get("_moves", case._moves)
    ch["_moves"] = push(moves, Move(at, track, trigger, source, dest))
    if track == "ladder" and ch[field] is not Stage.THIRD_PARTY:
        ch["_placement"] = None  # a cure, a resolution or a recall ends any placement


def _pay(case: Case, ch: dict[str, Any], amount: Decimal, at: dt.datetime) -> None:
    ch["_paid"] = case._paid + amount
    ch["_last_payment_at"] = at


def _bureau_paid(case: Case, ch: dict[str, Any], move: Callable[[str, str], None]) -> None:
    if ch.get("bureau", case.bureau) is BureauStatus.REPORTED:
        move("bureau", "update")


def _returned(
    case: Case,
    ch: dict[str, Any],
    event: Undeliverable,
    policy: Policy,
    move: Callable[[str, str], None],
) -> None:
    ch["_notices"] = notices = with_returned(case._notices, event.kind, event.at)
    rule = policy.bureau.notice
    if (
        case.bureau is BureauStatus.NOTICE_SENT
        and rule is not None
        and not any(n.good for k in rule.kinds for n in notices.get(k, ()))
    ):
        move("bureau", "notice_returned")


def _hold(case: Case, ch: dict[str, Any], hold: HoldState, policy: Policy, day: dt.date) -> None:
    _lift(case, ch, hold.kind, day)  # a new hold of a kind replaces the old one
    ch["_holds"] = (*ch["_holds"], hold)
    if policy.holds[hold.kind].freezes_dpd:
        end = None if hold.until is None else hold.until + dt.timedelta(days=1)
        ch["_frozen"] = (*ch.get("_frozen", case._frozen), (hold.kind, day, end))


def _lift(case: Case, ch: dict[str, Any], kind: HoldKind, day: dt.date) -> None:
    """End every hold of ``kind`` today; its DPD freeze, if any, stops at the start of ``day``."""
    ch["_holds"] = tuple(h for h in case._holds if h.kind is not kind)
    if any(k is kind for k, _, _ in case._frozen):
        ch["_frozen"] = tuple(
            (k, start, end if k is not kind else min(end or day, max(start, day)))
            for k, start, end in case._frozen
        )
