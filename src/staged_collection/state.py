"""What ``Engine.state`` and ``Engine.explain`` answer: a case at an instant, and why."""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from staged_collection.decision import Decision
from staged_collection.money import Money
from staged_collection.rules import DutyCode
from staged_collection.terms import BureauStatus, HoldKind, Stage

__all__ = ["CaseState", "Duty", "Explanation", "MoveRecord"]


class Duty(BaseModel):
    """Something the lender must do by ``due``: open at the instant asked about.

    ``due`` is the instant the deadline day ends (the next local midnight in the
    borrower's zone); ``overdue`` is true from then on. ``details`` say what opened
    it (``opened_on``) and, for a deadline counted on a calendar past the year it is
    known, ``provisional: "true"``. A duty never blocks an action.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: DutyCode
    citation: str
    due: AwareDatetime
    overdue: bool
    details: dict[str, str] = Field(default_factory=dict)
    layer: str = ""

    def __str__(self) -> str:
        late = "overdue since" if self.overdue else "due by"
        return f"{self.code}: {late} {self.due.isoformat()} [{self.citation}]"


class CaseState(BaseModel):
    """A case as of ``at``, after the automatic moves due by then.

    ``duties``: the duties open at ``at``, oldest deadline first.
    ``validation_period_ends``: the end of the validation period (US) of the first
    delivered validation notice; ``None`` before any, or where the policy has none.
    """

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
    duties: tuple[Duty, ...] = ()
    validation_period_ends: AwareDatetime | None = None


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
