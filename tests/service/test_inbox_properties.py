"""Property: whatever order Stripe delivers a history in, with whatever duplicates, one at a
time or all at once (a burst on one event loop, reads and saves batched by the committer),
the ledger ends as it does when the same history is delivered once, in order.

Histories are generated per supporter: one-time gifts (Checkout and PaymentIntent reports,
refunds that are partial, pending or failed, disputes through every Stripe status, appeals
included), memberships (made by our checkout or outside it with only a customer id, monthly,
yearly or weekly, renewals in either invoice shape with both invoice events, current-shape
renewals refunded or disputed with and without `invoice_payment.paid`, failed renewals and
their retry, pauses, scheduled cancellations, cancellation), and payments without our
metadata under both settings. Stripe's API (customers, invoice payments) answers from a
loopback server. Events of one second are common, as at Stripe. Nothing stays parked.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patronage.application.batching import CommitBatcher
from patronage.application.inbox import Inbox
from patronage.domain.gift import Gift
from patronage.domain.inbox import InboxEvent, InboxStatus
from patronage.domain.membership import Membership
from patronage.domain.money import Money
from patronage.domain.supporter import Supporter
from tests.support import stripe_events as se
from tests.support.fake_stripe import FakeStripe, FakeStripeState, fake_stripe_server
from tests.support.memory import Services, in_memory

Event = dict[str, Any]
MONTH = 30 * 24 * 3600


@dataclass
class Timeline:
    """Events in the order Stripe made them, with times that move on (or not) by steps."""

    now: int
    events: list[Event] = field(default_factory=list)
    # What Stripe's API answers (the loopback server serves it): customers, invoice payments.
    stripe: FakeStripeState = field(default_factory=FakeStripeState)

    def add(self, event_type: str, obj: dict[str, Any], api_version: str = se.NEW_API) -> Event:
        evt = se.event(event_type, json.loads(json.dumps(obj)), self.now, api_version=api_version)
        self.events.append(evt)
        return evt


steps = st.sampled_from([0, 0, 1, 2, 60, 3600])
INVOICE_FAILURES = ["invoice.payment_failed", "invoice.payment_action_required"]
# Both events of a paid invoice, in either order, or only one of them.
INVOICE_PAYMENTS = [
    ["invoice.paid", "invoice.payment_succeeded"],
    ["invoice.payment_succeeded", "invoice.paid"],
    ["invoice.paid"],
]


@st.composite
def one_time_gift(draw: st.DrawFn, line: Timeline, email: str, n: int) -> None:
    pi = f"pi_{n}"
    amount = draw(st.integers(min_value=100, max_value=50_000))
    metadata = se.our_metadata(email, campaign=draw(st.sampled_from(["spring", "election"])))
    reports = draw(st.sampled_from(["both", "checkout", "intent"]))
    if reports in ("both", "intent"):
        line.add("payment_intent.succeeded", se.payment_intent(pi, amount, metadata, email))
    line.now += draw(steps)
    if reports in ("both", "checkout"):
        session = se.checkout_session(f"cs_{n}", amount, email, metadata, payment_intent=pi)
        line.add("checkout.session.completed", session)
    # Refunds: each created within what is left to refund; a pending one may fail later,
    # which gives its amount back for another refund.
    refundable = amount
    refunds: dict[str, dict[str, Any]] = {}
    for r in range(draw(st.integers(min_value=0, max_value=3))):
        line.now += draw(steps)
        pending = [k for k, v in refunds.items() if v["status"] == "pending"]
        if pending and draw(st.booleans()):
            failed = refunds[draw(st.sampled_from(pending))]
            failed["status"] = "failed"
            refundable += failed["amount"]
            line.add("refund.updated", failed)
        elif refundable > 0:
            value = draw(st.integers(min_value=1, max_value=refundable))
            status = draw(st.sampled_from(["succeeded", "pending"]))
            refund = se.refund(f"re_{n}_{r}", pi, value, status=status, created=line.now)
            refunds[refund["id"]] = refund
            refundable -= value
            line.add("refund.created", refund)
            if draw(st.booleans()):
                line.add("charge.refunded", se.charge_refunded(pi, amount, list(refunds.values())))
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        dispute(draw, line, f"dp_{n}", pi, amount)


# Dispute histories through every status Stripe has, appeals included: (event, status).
DISPUTE_PATHS = [
    [("created", "warning_needs_response"), ("updated", "warning_under_review"),
     ("closed", "warning_closed")],
    [("created", "needs_response"), ("funds_withdrawn", "needs_response"),
     ("updated", "under_review"), ("funds_reinstated", "won"), ("closed", "won")],
    [("created", "needs_response"), ("funds_withdrawn", "needs_response"), ("closed", "lost")],
    [("created", "needs_response"), ("funds_withdrawn", "needs_response"), ("closed", "lost"),
     ("updated", "appeal_needs_response"), ("updated", "appeal_under_review"),
     ("closed", "won")],
    [("created", "needs_response"), ("closed", "lost"), ("updated", "appeal_needs_response"),
     ("closed", "lost")],
    [("created", "warning_needs_response"), ("closed", "prevented")],
]  # fmt: skip


def dispute(draw: st.DrawFn, line: Timeline, dp: str, pi: str, amount: int) -> None:
    path = draw(st.sampled_from(DISPUTE_PATHS))
    for event, status in path[: draw(st.integers(min_value=1, max_value=len(path)))]:
        line.now += draw(steps)
        line.add(f"charge.dispute.{event}", se.dispute(dp, pi, amount, status))


@st.composite
def membership(draw: st.DrawFn, line: Timeline, email: str, n: int) -> None:
    sub = f"sub_{n}"
    amount = draw(st.sampled_from([500, 1000, 2500]))
    # Made by our checkout (our metadata), or in the Dashboard: no metadata, and the
    # subscription's events name only the customer (whom Stripe may be asked about).
    ours = draw(st.booleans())
    metadata = se.our_metadata(email, kind="monthly", campaign="members") if ours else {}
    customer = f"cus_{n}"
    if not ours and draw(st.booleans()):
        line.stripe.add_customer(customer, email)
    interval = draw(st.sampled_from(["month", "month", "year", "week"]))
    shape = draw(st.sampled_from(["legacy", "basil"]))
    api = se.OLD_API if shape == "legacy" else se.NEW_API
    start = line.now

    def sub_event(event_type: str, status: str = "active", **fields: Any) -> None:
        obj = se.subscription(
            sub, amount, metadata, status=status, start_date=start, customer=customer,
            interval=interval, **fields,
        )  # fmt: skip
        line.add(event_type, obj, api)

    sub_event("customer.subscription.created", status="incomplete")
    if ours and draw(st.booleans()):
        line.now += draw(steps)
        session = se.checkout_session(
            f"cs_{sub}", amount, email, metadata, mode="subscription", subscription=sub
        )
        line.add("checkout.session.completed", session, api)
    cancelled = False
    for month in range(draw(st.integers(min_value=1, max_value=4))):
        invoice_id, pi = f"in_{n}_{month}", f"pi_in_{n}_{month}"
        line.now = start + month * MONTH + draw(steps)
        if month > 0 and draw(st.integers(min_value=0, max_value=3)) == 0:
            failed = se.invoice(
                invoice_id,
                sub,
                amount,
                metadata,
                email,
                shape=shape,
                pi=pi,
                paid_at=None,
                status="open",
                customer=customer,
            )
            line.add(draw(st.sampled_from(INVOICE_FAILURES)), failed, api)
            sub_event("customer.subscription.updated", status="past_due")
            if not draw(st.booleans()):
                continue  # never paid
            line.now += draw(st.sampled_from([1, 3600, 3 * 24 * 3600]))
        # The current shape's webhook invoice never carries `payments`.
        paid = se.invoice(
            invoice_id, sub, amount, metadata, email, shape=shape, pi=pi, paid_at=line.now,
            customer=customer, include_payments=draw(st.booleans()),
        )  # fmt: skip
        line.stripe.invoice_of_payment[pi] = invoice_id
        for event_type in draw(st.sampled_from(INVOICE_PAYMENTS)):
            line.add(event_type, paid, api)
        if shape == "basil" and draw(st.booleans()):
            line.add("invoice_payment.paid", invoice_payment(invoice_id, pi, amount), api)
        if shape == "basil" and draw(st.booleans()):
            # The PaymentIntent of a renewal: no metadata, no invoice named.
            renewal_intent = se.payment_intent(pi, amount, {}, email, customer=customer)
            line.add("payment_intent.succeeded", renewal_intent, api)
        sub_event("customer.subscription.updated")
        if shape == "legacy" and draw(st.integers(min_value=0, max_value=4)) == 0:
            line.now += draw(steps)
            refund = se.refund(f"re_{invoice_id}", pi, amount, created=line.now)
            line.add("charge.refunded", se.charge_refunded(pi, amount, [refund]), api)
        if shape == "basil" and draw(st.integers(min_value=0, max_value=3)) == 0:
            line.now += draw(steps)
            if draw(st.booleans()):
                refund = se.refund(f"re_{invoice_id}", pi, amount // 2, created=line.now)
                line.add("refund.created", refund, api)
            else:
                dispute(draw, line, f"dp_{invoice_id}", pi, amount)
        ending = draw(st.sampled_from(["", "", "", "pause", "cancel"]))
        line.now += draw(steps)
        if ending == "pause":
            pause = {"behavior": "void"}
            sub_event("customer.subscription.paused", status="paused", pause_collection=pause)
            line.now += draw(steps)
            sub_event("customer.subscription.resumed")
        elif ending == "cancel":
            sub_event("customer.subscription.updated", cancel_at_period_end=True)
            line.now += draw(steps)
            sub_event("customer.subscription.deleted", status="canceled")
            cancelled = True
            break
    if not cancelled and draw(st.booleans()):
        declined = se.payment_intent(f"pi_f{n}", 100, {}, email, status="requires_payment_method")
        line.add("payment_intent.payment_failed", declined)


def invoice_payment(invoice_id: str, pi: str, amount: int) -> dict[str, Any]:
    return {
        "id": f"inpay_{invoice_id}",
        "object": "invoice_payment",
        "amount_paid": amount,
        "currency": "usd",
        "invoice": invoice_id,
        "payment": {"type": "payment_intent", "payment_intent": pi},
        "status": "paid",
    }


@st.composite
def foreign_payment(draw: st.DrawFn, line: Timeline, email: str, n: int) -> None:
    """Money by a Payment Link or the Dashboard: no metadata of ours; perhaps only a customer
    (whom Stripe knows), perhaps refunded."""
    pi, customer = f"pi_link_{n}", f"cus_link_{n}"
    amount = draw(st.integers(min_value=100, max_value=5_000))
    named = draw(st.booleans())
    if not named:
        line.stripe.add_customer(customer, email)
    intent = se.payment_intent(pi, amount, {}, email if named else None, customer=customer)
    line.add("payment_intent.succeeded", intent)
    if draw(st.booleans()):
        line.now += draw(steps)
        line.add("refund.created", se.refund(f"re_link_{n}", pi, amount, created=line.now))


@st.composite
def histories(draw: st.DrawFn) -> Timeline:
    line = Timeline(now=se.T0)
    for person in range(draw(st.integers(min_value=1, max_value=3))):
        email = f"supporter{person}@example.org"
        for n in range(draw(st.integers(min_value=1, max_value=2))):
            line.now += draw(steps)
            kind = draw(st.sampled_from([one_time_gift, membership, foreign_payment]))
            draw(kind(line, email, person * 10 + n))
    return line


@dataclass(frozen=True)
class Case:
    history: list[Event]
    shuffled: list[Event]
    stripe: FakeStripeState
    unattributed: str  # the setting for payments without our metadata


@st.composite
def deliveries(draw: st.DrawFn) -> Case:
    """A history, the same events shuffled with random duplicates, what Stripe knows, and
    how payments without our metadata are treated."""
    line = draw(histories())
    duplicates = draw(st.lists(st.sampled_from(line.events), max_size=8))
    shuffled = draw(st.permutations(line.events + duplicates))
    unattributed = draw(st.sampled_from(["review", "book"]))
    return Case(line.events, shuffled, line.stripe, unattributed)


def ledger_state(services: Services) -> dict[str, Any]:
    """Everything about money in the ledger, in a form that does not depend on the order
    events were saved in (names and the inbox's wording are left out)."""
    ids: dict[str, set[Any]] = {}
    for notification in services.ledger.recorder.select_notifications(1, 1_000_000):
        ids.setdefault(notification.topic.rsplit(".", 1)[0], set()).add(notification.originator_id)

    def each(kind: type) -> list[Any]:
        topic = f"{kind.__module__}:{kind.__qualname__}"
        return [services.ledger.repository.get(i) for i in ids.get(topic, ())]

    gift_fields = [
        "supporter_id",
        "amount",
        "kind",
        "received_at",
        "attribution",
        "tribute",
        "benefit_value",
        "fee_covered",
        "membership_id",
        "invoice_id",
        "refunds",
        "reversed_refunds",
        "disputes",
        "dispute_amounts",
        "net",
        "through_stripe",
    ]
    membership_fields = [
        "supporter_id",
        "monthly_amount",
        "amount_as_of",
        "attribution",
        "started_at",
        "status",
        "status_as_of",
        "payments",
        "period",
    ]
    return {
        "supporters": {s.id: (s.email, sorted(s.stripe_customer_ids)) for s in each(Supporter)},
        "gifts": {g.payment_id: {f: getattr(g, f) for f in gift_fields} for g in each(Gift)},
        "memberships": {
            m.subscription_id: {f: getattr(m, f) for f in membership_fields}
            | {"failures": sorted(m.failures)}
            for m in each(Membership)
        },
        "inbox": {e.event_id: e.status for e in each(InboxEvent)},
        "unbooked": sorted(p.payment_id for p in services.inbox.unbooked()),
    }


def by_email(state: dict[str, Any]) -> dict[str, Any]:
    """The state with supporters named by email: a supporter registered without our id gets
    an id keyed by its ledger's secret, which two ledgers do not share."""
    emails = {sid: email for sid, (email, _) in state["supporters"].items()}

    def named(fields: dict[str, Any]) -> dict[str, Any]:
        return fields | {"supporter_id": emails.get(fields["supporter_id"])}

    return state | {
        "supporters": sorted(state["supporters"].values()),
        "gifts": {key: named(fields) for key, fields in state["gifts"].items()},
        "memberships": {key: named(fields) for key, fields in state["memberships"].items()},
    }


def deliver_all(services: Services, events: list[Event]) -> None:
    for evt in events:
        services.inbox.receive(json.dumps(evt), evt)


def deliver_all_at_once(services: Services, events: list[Event]) -> None:
    """Every event at once, as the webhook endpoint takes a burst: on one event loop, reads
    and saves batched by a committer (Inbox.receive_batched), the rest in worker threads."""
    commits = CommitBatcher(services.ledger, max_batch=8, max_wait=0.001)
    inbox = Inbox(services.ledger, services.giving, services.inbox.lookups, commits)

    async def burst() -> None:
        await asyncio.gather(*(inbox.receive_batched(json.dumps(evt), evt) for evt in events))

    try:
        asyncio.run(burst())
    finally:
        commits.close()


@pytest.fixture(scope="module")
def fake_stripe() -> Iterator[FakeStripe]:
    with fake_stripe_server() as server:
        yield server


@given(case=deliveries())
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_shuffled_duplicated_delivery_ends_like_in_order_delivery(
    case: Case, fake_stripe: FakeStripe
) -> None:
    fake_stripe.state.customers = case.stripe.customers
    fake_stripe.state.invoice_of_payment = case.stripe.invoice_of_payment
    stripe_settings = {
        "stripe_secret_key": fake_stripe.api_key,
        "stripe_api_base": fake_stripe.url,
        "unattributed_payments": case.unattributed,
    }
    with (
        in_memory(**stripe_settings) as in_order,
        in_memory(**stripe_settings) as any_order,
        in_memory(**stripe_settings) as at_once,
    ):
        deliver_all(in_order, case.history)
        deliver_all(any_order, case.shuffled)
        deliver_all_at_once(at_once, case.shuffled)
        expected = by_email(ledger_state(in_order))
        assert by_email(ledger_state(any_order)) == expected
        assert by_email(ledger_state(at_once)) == expected
        # Every history is complete: whatever waited, its counterpart came.
        assert any_order.inbox.waiting() == [] == in_order.inbox.waiting()
        assert at_once.inbox.waiting() == []
    assert expected["gifts"] or expected["unbooked"], "every history has money"


# The falsifying example of seed 5, written out --------------------------------------------


def dashboard_membership(line: Timeline, email: str, n: int) -> list[Event]:
    """A subscription made in the Dashboard (no metadata of ours): paid once, then a renewal
    fails. Every invoice of it names its customer, as Stripe's do."""
    sub, customer, start = f"sub_{n}", f"cus_{n}", line.now
    first = len(line.events)

    def sub_event(event_type: str, status: str) -> None:
        obj = se.subscription(sub, 500, {}, status=status, start_date=start, customer=customer)
        line.add(event_type, obj)

    sub_event("customer.subscription.created", "incomplete")
    line.stripe.invoice_of_payment[f"pi_in_{n}_0"] = f"in_{n}_0"
    paid = se.invoice(f"in_{n}_0", sub, 500, {}, email, pi=f"pi_in_{n}_0", customer=customer)
    line.add("invoice.paid", paid)
    sub_event("customer.subscription.updated", "active")
    line.now = start + MONTH
    failed = se.invoice(
        f"in_{n}_1", sub, 500, {}, email, pi=f"pi_in_{n}_1", paid_at=None, status="open",
        customer=customer,
    )  # fmt: skip
    line.add("invoice.payment_failed", failed)
    sub_event("customer.subscription.updated", "past_due")
    return line.events[first:]


def test_a_renewal_failure_delivered_first_finds_its_own_customers_supporter(
    fake_stripe: FakeStripe,
) -> None:
    """Seed 5 failed because the generated failed renewal named a customer (`cus_1`) that
    was not its subscription's: in order both members got it, out of order the second
    member's failure came first, found the first member by it and took the whole membership
    there. Now a failed invoice names its subscription's customer (Stripe's truth), and a
    customer id is linked to one supporter only; delivered the seed's way round, the second
    member's failure first, the ledger ends as in order: each member with their customer."""
    line = Timeline(now=se.T0)
    first = dashboard_membership(line, "supporter1@example.org", 11)
    line.now += 1
    second = dashboard_membership(line, "supporter2@example.org", 20)
    # The second member's failed renewal first, and once more at the end (a duplicate).
    failure_first = [*first, second[3], *second[:3], *second[4:], second[3]]
    fake_stripe.state.customers = line.stripe.customers
    fake_stripe.state.invoice_of_payment = line.stripe.invoice_of_payment
    stripe_settings = {"stripe_secret_key": fake_stripe.api_key, "stripe_api_base": fake_stripe.url}
    with in_memory(**stripe_settings) as in_order, in_memory(**stripe_settings) as any_order:
        deliver_all(in_order, line.events)
        deliver_all(any_order, failure_first)
        expected = by_email(ledger_state(in_order))
        assert by_email(ledger_state(any_order)) == expected
        assert any_order.inbox.waiting() == [] == in_order.inbox.waiting()
    assert expected["supporters"] == [
        ("supporter1@example.org", ["cus_11"]),
        ("supporter2@example.org", ["cus_20"]),
    ]
    assert expected["gifts"]["pi_in_20_0"]["supporter_id"] == "supporter2@example.org"
    assert expected["memberships"]["sub_20"]["supporter_id"] == "supporter2@example.org"


def test_a_refund_parked_again_for_a_reversal_is_applied_when_the_reversal_follows() -> None:
    """A falsifying example, written out: three refund events wait for their gift; when it
    comes, the pending 2-cent refund no longer fits beside the 99-cent one and waits for the
    other refund's failure, which the very next released event reports."""
    line = Timeline(now=se.T0)
    email = "supporter0@example.org"
    gift = line.add(
        "checkout.session.completed",
        se.checkout_session("cs_0", 100, email, se.our_metadata(email), payment_intent="pi_0"),
    )
    pending = line.add("refund.created", se.refund("re_0_0", "pi_0", 2, status="pending"))
    failed = line.add("refund.updated", se.refund("re_0_0", "pi_0", 2, status="failed"))
    kept = line.add("refund.created", se.refund("re_0_2", "pi_0", 99))
    with in_memory() as in_order, in_memory() as any_order:
        deliver_all(in_order, line.events)
        deliver_all(any_order, [kept, pending, failed, gift])
        expected = by_email(ledger_state(in_order))
        assert by_email(ledger_state(any_order)) == expected
        assert any_order.inbox.waiting() == [] == in_order.inbox.waiting()
    assert expected["gifts"]["pi_0"]["net"] == Money(1, "USD")


# Email changes (issue 9, defect 6) ---------------------------------------------------------


@st.composite
def email_change_histories(draw: st.DrawFn) -> tuple[list[Event], list[str]]:
    """Per person: gifts, with the customer's email changed (once or twice) between them by
    `customer.updated`, sometimes in the same second. Gifts after a change carry the new
    email and the id our checkout finds through the new email's claim (the same supporter).
    Returns the history and every email it used."""
    line = Timeline(now=se.T0)
    used: list[str] = []
    for person in range(draw(st.integers(min_value=1, max_value=2))):
        emails = [f"person{person}.v{v}@example.org" for v in range(3)]
        customer = f"cus_person{person}"
        metadata = se.our_metadata(emails[0])
        current = 0
        for n in range(draw(st.integers(min_value=1, max_value=4))):
            line.now += draw(steps)
            if n > 0 and current < 2 and draw(st.booleans()):
                current += 1
                changed = {
                    "id": customer,
                    "object": "customer",
                    "email": emails[current],
                    "name": f"Person {person}",
                    "metadata": {"patronage_supporter_id": metadata["patronage_supporter_id"]},
                }
                previous = {"email": emails[current - 1]}
                line.events.append(
                    se.event("customer.updated", changed, line.now, previous=previous)
                )
                line.now += draw(steps)
            pi, amount = f"pi_p{person}_{n}", draw(st.integers(min_value=100, max_value=9_000))
            email = emails[current]
            line.add(
                "payment_intent.succeeded",
                se.payment_intent(pi, amount, metadata, email, customer=customer),
            )
            if draw(st.booleans()):
                session = se.checkout_session(
                    f"cs_{pi}", amount, email, metadata, payment_intent=pi, customer=customer
                )
                line.add("checkout.session.completed", session)
        used.extend(emails[: current + 1])
    return line.events, used


@given(case=email_change_histories(), data=st.data())
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_email_changes_in_any_order_keep_one_supporter_per_person(
    case: tuple[list[Event], list[str]], data: st.DataObject
) -> None:
    history, emails = case
    duplicates = data.draw(st.lists(st.sampled_from(history), max_size=6))
    shuffled = data.draw(st.permutations(history + duplicates))
    with in_memory() as in_order, in_memory() as any_order:
        deliver_all(in_order, history)
        deliver_all(any_order, shuffled)
        expected = ledger_state(in_order)
        assert ledger_state(any_order) == expected
        # Every email the person ever had finds the same supporter, in both ledgers.
        for email in emails:
            found = in_order.giving.directory.id_for(email)
            assert found == any_order.giving.directory.id_for(email)
            assert found in expected["supporters"]
    people = {email.split(".")[0] for email in emails}
    assert len(expected["supporters"]) == len(people), "one supporter per person"
    assert all(status == InboxStatus.APPLIED for status in expected["inbox"].values())
