"""What happens to a case, as a discriminated union on ``type``.

Every event carries ``at``, an aware datetime; a naive one is refused. Amounts
may be bare strings when the validation context names the loan's currency
(``parse_event(data, currency="CNY")`` does this).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from staged_collection._iso8601 import Instant, LocalDate
from staged_collection._limits import (
    MAX_INCONVENIENT,
    MAX_INSTALLMENTS,
    MAX_RELATION_LENGTH,
    MAX_ZONES,
    Id,
)
from staged_collection._privacy import relation_kind
from staged_collection._trusted import trusted
from staged_collection.actions import (
    ContactAttempt,
    ContactFields,
    Escalate,
    LegalAction,
    Recall,
    Refer,
    Report,
    Settle,
    WriteOff,
    require_tag,
)
from staged_collection.borrower import LocalTimeRange, TimeZoneName
from staged_collection.loan import Installment
from staged_collection.money import PositiveMoney
from staged_collection.terms import (
    Channel,
    HoldKind,
    NoticeKind,
    Outcome,
    PlanKind,
    Recipient,
    Stage,
)

__all__ = [
    "EVENT_TYPES",
    "Acknowledgment",
    "Appointment",
    "Attorney",
    "Cease",
    "Consent",
    "Contact",
    "Dispute",
    "DisputeResolved",
    "Escalated",
    "Event",
    "ForbearanceAssessed",
    "Hold",
    "HoldLifted",
    "LegalActionTaken",
    "Notice",
    "Payment",
    "Plan",
    "PlanBroken",
    "Preference",
    "Promise",
    "Recalled",
    "Referred",
    "Reported",
    "Settlement",
    "Undeliverable",
    "WrittenOff",
    "parse_event",
]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra=require_tag)

    at: Instant
    recorded_at: Instant | None = Field(
        default=None, description="when the lender learned of it (kept, never judged)"
    )


class Payment(_Event):
    type: Literal["payment"] = "payment"
    amount: PositiveMoney


_CONTACT_FIELDS = tuple(ContactFields.model_fields)


class Contact(_Event, ContactFields):
    """A contact that happened, with its outcome."""

    type: Literal["contact"] = "contact"
    outcome: Outcome

    def attempt(self) -> ContactAttempt:
        """The attempt this contact was, as ``check`` would have been asked about it."""
        values = self.__dict__
        return trusted(
            ContactAttempt, **{name: values[name] for name in _CONTACT_FIELDS}, action="contact"
        )


class Promise(_Event):
    """A promise to pay ``amount`` by the local date ``due``."""

    type: Literal["promise"] = "promise"
    amount: PositiveMoney
    due: LocalDate


class Plan(_Event):
    """An agreed repayment plan; it performs while each of its instalments is met."""

    type: Literal["plan"] = "plan"
    kind: PlanKind
    installments: tuple[Installment, ...] = Field((), max_length=MAX_INSTALLMENTS)

    @model_validator(mode="after")
    def _sorted(self) -> Self:
        dues = [i.due for i in self.installments]
        if dues != sorted(set(dues)):
            raise ValueError("installments must be sorted by due date, one per date")
        return self


class PlanBroken(_Event):
    type: Literal["plan_broken"] = "plan_broken"


class Notice(_Event):
    """A notice sent to the borrower (``delivered`` false if it is known not to arrive).

    ``method``: how it was sent (``post``, ``hand``, ``electronic``; none: the policy's
    default for its kind). ``served_on``: the local date it was served, when known; it
    overrides what the method implies.
    """

    type: Literal["notice"] = "notice"
    kind: NoticeKind
    delivered: bool = True
    remedy_date: LocalDate | None = None
    method: Literal["post", "hand", "electronic"] | None = None
    served_on: LocalDate | None = None


class Undeliverable(_Event):
    """A notice of ``kind`` came back undelivered: every one sent before now no longer counts."""

    type: Literal["undeliverable"] = "undeliverable"
    kind: NoticeKind


class Dispute(_Event):
    type: Literal["dispute"] = "dispute"
    written: bool = True


class DisputeResolved(_Event):
    type: Literal["dispute_resolved"] = "dispute_resolved"


_HoldKind = Literal[
    HoldKind.BANKRUPTCY,
    HoldKind.HARDSHIP,
    HoldKind.BREATHING_SPACE,
    HoldKind.DECEASED,
    HoldKind.CAPACITY,
    HoldKind.COMPLAINT,
]


class Hold(_Event):
    """A hold, active from ``at``; with ``until`` (a local date) it ends after that date, else
    at ``hold_lifted``. ``starts_on``: day 1 of a moratorium counted in days (a breathing
    space), when it is not the day the policy says."""

    type: Literal["hold"] = "hold"
    kind: _HoldKind
    until: LocalDate | None = None
    starts_on: LocalDate | None = None


class HoldLifted(_Event):
    type: Literal["hold_lifted"] = "hold_lifted"
    kind: _HoldKind


def _cease_schema(schema: dict[str, Any]) -> None:
    require_tag(schema)
    # A relation exactly when a third party asks: the model's own rule, as the schema says it.
    schema["if"] = {
        "properties": {"recipient": {"const": "third_party"}},
        "required": ["recipient"],
    }
    schema["then"] = {
        "required": ["relation"],
        "properties": {"relation": {"not": {"type": "null"}}},
    }
    schema["else"] = {"properties": {"relation": {"type": "null"}}}


class Cease(_Event):
    """Stop contacting on these channels; an empty list means every channel.

    By default the borrower asks; with ``recipient: third_party`` it is the third
    party named by ``relation`` who asks not to be contacted again.
    """

    model_config = ConfigDict(json_schema_extra=lambda schema: _cease_schema(schema))

    type: Literal["cease"] = "cease"
    channels: tuple[Channel, ...] = Field((), max_length=len(Channel))
    recipient: Recipient = Recipient.BORROWER
    relation: str | None = Field(default=None, min_length=1, max_length=MAX_RELATION_LENGTH)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # The relation may name a person (personal data): the repr gives its category only.
        for name, value in super().__repr_args__():
            if name == "relation" and value is not None:
                value = str(relation_kind(value))
            yield name, value

    @model_validator(mode="after")
    def _a_third_party_is_named(self) -> Self:
        if self.recipient is Recipient.THIRD_PARTY and self.relation is None:
            raise ValueError("relation: required when recipient is third_party")
        if self.recipient is Recipient.BORROWER and self.relation is not None:
            raise ValueError("relation: only for recipient third_party")
        return self


class Acknowledgment(_Event):
    """The borrower acknowledged the debt in writing (it restarts a UK limitation period)."""

    type: Literal["acknowledgment"] = "acknowledgment"


class Preference(_Event):
    """What the borrower stated: inconvenient local times, zones they may be in, work."""

    type: Literal["preference"] = "preference"
    inconvenient: tuple[LocalTimeRange, ...] | None = Field(None, max_length=MAX_INCONVENIENT)
    timezones: tuple[TimeZoneName, ...] | None = Field(None, max_length=MAX_ZONES)
    no_work_contact: bool | None = None


class Consent(_Event):
    """Direct prior consent to be contacted on ``channel`` until the instant ``until``."""

    type: Literal["consent"] = "consent"
    channel: Channel
    until: Instant

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> Self:
        if self.until <= self.at:
            raise ValueError(f"until {self.until} is not after at {self.at}")
        return self


class Attorney(_Event):
    """The borrower is represented by an attorney with respect to the debt."""

    type: Literal["attorney"] = "attorney"


class Appointment(_Event):
    """A field visit booked with the borrower for ``visit_at``."""

    type: Literal["appointment"] = "appointment"
    visit_at: Instant


class Escalated(_Event):
    type: Literal["escalate"] = "escalate"
    to: Literal[Stage.NEGOTIATION, Stage.FORMAL]

    def action(self) -> Escalate:
        return trusted(Escalate, action="escalate", to=self.to)


class Referred(_Event):
    type: Literal["refer"] = "refer"
    agency: Id
    evaluated_on: LocalDate | None = None

    def action(self) -> Refer:
        return trusted(Refer, action="refer", agency=self.agency, evaluated_on=self.evaluated_on)


class Recalled(_Event):
    """The agency placement ends; the case returns to ``formal``."""

    type: Literal["recall"] = "recall"

    def action(self) -> Recall:
        return trusted(Recall, action="recall")


class Reported(_Event):
    type: Literal["report"] = "report"

    def action(self) -> Report:
        return trusted(Report, action="report")


class LegalActionTaken(_Event):
    type: Literal["legal_action"] = "legal_action"

    def action(self) -> LegalAction:
        return trusted(LegalAction, action="legal_action")


class ForbearanceAssessed(_Event):
    type: Literal["forbearance_assessed"] = "forbearance_assessed"


class Settlement(_Event):
    """The lender accepts ``amount`` in full and final settlement."""

    type: Literal["settle"] = "settle"
    amount: PositiveMoney

    def action(self) -> Settle:
        return trusted(Settle, action="settle")


class WrittenOff(_Event):
    type: Literal["write_off"] = "write_off"

    def action(self) -> WriteOff:
        return trusted(WriteOff, action="write_off")


Event = Annotated[
    Payment
    | Contact
    | Promise
    | Plan
    | PlanBroken
    | Notice
    | Undeliverable
    | Dispute
    | DisputeResolved
    | Hold
    | HoldLifted
    | Cease
    | Preference
    | Consent
    | Attorney
    | Appointment
    | Escalated
    | Referred
    | Recalled
    | Reported
    | LegalActionTaken
    | ForbearanceAssessed
    | Settlement
    | WrittenOff
    | Acknowledgment,
    Field(discriminator="type"),
]
"""Any event, told apart by its ``type``."""

# A contact's number and relation are personal data: errors do not quote the input.
_EVENT: TypeAdapter[Event] = TypeAdapter(
    Event, config=ConfigDict(title="Event", hide_input_in_errors=True)
)

EVENT_TYPES: dict[str, type[BaseModel]] = {
    model.model_fields["type"].default: model for model in get_args(get_args(Event)[0])
}
"""Every event model by its ``type``, read from the ``Event`` union: the one list."""


def parse_event(data: Any, *, currency: str | None = None) -> Event:
    """Validate one event from JSON-like data; bare amounts take ``currency``."""
    context = {"currency": currency} if currency else None
    if isinstance(data, str | bytes):
        return _EVENT.validate_json(data, context=context)
    return _EVENT.validate_python(data, context=context)
