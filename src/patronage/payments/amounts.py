"""What a donor may give through checkout, and the fee they may choose to cover.

Pure integer arithmetic on minor units; refusals carry a reason the page can show.
"""

from __future__ import annotations

from dataclasses import dataclass

from patronage.domain.money import Money, MoneyError, currency_exponent, normalise_currency

BASIS_POINTS = 10_000


class AmountError(ValueError):
    """An amount or currency checkout refuses; the message is for the donor, the field and
    kind make the API's stable code (`amount_too_small`, docs/asks.md)."""

    def __init__(self, message: str, field: str = "amount", kind: str = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.kind = kind


@dataclass(frozen=True, slots=True)
class AmountRules:
    currencies: tuple[str, ...]
    minimum_major: int  # in whole units of each currency: 2 means $2.00, 2.00 EUR ...
    maximum_major: int
    fee_rate_bp: int  # the card rate in basis points: 220 is 2.2%
    fee_fixed_cents: int  # the fixed fee in hundredths of a unit: 30 is 30c, 0.30 EUR
    # Per-currency minimums in whole units, over `minimum_major` (card testers probe with
    # the smallest charge a form takes; 2 units of JPY is not a gift).
    minimums_major: tuple[tuple[str, int], ...] = ()

    def minimum(self, currency: str) -> Money:
        major = dict(self.minimums_major).get(currency, self.minimum_major)
        return Money(major * 10 ** currency_exponent(currency), currency)

    def maximum(self, currency: str) -> Money:
        return Money(self.maximum_major * 10 ** currency_exponent(currency), currency)

    def currency(self, code: str) -> str:
        try:
            currency = normalise_currency(code)
        except MoneyError as error:
            raise AmountError(str(error), "currency") from None
        if currency not in self.currencies:
            raise AmountError(f"we accept {', '.join(self.currencies)}, not {currency}", "currency")
        return currency

    def parse(self, text: str, currency_code: str) -> Money:
        """A gift amount typed by a donor, checked against the currency's decimals and limits."""
        currency = self.currency(currency_code)
        try:
            amount = Money.parse(text, currency)  # padded text is refused, not guessed at
        except MoneyError as error:
            raise AmountError(str(error)) from None
        if amount < self.minimum(currency):
            raise AmountError(f"The smallest gift is {self.minimum(currency)}.", kind="too_small")
        if amount > self.maximum(currency):
            raise AmountError(
                f"The largest gift we can take online is {self.maximum(currency)}.",
                kind="too_large",
            )
        return amount

    def fixed_fee(self, currency: str) -> int:
        scaled: int = self.fee_fixed_cents * 10 ** currency_exponent(currency)
        return scaled // 100

    def cover_fee(self, amount: Money) -> Money:
        """What to add so that, after the card fee, the newsroom receives at least `amount`.

        (amount + fixed) / (1 - rate) - amount, in integers, rounded up to a minor unit.
        """
        numerator = (amount.minor + self.fixed_fee(amount.currency)) * BASIS_POINTS
        gross = -(-numerator // (BASIS_POINTS - self.fee_rate_bp))
        return Money(gross - amount.minor, amount.currency)
