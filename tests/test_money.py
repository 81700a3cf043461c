"""Money is a Decimal with an ISO 4217 currency; floats and mixed currencies are refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from staged_collection import CurrencyMismatchError, Money


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_float_amount_is_refused_with_a_hint(value: float) -> None:
    with pytest.raises(ValidationError) as info:
        Money.model_validate({"amount": value, "currency": "CNY"})
    error = info.value.errors()[0]
    assert error["loc"] == ("amount",)
    assert "not float" in error["msg"]


def test_a_bare_float_is_refused_too() -> None:
    with pytest.raises(ValidationError, match="not float"):
        Money.model_validate(12.5, context={"currency": "CNY"})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"amount": "12.50", "currency": "CNY"}, Money(amount=Decimal("12.50"), currency="CNY")),
        ("12.50 USD", Money(amount=Decimal("12.50"), currency="USD")),
        (7, Money(amount=Decimal(7), currency="GBP")),
        ("3", Money(amount=Decimal(3), currency="GBP")),
    ],
)
def test_short_forms(data: object, expected: Money) -> None:
    assert Money.model_validate(data, context={"currency": "GBP"}) == expected


def test_a_bare_amount_needs_a_currency() -> None:
    with pytest.raises(ValidationError, match="has no currency"):
        Money.model_validate("12.50")


@pytest.mark.parametrize("code", ["XYZ", "cny", "RMB", "EURO", ""])
def test_unknown_currency_codes_are_refused(code: str) -> None:
    with pytest.raises(ValidationError) as info:
        Money.model_validate({"amount": "1", "currency": code})
    assert info.value.errors()[0]["loc"] == ("currency",)


@pytest.mark.parametrize(
    ("amount", "currency"), [("1.001", "CNY"), ("1.5", "JPY"), ("0.0001", "KWD")]
)
def test_more_decimal_places_than_the_currency_has_are_refused(amount: str, currency: str) -> None:
    with pytest.raises(ValidationError, match="decimal places"):
        Money.model_validate({"amount": amount, "currency": currency})


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "abc"])
def test_non_numbers_are_refused(amount: str) -> None:
    with pytest.raises(ValidationError):
        Money.model_validate({"amount": amount, "currency": "USD"})


@given(
    st.decimals(min_value=-(10**9), max_value=10**9, places=2),
    st.decimals(min_value=-(10**9), max_value=10**9, places=2),
)
def test_arithmetic_is_exact(a: Decimal, b: Decimal) -> None:
    x, y = Money(amount=a, currency="USD"), Money(amount=b, currency="USD")
    assert (x + y).amount == a + b
    assert (x - y).amount == a - b
    assert (x < y) == (a < b)
    assert (x <= y) == (a <= b)


def test_mixed_currencies_are_refused() -> None:
    with pytest.raises(CurrencyMismatchError, match="currencies differ"):
        _ = Money(amount=Decimal(1), currency="USD") + Money(amount=Decimal(1), currency="GBP")
    with pytest.raises(CurrencyMismatchError):
        _ = Money(amount=Decimal(1), currency="USD") < Money(amount=Decimal(1), currency="GBP")


def test_zero_is_written_to_the_minor_unit() -> None:
    assert str(Money.zero("CNY")) == "0.00 CNY"
    assert str(Money.zero("JPY")) == "0 JPY"
    assert str(Money.zero("BHD")) == "0.000 BHD"


# -- bounds: 18 significant digits, refused before any costly conversion ----------------------


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("1E+1000000", "CNY"),
        ("1E+18", "JPY"),
        (10**18, "JPY"),
        (Decimal("1E+100000000"), "USD"),
        ("99999999999999999", "CNY"),  # 17 digits + 2 places = 19
        ("10000000000000000.00", "USD"),
        pytest.param("1" * 5000, "USD", id="5000-digit-text"),
        pytest.param(int("9" * 4000), "USD", id="4000-digit-int"),
    ],
)
def test_amounts_past_18_significant_digits_are_refused(amount: object, currency: str) -> None:
    with pytest.raises(ValidationError, match="18 significant digits"):
        Money.model_validate({"amount": amount, "currency": currency})


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("9999999999999999.99", "CNY"),
        ("-9999999999999999.99", "USD"),
        ("999999999999999999", "JPY"),
        ("99999999999999.9999", "CLF"),
    ],
)
def test_the_largest_amounts_that_fit_numeric_18_are_kept_exactly(
    amount: str, currency: str
) -> None:
    money = Money.model_validate({"amount": amount, "currency": currency})
    assert str(money.amount) == amount
    assert Money.model_validate_json(money.model_dump_json()) == money


def test_more_places_than_28_digits_are_refused_not_rounded() -> None:
    with pytest.raises(ValidationError, match="decimal places"):
        Money.model_validate({"amount": "1.00000000000000000000000000001", "currency": "USD"})


def test_an_exponent_is_written_out_in_full() -> None:
    money = Money.model_validate({"amount": "1.5E+3", "currency": "CNY"})
    assert money.model_dump(mode="json")["amount"] == "1500"


@given(st.decimals(min_value=-(10**16) + 1, max_value=10**16 - 1, places=2))
def test_every_amount_within_the_bounds_round_trips_through_json(amount: Decimal) -> None:
    money = Money(amount=amount, currency="USD")
    assert Money.model_validate_json(money.model_dump_json()) == money


# -- repr ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["500.00 CNY", "0 JPY", "-1.250 KWD"])
def test_the_repr_can_be_typed_back(text: str) -> None:
    money = Money(text)
    assert repr(money) == f"Money({text!r})"
    assert eval(repr(money), {"Money": Money}) == money


def test_money_takes_the_short_form_or_keywords_not_both() -> None:
    assert Money("12.50 USD") == Money(amount=Decimal("12.50"), currency="USD")
    with pytest.raises(TypeError, match="either"):
        Money("12.50 USD", currency="USD")
    with pytest.raises(ValidationError, match="has no currency"):
        Money("12.50")
