"""The case document: a case's policy, loan, borrower and events as one validated model.

The one shape of a case on disk and on the wire: the command line's case files,
the case part of a scenario, and ``Case.to_dict()``. Its JSON Schema is published
in ``docs/case.schema.json``. Bare amounts (``"500.00"``) in the events take the
loan's currency, as they do in scenarios.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from staged_collection.borrower import Borrower
from staged_collection.events import Event
from staged_collection.loan import Loan

__all__ = ["CaseDocument"]


class CaseDocument(BaseModel):
    """A case as a document: what it is under, what is owed, by whom, and what happened."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="Case")

    policy: str | None = Field(
        default=None,
        description=(
            "A preset (cn, us, uk), a policy file beside the document, or the fingerprint of "
            "the policy a case was opened under (as Case.to_dict writes it)"
        ),
    )
    loan: Loan
    borrower: Borrower
    events: tuple[Event, ...] = Field(default=(), description="in the order they happened")

    @classmethod
    def read(cls, data: Any) -> CaseDocument:
        """A document from a mapping or JSON text; bare event amounts take the loan's currency."""
        if isinstance(data, str | bytes):
            import json

            data = json.loads(data)
        currency = None
        if isinstance(data, dict) and isinstance(data.get("loan"), dict):
            found = data["loan"].get("currency")
            currency = found if isinstance(found, str) else None
        return cls.model_validate(data, context={"currency": currency} if currency else None)
