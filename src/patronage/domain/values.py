"""Small immutable value types carried by events."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Self


class _DictValue:
    """A frozen dataclass that converts to and from a plain dict for stored events."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload, no-any-return]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True, slots=True)
class Attribution(_DictValue):
    """Which article and which ask won a gift; every field may be unknown ("")."""

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
