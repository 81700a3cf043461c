"""The shape of the two tracks: which moves exist, from where, to where.

Plain data, read by the guards (is there such a move at all?) and compiled
into the state machine. Whether a move that exists is allowed *now* is the
guards' business, not this table's.
"""

from __future__ import annotations

from dataclasses import dataclass

from staged_collection.terms import LADDER, BureauStatus, Stage

__all__ = ["BUREAU_EDGES", "Edge", "ladder_edges"]

_OPEN = LADDER  # the stages a case can still move from
_DELINQUENT = LADDER[1:]


@dataclass(frozen=True, slots=True)
class Edge:
    """A move: ``trigger`` takes a case from ``source`` to ``dest`` (plain state names)."""

    trigger: str
    source: str
    dest: str
    automatic: bool = False
    skip: bool = False

    def __post_init__(self) -> None:
        # Plain strings: the state machine names an Enum state by its ``name``.
        object.__setattr__(self, "source", str(self.source))
        object.__setattr__(self, "dest", str(self.dest))


def ladder_edges(skip_allowed: bool) -> tuple[Edge, ...]:
    """Every move on the collection ladder under a policy."""
    s = Stage
    edges = [
        Edge("overdue", s.CURRENT, s.REMINDER, automatic=True),
        Edge("escalate_negotiation", s.REMINDER, s.NEGOTIATION),
        Edge("escalate_formal", s.NEGOTIATION, s.FORMAL),
        Edge("refer", s.FORMAL, s.THIRD_PARTY),
        Edge("recall", s.THIRD_PARTY, s.FORMAL),
    ]
    if skip_allowed:
        edges += [
            Edge("escalate_formal", s.REMINDER, s.FORMAL, skip=True),
            Edge("refer", s.REMINDER, s.THIRD_PARTY, skip=True),
            Edge("refer", s.NEGOTIATION, s.THIRD_PARTY, skip=True),
        ]
    edges += [Edge("cure", stage, s.CURRENT, automatic=True) for stage in _DELINQUENT]
    edges += [Edge("resolve", stage, s.RESOLVED, automatic=True) for stage in _OPEN]
    edges += [Edge("settle", stage, s.SETTLED) for stage in _OPEN]
    edges += [Edge("write_off", stage, s.WRITTEN_OFF) for stage in _DELINQUENT]
    return tuple(edges)


_b = BureauStatus
BUREAU_EDGES: tuple[Edge, ...] = (
    Edge("send_notice", _b.NOT_REPORTED, _b.NOTICE_SENT, automatic=True),
    Edge("notice_returned", _b.NOTICE_SENT, _b.NOT_REPORTED, automatic=True),
    Edge("report", _b.NOT_REPORTED, _b.REPORTED),
    Edge("report", _b.NOTICE_SENT, _b.REPORTED),
    Edge("report", _b.UPDATED, _b.REPORTED),
    Edge("update", _b.REPORTED, _b.UPDATED, automatic=True),
)
"""Every move on the credit-bureau track."""
