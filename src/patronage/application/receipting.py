"""Commands that issue, email-stamp, void and replace tax receipts."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate

from patronage.application.ledger import Ledger, retrying
from patronage.domain.errors import DomainError
from patronage.domain.gift import Gift
from patronage.domain.money import Money
from patronage.domain.receipt import (
    DonorDetails,
    Jurisdiction,
    OrganisationDetails,
    ReceiptedGift,
    ReceiptKind,
    ReceiptSeries,
    TaxReceipt,
    series_id_for,
)
from patronage.domain.supporter import Supporter
from patronage.receipts.profiles import receipt_statement


@dataclass(frozen=True)
class IssueReceipt:
    gift_ids: list[UUID]
    kind: ReceiptKind
    tax_year: int
    issued_on: date


class Receipting:
    def __init__(self, ledger: Ledger, organisation: OrganisationDetails) -> None:
        self.ledger = ledger
        self.organisation = organisation
        # Every issue in a year contends for the same series aggregate: queue them within this
        # process, and let optimistic concurrency settle races with other processes.
        self._numbering = threading.Lock()

    def _series(self, tax_year: int) -> ReceiptSeries:
        name = str(tax_year)
        series = self.ledger.get_or_none(series_id_for(name), ReceiptSeries)
        return series or ReceiptSeries(name=name, prefix=f"{tax_year}-")

    def _draft(
        self, command: IssueReceipt, replaces_number: str = "", replacing: UUID | None = None
    ) -> tuple[TaxReceipt, list[Aggregate]]:
        """A numbered receipt for the gifts, and every aggregate it changed (not yet saved)."""
        gifts = [self.ledger.get_typed(gift_id, Gift) for gift_id in command.gift_ids]
        if not gifts:
            raise DomainError("a receipt must cover at least one gift")
        supporters = {g.supporter_id for g in gifts}
        currencies = {g.amount.currency for g in gifts}
        if len(supporters) != 1 or len(currencies) != 1:
            raise DomainError("one receipt covers one supporter's gifts in one currency")
        if any(g.received_at.year != command.tax_year for g in gifts):
            raise DomainError(f"every gift on the receipt must be from {command.tax_year}")
        if command.kind == ReceiptKind.SINGLE and len(gifts) != 1:
            raise DomainError("a single receipt covers exactly one gift")
        if command.kind == ReceiptKind.ANNUAL and command.issued_on.year <= command.tax_year:
            raise DomainError(f"an annual receipt for {command.tax_year} is issued after year end")
        for gift in gifts:
            if gift.receipt_id is not None and gift.receipt_id == replacing:
                gift.detach_receipt(replacing)
            gift.check_receiptable()
        supporter = self.ledger.get_typed(supporters.pop(), Supporter)
        currency = currencies.pop()
        lines = [
            ReceiptedGift(
                gift_id=str(g.id),
                received_on=g.received_at.date().isoformat(),
                amount_minor=g.receiptable_amount.minor,
                benefit_minor=g.benefit_value.minor,
            )
            for g in sorted(gifts, key=lambda g: g.received_at)
        ]
        benefits = Money(sum(line.benefit_minor for line in lines), currency)
        series = self._series(command.tax_year)
        receipt = TaxReceipt(
            number=series.allocate(),
            series=series.name,
            kind=command.kind,
            tax_year=command.tax_year,
            currency=currency,
            donor=DonorDetails(
                supporter_id=str(supporter.id),
                name=supporter.name,
                email=supporter.email,
                address=supporter.address,
            ),
            organisation=self.organisation,
            gifts=lines,
            statement=receipt_statement(
                Jurisdiction(self.organisation.jurisdiction), self.organisation.name, benefits
            ),
            issued_on=command.issued_on,
            replaces_number=replaces_number,
        )
        for gift in gifts:
            gift.attach_receipt(receipt.id)
        return receipt, [series, receipt, *gifts]

    def issue(self, command: IssueReceipt) -> UUID:
        """Issue one receipt with the next number of its year's series."""

        def run() -> UUID:
            receipt, changed = self._draft(command)
            self.ledger.save(*changed)
            return receipt.id

        with self._numbering:
            return retrying(run)

    def void(self, receipt_id: UUID, reason: str, by: str) -> None:
        """Void a receipt; it stays in the register and its gifts may be receipted again."""

        def run() -> None:
            receipt = self.ledger.get_typed(receipt_id, TaxReceipt)
            receipt.void(reason, by)
            gifts = [self.ledger.get_typed(gift_id, Gift) for gift_id in receipt.gift_ids]
            for gift in gifts:
                gift.detach_receipt(receipt.id)
            self.ledger.save(receipt, *gifts)

        retrying(run)

    def replace(self, receipt_id: UUID, reason: str, by: str, issued_on: date) -> UUID:
        """Void a receipt and issue its replacement, pointing at the original's number."""

        def run() -> UUID:
            original = self.ledger.get_typed(receipt_id, TaxReceipt)
            command = IssueReceipt(
                gift_ids=original.gift_ids,
                kind=original.kind,
                tax_year=original.tax_year,
                issued_on=issued_on,
            )
            replacement, changed = self._draft(
                command, replaces_number=original.number, replacing=original.id
            )
            original.void(reason, by, replaced_by_number=replacement.number)
            self.ledger.save(original, *changed)
            return replacement.id

        with self._numbering:
            return retrying(run)
