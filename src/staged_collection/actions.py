"""What ``Engine.check`` is asked about: an action without a time.

A check names its moment separately (``at=``); the matching event (``Contact``,
``Escalated``, ...) records that the action happened, and ``Engine.apply``
checks it again before recording it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from staged_collection.terms import Channel, Initiator, Purpose, Recipient, Stage

__all__ = [
    "ActionRequest",
    "ContactAttempt",
    "ContactFields",
    "Escalate",
    "LegalAction",
    "Recall",
    "Refer",
    "Report",
    "Settle",
    "WriteOff",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ContactFields(_Frozen):
    """Who is contacted, how, by whom and why: shared by an attempt and a recorded contact."""

    channel: Channel
    recipient: Recipient = Recipient.BORROWER
    relation: str | None = Field(default=None, min_length=1)
    placed_by: str = Field(default="lender", min_length=1)
    number: str | None = Field(default=None, min_length=1)
    purpose: Purpose = Purpose.COLLECTION
    initiated_by: Initiator = Initiator.COLLECTOR
    at_work: bool = False
    collectors: int = Field(default=1, ge=1)

    @property
    def by_agency(self) -> bool:
        return self.placed_by != "lender"


class ContactAttempt(ContactFields):
    """A contact the collector is about to make."""

    action: Literal["contact"] = "contact"


class Escalate(_Frozen):
    """Move up the ladder to ``negotiation`` or ``formal``."""

    action: Literal["escalate"] = "escalate"
    to: Literal[Stage.NEGOTIATION, Stage.FORMAL]


class Refer(_Frozen):
    """Place the case with a third-party agency, last evaluated on ``evaluated_on``."""

    action: Literal["refer"] = "refer"
    agency: str = Field(min_length=1)
    evaluated_on: dt.date | None = None


class Report(_Frozen):
    """Furnish negative information to the credit bureau."""

    action: Literal["report"] = "report"


class LegalAction(_Frozen):
    """Start a suit or arbitration."""

    action: Literal["legal_action"] = "legal_action"


class WriteOff(_Frozen):
    """Write the debt off (a terminal stage)."""

    action: Literal["write_off"] = "write_off"


class Settle(_Frozen):
    """Accept a settlement (a terminal stage)."""

    action: Literal["settle"] = "settle"


class Recall(_Frozen):
    """End an agency placement; the case returns to ``formal``."""

    action: Literal["recall"] = "recall"


ActionRequest = Annotated[
    ContactAttempt | Escalate | Refer | Report | LegalAction | WriteOff | Settle | Recall,
    Field(discriminator="action"),
]
"""Any action, read from ``{"action": "escalate", "to": "formal"}`` and the like."""
