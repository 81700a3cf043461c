"""A collection case: a loan and its borrower, folded over their events.

A ``Case`` is immutable. ``Engine.apply`` returns a new one and leaves the old
one as it was; the two share everything that did not change, so applying an
event costs the same whatever the length of the history. Two cases are equal
when they hold the same loan, borrower, policy and events: everything else is
a function of those.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, NamedTuple, TypeVar

from staged_collection._ledger import Schedule
from staged_collection.borrower import Borrower, LocalTimeRange
from staged_collection.decision import Decision
from staged_collection.events import Contact, Event
from staged_collection.loan import Loan
from staged_collection.terms import (
    BureauStatus,
    Channel,
    HoldKind,
    Initiator,
    NoticeKind,
    Recipient,
    Stage,
)

__all__ = ["Case"]

T = TypeVar("T")


class Link(Generic[T]):
    """A persistent list, newest first: appending shares the whole tail.

    Never changed once made (a plain class rather than a frozen dataclass,
    which would pay for every field it sets: this is on every event's path).
    """

    __slots__ = ("item", "next", "size")

    def __init__(self, item: T, next: Link[T] | None, size: int) -> None:
        self.item = item
        self.next = next
        self.size = size

    def __iter__(self) -> Iterator[T]:
        node: Link[T] | None = self
        while node is not None:
            yield node.item
            node = node.next


def push(head: Link[T] | None, item: T) -> Link[T]:
    return Link(item, head, 1 if head is None else head.size + 1)


class ContactRecord:
    """A recorded contact, as the counters read it: its local day is worked out once."""

    __slots__ = (
        "at",
        "channel",
        "collector",
        "day",
        "number",
        "outcome",
        "party",
        "placed_by",
        "to_borrower",
    )

    def __init__(self, event: Contact, day: dt.date, party: str) -> None:
        self.at = event.at
        self.day = day
        self.channel = event.channel
        self.outcome = event.outcome
        self.collector = event.initiated_by is Initiator.COLLECTOR
        self.to_borrower = event.recipient is Recipient.BORROWER
        self.number = event.number
        self.placed_by = event.placed_by
        self.party = party


@dataclass(frozen=True, slots=True)
class HoldState:
    kind: HoldKind
    since: dt.datetime
    until: dt.date | None  # a local date: the hold ends after it


@dataclass(frozen=True, slots=True)
class NoticeState:
    kind: NoticeKind
    at: dt.datetime
    delivered: bool
    remedy_date: dt.date | None
    returned_at: dt.datetime | None = None

    @property
    def good(self) -> bool:
        """Delivered, and not known to have come back."""
        return self.delivered and self.returned_at is None


@dataclass(frozen=True, slots=True)
class PromiseState:
    amount: Decimal
    due: dt.date
    paid_before: Decimal  # what had been paid when the promise was made


@dataclass(frozen=True, slots=True)
class PlanState:
    due_dates: tuple[dt.date, ...]
    cum: tuple[Decimal, ...]
    paid_before: Decimal
    broken: bool = False


@dataclass(frozen=True, slots=True)
class ConsentState:
    channel: Channel
    since: dt.datetime
    until: dt.datetime


class Move(NamedTuple):
    """One move made on a track, kept for ``Engine.explain``."""

    at: dt.datetime
    track: str
    trigger: str
    source: str
    dest: str


@dataclass(frozen=True, eq=False, repr=False)
class Case:
    """A loan in collection and everything that has happened to it.

    Public: ``loan``, ``borrower``, ``policy`` (the fingerprint of the policy
    it was opened under), ``stage`` and ``bureau`` as of the last event,
    ``as_of`` (that event's instant) and ``events``. Ask the engine for the
    state at a later instant: ``engine.state(case, at=...)``.
    """

    loan: Loan
    borrower: Borrower
    policy: str
    stage: Stage
    bureau: BureauStatus
    as_of: dt.datetime | None
    _schedule: Schedule
    _days_zone: str
    _zones: tuple[str, ...]
    _paid: Decimal = Decimal(0)
    _last_payment_at: dt.datetime | None = None
    _bureau_disputed: bool = False
    _holds: tuple[HoldState, ...] = ()
    _frozen: tuple[tuple[HoldKind, dt.date, dt.date | None], ...] = ()
    _notices: Mapping[NoticeKind, Link[NoticeState]] = field(default_factory=dict)
    _promise: PromiseState | None = None
    _plan: PlanState | None = None
    _placement: str | None = None
    _ceased: frozenset[Channel] = frozenset()
    _represented: bool = False
    _no_work_contact: bool = False
    _inconvenient: tuple[LocalTimeRange, ...] = ()
    _consents: tuple[ConsentState, ...] = ()
    _appointments: tuple[dt.datetime, ...] = ()
    _first_conversation_at: dt.datetime | None = None
    _forbearance_at: dt.datetime | None = None
    _legal_action_at: dt.datetime | None = None
    _contacts: Link[ContactRecord] | None = None
    _parties: frozenset[str] = frozenset()  # third parties reached (a conversation or delivery)
    _breaches: Link[Decision] | None = None
    _moves: Link[Move] | None = None
    _log: Link[Event] | None = None

    @property
    def events(self) -> tuple[Event, ...]:
        """Every event applied, oldest first."""
        if self._log is None:
            return ()
        return tuple(reversed(tuple(self._log)))

    @property
    def breaches(self) -> tuple[Decision, ...]:
        """Contacts recorded although the rules refused them, oldest first, with the decision."""
        if self._breaches is None:
            return ()
        return tuple(reversed(tuple(self._breaches)))

    def frozen_spans(self) -> tuple[tuple[dt.date, dt.date | None], ...]:
        """Local-date spans ``[start, end)`` during which a hold stopped the DPD clock."""
        if not self._frozen:
            return ()
        return tuple((start, end) for _, start, end in self._frozen)

    def __len__(self) -> int:
        return 0 if self._log is None else self._log.size

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Case):
            return NotImplemented
        return (
            self.policy == other.policy
            and self.loan == other.loan
            and self.borrower == other.borrower
            and len(self) == len(other)
            and self.events == other.events
        )

    def __hash__(self) -> int:
        return hash((self.policy, self.loan.id, self.borrower.id, len(self)))

    def __repr__(self) -> str:
        return (
            f"<Case loan={self.loan.id!r} borrower={self.borrower.id!r} stage={self.stage} "
            f"bureau={self.bureau} events={len(self)}>"
        )

    def evolve(self, **changes: Any) -> Case:
        """A copy with some fields changed (private to the engine's fold).

        One dictionary copy, whatever the number of fields: every value is
        immutable or copied on write, so old and new share them safely.
        """
        new = object.__new__(Case)
        state = new.__dict__
        state.update(self.__dict__)
        state.update(changes)
        return new

    def notices(self, kinds: Iterable[NoticeKind]) -> Iterator[NoticeState]:
        """The notices of ``kinds``, newest first within each kind."""
        for kind in kinds:
            yield from self._notices.get(kind, ())

    def all_notices(self) -> list[NoticeState]:
        """Every notice, oldest first."""
        return sorted((n for chain in self._notices.values() for n in chain), key=lambda n: n.at)

    def to_dict(self) -> dict[str, Any]:
        """The case as a document: loan, borrower and events (everything else is derived)."""
        return {
            "policy": self.policy,
            "loan": self.loan.model_dump(mode="json"),
            "borrower": self.borrower.model_dump(mode="json"),
            "events": [e.model_dump(mode="json") for e in self.events],
        }


def with_notice(
    notices: Mapping[NoticeKind, Link[NoticeState]], notice: NoticeState
) -> dict[NoticeKind, Link[NoticeState]]:
    """``notices`` with one more, copied on write (a handful of kinds, each a shared list)."""
    out = dict(notices)
    out[notice.kind] = push(out.get(notice.kind), notice)
    return out


def with_returned(
    notices: Mapping[NoticeKind, Link[NoticeState]], kind: NoticeKind, at: dt.datetime
) -> dict[NoticeKind, Link[NoticeState]]:
    """``notices`` with every notice of ``kind`` sent by ``at`` marked returned at ``at``.

    A notice counts only with no undeliverable notice after it (DOMAIN section 4):
    a returned letter leaves the borrower's address in doubt for every earlier one.
    """
    kept: list[NoticeState] = []
    node = notices.get(kind)
    while node is not None and node.item.returned_at is None:
        kept.append(node.item)
        node = node.next
    chain = node  # the older notices were returned already
    for n in reversed(kept):
        returned = n if n.at > at else NoticeState(n.kind, n.at, n.delivered, n.remedy_date, at)
        chain = push(chain, returned)
    out = dict(notices)
    if chain is not None:
        out[kind] = chain
    return out
