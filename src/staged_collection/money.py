"""Money: a ``Decimal`` amount with its ISO 4217 currency; never a float.

``Money`` is read from ``{"amount": "12.50", "currency": "CNY"}``, from
``"12.50 CNY"``, or from a bare ``"12.50"`` when the validation context names
the currency (``context={"currency": "CNY"}``): this is how a loan's
instalments and a scenario's events take the loan's currency.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationInfo
from pydantic import model_validator as _model_validator

from staged_collection._iso4217 import MINOR_UNITS
from staged_collection.errors import CurrencyMismatchError

__all__ = ["Currency", "Money"]


def _check_currency(code: str) -> str:
    if code not in MINOR_UNITS:
        raise ValueError(f"{code!r} is not an active ISO 4217 currency code")
    return code


Currency = Annotated[str, AfterValidator(_check_currency)]
"""An active ISO 4217 alphabetic code, upper case (``CNY``, ``USD``, ``GBP``)."""


def _to_decimal(value: object) -> object:
    # Refuse floats before pydantic's lax mode turns 0.1 into 0.1000000000000000055...
    if isinstance(value, bool | float):
        raise ValueError(
            f"money amounts must be decimal strings or integers, not {type(value).__name__}: "
            f"write {str(value)!r} in quotes"
        )
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
    return value


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite amount")
    return value


Amount = Annotated[Decimal, BeforeValidator(_to_decimal), AfterValidator(_finite)]


class Money(BaseModel):
    """An amount of one currency. Arithmetic and comparison refuse mixed currencies."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Amount
    currency: Currency

    @_model_validator(mode="before")
    @classmethod
    def _from_short_forms(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, bool | float):
            _to_decimal(data)  # raises the message that says what to write instead
        if isinstance(data, str) and " " in data.strip():
            amount, _, code = data.strip().rpartition(" ")
            return {"amount": amount, "currency": code}
        if isinstance(data, str | int | Decimal) and not isinstance(data, bool):
            currency = (info.context or {}).get("currency")
            if currency is None:
                raise ValueError(
                    f"{data!r} has no currency: write {{amount: {str(data)!r}, currency: ...}}"
                    " or '<amount> <CODE>'"
                )
            return {"amount": data, "currency": currency}
        return data

    @_model_validator(mode="after")
    def _within_minor_units(self) -> Self:
        places = MINOR_UNITS[self.currency]
        exponent = self.amount.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            raise ValueError(
                f"{self.amount} has more decimal places than {self.currency} allows ({places})"
            )
        return self

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Nothing, written to the currency's minor unit (``0.00 CNY``, ``0 JPY``)."""
        places = MINOR_UNITS[_check_currency(currency)]
        return cls(amount=Decimal(0).scaleb(-places), currency=currency)

    def _same(self, other: Money, op: str) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                "currency", other.currency, f"cannot {op} {other} and {self}: currencies differ"
            )

    def __add__(self, other: Money) -> Money:
        self._same(other, "add")
        return Money.model_construct(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other, "subtract")
        return Money.model_construct(amount=self.amount - other.amount, currency=self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other, "compare")
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other, "compare")
        return self.amount <= other.amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def __repr__(self) -> str:
        return f"Money('{self.amount} {self.currency}')"


def _positive(value: Money) -> Money:
    if value.amount <= 0:
        raise ValueError(f"must be greater than zero, got {value}")
    return value


PositiveMoney = Annotated[Money, AfterValidator(_positive)]
"""Money that must be more than zero: an instalment, a payment, a promise."""
