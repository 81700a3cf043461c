"""A collection case: a loan and its borrower, folded over their events.

A ``Case`` is immutable. ``Engine.decide`` and ``Engine.apply`` return a new
one and leave the old one as it was. What the rules read is one typed, frozen
structure, ``Folded``; each event type changes it through one reducer
(``_fold.py``). ``Folded`` is a ``NamedTuple``: ``_replace`` is checked by mypy
field by field and copies its three dozen references in about a microsecond,
and the lists inside it are shared between versions, so applying an event costs
the same whatever the length of the history.

A case knows the events applied since it was opened (or restored from a
snapshot): ``case.events``. Its ``version`` counts every event since it was
opened, so a restored case carries on counting where its snapshot stopped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from staged_collection._ledger import Schedule
from staged_collection.borrower import Borrower, LocalTimeRange
from staged_collection.decision import Decision
from staged_collection.events import Event
from staged_collection.loan import Loan
from staged_collection.terms import (
    BureauStatus,
    Channel,
    HoldKind,
    NoticeKind,
    Outcome,
    Stage,
)

if TYPE_CHECKING:
    from staged_collection._tally import Tally

__all__ = ["Case"]

T = TypeVar("T")


class Link(Generic[T]):
    """A persistent list, newest first: appending shares the whole tail.

    Never changed once made. Iterating and pickling walk it with a loop, so a
    list of any length travels (a recursive walk would stop near 1,000 links).
    """

    __slots__ = ("item", "next")

    def __init__(self, item: T, next: Link[T] | None) -> None:
        self.item = item
        self.next = next

    def __iter__(self) -> Iterator[T]:
        node: Link[T] | None = self
        while node is not None:
            yield node.item
            node = node.next

    def __reduce__(self) -> tuple[Callable[..., Link[T] | None], tuple[tuple[T, ...]]]:
        return _relink, (tuple(self),)

    def __deepcopy__(self, memo: dict[int, Any]) -> Link[T]:
        return self  # never changed once made: a copy may share it


def _relink(items: tuple[T, ...]) -> Link[T] | None:
    head: Link[T] | None = None
    for item in reversed(items):
        head = push(head, item)
    return head


def push(head: Link[T] | None, item: T) -> Link[T]:
    return Link(item, head)


class ContactRecord(NamedTuple):
    """A recorded contact, as the counters read it: its local day is worked out once."""

    at: dt.datetime
    day: dt.date
    channel: Channel
    outcome: Outcome
    collector: bool  # initiated by the collector (not by the borrower)
    to_borrower: bool
    number: str  # "" when none was given
    placed_by: str
    party: str


class HoldState(NamedTuple):
    kind: HoldKind
    since: dt.datetime
    until: dt.date | None  # a local date: the hold ends after it
    starts: dt.date | None = None  # a local date: day 1 of a moratorium, when it is not today


class FrozenSpan(NamedTuple):
    """Local dates ``[start, end)`` on which a hold stopped the DPD clock (``end`` None: open)."""

    kind: HoldKind
    start: dt.date
    end: dt.date | None


class NoticeState(NamedTuple):
    kind: NoticeKind
    at: dt.datetime
    delivered: bool
    remedy_date: dt.date | None
    returned_at: dt.datetime | None = None
    method: str | None = None  # post, hand, electronic; None: the policy's default for the kind
    served_on: dt.date | None = None  # as the notice states it, when it does

    @property
    def good(self) -> bool:
        """Delivered, and not known to have come back."""
        return self.delivered and self.returned_at is None


class PromiseState(NamedTuple):
    amount: Decimal
    due: dt.date
    paid_before: Decimal  # what had been paid when the promise was made


class PlanState(NamedTuple):
    due_dates: tuple[dt.date, ...]
    cum: tuple[Decimal, ...]
    paid_before: Decimal
    broken: bool = False


class ConsentState(NamedTuple):
    channel: Channel
    since: dt.datetime
    until: dt.datetime


class Restarted(NamedTuple):
    """Where a limitation period runs from: the day of the last restart that counted and
    why (``day`` None: the last instalment's due date)."""

    day: dt.date | None
    reason: str


NOT_RESTARTED = Restarted(None, "the last due date")


class Move(NamedTuple):
    """One move made on a track, kept for ``Engine.explain``."""

    at: dt.datetime
    track: str
    trigger: str
    source: str
    dest: str


Notices = Mapping[NoticeKind, tuple[NoticeState, ...]]
"""Notices by kind, newest first within each kind."""


class Folded(NamedTuple):
    """Everything the rules read about a case, as of its last event."""

    stage: Stage
    bureau: BureauStatus
    as_of: dt.datetime | None
    paid: Decimal
    last_payment_at: dt.datetime | None
    bureau_disputed: bool
    holds: tuple[HoldState, ...]
    frozen: tuple[FrozenSpan, ...]
    notices: Notices
    promise: PromiseState | None
    plan: PlanState | None
    placement: str | None
    ceased: frozenset[Channel]
    represented: bool
    no_work_contact: bool
    inconvenient: tuple[LocalTimeRange, ...]
    zones: tuple[str, ...]
    consents: tuple[ConsentState, ...]
    appointments: tuple[dt.datetime, ...]
    first_conversation_at: dt.datetime | None
    forbearance_at: dt.datetime | None
    legal_action_at: dt.datetime | None
    parties: frozenset[str]  # third parties reached (a conversation or a delivery)
    contacts: Link[ContactRecord] | None  # newest first
    tally: Tally
    moves: tuple[Move, ...]
    # The law, round 2 (DOMAIN section 7).
    first_communication_at: dt.datetime | None  # a conversation or delivery to the borrower
    first_validation_at: dt.datetime | None  # the first delivered validation notice
    dofd: dt.date | None  # the date of first delinquency, once a payment left it overdue
    arrears_since: dt.date | None  # the first day of the arrears-duty stretch, once fixed
    limitation: Restarted  # where the limitation period runs from
    limitation_if_returned: Restarted  # the same, if every formal demand so far came back
    lines: Mapping[str, bool]  # per number called: out of service at its latest attempt
    failed_calls: int  # collector calls to the borrower in a row, none connected
    failed_days: tuple[int, ...]  # the newest local days holding the n-th or later of them
    third_parties_ceased: Mapping[str, frozenset[Channel]]  # relation -> channels stopped

    def replace(self, **changes: Any) -> Folded:
        """``_replace`` at a third less: the fold copies one of these on every event, and
        ``_replace`` walks every field by name. For the hottest reducers; the others keep
        ``_replace``, whose field names and types mypy checks."""
        values = list(self)
        for name, value in changes.items():
            values[_FOLDED_AT[name]] = value
        return _new_folded(values)


_FOLDED_AT = {name: i for i, name in enumerate(Folded._fields)}
_new_folded: Callable[[list[Any]], Folded] = partial(tuple.__new__, Folded)


@dataclass(frozen=True, slots=True)
class Profile:
    """What a case's rules read of its loan and borrower, worked out once when it opens."""

    loan_id: str
    borrower_id: str
    currency: str
    schedule: Schedule
    days_zone: str  # the borrower's calendar: days past due and day counters
    work_phones: frozenset[str]
    keep_days: int  # local days of contacts the counters of its policy can read


class Case:
    """A loan in collection and everything that has happened to it.

    Public: ``loan``, ``borrower``, ``policy`` (the fingerprint of the policy
    it was opened under), ``version`` (the number of events applied), ``stage``
    and ``bureau`` as of the last event, ``as_of`` (that event's instant),
    ``zones`` (the zones whose local time a contact must respect) and
    ``events`` (those applied since the case was opened or restored). Ask the
    engine for the state at a later instant: ``engine.state(case, at=...)``.

    Made by the engine only (``open_case``, ``decide``, ``restore``).
    """

    __slots__ = (
        "_base",
        "_base_version",
        "_borrower",
        "_breaches",
        "_facts",
        "_last",
        "_log",
        "_profile",
        "_s",
        "_sources",
        "policy",
        "version",
    )

    policy: str
    version: int
    _s: Folded
    _profile: Profile
    _base: Folded  # the fold when the case was opened or restored
    _base_version: int
    _log: Link[Event] | None  # events since the base, newest first, in the order applied
    _breaches: Link[Decision] | None
    _facts: object  # the facts of the last two local days asked about (a cache, see _guards)
    _last: dt.datetime | None  # ``as_of`` in UTC, once asked for (see ``_as_of_utc``)
    _sources: tuple[Loan | Callable[[], Loan], Borrower | Callable[[], Borrower]]

    def __init__(self) -> None:  # pragma: no cover - the engine builds cases with _new
        raise TypeError("cases are made by an Engine: engine.open_case(loan, borrower)")

    @classmethod
    def _new(
        cls,
        *,
        policy: str,
        version: int,
        state: Folded,
        profile: Profile,
        base: Folded,
        base_version: int,
        log: Link[Event] | None,
        breaches: Link[Decision] | None,
        sources: tuple[Loan | Callable[[], Loan], Borrower | Callable[[], Borrower]],
    ) -> Case:
        case = object.__new__(cls)
        case.policy = policy
        case.version = version
        case._s = state
        case._profile = profile
        case._base = base
        case._base_version = base_version
        case._log = log
        case._breaches = breaches
        case._facts = None
        case._last = None
        case._sources = sources
        return case

    def _as_of_utc(self) -> dt.datetime | None:
        """``as_of`` in UTC: the engine compares instants in UTC (an instant of another zone
        compares at several times the cost). Worked out once per case."""
        last = self._last
        if last is None and self._s.as_of is not None:
            last = self._last = self._s.as_of.astimezone(dt.UTC)
        return last

    def _with(
        self,
        state: Folded,
        *,
        event: Event | None = None,
        breach: Decision | None = None,
    ) -> Case:
        """This case with a new fold, and the event that made it (if one was applied)."""
        case = object.__new__(Case)  # ``_new``, without its keywords: once an event
        case.policy = self.policy
        case.version = self.version + (event is not None)
        case._s = state
        case._profile = self._profile
        case._base = self._base
        case._base_version = self._base_version
        case._log = self._log if event is None else push(self._log, event)
        case._breaches = self._breaches if breach is None else push(self._breaches, breach)
        case._facts = None
        case._last = None
        case._sources = self._sources
        return case

    # -- what a caller reads ---------------------------------------------------------------

    @property
    def loan(self) -> Loan:
        source = self._sources[0]
        if isinstance(source, Loan):
            return source
        loan = source()  # a restored case validates its loan when first asked for it
        self._sources = (loan, self._sources[1])
        return loan

    @property
    def borrower(self) -> Borrower:
        source = self._sources[1]
        if isinstance(source, Borrower):
            return source
        borrower = source()
        self._sources = (self._sources[0], borrower)
        return borrower

    @property
    def loan_id(self) -> str:
        """The case's id (its loan's), without building the loan of a restored case."""
        return self._profile.loan_id

    @property
    def borrower_id(self) -> str:
        return self._profile.borrower_id

    @property
    def days_zone(self) -> str:
        """The borrower's calendar: the zone whose local dates count days past due and the
        counters' days (the first zone of the borrower, or the policy's home zone)."""
        return self._profile.days_zone

    @property
    def stage(self) -> Stage:
        return self._s.stage

    @property
    def bureau(self) -> BureauStatus:
        return self._s.bureau

    @property
    def as_of(self) -> dt.datetime | None:
        return self._s.as_of

    @property
    def zones(self) -> tuple[str, ...]:
        """The zones a contact's local time must hold in: the borrower's, or as they stated."""
        return self._s.zones

    @property
    def events(self) -> tuple[Event, ...]:
        """The events applied since the case was opened or restored, in the order applied."""
        if self._log is None:
            return ()
        return tuple(reversed(tuple(self._log)))

    @property
    def restored(self) -> bool:
        """True when the case was restored from a snapshot (its early events are in the store)."""
        return self._base_version > 0

    @property
    def breaches(self) -> tuple[Decision, ...]:
        """Contacts and actions recorded although the rules refused them, with the decision."""
        if self._breaches is None:
            return ()
        return tuple(reversed(tuple(self._breaches)))

    def frozen_spans(self) -> tuple[tuple[dt.date, dt.date | None], ...]:
        """Local-date spans ``[start, end)`` during which a hold stopped the DPD clock."""
        return tuple((span.start, span.end) for span in self._s.frozen)

    def __len__(self) -> int:
        return self.version

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Case):
            return NotImplemented
        from staged_collection._snapshot import folded_form

        return (
            self.policy == other.policy
            and self.version == other.version
            and self.loan == other.loan
            and self.borrower == other.borrower
            and folded_form(self) == folded_form(other)
        )

    def __hash__(self) -> int:
        return hash((self.policy, self._profile.loan_id, self.version))

    def __repr__(self) -> str:
        return (
            f"<Case loan={self._profile.loan_id!r} borrower={self._profile.borrower_id!r} "
            f"stage={self.stage} bureau={self.bureau} version={self.version}>"
        )

    def __reduce__(self) -> tuple[Callable[..., Case], tuple[Any, ...]]:
        return _unpickle, (
            self.policy,
            self.version,
            self._s,
            self._profile,
            self._base,
            self._base_version,
            self._log,
            self._breaches,
            (self.loan, self.borrower),
        )

    def __copy__(self) -> Case:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> Case:
        return self  # immutable

    def notices(
        self, kinds: frozenset[NoticeKind] | tuple[NoticeKind, ...]
    ) -> Iterator[NoticeState]:
        """The notices of ``kinds``, newest first within each kind."""
        for kind in kinds:
            yield from self._s.notices.get(kind, ())

    def all_notices(self) -> list[NoticeState]:
        """Every notice, oldest first."""
        return sorted((n for chain in self._s.notices.values() for n in chain), key=lambda n: n.at)

    def to_dict(self) -> dict[str, Any]:
        """The case as a document: loan, borrower and the events it holds.

        A restored case holds only the events since its snapshot; its earlier
        events live where the snapshot came from (the store).
        """
        from staged_collection.document import CaseDocument

        document = CaseDocument(
            policy=self.policy, loan=self.loan, borrower=self.borrower, events=self.events
        )
        return document.model_dump(mode="json")


def _unpickle(
    policy: str,
    version: int,
    state: Folded,
    profile: Profile,
    base: Folded,
    base_version: int,
    log: Link[Event] | None,
    breaches: Link[Decision] | None,
    sources: tuple[Loan, Borrower],
) -> Case:
    return Case._new(
        policy=policy,
        version=version,
        state=state,
        profile=profile,
        base=base,
        base_version=base_version,
        log=log,
        breaches=breaches,
        sources=sources,
    )
