from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from patronage.domain.errors import DomainError, ReceiptAlreadyVoidError
from patronage.domain.money import Money
from patronage.domain.receipt import (
    DonorDetails,
    Jurisdiction,
    OrganisationDetails,
    ReceiptedGift,
    ReceiptKind,
    ReceiptSeries,
    ReceiptStatus,
    TaxReceipt,
    missing_donor_details,
    missing_organisation_details,
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


def test_series_numbers_are_consecutive_padded_and_allocated_in_blocks() -> None:
    series = ReceiptSeries(name="2026-single", prefix="S2026-")
    assert series.allocate() == ["S2026-000001"]
    assert series.allocate(3) == ["S2026-000002", "S2026-000003", "S2026-000004"]
    assert len(series.pending_events) == 3, "one event per block, not per number"
    with pytest.raises(DomainError):
        series.allocate(0)


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


def test_email_outbox_state_claims_records_and_retries() -> None:
    receipt = a_receipt()
    now = datetime(2027, 1, 15, 9, tzinfo=UTC)
    assert receipt.email_due(now)
    receipt.claim_email(now, timedelta(minutes=5))
    assert not receipt.email_due(now), "claimed: no other sender may take it"
    assert receipt.email_due(now + timedelta(minutes=5)), "the lease ended: another may"
    first_id = receipt.message_id("news.example")
    receipt.record_email_failed("421 try later", now, retry_at=now + timedelta(minutes=1))
    assert not receipt.email_due(now) and receipt.email_due(now + timedelta(minutes=1))
    assert receipt.message_id("news.example") == first_id, "a retry keeps the Message-ID"
    receipt.record_emailed("a***@example.org", first_id, now)
    assert not receipt.email_due(now + timedelta(days=1))
    receipt.request_resend("finance", now)
    assert receipt.email_due(now) and receipt.message_id("news.example") != first_id
    receipt.void("issued in error", by="finance")
    assert not receipt.email_due(now), "a void receipt is never emailed again"
    with pytest.raises(ReceiptAlreadyVoidError):
        receipt.request_resend("finance", now)


def test_a_canadian_receipt_refuses_a_donor_without_address_or_full_name() -> None:
    org = OrganisationDetails(
        name="Org", address="1 Press Row, Toronto", tax_id="123456789 RR 0001",
        jurisdiction="CA", issued_at_place="Toronto", signatory="J. Doe, Treasurer",
    )  # fmt: skip
    with pytest.raises(DomainError, match="postal address"):
        TaxReceipt(
            number="A2026-000001", series="2026-annual", kind=ReceiptKind.ANNUAL,
            tax_year=2026, currency="CAD", donor=DONOR, organisation=org,
            gifts=[ReceiptedGift("g1", "2026-02-01", 30000)], statement="",
            issued_on=date(2027, 1, 2),
        )  # fmt: skip
    assert missing_donor_details(Jurisdiction.CA, "Ada", PostalAddress()) == [
        "full name",
        "postal address",
    ]
    assert missing_donor_details(Jurisdiction.US, "Ada", PostalAddress()) == []


@pytest.mark.parametrize(
    ("jurisdiction", "missing"),
    [
        ("US", []),
        ("UK", []),
        ("CA", ["place of issue", "authorised signatory"]),
    ],
)
def test_each_profile_names_the_organisation_fields_it_requires(
    jurisdiction: str, missing: list[str]
) -> None:
    org = OrganisationDetails(
        name="Org", address="1 Press Row", tax_id="1", jurisdiction=jurisdiction
    )
    assert missing_organisation_details(org) == missing
