"""A small, varied ledger for the staff console and exports: one-time and monthly gifts in
two currencies, a covered fee, a tribute, a refund, a lost dispute, a receipt, a campaign,
and a name that a spreadsheet would run as a formula."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from patronage.bootstrap import Patronage
from patronage.cli.demo_setup import DEMO_CAMPAIGN, load_demo_campaign
from patronage.domain.commands import (
    RecordDispute,
    RecordGift,
    RecordMembershipPayment,
    RecordRefund,
    ReportMembership,
    SupporterDetails,
)
from patronage.domain.gift import DisputeStatus, gift_id_for
from patronage.domain.membership import MembershipStatus
from patronage.domain.money import Money
from patronage.domain.values import Attribution, PostalAddress, Tribute

ADA = SupporterDetails(
    email="ada@example.org",
    name="Ada Lovelace",
    stripe_customer_id="cus_ada123",
    address=PostalAddress(line1="12 St James's Sq", city="London", postal_code="SW1Y 4JH",
                          country="GB"),
)  # fmt: skip
MALLORY = SupporterDetails(email="mallory@example.org", name='=HYPERLINK("http://x")')
CHEN = SupporterDetails(email="chen.wei@example.org", name="Chen Wei")
SPRING = Attribution(
    article_id="2026-water-rates-analysis", campaign=DEMO_CAMPAIGN, variant="article-count"
)


def supporter_of(patronage: Patronage, email: str) -> UUID:
    return patronage.giving.directory.id_for(email)


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 14, 30, tzinfo=UTC)


@dataclass(frozen=True)
class StaffLedger:
    ada_id: str
    receipt_number: str


def seed_staff_ledger(patronage: Patronage) -> StaffLedger:
    load_demo_campaign(patronage.campaigns)
    giving = patronage.giving
    giving.record_gift(
        RecordGift(
            payment_id="pi_ada_1", supporter=ADA, amount=Money(2585, "USD"),
            received_at=at(1, 10), attribution=SPRING, fee_covered_minor=85,
            tribute=Tribute(kind="honour", name="Grace Hopper"),
        )
    )  # fmt: skip
    giving.record_refund(RecordRefund("pi_ada_1", "re_ada_1", Money(500, "USD"), at(1, 12)))
    membership = ReportMembership(
        subscription_id="sub_ada", supporter=ADA, monthly_amount=Money(1000, "USD"),
        status=MembershipStatus.ACTIVE, as_of=at(2, 1), attribution=SPRING,
        started_at=at(2, 1),
    )  # fmt: skip
    giving.report_membership(membership)
    for month in (2, 3, 4):
        giving.record_membership_payment(
            RecordMembershipPayment(
                membership=membership, invoice_id=f"in_ada_{month}",
                payment_id=f"pi_ada_m{month}", amount=Money(1000, "USD"), paid_at=at(month, 1),
            )
        )  # fmt: skip
    giving.record_gift(
        RecordGift(
            payment_id="pi_mallory", supporter=MALLORY, amount=Money(10000, "EUR"),
            received_at=at(3, 5),
        )
    )  # fmt: skip
    giving.record_dispute(
        RecordDispute("pi_mallory", "dp_1", Money(10000, "EUR"), DisputeStatus.LOST,
                      "fraudulent", at(3, 20))
    )  # fmt: skip
    for day, minor in ((2, 1500), (9, 5000), (16, 2000)):
        giving.record_gift(
            RecordGift(
                payment_id=f"pi_chen_{day}", supporter=CHEN, amount=Money(minor, "USD"),
                received_at=at(5, day), attribution=SPRING,
            )
        )  # fmt: skip
    number = patronage.receipting.issue_single(gift_id_for("pi_chen_2")).number
    return StaffLedger(ada_id=str(supporter_of(patronage, ADA.email)), receipt_number=number)
