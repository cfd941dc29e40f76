from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from patronage.domain.errors import DomainError, ReceiptAlreadyVoidError
from patronage.domain.money import Money
from patronage.domain.receipt import (
    DonorDetails,
    OrganisationDetails,
    ReceiptedGift,
    ReceiptKind,
    ReceiptSeries,
    ReceiptStatus,
    TaxReceipt,
    receipt_id_for,
)
from patronage.domain.values import PostalAddress

ORG = OrganisationDetails(name="Org", address="1 Press Row", tax_id="00-1", jurisdiction="US")
DONOR = DonorDetails(supporter_id="s", name="Ada", email="ada@example.org", address=PostalAddress())


def a_receipt(number: str = "2026-000001", benefit: int = 0) -> TaxReceipt:
    return TaxReceipt(
        number=number,
        series="2026",
        kind=ReceiptKind.SINGLE,
        tax_year=2026,
        currency="USD",
        donor=DONOR,
        organisation=ORG,
        gifts=[ReceiptedGift("g1", "2026-02-01", 30000, benefit)],
        statement="No goods or services were provided.",
        issued_on=date(2026, 2, 2),
    )


def test_series_numbers_are_consecutive_and_padded() -> None:
    series = ReceiptSeries(name="2026", prefix="2026-")
    assert [series.allocate() for _ in range(3)] == ["2026-000001", "2026-000002", "2026-000003"]


def test_receipt_id_comes_from_its_number() -> None:
    assert a_receipt().id == receipt_id_for("2026-000001")


def test_totals_and_eligible_amount() -> None:
    receipt = a_receipt(benefit=2500)
    assert receipt.total == Money(30000, "USD")
    assert receipt.eligible_amount == Money(27500, "USD")


def test_a_receipt_must_cover_a_gift() -> None:
    with pytest.raises(DomainError):
        TaxReceipt(
            number="2026-000009",
            series="2026",
            kind=ReceiptKind.ANNUAL,
            tax_year=2026,
            currency="USD",
            donor=DONOR,
            organisation=ORG,
            gifts=[],
            statement="",
            issued_on=date(2026, 2, 2),
        )


def test_void_needs_a_reason_happens_once_and_stops_email() -> None:
    receipt = a_receipt()
    with pytest.raises(DomainError):
        receipt.void("  ", by="finance")
    receipt.void("wrong name", by="finance", replaced_by_number="2026-000002")
    assert receipt.status == ReceiptStatus.VOID
    assert receipt.replaced_by_number == "2026-000002"
    with pytest.raises(ReceiptAlreadyVoidError):
        receipt.void("again", by="finance")
    with pytest.raises(ReceiptAlreadyVoidError):
        receipt.record_emailed("a***@example.org", "<id@x>", datetime(2026, 2, 3, tzinfo=UTC))
