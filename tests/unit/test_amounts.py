from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patronage.domain.money import Money
from patronage.payments.amounts import AmountError, AmountRules

RULES = AmountRules(("USD", "EUR", "JPY"), 2, 10_000, 220, 30)


def test_fee_example_from_the_formula() -> None:
    # (10.00 + 0.30) / (1 - 0.022) - 10.00 = 0.5317... -> rounded up to 0.54
    assert RULES.cover_fee(Money(1000, "USD")) == Money(54, "USD")
    assert RULES.cover_fee(Money(500, "JPY")) == Money(12, "JPY")  # no fixed fee below a yen


@settings(max_examples=60, deadline=None)
@given(minor=st.integers(min_value=200, max_value=1_000_000))
def test_covering_the_fee_is_the_smallest_sum_that_nets_the_gift(minor: int) -> None:
    gross = minor + RULES.cover_fee(Money(minor, "USD")).minor

    def nets_the_gift(charged: int) -> bool:
        # charged - (charged * 2.2% + 30), compared exactly in ten-thousandths of a cent
        return charged * (10_000 - 220) - 30 * 10_000 >= minor * 10_000

    assert nets_the_gift(gross)
    assert not nets_the_gift(gross - 1)


@pytest.mark.parametrize(
    ("text", "currency", "reason"),
    [
        ("1.99", "USD", "smallest"),
        ("10000.01", "USD", "largest"),
        ("10.001", "USD", "decimal places"),
        ("-5", "USD", "not an amount"),
        ("1e3", "USD", "not an amount"),
        ("12,50", "EUR", "not an amount"),
        ("10", "GBP", "we accept"),
        ("10", "XXX", "unsupported currency"),
        ("10.5", "JPY", "0 decimal places"),
    ],
)
def test_amounts_are_parsed_strictly(text: str, currency: str, reason: str) -> None:
    with pytest.raises(AmountError, match=reason):
        RULES.parse(text, currency)


def test_valid_amounts() -> None:
    assert RULES.parse("25", "usd") == Money(2500, "USD")
    assert RULES.parse("2.00", "USD") == Money(200, "USD")
    assert RULES.parse("1500", "JPY") == Money(1500, "JPY")


def test_a_currency_may_have_its_own_minimum() -> None:
    rules = AmountRules(("USD", "JPY"), 2, 10_000, 220, 30, minimums_major=(("JPY", 500),))
    assert rules.minimum("JPY") == Money(500, "JPY") and rules.minimum("USD") == Money(200, "USD")
    with pytest.raises(AmountError, match="smallest gift"):
        rules.parse("499", "JPY")
    assert rules.parse("500", "JPY") == Money(500, "JPY")
