"""What ``Engine.state`` and ``Engine.explain`` answer: a case at an instant, and why."""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, ConfigDict

from staged_collection.decision import Decision
from staged_collection.money import Money
from staged_collection.terms import BureauStatus, HoldKind, Stage

__all__ = ["CaseState", "Explanation", "MoveRecord"]


class CaseState(BaseModel):
    """A case as of ``at``, after the automatic moves due by then."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: AwareDatetime
    loan_id: str
    stage: Stage
    bureau: BureauStatus
    bureau_disputed: bool
    holds: tuple[HoldKind, ...]
    dpd: int
    overdue: Money
    balance: Money
    placed_with: str | None
    promise_due: dt.date | None
    plan_performing: bool


class MoveRecord(BaseModel):
    """A move the case made: when, on which track, by which trigger."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: AwareDatetime
    track: str
    trigger: str
    source: str
    dest: str


class Explanation(BaseModel):
    """Why a case is where it is: its state, the moves that got it there, what is next."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state: CaseState
    reasons: tuple[str, ...]
    moves: tuple[MoveRecord, ...]
    next: tuple[Decision, ...]

    def __str__(self) -> str:
        return "\n".join(self.reasons)
