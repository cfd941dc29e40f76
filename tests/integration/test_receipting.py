"""Receipts on both stores: gapless numbers, no double receipting, void and replace."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from patronage.application.giving import RecordGift, RecordRefund, SupporterDetails
from patronage.application.receipting import IssueReceipt
from patronage.bootstrap import Patronage, bootstrap
from patronage.config import Settings
from patronage.domain.errors import DomainError, GiftAlreadyReceiptedError, GiftNotReceiptableError
from patronage.domain.gift import Gift
from patronage.domain.money import Money
from patronage.domain.receipt import ReceiptKind, ReceiptStatus, TaxReceipt
from patronage.domain.values import PostalAddress

ISSUED_ON = date(2027, 1, 15)


def give(patronage: Patronage, payment_id: str, minor: int, email: str = "ada@example.org") -> UUID:
    return patronage.giving.record_gift(
        RecordGift(
            payment_id=payment_id,
            supporter=SupporterDetails(
                email=email,
                name="Ada Lovelace",
                address=PostalAddress(
                    line1="12 St James's Sq", city="London", postal_code="SW1Y 4JH"
                ),
            ),
            amount=Money(minor, "USD"),
            received_at=datetime(2026, 6, 1, tzinfo=UTC),
        )
    )


def single(gift_id: UUID) -> IssueReceipt:
    return IssueReceipt([gift_id], ReceiptKind.SINGLE, 2026, ISSUED_ON)


def test_a_single_receipt_snapshots_donor_and_organisation(patronage: Patronage) -> None:
    gift_id = give(patronage, "pi_1", 30000)
    receipt_id = patronage.receipting.issue(single(gift_id))
    receipt = patronage.ledger.get_typed(receipt_id, TaxReceipt)
    assert receipt.number == "2026-000001"
    assert receipt.total == Money(30000, "USD")
    assert receipt.donor.name == "Ada Lovelace"
    assert receipt.donor.address.postal_code == "SW1Y 4JH"
    assert receipt.organisation.tax_id == patronage.settings.org_tax_id
    assert "No goods or services" in receipt.statement
    assert patronage.ledger.get_typed(gift_id, Gift).receipt_id == receipt_id


def test_a_gift_is_never_on_two_valid_receipts(patronage: Patronage) -> None:
    gift_id = give(patronage, "pi_1", 30000)
    patronage.receipting.issue(single(gift_id))
    head = patronage.ledger.head()
    with pytest.raises(GiftAlreadyReceiptedError):
        patronage.receipting.issue(IssueReceipt([gift_id], ReceiptKind.ANNUAL, 2026, ISSUED_ON))
    assert patronage.ledger.head() == head, "a refused receipt consumed no number"


def test_refunded_money_is_not_receipted(patronage: Patronage) -> None:
    gift_id = give(patronage, "pi_1", 30000)
    patronage.giving.record_refund(
        RecordRefund("pi_1", "re_1", Money(10000, "USD"), datetime.now(UTC))
    )
    receipt = patronage.ledger.get_typed(patronage.receipting.issue(single(gift_id)), TaxReceipt)
    assert receipt.total == Money(20000, "USD")
    give(patronage, "pi_2", 5000)
    patronage.giving.record_refund(
        RecordRefund("pi_2", "re_2", Money(5000, "USD"), datetime.now(UTC))
    )
    with pytest.raises(GiftNotReceiptableError):
        patronage.receipting.issue(
            single(patronage.ledger.get_typed(give(patronage, "pi_2", 5000), Gift).id)
        )


def test_annual_receipt_covers_one_supporter_and_year(patronage: Patronage) -> None:
    first, second = give(patronage, "pi_1", 1000), give(patronage, "pi_2", 2500)
    other = give(patronage, "pi_3", 700, email="grace@example.org")
    with pytest.raises(DomainError):
        patronage.receipting.issue(
            IssueReceipt([first, other], ReceiptKind.ANNUAL, 2026, ISSUED_ON)
        )
    with pytest.raises(DomainError):
        patronage.receipting.issue(IssueReceipt([first], ReceiptKind.ANNUAL, 2025, ISSUED_ON))
    receipt_id = patronage.receipting.issue(
        IssueReceipt([first, second], ReceiptKind.ANNUAL, 2026, ISSUED_ON)
    )
    receipt = patronage.ledger.get_typed(receipt_id, TaxReceipt)
    assert receipt.total == Money(3500, "USD")
    assert receipt.number == "2026-000001", "refused attempts consumed no number"


def test_void_and_replace_keep_a_trail(patronage: Patronage) -> None:
    gift_id = give(patronage, "pi_1", 30000)
    original_id = patronage.receipting.issue(single(gift_id))
    replacement_id = patronage.receipting.replace(
        original_id, "donor's name misspelt", "finance", ISSUED_ON
    )
    original = patronage.ledger.get_typed(original_id, TaxReceipt)
    replacement = patronage.ledger.get_typed(replacement_id, TaxReceipt)
    assert original.status == ReceiptStatus.VOID
    assert original.replaced_by_number == replacement.number == "2026-000002"
    assert replacement.replaces_number == original.number
    assert patronage.ledger.get_typed(gift_id, Gift).receipt_id == replacement_id
    patronage.receipting.void(replacement_id, "gift was a loan", "finance")
    assert patronage.ledger.get_typed(gift_id, Gift).receipt_id is None
    third = patronage.receipting.issue(single(gift_id))
    assert patronage.ledger.get_typed(third, TaxReceipt).number == "2026-000003"


def test_concurrent_issues_number_without_gaps(settings: Settings, patronage: Patronage) -> None:
    """Two independently wired instances (as two API processes would be) issue at once."""
    gift_ids = [
        give(patronage, f"pi_{n}", 1000 + n, email=f"donor{n}@example.org") for n in range(12)
    ]
    other_process = bootstrap(settings)
    errors: list[BaseException] = []

    def issue(instance: Patronage, gift_id: UUID) -> None:
        try:
            instance.receipting.issue(single(gift_id))
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [
        threading.Thread(target=issue, args=(patronage if n % 2 else other_process, g))
        for n, g in enumerate(gift_ids)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other_process.close()
    assert errors == []
    receipt_ids = [patronage.ledger.get_typed(g, Gift).receipt_id for g in gift_ids]
    numbers = sorted(
        patronage.ledger.get_typed(r, TaxReceipt).number for r in receipt_ids if r is not None
    )
    assert numbers == [f"2026-{n:06d}" for n in range(1, 13)]


def test_events_read_back_from_a_fresh_process_view(
    settings: Settings, patronage: Patronage
) -> None:
    """What was stored decodes again (Money, dates, nested value types) from a new Ledger."""
    gift_id = give(patronage, "pi_1", 30000)
    receipt_id = patronage.receipting.issue(single(gift_id))
    reopened = bootstrap(settings)
    try:
        receipt = reopened.ledger.get_typed(receipt_id, TaxReceipt)
        assert receipt.issued_on == ISSUED_ON
        assert receipt.total == Money(30000, "USD")
        assert receipt.donor.address.city == "London"
        assert reopened.ledger.get_typed(gift_id, Gift).amount == Money(30000, "USD")
    finally:
        reopened.close()
