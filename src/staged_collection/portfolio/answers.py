"""What the sweep asks the engine about one case, and its answers.

For a case at an instant: its state, the automatic moves due, a check of
every escalation (``escalate`` to each rung, ``refer``, ``report``,
``legal_action``, ``write_off``), and per channel a check of a collection
contact now and the next instant one is allowed. Every answer comes from the
engine's public methods (``state``, ``check``, ``next_allowed``), with the
borrower's other cases as ``others``; the only short cuts are ones the
engine's documented semantics make exact (see ``ask``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from staged_collection.actions import (
    ActionRequest,
    ContactAttempt,
    Escalate,
    LegalAction,
    Refer,
    Report,
    WriteOff,
)
from staged_collection.case import Case
from staged_collection.decision import Decision
from staged_collection.engine import Engine
from staged_collection.ladder import BUREAU_EDGES, ladder_edges
from staged_collection.state import CaseState
from staged_collection.terms import BureauStatus, Channel, Stage

__all__ = ["ACTIONS", "AGENCY", "Answer", "Contact", "Move", "Plan", "Verdict", "ask"]

ACTIONS: tuple[str, ...] = (
    "escalate:negotiation",
    "escalate:formal",
    "refer",
    "report",
    "legal_action",
    "write_off",
)
"""The escalations the sweep checks, by the name its output gives them."""

AGENCY = "(evaluated)"
"""The agency a sweep's ``refer`` check names: one evaluated on the case's local day."""


class Move(NamedTuple):
    """An automatic move due by the sweep's instant and not yet made (``overdue``)."""

    track: str
    trigger: str
    source: str
    dest: str


class Verdict(NamedTuple):
    """An escalation's check: allowed, or refused with its codes and when it may be allowed."""

    action: str
    allowed: bool
    codes: tuple[str, ...]
    retry_at: dt.datetime | None


class Contact(NamedTuple):
    """A channel: is a collection contact allowed now (with the codes refusing it, when
    checked), and the next instant it is allowed (``None``: never, as far as the case knows)."""

    channel: Channel
    allowed: bool
    codes: tuple[str, ...] | None  # None: not checked, because the case has ended
    next: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Answer:
    """Everything the sweep says about one case at one instant."""

    case_id: str
    borrower_id: str
    version: int
    state: CaseState
    moves: tuple[Move, ...]
    verdicts: tuple[Verdict, ...]
    contacts: tuple[Contact, ...]
    duties: tuple[Any, ...] | None  # the state's open duties, where the engine has them
    decisions: tuple[Decision, ...]


class Plan:
    """The questions of a sweep under one engine, built once and asked of every case.

    ``channels``: the channels whose contacts ``ask`` checks, in the order of
    ``Channel`` (every channel unless given; a caller that uses only some of them,
    such as the demo's dialer, asks only those).
    """

    __slots__ = ("_automatic", "_open", "_refer", "attempts", "engine")

    def __init__(self, engine: Engine, channels: Iterable[Channel | str] | None = None) -> None:
        self.engine = engine
        policy = engine.policy
        visit = policy.contact.field_visit.min_collectors
        # A collection contact with the borrower, placed by the lender, no particular number;
        # a field visit with the staff the policy asks for.
        self.attempts = tuple(
            ContactAttempt(channel=c, collectors=visit if c is Channel.FIELD_VISIT else 1)
            for c in _channels(channels)
        )
        ladder = ladder_edges(policy.ladder.skip_allowed)
        moves = {(e.trigger, e.source) for e in ladder} | {
            (e.trigger, e.source) for e in BUREAU_EDGES
        }
        requests: tuple[tuple[str, str | None, ActionRequest | None], ...] = (
            ("escalate:negotiation", "escalate_negotiation", Escalate(to=Stage.NEGOTIATION)),
            ("escalate:formal", "escalate_formal", Escalate(to=Stage.FORMAL)),
            ("refer", "refer", None),  # named per local day, see ``refer``
            ("report", "report", Report()),
            ("legal_action", None, LegalAction()),
            ("write_off", "write_off", WriteOff()),
        )
        # Which escalations the ladder's shape lets a case try, by (stage, bureau status):
        # the others are refused by the shape alone (transition.not_allowed or terminal).
        self._open: dict[tuple[str, str], tuple[tuple[str, ActionRequest | None], ...]] = {}
        for stage in Stage:
            for bureau in BureauStatus:
                found = []
                for name, trigger, request in requests:
                    if stage.terminal:
                        continue
                    source = bureau.value if name == "report" else stage.value
                    if trigger is None:
                        shaped = stage in policy.legal.from_stages
                    else:
                        shaped = (trigger, source) in moves
                    if shaped:
                        found.append((name, request))
                self._open[(stage.value, bureau.value)] = tuple(found)
        self._refer: dict[dt.date, Refer] = {}
        self._automatic = {
            (e.source, e.dest): e.trigger for e in (*ladder, *BUREAU_EDGES) if e.automatic
        }

    def escalations(
        self, stage: Stage, bureau: BureauStatus
    ) -> tuple[tuple[str, ActionRequest | None], ...]:
        """The escalations a case at ``stage`` (after its automatic moves) may try."""
        return self._open[(stage.value, bureau.value)]

    def refer(self, day: dt.date) -> Refer:
        found = self._refer.get(day)
        if found is None:
            found = self._refer[day] = Refer(agency=AGENCY, evaluated_on=day)
        return found

    def trigger(self, source: str, dest: str) -> str:
        return self._automatic.get((source, dest), "")


def _channels(channels: Iterable[Channel | str] | None) -> tuple[Channel, ...]:
    if channels is None:
        return tuple(Channel)
    if isinstance(channels, str):  # one name is not a list of names
        channels = (channels,)
    chosen = set()
    for value in channels:
        try:
            chosen.add(Channel(value))
        except ValueError:
            known = ", ".join(c.value for c in Channel)
            raise ValueError(f"channels: {value!r} is not a channel (one of {known})") from None
    return tuple(c for c in Channel if c in chosen)


def _local_day(case: Case, at: dt.datetime) -> dt.date:
    # The case's calendar: the zone its days past due count in.
    return at.astimezone(_zone(case.days_zone)).date()


_ZONES: dict[str, dt.tzinfo] = {}


def _zone(name: str) -> dt.tzinfo:
    found = _ZONES.get(name)
    if found is None:
        from zoneinfo import ZoneInfo

        found = _ZONES[name] = ZoneInfo(name)
    return found


def ask(
    plan: Plan,
    case: Case,
    others: Sequence[Case],
    at: dt.datetime,
    *,
    case_id: str,
    borrower_id: str,
    keep_decisions: bool = False,
) -> Answer:
    """The sweep's answers for ``case`` at ``at``, ``others`` being the borrower's other cases.

    Short cuts, each exact by the engine's documented behaviour:
    - only the escalations the ladder's shape allows from where the case
      stands are checked (``Plan.escalations``): any other is refused by the
      shape alone (``transition.not_allowed``, or ``transition.terminal``);
    - a contact allowed at ``at`` is next allowed at ``at`` (``next_allowed``
      answers the earliest instant at or after ``after``); one refused with a
      violation that has no ``retry_at`` is never allowed as far as the case
      knows (``next_allowed`` answers ``None``); only the others ask
      ``next_allowed``;
    - on a case that has ended (resolved, settled, written off) no contact is
      ever allowed (``contact.nothing_due`` has no end), so unless the
      decisions are kept no contact is checked.
    """
    engine = plan.engine
    state = engine.state(case, at=at)
    moves: list[Move] = []
    if state.stage != case.stage:
        moves.append(Move("ladder", plan.trigger(case.stage, state.stage), case.stage, state.stage))
    if state.bureau != case.bureau:
        moves.append(
            Move("bureau", plan.trigger(case.bureau, state.bureau), case.bureau, state.bureau)
        )
    kept: list[Decision] = []
    verdicts: list[Verdict] = []
    contacts: list[Contact] = []
    for name, request in plan.escalations(state.stage, case.bureau):
        d = engine.check(case, request or plan.refer(_local_day(case, at)), at=at)
        verdicts.append(Verdict(name, d.allowed, tuple(d.codes), d.retry_at))
        if keep_decisions:
            kept.append(d)
    if state.stage.terminal and not keep_decisions:
        contacts = [Contact(a.channel, False, None, None) for a in plan.attempts]
    elif not keep_decisions:
        # Every channel at once, from the case brought to ``at`` once, no message written:
        # what ``check`` and ``next_allowed`` answer (the engine's tests hold them equal).
        reached = engine._reach(case, plan.attempts, at, others)
        contacts = [
            Contact(a.channel, allowed, codes, nxt)
            for a, (allowed, codes, nxt) in zip(plan.attempts, reached, strict=True)
        ]
    else:
        for attempt in plan.attempts:
            d = engine.check(case, attempt, at=at, others=others)
            if keep_decisions:
                kept.append(d)
            if d.allowed:
                contacts.append(Contact(attempt.channel, True, (), at))
                continue
            nxt = None
            if all(v.retry_at is not None for v in d.violations):
                nxt = engine.next_allowed(case, attempt, after=at, others=others)
            contacts.append(Contact(attempt.channel, False, tuple(d.codes), nxt))
    return Answer(
        case_id=case_id,
        borrower_id=borrower_id,
        version=case.version,
        state=state,
        moves=tuple(moves),
        verdicts=tuple(verdicts),
        contacts=tuple(contacts),
        duties=state.duties,
        decisions=tuple(kept),
    )
