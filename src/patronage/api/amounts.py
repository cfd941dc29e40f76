"""Money as the public API shows it: exact minor units, the currency, and decimal text."""

from __future__ import annotations

from pydantic import BaseModel

from patronage.domain.money import Money


class AmountOut(BaseModel):
    minor: int
    currency: str
    text: str

    @classmethod
    def of(cls, money: Money) -> AmountOut:
        return cls(minor=money.minor, currency=money.currency, text=money.decimal_text())
