"""Tax receipts and the series that number them without gaps.

A number is allocated by an event on the series aggregate saved in the same transaction as
the receipt it numbers: two concurrent issues conflict on the series version, one retries,
and no number is ever skipped or used twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from patronage.domain.errors import DomainError, ReceiptAlreadyVoidError
from patronage.domain.identity import natural_id
from patronage.domain.money import Money
from patronage.domain.values import PostalAddress, _DictValue


class Jurisdiction(StrEnum):
    """The tax authority whose rules a receipt follows (the organisation's setting)."""

    US = "US"
    CA = "CA"
    UK = "UK"


class ReceiptKind(StrEnum):
    SINGLE = "single"
    ANNUAL = "annual"


class ReceiptStatus(StrEnum):
    ISSUED = "issued"
    EMAILED = "emailed"
    VOID = "void"


@dataclass(frozen=True, slots=True)
class ReceiptedGift(_DictValue):
    """One gift as the receipt lists it: date, amount, and any benefit given in return."""

    gift_id: str
    received_on: str  # ISO date
    amount_minor: int
    benefit_minor: int = 0


@dataclass(frozen=True, slots=True)
class DonorDetails(_DictValue):
    """The supporter as they were when the receipt was issued."""

    supporter_id: str
    name: str
    email: str
    address: PostalAddress


@dataclass(frozen=True, slots=True)
class OrganisationDetails(_DictValue):
    """The organisation as it was when the receipt was issued."""

    name: str
    address: str
    tax_id: str  # EIN, CRA registration number, or charity number
    jurisdiction: str
    issued_at_place: str = ""


def series_id_for(series: str) -> UUID:
    return natural_id("receipt-series", series)


class ReceiptSeries(Aggregate):
    """A named run of receipt numbers (e.g. "2026"), each allocated once, in order."""

    @staticmethod
    def create_id(name: str) -> UUID:
        return series_id_for(name)

    @event("Opened")
    def __init__(self, name: str, prefix: str) -> None:
        self.name = name
        self.prefix = prefix
        self.last_number = 0

    def allocate(self) -> str:
        """The next number, as printed (prefix plus zero-padded sequence)."""
        self._number_allocated(sequence=self.last_number + 1)
        return self.format(self.last_number)

    def format(self, sequence: int) -> str:
        return f"{self.prefix}{sequence:06d}"

    @event("NumberAllocated")
    def _number_allocated(self, sequence: int) -> None:
        if sequence != self.last_number + 1:
            raise DomainError("receipt numbers must be allocated in sequence")
        self.last_number = sequence


def receipt_id_for(number: str) -> UUID:
    return natural_id("receipt", number)


class TaxReceipt(Aggregate):
    @staticmethod
    def create_id(number: str) -> UUID:
        return receipt_id_for(number)

    @event("Issued")
    def __init__(
        self,
        number: str,
        series: str,
        kind: ReceiptKind,
        tax_year: int,
        currency: str,
        donor: DonorDetails,
        organisation: OrganisationDetails,
        gifts: list[ReceiptedGift],
        statement: str,
        issued_on: date,
        replaces_number: str = "",
    ) -> None:
        if not gifts:
            raise DomainError("a receipt must cover at least one gift")
        self.number = number
        self.series = series
        self.kind = ReceiptKind(kind)
        self.tax_year = tax_year
        self.currency = currency
        self.donor = donor
        self.organisation = organisation
        self.gifts = list(gifts)
        self.statement = statement
        self.issued_on = issued_on
        self.replaces_number = replaces_number
        self.status = ReceiptStatus.ISSUED
        self.void_reason = ""
        self.replaced_by_number = ""
        self.emailed_to: list[str] = []

    @property
    def total(self) -> Money:
        return Money(sum(g.amount_minor for g in self.gifts), self.currency)

    @property
    def benefits(self) -> Money:
        return Money(sum(g.benefit_minor for g in self.gifts), self.currency)

    @property
    def eligible_amount(self) -> Money:
        """What the donor may deduct: the gifts less the value of any benefit received."""
        return self.total - self.benefits

    @property
    def gift_ids(self) -> list[UUID]:
        return [UUID(g.gift_id) for g in self.gifts]

    @property
    def is_void(self) -> bool:
        return self.status == ReceiptStatus.VOID

    def record_emailed(self, to_masked: str, message_id: str, at: datetime) -> None:
        if self.is_void:
            raise ReceiptAlreadyVoidError(f"receipt {self.number} is void and is never sent again")
        self._emailed(to_masked=to_masked, message_id=message_id, at=at)

    @event("Emailed")
    def _emailed(self, to_masked: str, message_id: str, at: datetime) -> None:
        self.emailed_to.append(to_masked)
        self.status = ReceiptStatus.EMAILED

    def void(self, reason: str, by: str, replaced_by_number: str = "") -> None:
        if self.is_void:
            raise ReceiptAlreadyVoidError(f"receipt {self.number} is already void")
        if not reason.strip():
            raise DomainError("voiding a receipt needs a reason")
        self._voided(reason=reason.strip(), by=by, replaced_by_number=replaced_by_number)

    @event("Voided")
    def _voided(self, reason: str, by: str, replaced_by_number: str) -> None:
        self.status = ReceiptStatus.VOID
        self.void_reason = reason
        self.replaced_by_number = replaced_by_number
