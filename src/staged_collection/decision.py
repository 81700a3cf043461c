"""Decisions: whether an action is allowed at an instant, and every reason it is not.

A ``Decision`` is one line of the decision log (``decision.to_log_line()``).
Personal data in it (the number a contact used, a third party's relation) is
masked by default; ``to_log_line(reveal=True)`` writes full values, and such a
line reads back equal (``Decision.model_validate_json``). See ``docs/privacy.md``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    field_serializer,
    model_validator,
)

from staged_collection._iso8601 import Instant
from staged_collection._limits import MAX_DETAILS, MAX_MESSAGE_LENGTH, MAX_VIOLATIONS, Id
from staged_collection._privacy import MASK_KEY, REVEAL, mask_contact, masking
from staged_collection.actions import ActionRequest, ContactAttempt
from staged_collection.rules import RuleCode
from staged_collection.terms import Stage

__all__ = ["Decision", "Violation"]


class Violation(BaseModel):
    """One rule broken: its code, what is wrong, the law, and when it stops applying.

    ``retry_at`` is the earliest instant at which this rule alone would allow
    the action, when it can be computed from what the case knows; ``None``
    when it cannot (a cease, an open-ended hold) or when nothing ends it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: RuleCode
    message: str = Field(max_length=MAX_MESSAGE_LENGTH)
    citation: str = Field(max_length=MAX_MESSAGE_LENGTH)
    retry_at: Instant | None = None
    details: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=256)]] = (
        Field(default_factory=dict, max_length=MAX_DETAILS)
    )

    def __str__(self) -> str:
        return f"{self.code}: {self.message} [{self.citation}]"


class Decision(BaseModel):
    """The engine's answer for one action on one case at one instant."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={  # allowed exactly when there is no violation
            "if": {"properties": {"allowed": {"const": True}}},
            "then": {"properties": {"violations": {"maxItems": 0}}},
            "else": {"properties": {"violations": {"minItems": 1}}, "required": ["violations"]},
        },
    )

    allowed: bool
    request: ActionRequest
    at: Instant
    policy: str = Field(description="the policy fingerprint", min_length=1, max_length=128)
    loan_id: Id
    borrower_id: Id
    stage: Stage
    violations: tuple[Violation, ...] = Field((), max_length=MAX_VIOLATIONS)

    @model_validator(mode="after")
    def _allowed_means_no_violation(self) -> Self:
        if self.allowed == bool(self.violations):
            raise ValueError("allowed must be true exactly when there is no violation")
        return self

    @property
    def action(self) -> str:
        return self.request.action

    @property
    def codes(self) -> tuple[RuleCode, ...]:
        return tuple(v.code for v in self.violations)

    @property
    def retry_at(self) -> dt.datetime | None:
        """The latest ``retry_at`` of the violations, if every one of them has one."""
        times = [v.retry_at for v in self.violations]
        if not times or any(t is None for t in times):
            return None
        return max(t for t in times if t is not None)

    def summary(self) -> str:
        head = f"{self.action} on loan {self.loan_id} at {self.at.isoformat()}"
        if self.allowed:
            return f"{head}: allowed"
        return f"{head}: refused: " + "; ".join(str(v) for v in self.violations)

    def to_log_line(self, *, reveal: bool = False, key: bytes | None = None) -> str:
        """This decision as one line of JSON (no newline inside).

        The number and relation of a contact are masked (``+86***00``, ``parent``)
        unless ``reveal``; ``key`` adds a keyed hash to masked numbers, so that lines
        can be joined to the lender's records.
        """
        return self.model_dump_json(context={REVEAL: reveal, MASK_KEY: key})

    @field_serializer("request")
    def _without_personal_data(
        self, request: ActionRequest, info: SerializationInfo
    ) -> ActionRequest:
        hide, key = masking(info.context)
        if hide and isinstance(request, ContactAttempt):
            fields = {"number": request.number, "relation": request.relation}
            return request.model_copy(update=mask_contact(fields, key))
        return request
