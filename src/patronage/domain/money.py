"""Money as integer minor units of an ISO 4217 currency.

Floats never touch money: amounts from people are parsed from text, amounts from Stripe
arrive as integers of minor units already.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Minor-unit exponents of the currencies Patronage accepts (ISO 4217). Stripe treats a few
# currencies specially for display, but always counts amounts in these units.
CURRENCY_EXPONENTS: dict[str, int] = {
    "AUD": 2, "BRL": 2, "CAD": 2, "CHF": 2, "CZK": 2, "DKK": 2, "EUR": 2, "GBP": 2,
    "HKD": 2, "HUF": 2, "ILS": 2, "INR": 2, "MXN": 2, "NOK": 2, "NZD": 2, "PLN": 2,
    "SEK": 2, "SGD": 2, "USD": 2, "ZAR": 2,
    "CLP": 0, "ISK": 0, "JPY": 0, "KRW": 0, "VND": 0,
    "BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip

# Digits, optionally one decimal point and more digits. No signs, exponents, spaces or
# thousands separators: anything a person may mean two ways is refused.
_AMOUNT_TEXT = re.compile(r"(?P<whole>[0-9]{1,15})(?:\.(?P<fraction>[0-9]+))?", re.ASCII)


# No single payment is larger: Stripe takes at most 8 digits of minor units for most
# currencies and 12 for a few. Refusing more keeps any sum of gifts far from the 64-bit
# integers the views store amounts in.
MAX_PAYMENT_MINOR = 10**12


class MoneyError(ValueError):
    """An amount or currency that is not valid money."""


class CurrencyMismatchError(MoneyError):
    """Arithmetic or comparison across two currencies."""


def currency_exponent(currency: str) -> int:
    """The number of decimals of a supported currency, or a MoneyError naming it."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise MoneyError(f"unsupported currency {currency!r}") from None


def normalise_currency(code: str) -> str:
    """Upper-case ISO code of a supported currency (Stripe sends lower case)."""
    if not isinstance(code, str):
        raise MoneyError("currency must be a three-letter ISO 4217 code")
    upper = code.strip().upper()
    currency_exponent(upper)
    return upper


@dataclass(frozen=True, order=False, slots=True)
class Money:
    """An exact amount: integer minor units (cents, pence, yen) of one currency."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        # bool is an int subclass; True cents is a bug, not an amount.
        if type(self.minor) is not int:
            raise MoneyError(f"minor units must be an integer, not {type(self.minor).__name__}")
        # A supported code is already normalised (the common case: year end builds
        # hundreds of thousands of amounts); anything else is checked in full.
        supported = isinstance(self.currency, str) and self.currency in CURRENCY_EXPONENTS
        if not supported and self.currency != normalise_currency(self.currency):
            raise MoneyError(f"currency must be an upper-case ISO code, got {self.currency!r}")

    @classmethod
    def of(cls, minor: object, currency: str) -> Money:
        """Money from minor units as Stripe reports them (an int), with any-case currency."""
        if type(minor) is not int:
            raise MoneyError(f"amount must be an integer of minor units, got {minor!r}")
        if abs(minor) > MAX_PAYMENT_MINOR:
            raise MoneyError(f"amount {minor} is beyond any payment ({MAX_PAYMENT_MINOR} at most)")
        return cls(minor, normalise_currency(currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, normalise_currency(currency))

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Strictly parse a non-negative decimal amount typed by a person, e.g. "12.50".

        More decimals than the currency has, signs, exponents and separators are errors.
        """
        code = normalise_currency(currency)
        exponent = currency_exponent(code)
        if not isinstance(text, str):
            raise MoneyError("amount must be given as text, e.g. '12.50'")
        match = _AMOUNT_TEXT.fullmatch(text)
        if match is None:
            raise MoneyError(f"{text!r} is not an amount; write digits with an optional '.'")
        fraction = match["fraction"] or ""
        if len(fraction) > exponent:
            raise MoneyError(f"{code} has {exponent} decimal places; {text!r} has {len(fraction)}")
        minor = int(match["whole"]) * 10**exponent + int(fraction.ljust(exponent, "0") or "0")
        return cls(minor, code)

    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)

    def decimal_text(self) -> str:
        """The amount as exact decimal text without currency, e.g. "12.50"."""
        sign = "-" if self.minor < 0 else ""
        units, cents = divmod(abs(self.minor), 10**self.exponent)
        if self.exponent == 0:
            return f"{sign}{units}"
        return f"{sign}{units}.{cents:0{self.exponent}d}"

    def __str__(self) -> str:
        return f"{self.decimal_text()} {self.currency}"

    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.minor + self._same_currency(other).minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.minor - self._same_currency(other).minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._same_currency(other).minor

    def __le__(self, other: Money) -> bool:
        return self.minor <= self._same_currency(other).minor

    def __gt__(self, other: Money) -> bool:
        return self.minor > self._same_currency(other).minor

    def __ge__(self, other: Money) -> bool:
        return self.minor >= self._same_currency(other).minor

    def is_positive(self) -> bool:
        return self.minor > 0

    def as_dict(self) -> dict[str, Any]:
        return {"minor": self.minor, "currency": self.currency}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Money:
        return cls(data["minor"], normalise_currency(data["currency"]))


def total(amounts: list[Money], currency: str) -> Money:
    """Sum of amounts that must all be in `currency` (an empty list sums to zero)."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result
