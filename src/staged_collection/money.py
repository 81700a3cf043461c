"""Money: a ``Decimal`` amount with its ISO 4217 currency; never a float.

``Money`` is read from ``{"amount": "12.50", "currency": "CNY"}``, from
``"12.50 CNY"``, or from a bare ``"12.50"`` when the validation context names
the currency (``context={"currency": "CNY"}``): this is how a loan's
instalments and a scenario's events take the loan's currency.

An amount has at most 18 significant digits, minor units included (it fits SQL
``NUMERIC(18, s)`` and Arrow ``decimal128(18, s)`` with ``s`` the currency's minor
unit), and no more decimal places than the currency has: nothing is ever rounded.
Its JSON is a decimal string (``"12.50"``), never a float or an exponent.
"""

from __future__ import annotations

import copy
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetJsonSchemaHandler,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic import model_validator as _model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from staged_collection._iso4217 import MINOR_UNITS
from staged_collection._limits import MAX_AMOUNT_DIGITS, MAX_NUMBER_TEXT
from staged_collection.errors import CurrencyMismatchError

__all__ = ["Currency", "Money"]


def _check_currency(code: str) -> str:
    if code not in MINOR_UNITS:
        raise ValueError(f"{code!r} is not an active ISO 4217 currency code")
    return code


_CODES = sorted(MINOR_UNITS)

Currency = Annotated[
    str,
    AfterValidator(_check_currency),
    WithJsonSchema({"type": "string", "enum": _CODES}),
]
"""An active ISO 4217 alphabetic code, upper case (``CNY``, ``USD``, ``GBP``)."""

_TOO_LONG = f"an amount has at most {MAX_AMOUNT_DIGITS} significant digits"


def _to_decimal(value: object) -> object:
    # Refuse floats before pydantic's lax mode turns 0.1 into 0.1000000000000000055...
    if isinstance(value, bool | float):
        raise ValueError(
            f"money amounts must be decimal strings or integers, not {type(value).__name__}: "
            f"write {str(value)!r} in quotes"
        )
    # Bound the size before converting: Decimal("1E+1000000") is cheap, but what it
    # feeds (an int, a quantize, a sum) is not, and past 28 digits arithmetic rounds.
    if isinstance(value, str):
        if len(value) > MAX_NUMBER_TEXT:
            raise ValueError(f"{_TOO_LONG}, not a text of {len(value)} characters")
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= 10**MAX_AMOUNT_DIGITS:
            raise ValueError(_TOO_LONG)
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite amount")
        if value.adjusted() >= MAX_AMOUNT_DIGITS:
            digits = value.adjusted() + 1
            raise ValueError(f"{_TOO_LONG}: {value:E} has {digits} digits before the point")
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent > 0:
            value = value.quantize(Decimal(1))  # 1E+3 is written 1000
    return value


def _amount_pattern(places: int, positive: bool = False) -> str:
    """An amount with at most ``places`` decimals and 18 digits in all, as a decimal string."""
    digits = MAX_AMOUNT_DIGITS - places
    fraction = f"(\\.[0-9]{{1,{places}}})?" if places else ""
    if not positive:
        return f"^-?(0|[1-9][0-9]{{0,{digits - 1}}}){fraction}$"
    # More than zero, without a lookahead: a non-zero whole part, or 0. and a non-zero digit.
    small = "|".join(
        "0" * k + "[1-9]" + (f"[0-9]{{0,{places - 1 - k}}}" if k < places - 1 else "")
        for k in range(places)
    )
    return (
        f"^([1-9][0-9]{{0,{digits - 1}}}{fraction}" + (f"|0\\.({small})" if places else "") + ")$"
    )


Amount = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    WithJsonSchema({"type": "string", "pattern": _amount_pattern(max(MINOR_UNITS.values()))}),
]


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
        if self.amount.adjusted() >= MAX_AMOUNT_DIGITS - places:
            raise ValueError(
                f"{_TOO_LONG}, minor units included: {self.currency} amounts have at most "
                f"{MAX_AMOUNT_DIGITS - places} digits before the point"
            )
        return self

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler.resolve_ref_schema(handler(core_schema))
        _state_amounts(schema, handler.mode, positive=False)
        return schema

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
        return f"Money({str(self)!r})"

    def __init__(self, text: str | None = None, /, **data: Any) -> None:
        """``Money("12.50 CNY")``, or ``Money(amount=Decimal("12.50"), currency="CNY")``."""
        if text is not None:
            if data:
                raise TypeError("give Money either '<amount> <CODE>' or amount= and currency=")
            data = self.__pydantic_validator__.validate_python(text).__dict__
        super().__init__(**data)


def _codes_with(places: int) -> list[str]:
    return [code for code in _CODES if MINOR_UNITS[code] == places]


def _state_amounts(schema: JsonSchemaValue, mode: str, positive: bool) -> None:
    """Write the amount's constraints into a Money schema, in place.

    The object form's amount pattern goes by the currency's minor unit (if, else if...,
    else two places); in validation mode ``"<amount> <CODE>"`` is accepted too.
    """
    groups = sorted(set(MINOR_UNITS.values()))
    if mode == "validation":
        forms = [
            _amount_pattern(places, positive)[:-1] + f" ({'|'.join(_codes_with(places))})$"
            for places in groups
        ]
        short = {"type": "string", "pattern": "|".join(f"({form})" for form in forms)}
        schema["anyOf"] = [{"type": "object"}, short]
        schema.pop("type", None)
    schema["properties"]["amount"]["pattern"] = _amount_pattern(max(groups), positive)
    chain: JsonSchemaValue = {"properties": {"amount": {"pattern": _amount_pattern(2, positive)}}}
    for places in sorted(set(groups) - {2}, reverse=True):
        chain = {
            "if": {"type": "object", "properties": {"currency": {"enum": _codes_with(places)}}},
            "then": {"properties": {"amount": {"pattern": _amount_pattern(places, positive)}}},
            "else": chain,
        }
    schema.update(chain)


def _positive(value: Money) -> Money:
    if value.amount <= 0:
        raise ValueError(f"must be greater than zero, got {value}")
    return value


class _PositiveSchema:
    """Says "more than zero" in the JSON Schema, in the amount patterns themselves."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = copy.deepcopy(handler.resolve_ref_schema(handler(core_schema)))
        _state_amounts(schema, handler.mode, positive=True)
        schema["title"] = "PositiveMoney"
        return schema


PositiveMoney = Annotated[Money, AfterValidator(_positive), _PositiveSchema()]
"""Money that must be more than zero: an instalment, a payment, a promise."""
