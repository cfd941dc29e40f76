"""Tax receipts, the rules each jurisdiction sets for them, and the series that number them.

A series (one per tax year and kind of receipt) allocates numbers in blocks by events saved
in the same transaction as the receipts they number: two concurrent issues conflict on the
series version, one retries, and no number is ever skipped or used twice. The Ledger
snapshots a series every few events, so loading it costs the same for the first receipt
of a year and the fifty-thousandth.

A receipt also carries its email's outbox state: each request to send it (the first on
issue, one more per resend) is claimed by one sender for a lease, recorded as emailed once
the server accepted it, or failed with a time to try again. A claimed request keeps its
Message-ID, so a copy sent again after a crash is recognisably the same message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
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
    """One gift as the receipt lists it: local date, amount, and any benefit in return."""

    gift_id: str
    received_on: str  # ISO date, in the organisation's time zone
    amount_minor: int
    benefit_minor: int = 0


@dataclass(frozen=True, slots=True)
class DonorDetails(_DictValue):
    """The supporter as they were when the receipt was issued."""

    supporter_id: str
    name: str
    email: str
    address: PostalAddress

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DonorDetails:
        # as_dict nests the address as a dict of its own: rebuild it rather than pass it on.
        address = PostalAddress.from_dict(data["address"])
        return cls(data["supporter_id"], data["name"], data["email"], address)


@dataclass(frozen=True, slots=True)
class OrganisationDetails(_DictValue):
    """The organisation as it was when the receipt was issued."""

    name: str
    address: str
    tax_id: str  # EIN, CRA registration number, or charity number
    jurisdiction: str
    issued_at_place: str = ""
    signatory: str = ""  # the authorised person's name and title, printed under the signature


@dataclass(frozen=True, slots=True)
class ProfileRules:
    """What a jurisdiction requires before a receipt may exist."""

    organisation_fields: tuple[str, ...]
    donor_needs_full_name: bool
    donor_needs_address: bool


# Sources: IRS Publication 1771; CRA "What is an official donation receipt"; HMRC Gift Aid
# guidance (docs/receipts.md quotes each rule).
PROFILE_RULES = {
    Jurisdiction.US: ProfileRules(("name", "address", "tax_id"), False, False),
    Jurisdiction.CA: ProfileRules(
        ("name", "address", "tax_id", "issued_at_place", "signatory"), True, True
    ),
    Jurisdiction.UK: ProfileRules(("name", "address", "tax_id"), False, False),
}

_ORGANISATION_LABELS = {
    "name": "name",
    "address": "address",
    "tax_id": "tax or registration number",
    "issued_at_place": "place of issue",
    "signatory": "authorised signatory",
}


def missing_organisation_details(organisation: OrganisationDetails) -> list[str]:
    """The organisation fields its jurisdiction requires that are blank."""
    rules = PROFILE_RULES[Jurisdiction(organisation.jurisdiction)]
    return [
        _ORGANISATION_LABELS[field]
        for field in rules.organisation_fields
        if not str(getattr(organisation, field)).strip()
    ]


def missing_donor_details(
    jurisdiction: Jurisdiction, name: str, address: PostalAddress
) -> list[str]:
    """What a supporter must complete before this jurisdiction's receipt can name them."""
    rules = PROFILE_RULES[Jurisdiction(jurisdiction)]
    missing = []
    # "Full name with initial": at least a given name and a family name.
    if rules.donor_needs_full_name and len(name.split()) < 2:
        missing.append("full name")
    if rules.donor_needs_address and address.is_empty():
        missing.append("postal address")
    return missing


def series_name(tax_year: int, kind: ReceiptKind) -> str:
    return f"{tax_year}-{ReceiptKind(kind).value}"


def series_id_for(name: str) -> UUID:
    return natural_id("receipt-series", name)


class ReceiptSeries(Aggregate):
    """A run of receipt numbers for one tax year and kind, each allocated once, in order."""

    @staticmethod
    def create_id(name: str) -> UUID:
        return series_id_for(name)

    @event("Opened")
    def __init__(self, name: str, prefix: str) -> None:
        self.name = name
        self.prefix = prefix
        self.last_number = 0

    def allocate(self, count: int = 1) -> list[str]:
        """The next `count` numbers, as printed (prefix plus zero-padded sequence)."""
        if count < 1:
            raise DomainError("allocate at least one receipt number")
        first = self.last_number + 1
        self._numbers_allocated(first=first, count=count)
        return [self.format(n) for n in range(first, first + count)]

    def format(self, sequence: int) -> str:
        return f"{self.prefix}{sequence:06d}"

    @event("NumbersAllocated")
    def _numbers_allocated(self, first: int, count: int) -> None:
        if first != self.last_number + 1:
            raise DomainError("receipt numbers must be allocated in sequence")
        self.last_number = first + count - 1


def series_prefix(tax_year: int, kind: ReceiptKind) -> str:
    """ "S2026-" for single receipts of 2026, "A2026-" for annual ones."""
    return f"{ReceiptKind(kind).value[0].upper()}{tax_year}-"


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
        jurisdiction = Jurisdiction(organisation.jurisdiction)
        missing = missing_organisation_details(organisation) + missing_donor_details(
            jurisdiction, donor.name, donor.address
        )
        if missing:
            raise DomainError(f"a {jurisdiction} receipt needs: {', '.join(missing)}")
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
        # The email outbox: requests made (issuing is the first) and the last one sent.
        self.email_requests = 1
        self.emailed_request = 0
        self.email_attempts = 0
        self.claimed_until: datetime | None = None
        self.retry_at: datetime | None = None
        self.last_email_error = ""

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

    # Email -------------------------------------------------------------------------------

    def message_id(self, domain: str) -> str:
        """The Message-ID of the current request: the same for every attempt to send it."""
        return f"<receipt-{self.number}-{self.email_requests}@{domain}>"

    def email_due(self, now: datetime) -> bool:
        return (
            not self.is_void
            and self.emailed_request < self.email_requests
            and (self.retry_at is None or now >= self.retry_at)
            and (self.claimed_until is None or now >= self.claimed_until)
        )

    def claim_email(self, now: datetime, lease: timedelta) -> None:
        """Take the current request to send it; a sender that crashes loses it after `lease`."""
        if not self.email_due(now):
            raise DomainError(f"receipt {self.number} has no email due now")
        self._email_claimed(request=self.email_requests, until=now + lease)

    @event("EmailClaimed")
    def _email_claimed(self, request: int, until: datetime) -> None:
        self.email_attempts += 1
        self.claimed_until = until

    def record_emailed(self, to_masked: str, message_id: str, at: datetime) -> None:
        """The mail server accepted the current request's message."""
        if self.is_void:
            raise ReceiptAlreadyVoidError(f"receipt {self.number} is void and is never sent again")
        if self.emailed_request < self.email_requests:
            self._emailed(to_masked=to_masked, message_id=message_id, at=at)

    @event("Emailed")
    def _emailed(self, to_masked: str, message_id: str, at: datetime) -> None:
        self.emailed_to.append(to_masked)
        self.status = ReceiptStatus.EMAILED
        self.emailed_request = self.email_requests
        self.email_attempts = 0
        self.claimed_until = None
        self.retry_at = None
        self.last_email_error = ""

    def record_email_failed(self, error: str, at: datetime, retry_at: datetime) -> None:
        self._email_failed(error=error[:300], at=at, retry_at=retry_at)

    @event("EmailFailed")
    def _email_failed(self, error: str, at: datetime, retry_at: datetime) -> None:
        self.claimed_until = None
        self.retry_at = retry_at
        self.last_email_error = error

    def request_resend(self, by: str, at: datetime) -> None:
        """Send the receipt again (the donor lost it); a request still pending is enough."""
        if self.is_void:
            raise ReceiptAlreadyVoidError(f"receipt {self.number} is void and is never sent again")
        if self.emailed_request == self.email_requests:
            self._resend_requested(by=by, at=at)

    @event("ResendRequested")
    def _resend_requested(self, by: str, at: datetime) -> None:
        self.email_requests += 1
        self.email_attempts = 0
        self.retry_at = None
        self.last_email_error = ""

    # Void --------------------------------------------------------------------------------

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
