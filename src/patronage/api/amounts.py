"""Money as the API shows it, everywhere: exact minor units, the currency, and decimal text."""

from __future__ import annotations

from typing import overload

from pydantic import BaseModel, Field

from patronage.domain.money import Money


class MoneyOut(BaseModel):
    """An exact amount: integer minor units of an ISO currency, and the same as text."""

    minor: int = Field(description="integer minor units (cents)")
    currency: str = Field(description="ISO 4217 code")
    text: str = Field(description='exact decimal text, e.g. "12.50"')

    @overload
    @classmethod
    def of(cls, amount: Money) -> MoneyOut: ...
    @overload
    @classmethod
    def of(cls, amount: int, currency: str) -> MoneyOut: ...
    @classmethod
    def of(cls, amount: Money | int, currency: str = "") -> MoneyOut:
        """From a Money, or from minor units and their currency (as views store them)."""
        money = amount if isinstance(amount, Money) else Money(amount, currency)
        return cls(minor=money.minor, currency=money.currency, text=money.decimal_text())
