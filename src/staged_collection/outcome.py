"""What ``Engine.decide`` answers: the case after an event, the decision, and revisions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from staged_collection.case import Case
from staged_collection.decision import Decision, Violation
from staged_collection.events import Event

__all__ = ["Outcome", "Revision"]


@dataclass(frozen=True, slots=True)
class Revision:
    """An action already taken that a late fact shows the rules would have refused.

    The action stays (it happened); the lender corrects it (a bureau report sent
    while a dispute was already on file, a call made during a hold).
    """

    event: Event
    decision: Decision  # the action judged again, with what the late fact now shows

    @property
    def at(self) -> dt.datetime:
        return self.event.at

    @property
    def violations(self) -> tuple[Violation, ...]:
        return self.decision.violations


@dataclass(frozen=True, slots=True)
class Outcome:
    """The case after ``Engine.decide``, and what was decided on the way.

    ``decision`` is the judgement of an action or a contact, allowed or refused
    (``None`` for a fact, which nothing judges); ``recorded`` whether the event
    was applied (a refused action is not, unless it was recorded as a breach);
    ``revisions`` the earlier actions a late fact would have refused.
    """

    case: Case
    decision: Decision | None
    recorded: bool
    revisions: tuple[Revision, ...] = ()
