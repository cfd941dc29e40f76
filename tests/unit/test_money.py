"""Money: exact minor units, strict parsing, one currency per operation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patronage.domain.money import CurrencyMismatchError, Money, MoneyError, total


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.50", "USD", 1250),
        ("12.5", "usd", 1250),
        ("12", "EUR", 1200),
        ("0.01", "GBP", 1),
        ("500", "JPY", 500),
        ("1.234", "KWD", 1234),
        ("007.10", "CAD", 710),
    ],
)
def test_parse_reads_exact_minor_units(text: str, currency: str, minor: int) -> None:
    money = Money.parse(text, currency)
    assert money.minor == minor
    assert money.currency == currency.upper()


@pytest.mark.parametrize(
    "text",
    ["", " 12", "12 ", "-5", "+5", "1e3", "1,000", "12.505", "12.", ".5", "NaN", "١٢", "12.50.1"],
)
def test_parse_refuses_anything_ambiguous(text: str) -> None:
    with pytest.raises(MoneyError):
        Money.parse(text, "USD")


def test_parse_refuses_decimals_a_currency_does_not_have() -> None:
    with pytest.raises(MoneyError, match="JPY has 0 decimal places"):
        Money.parse("100.5", "JPY")


def test_unknown_currency_is_refused_by_name() -> None:
    with pytest.raises(MoneyError, match="'XXX'"):
        Money.parse("1", "XXX")


@pytest.mark.parametrize("bad", [12.5, True, "1250", None])
def test_stripe_amounts_must_be_integers(bad: object) -> None:
    with pytest.raises(MoneyError):
        Money.of(bad, "usd")


def test_money_refuses_a_float_even_when_constructed_directly() -> None:
    with pytest.raises(MoneyError):
        Money(12.5, "USD")  # type: ignore[arg-type]


def test_arithmetic_stays_within_one_currency() -> None:
    assert Money(1000, "USD") + Money(250, "USD") == Money(1250, "USD")
    assert Money(1000, "USD") - Money(250, "USD") == Money(750, "USD")
    with pytest.raises(CurrencyMismatchError):
        Money(1000, "USD") + Money(1, "EUR")
    with pytest.raises(CurrencyMismatchError):
        assert Money(1000, "USD") < Money(1, "EUR")


def test_decimal_text_and_str() -> None:
    assert str(Money(1250, "USD")) == "12.50 USD"
    assert Money(-5, "EUR").decimal_text() == "-0.05"
    assert Money(1500, "JPY").decimal_text() == "1500"
    assert Money(1, "BHD").decimal_text() == "0.001"


def test_total_sums_and_refuses_a_stranger() -> None:
    assert total([Money(1, "USD"), Money(2, "USD")], "USD") == Money(3, "USD")
    assert total([], "GBP") == Money(0, "GBP")
    with pytest.raises(CurrencyMismatchError):
        total([Money(1, "EUR")], "USD")


@settings(max_examples=200)
@given(
    minor=st.integers(min_value=0, max_value=10**14),
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_decimal_text_round_trips_through_parse(minor: int, currency: str) -> None:
    money = Money(minor, currency)
    assert Money.parse(money.decimal_text(), currency) == money


def test_dict_round_trip() -> None:
    money = Money(4200, "CAD")
    assert Money.from_dict(money.as_dict()) == money
