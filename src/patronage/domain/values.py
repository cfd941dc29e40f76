"""Small immutable value types carried by events."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Self


class _DictValue:
    """A frozen dataclass that converts to and from a plain dict for stored events."""

    def as_dict(self) -> dict[str, Any]:
        # Field by field rather than dataclasses.asdict, which deep-copies every value: a
        # year end writes a hundred thousand receipts, each with several of these.
        names: dict[str, Any] = self.__dataclass_fields__  # type: ignore[attr-defined]
        return {name: _plain(getattr(self, name)) for name in names}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        names = cls.__dataclass_fields__  # type: ignore[attr-defined]
        return cls(**{k: v for k, v in data.items() if k in names})


def _plain(value: Any) -> Any:
    return value.as_dict() if isinstance(value, _DictValue) else value


@dataclass(frozen=True, slots=True)
class Attribution(_DictValue):
    """Which article and which ask won a gift; every field may be unknown (""). Our checkout
    sends it in the payment's metadata; a membership an invoice started learns it later."""

    article_id: str = ""
    campaign: str = ""
    variant: str = ""
    reader_id: str = ""


@dataclass(frozen=True, slots=True)
class PostalAddress(_DictValue):
    """A postal address as receipts print it."""

    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""

    def is_empty(self) -> bool:
        return not any((self.line1, self.city, self.postal_code))


@dataclass(frozen=True, slots=True)
class Tribute(_DictValue):
    """A gift in honour or in memory of someone."""

    kind: str  # "honour" | "memory"
    name: str


# How many of each interval there are in a year, to normalise any plan to a month.
_PER_YEAR = {"day": 365, "week": 52, "month": 12, "year": 1}


@dataclass(frozen=True, slots=True)
class BillingPeriod(_DictValue):
    """How often a membership's amount is charged: Stripe's `recurring.interval` ("day",
    "week", "month", "year") and `interval_count` (every 3 months: month, 3)."""

    interval: str = "month"
    count: int = 1

    def __post_init__(self) -> None:
        if self.interval not in _PER_YEAR or self.count < 1:
            raise ValueError(f"not a billing period: every {self.count} {self.interval}")

    def monthly_minor(self, minor: int) -> int:
        """The amount charged per period, as an amount per month (rounded half up), for MRR."""
        per_month = Fraction(minor * _PER_YEAR[self.interval], 12 * self.count)
        return int(per_month + Fraction(1, 2))

    def __str__(self) -> str:
        return self.interval if self.count == 1 else f"{self.count} {self.interval}s"
