"""Folding one event into a case: the bookkeeping after the rules have said yes.

Each event type has one reducer here, a function from the folded state and the
event to the next folded state, registered in ``REDUCERS`` with whether the
event is a fact that may arrive late (DOMAIN section 8). Adding an event type
is one model in ``events.py`` and one entry here.

Moves on the two tracks go through ``FoldRules.dest`` (the table compiled from
the state machine, in the engine), so this module decides *which* move happens
and the machine's table says where it leads. The automatic moves (``overdue``,
``cure``, ``resolve``, the bureau's ``send_notice``, ``notice_returned`` and
``update``) happen here. A recorded action whose move no longer exists (a late
fact refolded under it, or a what-if replay that records refusals) is forced to
its destination: it happened, and the revision that says so is the engine's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from itertools import accumulate
from typing import Any, NamedTuple

from staged_collection import _ledger, _limitation, _tally
from staged_collection._localtime import day_after, day_start_or_none
from staged_collection.actions import ContactFields
from staged_collection.borrower import LocalTimeRange
from staged_collection.calendars import Calendar
from staged_collection.case import (
    NOT_RESTARTED,
    ConsentState,
    ContactRecord,
    Folded,
    FrozenSpan,
    HoldState,
    Move,
    NoticeState,
    PlanState,
    Profile,
    PromiseState,
    Restarted,
    push,
)
from staged_collection.events import (
    Acknowledgment,
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
from staged_collection.policy import Limitation, Policy
from staged_collection.terms import (
    BureauStatus,
    Channel,
    HoldKind,
    Initiator,
    NoticeKind,
    Outcome,
    Recipient,
    Stage,
)

_ALL_CHANNELS = frozenset(Channel)
KEPT_MOVES = 32
"""Moves kept for ``explain``: the latest, on both tracks (a case rarely makes more)."""
KEPT_NOTICES = 8
"""Notices of one kind the rules read: the newest, and the oldest still counting."""
# Enum members by value, for the fold and for restoring a snapshot: a dict lookup costs a
# fraction of ``Enum.__call__``. An unknown value is a KeyError.
MEMBERS: dict[type[Enum], dict[Any, Any]] = {
    cls: {m.value: m for m in cls}
    for cls in (NoticeKind, Channel, Outcome, Stage, BureauStatus, HoldKind)
}
_STAGES = MEMBERS[Stage]
_BUREAU = MEMBERS[BureauStatus]
_DELINQUENT = frozenset({Stage.REMINDER, Stage.NEGOTIATION, Stage.FORMAL, Stage.THIRD_PARTY})
_CALLS = frozenset({Channel.CALL, Channel.AI_VOICE})
_COMMUNICATED = frozenset({Outcome.CONVERSATION, Outcome.DELIVERED})
_RESTART_REASONS = {
    "payment": "the last payment",
    "formal_demand": "the last formal demand",
    "acknowledgment": "the last written acknowledgment",
}


def party_of(contact: ContactFields) -> str:
    """Who a contact reaches: the borrower, or a third party known by number or relation."""
    if contact.recipient is Recipient.BORROWER:
        return "borrower"
    return f"third_party:{contact.number or contact.relation or 'unknown'}"


@dataclass(frozen=True, slots=True)
class FoldRules:
    """What the fold reads of a policy, compiled once per policy."""

    policy: Policy
    specs: _tally.Specs
    keep_days: int
    bureau_notice_kinds: frozenset[NoticeKind]
    dest: Callable[[str, str, str], str | None]  # (track, trigger, source) -> dest, or None
    calendar: Calendar | None = None
    limitation: Limitation | None = None
    consent_days: int | None = None  # a consent exempts calls for at most this many days
    failed_calls: int | None = None  # calls in a row, none connected, that make 失联 (b)
    arrears_instalments: int | None = None  # instalments overdue at once that open the duty


def fold_rules(policy: Policy, dest: Callable[[str, str, str], str | None]) -> FoldRules:
    notice = policy.bureau.notice
    calls = policy.contact.third_party.unreachable_calls
    consent = policy.contact.consent
    arrears = policy.duties.arrears_notice
    return FoldRules(
        policy=policy,
        specs=_tally.specs_for(policy),
        keep_days=_tally.keep_days(policy),
        bureau_notice_kinds=frozenset() if notice is None else notice.kinds,
        dest=dest,
        calendar=None if policy.calendar is None else policy.calendar.compiled,
        limitation=policy.legal.limitation,
        consent_days=None if consent is None else consent.days,
        failed_calls=None if calls is None else calls.calls,
        arrears_instalments=None if arrears is None else arrears.instalments,
    )


class Step(NamedTuple):
    """One event being folded: the rules, the case's profile, the event's local day."""

    rules: FoldRules
    profile: Profile
    day: dt.date
    force: bool  # a recorded action whose move no longer exists is forced to its destination


def initial(
    zones: tuple[str, ...], inconvenient: tuple[LocalTimeRange, ...], rules: FoldRules
) -> Folded:
    """The fold of a case with no events: ``current``, nothing reported."""
    return Folded(
        stage=Stage.CURRENT,
        bureau=BureauStatus.NOT_REPORTED,
        as_of=None,
        paid=_ledger.ZERO,
        last_payment_at=None,
        bureau_disputed=False,
        holds=(),
        frozen=(),
        notices={},
        promise=None,
        plan=None,
        placement=None,
        ceased=frozenset(),
        represented=False,
        no_work_contact=False,
        inconvenient=inconvenient,
        zones=zones,
        consents=(),
        appointments=(),
        first_conversation_at=None,
        forbearance_at=None,
        legal_action_at=None,
        parties=frozenset(),
        contacts=None,
        tally=_tally.empty(rules.specs),
        moves=(),
        first_communication_at=None,
        first_validation_at=None,
        dofd=None,
        arrears_since=None,
        limitation=NOT_RESTARTED,
        limitation_if_returned=NOT_RESTARTED,
        lines={},
        failed_calls=0,
        failed_days=(),
        third_parties_ceased={},
    )


# -- automatic moves -----------------------------------------------------------------------


def advance(s: Folded, at: dt.datetime, k: Step) -> Folded:
    """The automatic moves due by ``at``: a case with something overdue enters ``reminder``.

    The move is stamped with the instant it became due (the start of the local
    day DPD reached the threshold), not with the event that happened to show it.
    """
    if s.stage is not Stage.CURRENT:
        return s
    frozen = tuple((f.start, f.end) for f in s.frozen)
    schedule = k.profile.schedule
    threshold = k.rules.policy.ladder.reminder.min_dpd
    if _ledger.dpd(schedule, s.paid, k.day, frozen) < threshold:
        return s
    reached = _ledger.day_reaching(schedule, s.paid, frozen, threshold)
    due = day_start_or_none(reached, k.profile.days_zone) if reached is not None else None
    when = at if due is None or due > at else due
    if s.as_of is not None and when < s.as_of:
        when = s.as_of
    return _move(s, k, when, "ladder", "overdue")


def _move(
    s: Folded, k: Step, at: dt.datetime, track: str, trigger: str, target: str | None = None
) -> Folded:
    ladder = track == "ladder"
    source = str(s.stage) if ladder else str(s.bureau)  # StrEnum: str() is the value, cheaper
    dest = k.rules.dest(track, trigger, source)
    if dest is None:
        if not k.force or target is None:
            raise RuntimeError(f"no move {trigger!r} from {source!r} on the {track}")
        dest = target  # a recorded action the rules would now refuse: it happened all the same
        trigger = f"{trigger} (recorded)"
    moves = (*s.moves[-(KEPT_MOVES - 1) :], Move(at, track, trigger, source, dest))
    as_of = at if s.as_of is None or at > s.as_of else s.as_of  # one copy of the fold, not two
    if not ladder:
        return s.replace(bureau=_BUREAU[dest], moves=moves, as_of=as_of)
    stage = _STAGES[dest]
    # A cure, a resolution or a recall ends any placement.
    placement = s.placement if stage is Stage.THIRD_PARTY else None
    return s.replace(stage=stage, moves=moves, placement=placement, as_of=as_of)


def _bureau_paid(s: Folded, k: Step, at: dt.datetime) -> Folded:
    if s.bureau is BureauStatus.REPORTED:
        return _move(s, k, at, "bureau", "update")
    return s


# -- one reducer per event type ------------------------------------------------------------


class Reducer:
    """How one event type changes the fold; ``late``: a fact that may arrive late."""

    __slots__ = ("fn", "late")

    def __init__(self, fn: Callable[[Folded, Any, Step], Folded], *, late: bool) -> None:
        self.fn = fn
        self.late = late


def _payment(s: Folded, e: Payment, k: Step) -> Folded:
    paid = s.paid + e.amount.amount
    schedule = k.profile.schedule
    overdue = schedule.overdue(paid, k.day)
    dofd, since = _runs(s, k, paid, overdue)
    run, bare = _restarted(s, k, "payment")
    # One replace for all of it: a fold has some forty fields, and each copy costs.
    s = s.replace(
        paid=paid,
        last_payment_at=e.at,
        dofd=dofd,
        arrears_since=since,
        limitation=run,
        limitation_if_returned=bare,
    )
    if schedule.balance(paid) == 0:
        if not s.stage.terminal:
            s = _move(s, k, e.at, "ladder", "resolve")
        return _bureau_paid(s, k, e.at)  # paid in full updates the bureau, whatever the stage
    if s.stage in _DELINQUENT and overdue == 0:
        s = _move(s, k, e.at, "ladder", "cure")
        return _bureau_paid(s, k, e.at)
    return s


def _runs(
    s: Folded, k: Step, after: Decimal, overdue: Decimal
) -> tuple[dt.date | None, dt.date | None]:
    """The date of first delinquency and the arrears stretch after a payment that leaves
    ``after`` paid and ``overdue`` overdue.

    Until a payment comes, both follow from what is paid (the oldest unpaid
    instalments); a payment that leaves the account overdue fixes them where
    they stand, so that the next instalment it pays does not move them, and one
    that leaves nothing overdue (fewer than the duty's instalments) ends them.
    """
    schedule = k.profile.schedule
    dofd = s.dofd
    if overdue == 0:
        dofd = None  # cured: the run ends, and a later miss starts another
    elif dofd is None:
        missed = schedule.missed(s.paid, k.day)
        dofd = None if missed is None else day_after(missed)
    since = s.arrears_since
    n = k.rules.arrears_instalments
    if n is not None:
        if schedule.missed(after, k.day, n) is None:
            since = None
        elif since is None:
            missed = schedule.missed(s.paid, k.day, n)
            since = None if missed is None else day_after(missed)
    return dofd, since


def _restarted(s: Folded, k: Step, reason: str) -> tuple[Restarted, Restarted]:
    """Where the limitation period runs from after a restart by ``reason`` today (it counts
    if the policy says so and the period still runs), and the same if every formal demand
    so far came back: an undeliverable notice returns every demand sent so far, and the
    period then runs as if none had been."""
    run, bare = s.limitation, s.limitation_if_returned
    rule = k.rules.limitation
    if rule is None or reason not in rule.restarted_by:
        return run, bare
    last_due = k.profile.schedule.dues[-1]
    why = _RESTART_REASONS[reason]
    restarted = _limitation.restart(run, k.day, why, last_due, rule, k.rules.calendar)
    if reason == "formal_demand":
        return restarted, bare
    if bare == run:  # no demand has counted: the same restart, the same answer
        return restarted, restarted
    return restarted, _limitation.restart(bare, k.day, why, last_due, rule, k.rules.calendar)


def _restart(s: Folded, k: Step, reason: str) -> Folded:
    run, bare = _restarted(s, k, reason)
    if run is s.limitation and bare is s.limitation_if_returned:
        return s
    return s._replace(limitation=run, limitation_if_returned=bare)


def _acknowledgment(s: Folded, e: Acknowledgment, k: Step) -> Folded:
    return _restart(s, k, "acknowledgment")


def _settlement(s: Folded, e: Settlement, k: Step) -> Folded:
    s = _move(s, k, e.at, "ladder", "settle", Stage.SETTLED.value)
    return _bureau_paid(s, k, e.at)


def consent_covers(consents: tuple[ConsentState, ...], channel: Channel, at: dt.datetime) -> bool:
    return any(c.channel is channel and c.since <= at < c.until for c in consents)


def record_of(e: Contact, day: dt.date) -> ContactRecord:
    return ContactRecord(
        at=e.at,
        day=day,
        channel=e.channel,
        outcome=e.outcome,
        collector=e.initiated_by is Initiator.COLLECTOR,
        to_borrower=e.recipient is Recipient.BORROWER,
        number=e.number or "",
        placed_by=e.placed_by,
        party=party_of(e),
    )


def _contact(s: Folded, e: Contact, k: Step) -> Folded:
    r = record_of(e, k.day)
    consented = consent_covers(s.consents, e.channel, e.at)
    tally = _tally.add(s.tally, k.rules.specs, r, consented, k.rules.keep_days)
    first = s.first_conversation_at
    if first is None and r.to_borrower and e.outcome is Outcome.CONVERSATION:
        first = e.at
    parties = s.parties
    if not r.to_borrower and e.outcome in (Outcome.CONVERSATION, Outcome.DELIVERED):
        parties = parties | {r.party}
    communicated = s.first_communication_at
    if communicated is None and r.to_borrower and e.outcome in _COMMUNICATED:
        communicated = e.at
    lines, failed, days = _reach(s, r, k)
    return s.replace(
        contacts=push(s.contacts, r),
        tally=tally,
        first_conversation_at=first,
        parties=parties,
        first_communication_at=communicated,
        lines=lines,
        failed_calls=failed,
        failed_days=days,
    )


def _reach(s: Folded, r: ContactRecord, k: Step) -> tuple[Mapping[str, bool], int, tuple[int, ...]]:
    """The numbers out of service and the failed calls in a row (失联 (a) and (b)).

    A call to the borrower that connects, whoever placed it, ends both.
    """
    if not r.to_borrower or r.channel not in _CALLS:
        return s.lines, s.failed_calls, s.failed_days
    if r.outcome is Outcome.CONVERSATION:
        return {**s.lines, r.number: False}, 0, ()
    if not r.collector:
        return s.lines, s.failed_calls, s.failed_days
    lines = {**s.lines, r.number: r.outcome is Outcome.NOT_IN_SERVICE}
    failed = s.failed_calls + 1
    days = s.failed_days
    need = k.rules.failed_calls
    today = r.day.toordinal()
    if need is not None and failed >= need and (not days or days[0] != today):
        days = (today, *days[:1])  # the rule reads yesterday: two days are enough
    return lines, failed, days


def _promise(s: Folded, e: Promise, k: Step) -> Folded:
    return s._replace(promise=PromiseState(e.amount.amount, e.due, s.paid))


def _plan(s: Folded, e: Plan, k: Step) -> Folded:
    amounts = [i.amount.amount for i in e.installments]
    dues = tuple(i.due for i in e.installments)
    return s._replace(plan=PlanState(dues, tuple(accumulate(amounts)), s.paid))


def _plan_broken(s: Folded, e: PlanBroken, k: Step) -> Folded:
    if s.plan is None:
        return s
    return s._replace(plan=s.plan._replace(broken=True))


def _kept(chain: tuple[NoticeState, ...]) -> tuple[NoticeState, ...]:
    """The notices of one kind the rules can still read, newest first.

    The newest ``KEPT_NOTICES``, and the oldest that still counts (not returned: the
    first whose wait runs out), so a case that sends a notice a day keeps a bounded fold.
    """
    if len(chain) <= KEPT_NOTICES:
        return chain
    kept = chain[:KEPT_NOTICES]
    live = [n for n in chain[KEPT_NOTICES:] if n.returned_at is None]
    return (*kept, live[-1]) if live else kept


def _notice(s: Folded, e: Notice, k: Step) -> Folded:
    notice = NoticeState(e.kind, e.at, e.delivered, e.remedy_date, None, e.method, e.served_on)
    notices = dict(s.notices)
    notices[e.kind] = _kept((notice, *notices.get(e.kind, ())))
    s = s._replace(notices=notices)
    if e.delivered and e.kind is NoticeKind.VALIDATION and s.first_validation_at is None:
        s = s._replace(first_validation_at=e.at)
    if e.delivered and e.kind is NoticeKind.FORMAL_DEMAND:
        s = _restart(s, k, "formal_demand")
    if (
        e.kind in k.rules.bureau_notice_kinds
        and e.delivered
        and s.bureau is BureauStatus.NOT_REPORTED
    ):
        s = _move(s, k, e.at, "bureau", "send_notice")
    return s


def _undeliverable(s: Folded, e: Undeliverable, k: Step) -> Folded:
    """Every notice of the kind sent by now no longer counts (DOMAIN section 4: a notice
    counts only with no undeliverable notice after it; a returned letter leaves the
    borrower's address in doubt for every earlier one)."""
    chain = s.notices.get(e.kind, ())
    returned = tuple(
        n if n.returned_at is not None or n.at > e.at else n._replace(returned_at=e.at)
        for n in chain
    )
    notices = dict(s.notices)
    if returned:
        notices[e.kind] = returned
    s = s._replace(notices=notices)
    if e.kind is NoticeKind.FORMAL_DEMAND:
        s = s._replace(limitation=s.limitation_if_returned)
    kinds = k.rules.bureau_notice_kinds
    if s.bureau is BureauStatus.NOTICE_SENT and not any(
        n.good for kind in kinds for n in notices.get(kind, ())
    ):
        s = _move(s, k, e.at, "bureau", "notice_returned")
    return s


def _dispute(s: Folded, e: Dispute, k: Step) -> Folded:
    s = _hold(s, HoldState(HoldKind.DISPUTE, e.at, None), k)
    if s.bureau is BureauStatus.REPORTED:
        s = s._replace(bureau_disputed=True)
    return s


def _dispute_resolved(s: Folded, e: DisputeResolved, k: Step) -> Folded:
    return _lift(s, HoldKind.DISPUTE, k.day)._replace(bureau_disputed=False)


def _hold_event(s: Folded, e: Hold, k: Step) -> Folded:
    rule = k.rules.policy.holds[e.kind]
    starts = e.starts_on
    if starts is None and rule.starts_next_day:
        starts = day_after(k.day)
    until = e.until
    if until is None and rule.default_days:
        first = starts or k.day
        until = first + dt.timedelta(days=rule.default_days - 1)
    return _hold(s, HoldState(e.kind, e.at, until, starts), k)


def _hold(s: Folded, hold: HoldState, k: Step) -> Folded:
    s = _lift(s, hold.kind, k.day)  # a new hold of a kind replaces the old one
    s = s._replace(holds=(*s.holds, hold))
    if k.rules.policy.holds[hold.kind].freezes_dpd:
        end = None if hold.until is None else day_after(hold.until)
        s = s._replace(frozen=(*s.frozen, FrozenSpan(hold.kind, k.day, end)))
    return s


def _hold_lifted(s: Folded, e: HoldLifted, k: Step) -> Folded:
    return _lift(s, e.kind, k.day)


def _lift(s: Folded, kind: HoldKind, day: dt.date) -> Folded:
    """End every hold of ``kind`` today; its DPD freeze, if any, stops at the start of ``day``."""
    holds = tuple(h for h in s.holds if h.kind is not kind)
    frozen = s.frozen
    if any(f.kind is kind for f in frozen):
        frozen = tuple(
            f if f.kind is not kind else f._replace(end=min(f.end or day, max(f.start, day)))
            for f in frozen
        )
    return s._replace(holds=holds, frozen=frozen)


def _cease(s: Folded, e: Cease, k: Step) -> Folded:
    channels = frozenset(e.channels) or _ALL_CHANNELS
    if e.recipient is Recipient.THIRD_PARTY and e.relation is not None:
        stopped = dict(s.third_parties_ceased)
        stopped[e.relation] = stopped.get(e.relation, frozenset()) | channels
        return s._replace(third_parties_ceased=stopped)
    return s._replace(ceased=s.ceased | channels)


def _preference(s: Folded, e: Preference, k: Step) -> Folded:
    """What the borrower stated replaces what was known: zones, inconvenient times, work."""
    if e.inconvenient is not None:
        s = s._replace(inconvenient=e.inconvenient)
    if e.timezones is not None:
        s = s._replace(zones=tuple(e.timezones))
    if e.no_work_contact is not None:
        s = s._replace(no_work_contact=e.no_work_contact)
    return s


def _consent(s: Folded, e: Consent, k: Step) -> Folded:
    """A consent exempts calls until ``until``, and no longer than the policy's days (the
    day it is given counting as day 1: it ends at the start of the day after the last)."""
    until = e.until
    days = k.rules.consent_days
    if days is not None:
        ends = day_start_or_none(k.day + dt.timedelta(days=days), k.profile.days_zone)
        if ends is not None and ends < until:
            until = ends
    return s._replace(consents=(*s.consents, ConsentState(e.channel, e.at, until)))


def _attorney(s: Folded, e: Attorney, k: Step) -> Folded:
    return s._replace(represented=True)


def _appointment(s: Folded, e: Appointment, k: Step) -> Folded:
    return s._replace(appointments=(*s.appointments, e.visit_at))


def _escalated(s: Folded, e: Escalated, k: Step) -> Folded:
    to = str(e.to)
    return _move(s, k, e.at, "ladder", f"escalate_{to}", to)


def _referred(s: Folded, e: Referred, k: Step) -> Folded:
    s = _move(s, k, e.at, "ladder", "refer", Stage.THIRD_PARTY.value)
    return s._replace(placement=e.agency)


def _recalled(s: Folded, e: Recalled, k: Step) -> Folded:
    return _move(s, k, e.at, "ladder", "recall", Stage.FORMAL.value)._replace(placement=None)


def _reported(s: Folded, e: Reported, k: Step) -> Folded:
    return _move(s, k, e.at, "bureau", "report", BureauStatus.REPORTED.value)


def _legal_action(s: Folded, e: LegalActionTaken, k: Step) -> Folded:
    return s._replace(legal_action_at=e.at)


def _forbearance(s: Folded, e: ForbearanceAssessed, k: Step) -> Folded:
    return s._replace(forbearance_at=e.at)


def _written_off(s: Folded, e: WrittenOff, k: Step) -> Folded:
    return _move(s, k, e.at, "ladder", "write_off", Stage.WRITTEN_OFF.value)


REDUCERS: dict[type[Any], Reducer] = {
    Payment: Reducer(_payment, late=True),
    Contact: Reducer(_contact, late=False),
    Promise: Reducer(_promise, late=False),
    Plan: Reducer(_plan, late=False),
    PlanBroken: Reducer(_plan_broken, late=False),
    Notice: Reducer(_notice, late=True),
    Undeliverable: Reducer(_undeliverable, late=True),
    Dispute: Reducer(_dispute, late=True),
    DisputeResolved: Reducer(_dispute_resolved, late=True),
    Hold: Reducer(_hold_event, late=True),
    HoldLifted: Reducer(_hold_lifted, late=True),
    Cease: Reducer(_cease, late=True),
    Preference: Reducer(_preference, late=True),
    Consent: Reducer(_consent, late=True),
    Attorney: Reducer(_attorney, late=True),
    Appointment: Reducer(_appointment, late=False),
    Escalated: Reducer(_escalated, late=False),
    Referred: Reducer(_referred, late=False),
    Recalled: Reducer(_recalled, late=False),
    Reported: Reducer(_reported, late=False),
    LegalActionTaken: Reducer(_legal_action, late=False),
    ForbearanceAssessed: Reducer(_forbearance, late=False),
    Settlement: Reducer(_settlement, late=False),
    WrittenOff: Reducer(_written_off, late=False),
    Acknowledgment: Reducer(_acknowledgment, late=True),
}
"""Every event type, its reducer, and whether it is a fact that may arrive late."""


def record(s: Folded, event: Event, k: Step) -> Folded:
    """``s`` with ``event`` folded in (the rules have already allowed it, or it happened)."""
    s = REDUCERS[type(event)].fn(s, event, k)
    if s.as_of is None or event.at > s.as_of:
        s = s.replace(as_of=event.at)
    return s


def recount_records(
    records: list[ContactRecord], consents: tuple[ConsentState, ...], rules: FoldRules
) -> _tally.Tally:
    """The tally of ``records`` (oldest first), as the fold would have counted them."""
    if not records:
        return _tally.empty(rules.specs)
    marked = [(r, consent_covers(consents, r.channel, r.at)) for r in records]
    return _tally.recount(marked, rules.specs, rules.keep_days)
