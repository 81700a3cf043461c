"""A loan: its currency, principal and schedule of instalments.

Instalment amounts may be written bare (``"1000.00"``): they take the loan's
currency. Due dates are dates in the borrower's local calendar.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from staged_collection._iso8601 import LocalDate
from staged_collection._limits import MAX_INSTALLMENTS, Id
from staged_collection.money import Currency, Money, PositiveMoney

__all__ = ["Installment", "Loan"]


class Installment(BaseModel):
    """One scheduled repayment: what is due, and on which local date."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    due: LocalDate
    amount: PositiveMoney


class Loan(BaseModel):
    """A loan under collection. Instalments are sorted by due date, one per date."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Id
    currency: Currency
    principal: PositiveMoney
    opened: LocalDate
    installments: tuple[Installment, ...] = Field(min_length=1, max_length=MAX_INSTALLMENTS)

    @model_validator(mode="before")
    @classmethod
    def _bare_amounts_take_the_loan_currency(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("currency"), str):
            return data
        currency = data["currency"]
        data = dict(data)
        data["principal"] = _with_currency(data.get("principal"), currency)
        if isinstance(data.get("installments"), list | tuple):
            data["installments"] = [
                {**item, "amount": _with_currency(item.get("amount"), currency)}
                if isinstance(item, dict)
                else item
                for item in data["installments"]
            ]
        return data

    @field_validator("principal")
    @classmethod
    def _principal_in_loan_currency(cls, value: Money, info: ValidationInfo) -> Money:
        currency = info.data.get("currency")
        if currency is not None and value.currency != currency:
            raise ValueError(f"principal is in {value.currency}, the loan is in {currency}")
        return value

    @field_validator("installments")
    @classmethod
    def _schedule_is_consistent(
        cls, value: tuple[Installment, ...], info: ValidationInfo
    ) -> tuple[Installment, ...]:
        currency = info.data.get("currency")
        opened = info.data.get("opened")
        for i, item in enumerate(value):
            if currency is not None and item.amount.currency != currency:
                raise ValueError(
                    f"installments[{i}].amount is in {item.amount.currency}, "
                    f"the loan is in {currency}"
                )
            if opened is not None and item.due < opened:
                raise ValueError(
                    f"installments[{i}].due {item.due} is before the loan opened ({opened})"
                )
            if i and item.due <= value[i - 1].due:
                problem = "duplicates" if item.due == value[i - 1].due else "comes before"
                raise ValueError(
                    f"installments[{i}].due {item.due} {problem} installments[{i - 1}].due "
                    f"{value[i - 1].due}: list instalments once each, sorted by due date"
                )
        return value

    @property
    def total_due(self) -> Money:
        """The sum of every instalment: what paying in full means."""
        total = Money.zero(self.currency)
        for item in self.installments:
            total = total + item.amount
        return total


def _with_currency(value: object, currency: str) -> object:
    if isinstance(value, str) and " " not in value.strip():
        return {"amount": value, "currency": currency}
    if isinstance(value, int) and not isinstance(value, bool):
        return {"amount": value, "currency": currency}
    return value
