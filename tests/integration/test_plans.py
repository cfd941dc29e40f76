"""Not every plan is monthly, on both stores: the ledger keeps each plan's period, and the
views report monthly recurring revenue normalised to a month."""

from __future__ import annotations

from patronage.bootstrap import Patronage
from patronage.domain.membership import Membership, membership_id_for
from patronage.domain.money import Money
from patronage.domain.values import BillingPeriod
from patronage.projections.totals import members
from tests.support import stripe_events as se
from tests.support.projections import catch_up_all


def member(patronage: Patronage, sub: str, email: str, minor: int, **plan: object) -> None:
    metadata = se.our_metadata(email, kind="monthly")
    invoice = se.invoice(f"in_{sub}", sub, minor, metadata, email, pi=f"pi_{sub}")
    subscription = se.subscription(sub, minor, metadata, **plan)  # type: ignore[arg-type]
    for evt in (
        se.event("invoice.paid", invoice, se.T0),
        se.event("customer.subscription.created", subscription, se.T0 + 1),
    ):
        assert patronage.inbox.receive(se.body_of(evt), evt).status == "applied"


def test_yearly_and_weekly_plans_count_by_the_month_in_mrr(patronage: Patronage) -> None:
    member(patronage, "sub_year", "ada@example.org", 12000, interval="year")
    member(patronage, "sub_week", "grace@example.org", 1000, interval="week")
    discount = se.discount("half", percent_off=50.0)
    member(patronage, "sub_half", "mary@example.org", 2000, discount=discount)
    yearly = patronage.ledger.get_typed(membership_id_for("sub_year"), Membership)
    assert (yearly.monthly_amount, yearly.period) == (Money(12000, "USD"), BillingPeriod("year"))
    halved = patronage.ledger.get_typed(membership_id_for("sub_half"), Membership)
    assert halved.monthly_amount == Money(1000, "USD")
    catch_up_all(patronage)
    [active] = members(patronage.views.totals).active
    # 12000 a year is 1000 a month; 1000 a week is 4333 a month; 2000 at half is 1000.
    assert (active.currency, active.members, active.monthly_recurring_minor) == ("USD", 3, 6333)
