"""Receipting: issue single and annual receipts, run year end, void, replace, resend.

Every command works on a UnitOfWork and commits the receipts, the gifts they cover and the
numbers their series allocated in one transaction, so a number is used exactly when its
receipt exists. The register view only says where the work is; the decision is taken on
the aggregates loaded afresh (a gift refunded a moment ago is not receipted).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import DomainEvent

from patronage.application.clock import Clock, utc_now
from patronage.application.ledger import Ledger, UnitOfWork, in_one_transaction, retrying
from patronage.collector import collecting_less_often
from patronage.domain.errors import DomainError, ReceiptAlreadyVoidError
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
    missing_donor_details,
    receipt_id_for,
    series_id_for,
    series_name,
    series_prefix,
)
from patronage.domain.supporter import Supporter
from patronage.domain.tax_year import (
    local_date,
    tax_year_bounds,
    tax_year_has_ended,
    tax_year_of,
)
from patronage.domain.values import PostalAddress
from patronage.projections.base import event_class
from patronage.projections.register import ReceiptEntry
from patronage.receipts.profiles import profile_for

# Year end commits this many receipts per transaction: big enough to amortise a commit,
# small enough that a conflict with a concurrent single issue retries little work.
BATCH = 500
# Receipt numbering is expected contention, not a bug: give it more tries than other saves.
NUMBERING_ATTEMPTS = 60
# Year end reads the register once it holds every gift: after a bulk import that can take
# the view workers a while.
YEAR_END_CATCH_UP_SECONDS = 600.0

Year = tuple[datetime, datetime]
Group = tuple[UUID, str, list[UUID]]


class RegisterReads(Protocol):
    """Where receipting finds its work: the register view (projections/register.py)."""

    def catch_up(self, timeout: float | None = None) -> None: ...

    def annual_groups(
        self, year: Year, supporter_id: UUID | None = None, currency: str | None = None
    ) -> list[Group]: ...

    def one_time_gifts_to_receipt(self, since: datetime, limit: int) -> list[UUID]: ...

    def donors_waiting(self, year: Year) -> Sequence[DonorWaiting]: ...

    def receipt_entry(self, number: str, after: int) -> ReceiptEntry | None: ...


class DonorWaiting(Protocol):
    """A supporter with gifts to receipt, as the register knows them."""

    @property
    def supporter_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def address(self) -> PostalAddress: ...
    @property
    def gifts(self) -> int: ...


class ReceiptNotFoundError(LookupError):
    """No gift, supporter or receipt by that id or number."""


@dataclass(frozen=True)
class Issued:
    receipt_id: UUID
    number: str


@dataclass(frozen=True)
class Registered:
    """A receipt action's outcome as the register shows it (read-your-writes)."""

    receipt_id: UUID
    number: str
    position: int  # the event log's head once the action was saved (for ?after=)
    entry: ReceiptEntry | None  # None if the register did not catch up in time


@dataclass(frozen=True)
class ReceiptStep:
    """One line of a receipt's history: when, what, and who or why."""

    at: datetime
    what: str
    detail: str


def _voided(e: Any) -> tuple[str, str]:
    replaced = f"; replaced by {e.replaced_by_number}" if e.replaced_by_number else ""
    return "Voided", f"by {e.by}: {e.reason}{replaced}"


# What each of a receipt's events says in its history, by the event's class. A sender's
# claim (EmailClaimed) says nothing: the send's outcome follows it.
_STEPS: dict[type[DomainEvent], Callable[[Any], tuple[str, str]]] = {
    event_class(TaxReceipt, "Issued"): lambda e: (
        "Issued",
        f"replacing {e.replaces_number}" if e.replaces_number else "",
    ),
    event_class(TaxReceipt, "Emailed"): lambda e: ("Emailed", f"to {e.to_masked}"),
    event_class(TaxReceipt, "EmailFailed"): lambda e: (
        "Email failed",
        f"{e.error}; next try {e.retry_at:%Y-%m-%d %H:%M} UTC",
    ),
    event_class(TaxReceipt, "ResendRequested"): lambda e: ("Email again requested", f"by {e.by}"),
    event_class(TaxReceipt, "Voided"): _voided,
}


@dataclass(frozen=True)
class MissingDetails:
    supporter_id: str
    name: str
    missing: list[str]
    gifts: int


@dataclass
class YearEndReport:
    tax_year: int
    dry_run: bool
    groups: int = 0  # supporter and currency pairs with gifts to receipt
    issued: int = 0  # receipts issued (or, in a dry run, that would be)
    missing_details: list[str] = field(default_factory=list)  # supporter ids skipped
    first_number: str = ""
    last_number: str = ""


@dataclass
class _Draft:
    supporter: Supporter
    currency: str
    gifts: list[Gift]


class Receipting:
    def __init__(
        self,
        ledger: Ledger,
        organisation: OrganisationDetails,
        zone: tzinfo,
        register: RegisterReads,
        clock: Clock = utc_now,
    ) -> None:
        self.ledger = ledger
        self.organisation = organisation
        self.jurisdiction = Jurisdiction(organisation.jurisdiction)
        self.profile = profile_for(organisation.jurisdiction)
        self.zone = zone
        self.register = register
        self.clock = clock
        # Issues in one process queue here rather than conflict on the series; optimistic
        # concurrency settles races with other processes.
        self._numbering = threading.Lock()

    def today(self) -> date:
        return local_date(self.clock(), self.zone)

    # Drafting ------------------------------------------------------------------------------

    def _draft(
        self, unit: UnitOfWork, supporter_id: UUID, currency: str, gifts: Sequence[Gift]
    ) -> _Draft:
        """Check a receipt's gifts and donor; raises DomainError with the rule it breaks."""
        if not gifts:
            raise DomainError("a receipt must cover at least one gift")
        if {g.supporter_id for g in gifts} != {supporter_id} or {
            g.amount.currency for g in gifts
        } != {currency}:
            raise DomainError("one receipt covers one supporter's gifts in one currency")
        for gift in gifts:
            gift.check_receiptable()
        supporter = unit.get_typed(supporter_id, Supporter)
        missing = missing_donor_details(self.jurisdiction, supporter.name, supporter.address)
        if missing:
            raise DomainError(
                f"supporter {supporter.id} needs {', '.join(missing)} before a "
                f"{self.jurisdiction} receipt: listed under missing details"
            )
        return _Draft(supporter, currency, list(gifts))

    def _issue(
        self,
        unit: UnitOfWork,
        kind: ReceiptKind,
        tax_year: int,
        drafts: Sequence[_Draft],
        replaces_number: str = "",
    ) -> list[TaxReceipt]:
        """Number and create the drafted receipts and attach their gifts, in `unit`."""
        if not drafts:
            return []
        name = series_name(tax_year, kind)
        series = unit.get_or_none(series_id_for(name), ReceiptSeries)
        if series is None:
            series = ReceiptSeries(name=name, prefix=series_prefix(tax_year, kind))
            unit.add(series)
        receipts = []
        for number, draft in zip(series.allocate(len(drafts)), drafts, strict=True):
            receipt = self._receipt(number, name, kind, tax_year, draft, replaces_number)
            for gift in draft.gifts:
                gift.attach_receipt(receipt.id)
            unit.add(receipt)
            receipts.append(receipt)
        return receipts

    def _receipt(
        self,
        number: str,
        series: str,
        kind: ReceiptKind,
        tax_year: int,
        draft: _Draft,
        replaces_number: str,
    ) -> TaxReceipt:
        lines = []
        for g in sorted(draft.gifts, key=lambda g: (g.received_at, str(g.id))):
            amount = g.receiptable_amount.minor
            lines.append(
                ReceiptedGift(
                    gift_id=str(g.id),
                    received_on=local_date(g.received_at, self.zone).isoformat(),
                    amount_minor=amount,
                    benefit_minor=min(g.benefit_value.minor, amount),
                )
            )
        benefits = Money(sum(line.benefit_minor for line in lines), draft.currency)
        return TaxReceipt(
            number=number,
            series=series,
            kind=kind,
            tax_year=tax_year,
            currency=draft.currency,
            donor=DonorDetails(
                supporter_id=str(draft.supporter.id),
                name=draft.supporter.name,
                email=draft.supporter.email,
                address=draft.supporter.address,
            ),
            organisation=self.organisation,
            gifts=lines,
            statement="\n".join(
                self.profile.statements(self.organisation.name, benefits, replaces_number)
            ),
            issued_on=self.today(),
            replaces_number=replaces_number,
        )

    def _numbered(self, work: Callable[[UnitOfWork], list[TaxReceipt]]) -> list[TaxReceipt]:
        def attempt() -> list[TaxReceipt]:
            unit = UnitOfWork(self.ledger)
            receipts = work(unit)
            unit.commit()
            return receipts

        with self._numbering:
            return retrying(attempt, attempts=NUMBERING_ATTEMPTS)

    # Single and annual ---------------------------------------------------------------------

    def issue_single(self, gift_id: UUID) -> Issued:
        """A receipt for one gift, numbered next in its tax year's single series."""

        def work(unit: UnitOfWork) -> list[TaxReceipt]:
            gift = unit.get_or_none(gift_id, Gift)
            if gift is None:
                raise ReceiptNotFoundError(f"no gift {gift_id}")
            draft = self._draft(unit, gift.supporter_id, gift.amount.currency, [gift])
            year = tax_year_of(gift.received_at, self.zone)
            return self._issue(unit, ReceiptKind.SINGLE, year, [draft])

        (receipt,) = self._numbered(work)
        return Issued(receipt.id, receipt.number)

    def check_year_ended(self, tax_year: int) -> None:
        self._year_ended(tax_year)

    def _year_ended(self, tax_year: int) -> Year:
        if not tax_year_has_ended(tax_year, self.clock(), self.zone):
            raise DomainError(
                f"annual receipts for {tax_year} are issued after year end in {self.zone}"
            )
        return tax_year_bounds(tax_year, self.zone)

    def issue_annual(self, supporter_id: UUID, tax_year: int, currency: str) -> Issued:
        """One receipt for a supporter's gifts of a year in a currency that no valid receipt
        covers yet (refunded money and gifts under an open dispute are left out)."""
        year = self._year_ended(tax_year)
        self.register.catch_up()
        groups = self.register.annual_groups(year, supporter_id, currency)
        if not groups:
            raise DomainError(f"no unreceipted {currency} gifts of {tax_year} for this supporter")

        def work(unit: UnitOfWork) -> list[TaxReceipt]:
            drafts = self._annual_drafts(unit, groups, year, skip_missing=False)
            if not drafts:
                raise DomainError(f"nothing of {tax_year} in {currency} is left to receipt")
            return self._issue(unit, ReceiptKind.ANNUAL, tax_year, drafts)

        (receipt,) = self._numbered(work)
        return Issued(receipt.id, receipt.number)

    def _annual_drafts(
        self, unit: UnitOfWork, groups: Sequence[Group], year: Year, *, skip_missing: bool,
        missing: list[str] | None = None,
    ) -> list[_Draft]:  # fmt: skip
        """Drafts for the groups, with only the gifts still receiptable on the aggregates."""
        gifts = unit.get_many([g for _s, _c, ids in groups for g in ids], Gift)
        unit.get_many([s for s, _c, _ids in groups], Supporter)  # one read, not one each
        drafts = []
        for supporter_id, currency, ids in groups:
            chosen = [
                gift
                for gift in (gifts[i] for i in ids if i in gifts)
                if year[0] <= gift.received_at < year[1]
                and gift.receipt_id is None
                and not gift.has_open_dispute
                and not gift.under_review
                and gift.receiptable_amount.is_positive()
            ]
            if not chosen:
                continue
            try:
                drafts.append(self._draft(unit, supporter_id, currency, chosen))
            except DomainError:
                if not skip_missing:
                    raise
                if missing is not None:
                    missing.append(str(supporter_id))
        return drafts

    def run_year_end(
        self,
        tax_year: int,
        *,
        dry_run: bool = False,
        progress: Callable[[int, int], None] | None = None,
        batch: int = BATCH,
    ) -> YearEndReport:
        """Annual receipts for every supporter and currency with gifts of the year left to
        receipt; a second run issues nothing new. `progress(done, total)` after each batch.

        Each batch of `batch` groups is one transaction: its receipts, the numbers its series
        allocated for them in one block, and its gifts' attachments commit together or not
        at all. A run that stops (a crash, a refused write) leaves whole batches behind, and
        the next run receipts only the gifts still without a receipt, numbering on from the
        series' last number, so no number is skipped and no gift receipted twice."""
        year = self._year_ended(tax_year)
        self.register.catch_up(YEAR_END_CATCH_UP_SECONDS)
        groups = self.register.annual_groups(year)
        report = YearEndReport(tax_year, dry_run, groups=len(groups))
        with collecting_less_often():  # a batch's aggregates outlive the youngest generation
            for start in range(0, len(groups), batch):
                self._year_end_batch(report, groups[start : start + batch], year)
                if progress is not None:
                    progress(min(start + batch, len(groups)), len(groups))
        return report

    def _year_end_batch(self, report: YearEndReport, batch: list[Group], year: Year) -> None:
        missing: list[str] = []

        def drafts(unit: UnitOfWork) -> list[_Draft]:
            missing.clear()  # a retried batch starts again
            return self._annual_drafts(unit, batch, year, skip_missing=True, missing=missing)

        if report.dry_run:
            report.issued += len(drafts(UnitOfWork(self.ledger)))
        else:
            receipts = self._numbered(
                lambda unit: self._issue(unit, ReceiptKind.ANNUAL, report.tax_year, drafts(unit))
            )
            if receipts:
                report.issued += len(receipts)
                report.first_number = report.first_number or receipts[0].number
                report.last_number = receipts[-1].number
        report.missing_details.extend(missing)

    def issue_pending_singles(self, limit: int = 100) -> int:
        """With automatic single receipts on: receipt this tax year's one-time gifts that
        have none yet. Donors lacking required details wait in the missing-details list."""
        since = tax_year_bounds(tax_year_of(self.clock(), self.zone), self.zone)[0]
        issued = 0
        for gift_id in self.register.one_time_gifts_to_receipt(since, limit):
            try:
                self.issue_single(gift_id)
                issued += 1
            except DomainError:
                continue  # receipted meanwhile, refunded, held, or details missing
        return issued

    def missing_details(self, tax_year: int) -> list[MissingDetails]:
        """Supporters with gifts of the year to receipt whom this jurisdiction's receipt
        cannot name yet (a Canadian receipt needs a full name and an address)."""
        result = []
        for donor in self.register.donors_waiting(tax_year_bounds(tax_year, self.zone)):
            missing = missing_donor_details(self.jurisdiction, donor.name, donor.address)
            if missing:
                result.append(MissingDetails(donor.supporter_id, donor.name, missing, donor.gifts))
        return result

    # Void, replace, resend -----------------------------------------------------------------

    def receipt(self, number: str) -> TaxReceipt:
        receipt = self.ledger.get_or_none(receipt_id_for(number), TaxReceipt)
        if receipt is None:
            raise ReceiptNotFoundError(f"no receipt {number}")
        return receipt

    def history(self, number: str) -> list[ReceiptStep]:
        """What happened to a receipt, oldest first, from its own events: the audit trail a
        finance lead reads (empty for an unknown number)."""
        return [
            ReceiptStep(event.timestamp, *_STEPS[type(event)](event))
            for event in self.ledger.events.get(receipt_id_for(number))
            if isinstance(event, DomainEvent) and type(event) in _STEPS
        ]

    def registered(self, issued: Issued) -> Registered:
        """The receipt as the register shows it once the register has applied everything
        saved so far (the action included); no entry if it did not within the register's
        read-your-writes wait."""
        position = self.ledger.head()
        try:
            entry = self.register.receipt_entry(issued.number, position)
        except TimeoutError:
            entry = None
        return Registered(issued.receipt_id, issued.number, position, entry)

    def void(self, number: str, reason: str, by: str) -> Issued:
        """Void a receipt: it stays in the register, is never emailed again, and its gifts
        may be receipted again."""

        def work(unit: UnitOfWork) -> UUID:
            receipt = self._load(unit, number)
            receipt.void(reason, by)
            for gift in unit.get_many(receipt.gift_ids, Gift).values():
                gift.detach_receipt(receipt.id)
            return receipt.id

        return Issued(in_one_transaction(self.ledger, work), number)

    def replace(self, number: str, reason: str, by: str) -> Issued:
        """Void a receipt and issue its corrected replacement, which names the original's
        number and lists what its gifts hold now (after refunds and lost disputes). When
        nothing is left to receipt, the original is only voided."""

        def work(unit: UnitOfWork) -> list[TaxReceipt]:
            original = self._load(unit, number)
            if original.is_void:
                raise ReceiptAlreadyVoidError(f"receipt {number} is already void")
            gifts = list(unit.get_many(original.gift_ids, Gift).values())
            for gift in gifts:
                gift.detach_receipt(original.id)
            still = [
                g
                for g in gifts
                if not g.has_open_dispute
                and not g.under_review
                and g.receiptable_amount.is_positive()
            ]
            drafts = (
                [self._draft(unit, UUID(original.donor.supporter_id), original.currency, still)]
                if still
                else []
            )
            receipts = self._issue(
                unit, original.kind, original.tax_year, drafts, replaces_number=original.number
            )
            original.void(reason, by, replaced_by_number=receipts[0].number if receipts else "")
            return receipts or [original]

        (result,) = self._numbered(work)
        return Issued(result.id, result.number)

    def resend(self, number: str, by: str) -> Issued:
        """Email a receipt again (the outbox sends it); refused for a void receipt."""

        def work(unit: UnitOfWork) -> UUID:
            receipt = self._load(unit, number)
            receipt.request_resend(by, self.clock())
            return receipt.id

        return Issued(in_one_transaction(self.ledger, work), number)

    @staticmethod
    def _load(unit: UnitOfWork, number: str) -> TaxReceipt:
        try:
            return unit.get_typed(receipt_id_for(number), TaxReceipt)
        except AggregateNotFoundError:
            raise ReceiptNotFoundError(f"no receipt {number}") from None
