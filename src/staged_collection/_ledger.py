"""What is owed and since when: payments allocated oldest-first against the schedule.

Cumulative sums make every question O(log n) in the number of instalments:
the oldest instalment not fully paid is the first whose running total
exceeds what has been paid.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from decimal import Decimal
from itertools import accumulate

from staged_collection.loan import Loan

ZERO = Decimal(0)
_ZERO = ZERO
_SHARED: dict[Decimal, Decimal] = {}


def _shared(value: Decimal) -> Decimal:
    """One object for equal running totals across a book (bounded; a cache, not a registry)."""
    found = _SHARED.get(value)
    if found is None or str(found) != str(value):  # 1000.00 and 1E+3 are equal, not the same
        if len(_SHARED) >= 65536:
            _SHARED.clear()
        _SHARED[value] = found = value
    return found


class Schedule:
    """A loan's instalments as due dates and running totals."""

    __slots__ = ("cum", "dues", "total")

    def __init__(self, dues: tuple[dt.date, ...], amounts: tuple[Decimal, ...]) -> None:
        self.dues = dues
        self.cum: tuple[Decimal, ...] = tuple(_shared(c) for c in accumulate(amounts))
        self.total: Decimal = self.cum[-1]

    @classmethod
    def of(cls, loan: Loan) -> Schedule:
        return cls(
            tuple(i.due for i in loan.installments),
            tuple(i.amount.amount for i in loan.installments),
        )

    def amounts(self) -> tuple[Decimal, ...]:
        """Each instalment's amount, in order (the running totals taken apart)."""
        return tuple(b - a for a, b in zip((ZERO, *self.cum), self.cum, strict=False))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schedule):
            return NotImplemented
        return self.dues == other.dues and self.cum == other.cum

    def __hash__(self) -> int:
        return hash((self.dues, self.cum))

    def oldest_unpaid(self, paid: Decimal) -> int:
        """Index of the oldest instalment not fully paid (``len`` when all are)."""
        return bisect_right(self.cum, paid)

    def due_before(self, day: dt.date) -> Decimal:
        """What fell due on dates before ``day``."""
        k = bisect_left(self.dues, day)
        return self.cum[k - 1] if k else _ZERO

    def overdue(self, paid: Decimal, day: dt.date) -> Decimal:
        """What is overdue on local date ``day``: due before it and not paid."""
        return max(_ZERO, self.due_before(day) - paid)

    def balance(self, paid: Decimal) -> Decimal:
        return max(_ZERO, self.total - paid)

    def delinquent_since(self, paid: Decimal, day: dt.date) -> dt.date | None:
        """The due date of the oldest unpaid instalment, if it is before ``day``."""
        return self.missed(paid, day)

    def missed(self, paid: Decimal, day: dt.date, nth: int = 1) -> dt.date | None:
        """The due date of the ``nth`` oldest instalment not fully paid, if it is before
        ``day``: from the day after it, at least ``nth`` instalments are overdue at once."""
        i = self.oldest_unpaid(paid) + nth - 1
        if i < len(self.dues) and self.dues[i] < day:
            return self.dues[i]
        return None


def frozen_days(
    intervals: tuple[tuple[dt.date, dt.date | None], ...], after: dt.date, through: dt.date
) -> int:
    """Days in ``(after, through]`` covered by any of the date intervals ``[start, end)``.

    Overlapping intervals (two holds at once) count each day once.
    """
    lo_bound = after + dt.timedelta(days=1)
    hi_bound = through + dt.timedelta(days=1)
    clipped = sorted(
        (max(start, lo_bound), hi_bound if end is None else min(end, hi_bound))
        for start, end in intervals
    )
    total = 0
    reached = lo_bound
    for lo, hi in clipped:
        lo = max(lo, reached)
        if hi > lo:
            total += (hi - lo).days
            reached = hi
    return total


def dpd(
    schedule: Schedule,
    paid: Decimal,
    day: dt.date,
    frozen: tuple[tuple[dt.date, dt.date | None], ...] = (),
) -> int:
    """Days past due on local date ``day``: since the oldest unpaid due date, less frozen days."""
    since = schedule.delinquent_since(paid, day)
    if since is None:
        return 0
    days = (day - since).days
    if frozen:
        days -= frozen_days(frozen, since, day)
    return max(0, days)


def day_reaching(
    schedule: Schedule,
    paid: Decimal,
    frozen: tuple[tuple[dt.date, dt.date | None], ...],
    target: int,
) -> dt.date | None:
    """The local date on which DPD reaches ``target`` if nothing more is paid.

    ``None`` when nothing is overdue, or when a freeze with no known end stops
    the clock first. Frozen days push the date out; the loop settles because
    each pass can only add the frozen days of the stretch it added.
    """
    i = schedule.oldest_unpaid(paid)
    if i >= len(schedule.dues):
        return None
    since = schedule.dues[i]
    try:
        day = since + dt.timedelta(days=target)
        for _ in range(len(frozen) + 2):
            if any(end is None and start <= day for start, end in frozen):
                return None
            nxt = since + dt.timedelta(days=target + frozen_days(frozen, since, day))
            if nxt == day:
                return day
            day = nxt
    except OverflowError:
        return None
    return day
