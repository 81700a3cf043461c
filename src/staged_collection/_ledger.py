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

_ZERO = Decimal(0)


class Schedule:
    """A loan's instalments as due dates and running totals."""

    __slots__ = ("cum", "dues", "total")

    def __init__(self, loan: Loan) -> None:
        self.dues: tuple[dt.date, ...] = tuple(i.due for i in loan.installments)
        self.cum: tuple[Decimal, ...] = tuple(
            accumulate(i.amount.amount for i in loan.installments)
        )
        self.total: Decimal = self.cum[-1]

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
        i = self.oldest_unpaid(paid)
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
