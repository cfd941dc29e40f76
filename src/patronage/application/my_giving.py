"""A supporter's own statement: what they gave, their memberships, and their receipts.

Read from the views (gifts and receipts from the register, memberships from the supporters
view) and the membership aggregates (next payment date, pause end), for one supporter only:
every reader here takes the signed-in supporter's id and returns nothing of anyone else's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from uuid import UUID

from patronage.application.clock import Clock, utc_now
from patronage.application.ledger import Ledger
from patronage.application.receipting import Issued, Receipting
from patronage.domain.errors import DomainError
from patronage.domain.membership import ENDED, Membership
from patronage.domain.money import Money
from patronage.domain.receipt import TaxReceipt, receipt_id_for
from patronage.domain.tax_year import tax_year_has_ended, tax_year_of
from patronage.projections import register as receipts_view
from patronage.projections import supporters as supporters_view
from patronage.projections.register import GiftState, ReceiptEntry
from patronage.projections.store import ViewStore


@dataclass(frozen=True)
class YearTotal:
    year: int
    currency: str
    gifts: int
    net: Money  # given, less refunds and lost disputes


@dataclass(frozen=True)
class MembershipSummary:
    membership_id: UUID
    status: str
    amount: Money
    every: str  # "month", "3 months", ...
    started_at: datetime
    period_ends_at: datetime | None
    resumes_at: datetime | None
    ended: bool
    ended_at: datetime | None  # when Stripe reported the end, once ended


@dataclass(frozen=True)
class Statement:
    gifts: list[GiftState]
    years: list[YearTotal]
    memberships: list[MembershipSummary]
    receipts: list[ReceiptEntry]
    # Ended tax years with money no receipt covers: an annual receipt may be asked for.
    years_to_receipt: list[int]


@dataclass(eq=False)
class MyGiving:
    ledger: Ledger
    register: ViewStore
    supporters: ViewStore
    receipting: Receipting
    zone: tzinfo
    clock: Clock = utc_now

    def statement(self, supporter_id: UUID) -> Statement:
        sid = str(supporter_id)
        gifts = receipts_view.supporter_gifts(self.register, sid)
        _total, receipts = receipts_view.receipts(self.register, supporter_id=sid, limit=1000)
        return Statement(
            gifts=gifts,
            years=self._years(gifts),
            memberships=self._memberships(sid),
            receipts=sorted(receipts, key=lambda r: (r.issued_on, r.number), reverse=True),
            years_to_receipt=self._years_to_receipt(gifts),
        )

    def _years(self, gifts: list[GiftState]) -> list[YearTotal]:
        sums: dict[tuple[int, str], tuple[int, int]] = {}
        for gift in gifts:
            key = (self._year(gift), gift.currency)
            count, net = sums.get(key, (0, 0))
            sums[key] = (count + 1, net + _net(gift))
        return [
            YearTotal(year, currency, count, Money(net, currency))
            for (year, currency), (count, net) in sorted(sums.items(), reverse=True)
        ]

    def _year(self, gift: GiftState) -> int:
        return tax_year_of(datetime.fromisoformat(gift.received_at), self.zone)

    def _years_to_receipt(self, gifts: list[GiftState]) -> list[int]:
        now = self.clock()
        years = {self._year(g) for g in gifts if g.receiptable}
        return sorted((y for y in years if tax_year_has_ended(y, now, self.zone)), reverse=True)

    def _memberships(self, sid: str) -> list[MembershipSummary]:
        ids = [UUID(i) for i in supporters_view.membership_ids(self.supporters, sid)]
        found = self.ledger.get_many(ids, Membership)
        return [
            MembershipSummary(
                membership_id=m.id,
                status=m.status.value,
                amount=m.monthly_amount,
                every=str(m.period),
                started_at=m.started_at,
                period_ends_at=m.period_ends_at,
                resumes_at=m.resumes_at,
                ended=m.status in ENDED,
                ended_at=m.status_as_of if m.status in ENDED else None,
            )
            for m in (found[i] for i in ids if i in found)
        ]

    def receipt(self, supporter_id: UUID, number: str) -> TaxReceipt | None:
        """One of this supporter's receipts (void ones too); None for anyone else's."""
        _total, mine = receipts_view.receipts(
            self.register, supporter_id=str(supporter_id), number=number, limit=1
        )
        if not mine:
            return None
        return self.ledger.get_or_none(receipt_id_for(number), TaxReceipt)

    def request_annual(self, supporter_id: UUID, tax_year: int) -> list[Issued]:
        """Issue the annual receipt of an ended year that none covers yet, one per currency
        (the same receipt year end would issue: docs/supporters.md says why no one needs to
        approve it). DomainError says why not (the year has not ended, details missing,
        nothing left to receipt)."""
        gifts = receipts_view.supporter_gifts(self.register, str(supporter_id))
        if tax_year not in self._years_to_receipt(gifts):
            raise DomainError(f"nothing of {tax_year} is waiting for a receipt")
        currencies = sorted(
            {g.currency for g in gifts if self._year(g) == tax_year and not g.receipt_number}
        )
        issued = [
            self.receipting.issue_annual(supporter_id, tax_year, currency)
            for currency in currencies
        ]
        self.receipting.register.catch_up()  # the page after this shows the new receipt
        return issued


def _net(gift: GiftState) -> int:
    return gift.amount_minor - gift.refunded_minor - gift.lost_minor
