"""What ``Engine.check`` is asked about: an action without a time.

A check names its moment separately (``at=``); the matching event (``Contact``,
``Escalated``, ...) records that the action happened, and ``Engine.apply``
checks it again before recording it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from staged_collection._iso8601 import LocalDate
from staged_collection._limits import MAX_NUMBER_LENGTH, MAX_RELATION_LENGTH, Collectors, Id
from staged_collection._privacy import mask_contact
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


def require_tag(schema: dict[str, Any]) -> None:
    """In a union member's JSON Schema, require its tag (``action``, ``type``) as parsing does."""
    for tag in ("action", "type"):
        if tag in schema.get("properties", {}):
            required = schema.setdefault("required", [])
            if tag not in required:
                required.append(tag)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra=require_tag)


class ContactFields(_Frozen):
    """Who is contacted, how, by whom and why: shared by an attempt and a recorded contact.

    ``number`` and ``relation`` are personal data: the repr shows the number masked
    and the relation by its category, and a validation error does not quote its input.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", hide_input_in_errors=True, json_schema_extra=require_tag
    )

    channel: Channel
    recipient: Recipient = Recipient.BORROWER
    relation: str | None = Field(default=None, min_length=1, max_length=MAX_RELATION_LENGTH)
    placed_by: Id = "lender"
    number: str | None = Field(default=None, min_length=1, max_length=MAX_NUMBER_LENGTH)
    purpose: Purpose = Purpose.COLLECTION
    initiated_by: Initiator = Initiator.COLLECTOR
    at_work: bool = False
    collectors: Collectors = 1

    @property
    def by_agency(self) -> bool:
        return self.placed_by != "lender"

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # No personal data in a repr (it ends up in logs and tracebacks).
        yield from mask_contact({k: v for k, v in super().__repr_args__() if k}, None).items()


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
    agency: Id
    evaluated_on: LocalDate | None = None


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
