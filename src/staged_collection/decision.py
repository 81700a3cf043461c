"""Decisions: whether an action is allowed at an instant, and every reason it is not.

A ``Decision`` is one line of the decision log (``decision.to_log_line()``).
Personal data in it (the number a contact used, a third party's relation) is
masked by default; ``to_log_line(reveal=True)`` writes full values, and such a
line reads back equal (``Decision.model_validate_json``). See ``docs/privacy.md``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SerializationInfo,
    computed_field,
    field_serializer,
    model_validator,
)

from staged_collection._iso8601 import Instant
from staged_collection._limits import (
    MAX_CITED_LENGTH,
    MAX_DETAILS,
    MAX_MESSAGE_LENGTH,
    MAX_VERSION,
    MAX_VIOLATIONS,
    Id,
)
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
    ``layer`` is the preset or policy file whose rule refused it (``us``,
    ``ny.yaml``); several, ``; ``-joined, when several rules refused together.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: RuleCode
    message: str = Field(max_length=MAX_MESSAGE_LENGTH)
    citation: str = Field(max_length=MAX_CITED_LENGTH)
    retry_at: Instant | None = None
    details: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=256)]] = (
        Field(default_factory=dict, max_length=MAX_DETAILS)
    )
    layer: str = Field(default="", max_length=MAX_CITED_LENGTH)

    def __str__(self) -> str:
        return f"{self.code}: {self.message} [{self.citation}]"


def _decision_schema(schema: dict[str, Any]) -> None:
    # Allowed exactly when there is no violation.
    schema["if"] = {"properties": {"allowed": {"const": True}}}
    schema["then"] = {"properties": {"violations": {"maxItems": 0}}}
    schema["else"] = {"properties": {"violations": {"minItems": 1}}, "required": ["violations"]}
    # A log line carries the id (a computed field); reading one back checks it.
    schema.setdefault("properties", {})["decision_id"] = {
        "type": "string",
        "pattern": "^[0-9a-f]{32}$",
        "description": "a hash of the case id, the version, the instant and the request",
    }


class Decision(BaseModel):
    """The engine's answer for one action on one case at one instant.

    ``version`` is the case's version the decision judged (the number of events
    applied before it), and ``decision_id`` a hash of the case id (the loan id),
    that version, the request and its instant: a log line names the exact state
    it judged, and the same question asked of the same state has the same id.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra=_decision_schema)

    allowed: bool
    request: ActionRequest
    at: Instant
    policy: str = Field(description="the policy fingerprint", min_length=1, max_length=128)
    loan_id: Id
    borrower_id: Id
    version: int = Field(
        default=0, ge=0, le=MAX_VERSION, description="the case version the decision judged"
    )
    stage: Stage
    violations: tuple[Violation, ...] = Field((), max_length=MAX_VIOLATIONS)
    _id: str | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _check_the_id(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        # A log line carries its decision_id; reading it back recomputes it, and a
        # line whose id does not match what it says was edited.
        said = None
        if isinstance(data, dict) and "decision_id" in data:
            data = dict(data)
            said = data.pop("decision_id")
        decision = handler(data)
        if said is not None and said != decision.decision_id:
            raise ValueError(f"decision_id {said!r} does not match the decision it is on")
        return decision

    @model_validator(mode="after")
    def _allowed_means_no_violation(self) -> Self:
        if self.allowed == bool(self.violations):
            raise ValueError("allowed must be true exactly when there is no violation")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def decision_id(self) -> str:
        """A hash of the case id, the version, the request and its instant (32 hex digits)."""
        private = self.__pydantic_private__
        found = None if private is None else private.get("_id")
        if found is None:
            at = self.at.astimezone(dt.UTC).isoformat()
            # The request as the log writes it (masked): the id names the line, and a
            # hash of a full phone number would let anyone holding the log test guesses.
            data = self.request.model_dump(mode="json")
            if isinstance(self.request, ContactAttempt):
                data = mask_contact(data, None)
            request = json.dumps(data, sort_keys=True)
            text = f"{self.loan_id}\x1f{self.version}\x1f{at}\x1f{request}"
            found = hashlib.sha256(text.encode()).hexdigest()[:32]
            if private is not None:
                private["_id"] = found
        return found

    def __eq__(self, other: object) -> bool:
        # Equal decisions have equal fields; the cached id is not a field.
        if not isinstance(other, Decision):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # violations carry dictionaries

    @property
    def case_id(self) -> str:
        """The case the decision is about: a case is identified by its loan id."""
        return self.loan_id

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
