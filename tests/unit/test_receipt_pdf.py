"""The PDF carries every field its profile requires, as extractable text, in the same bytes."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader

from patronage.domain.money import Money
from patronage.domain.receipt import (
    DonorDetails,
    OrganisationDetails,
    ReceiptedGift,
    ReceiptKind,
    TaxReceipt,
)
from patronage.domain.values import PostalAddress
from patronage.receipts.pdf import render_receipt
from patronage.receipts.profiles import CRA_NAME_AND_ADDRESS, profile_for

DONOR = DonorDetails(
    supporter_id="s1",
    name="Ada B. Lovelace",
    email="ada@example.org",
    address=PostalAddress(line1="12 King St W", city="Toronto", region="ON",
                          postal_code="M5H 1A1", country="CA"),
)  # fmt: skip


def a_receipt(jurisdiction: str, replaces: str = "") -> TaxReceipt:
    org = OrganisationDetails(
        name="Springfield Ledger Foundation", address="1 Press Row, Toronto, ON M5V 2T6",
        tax_id="123456789 RR 0001", jurisdiction=jurisdiction, issued_at_place="Toronto, Ontario",
        signatory="Jane Doe, Treasurer",
    )  # fmt: skip
    benefits = Money(1500, "CAD")
    return TaxReceipt(
        number="A2026-000042", series="2026-annual", kind=ReceiptKind.ANNUAL, tax_year=2026,
        currency="CAD", donor=DONOR, organisation=org,
        gifts=[ReceiptedGift("g1", "2026-02-01", 2500),
               ReceiptedGift("g2", "2026-12-31", 10000, 1500)],
        statement="\n".join(profile_for(jurisdiction).statements(org.name, benefits, replaces)),
        issued_on=date(2027, 1, 15), replaces_number=replaces,
    )  # fmt: skip


def text_of(pdf: bytes) -> str:
    return " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_same_receipt_renders_to_identical_bytes() -> None:
    assert render_receipt(a_receipt("CA")) == render_receipt(a_receipt("CA"))
    assert render_receipt(a_receipt("CA")) != render_receipt(a_receipt("US"))


CA_REQUIRED = [
    "Official donation receipt for income tax purposes",  # the statement it is official
    "Springfield Ledger Foundation",  # name as registered
    "1 Press Row, Toronto, ON M5V 2T6",  # address as registered
    "123456789 RR 0001",  # registration number
    "A2026-000042",  # unique serial number
    "Toronto, Ontario",  # place of issue
    "2027-01-15",  # date of issue
    "2026-02-01",  # date of each gift
    "2026-12-31",
    "Ada B. Lovelace",  # donor's full name with initial
    "12 King St W",  # and address
    "M5H 1A1",
    "125.00 CAD",  # amount of the gifts
    "15.00 CAD",  # value of the advantage
    "Eligible amount of gift for tax purposes: 110.00 CAD",
    "Authorised signature: Jane Doe, Treasurer",
    CRA_NAME_AND_ADDRESS,  # the CRA's name and web address
]
US_REQUIRED = [
    "Springfield Ledger Foundation",
    "EIN: 123456789 RR 0001",
    "1 Press Row",
    "2026-02-01",
    "25.00 CAD",
    "100.00 CAD",
    "good-faith estimated fair market value of 15.00 CAD",
    "Only the amount above that value is deductible",
]
UK_REQUIRED = ["Springfield Ledger Foundation", "Registered charity number", "not a Gift Aid"]


@pytest.mark.parametrize(
    ("jurisdiction", "required"), [("CA", CA_REQUIRED), ("US", US_REQUIRED), ("UK", UK_REQUIRED)]
)
def test_every_required_field_of_the_profile_is_in_the_text(
    jurisdiction: str, required: list[str]
) -> None:
    text = " ".join(text_of(render_receipt(a_receipt(jurisdiction))).split())
    missing = [field for field in required if field not in text]
    assert missing == []


def test_a_replacement_names_the_original_and_a_void_copy_is_marked() -> None:
    replacement = a_receipt("CA", replaces="A2026-000007")
    text = " ".join(text_of(render_receipt(replacement)).split())
    assert "This receipt cancels and replaces receipt No. A2026-000007" in text
    replacement.void("refund", by="finance")
    assert "CANCELLED: refund" in " ".join(text_of(render_receipt(replacement)).split())
