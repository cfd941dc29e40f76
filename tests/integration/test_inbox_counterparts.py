"""Parked events always find their counterpart, on both stores: subscriptions made outside
our checkout (no supporter id, no email), a release that failed half-way (503) and the sweep."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from patronage.api.app import create_app
from patronage.bootstrap import Patronage, bootstrap
from patronage.cli.main import cli
from patronage.config import Settings, load_settings
from patronage.domain.gift import Gift, gift_id_for
from patronage.domain.inbox import InboxStatus, inbox_event_id_for
from patronage.domain.membership import Membership, MembershipStatus, membership_id_for
from patronage.domain.money import Money
from patronage.domain.supporter import Supporter
from patronage.projections.totals import members
from tests.support import stripe_events as se
from tests.support.fake_stripe import FakeStripe, fake_stripe_server
from tests.support.projections import catch_up_all
from tests.support.stores import cli_env, store_settings, writes_refused

STAFF = {"Authorization": "Bearer staff-key-for-tests"}
ADA = "ada@example.org"


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with fake_stripe_server() as server:
        yield server


@pytest.fixture
def with_stripe(store: str, tmp_path: Path, fake_stripe: FakeStripe) -> Iterator[Patronage]:
    """Patronage with a Stripe key, its API calls answered by the loopback fake."""
    with store_settings(store, tmp_path) as overrides:
        settings = load_settings(
            _env_file=None,
            stripe_secret_key=fake_stripe.api_key,
            stripe_api_base=fake_stripe.url,
            **overrides,
        )
        patronage = bootstrap(settings)
        try:
            yield patronage
        finally:
            patronage.close()


@pytest.fixture
def client(patronage: Patronage) -> Iterator[TestClient]:
    with TestClient(create_app(patronage)) as test_client:
        yield test_client


def receive(patronage: Patronage, evt: dict) -> str:  # type: ignore[type-arg]
    return str(patronage.inbox.receive(se.body_of(evt), evt).status)


def outside_subscription(event_type: str, status: str, at: int) -> dict:  # type: ignore[type-arg]
    """A subscription made in the Dashboard: no metadata of ours, a customer id, no email."""
    obj = se.subscription("sub_dash", 1500, {}, status=status, customer="cus_dash")
    return se.event(event_type, obj, created=at)


def outside_invoice(at: int) -> dict:  # type: ignore[type-arg]
    obj = se.invoice("in_dash", "sub_dash", 1500, {}, ADA, customer="cus_dash", paid_at=at)
    return se.event("invoice.paid", obj, created=at)


def test_a_subscription_event_before_anything_names_its_supporter_waits_for_the_subscription(
    patronage: Patronage,
) -> None:
    created = outside_subscription("customer.subscription.created", "active", se.T0)
    deleted = outside_subscription("customer.subscription.deleted", "canceled", se.T0 + 60)
    assert receive(patronage, created) == "parked"
    assert receive(patronage, deleted) == "parked"
    waiting = {w.key: w.event_ids for w in patronage.inbox.waiting()}
    assert waiting == {"subscription:sub_dash": [created["id"], deleted["id"]]}
    assert receive(patronage, outside_invoice(se.T0 + 1)) == "applied"
    assert patronage.inbox.waiting() == []
    membership = patronage.ledger.get_typed(membership_id_for("sub_dash"), Membership)
    assert membership.status == MembershipStatus.CANCELLED
    assert membership.supporter_id == patronage.giving.directory.id_for(ADA)
    # Later events naming only the customer find the supporter through it.
    renewal = se.subscription("sub_dash_2", 900, {}, customer="cus_dash")
    assert receive(patronage, se.event("customer.subscription.created", renewal)) == "applied"


def test_the_customer_is_retrieved_from_stripe_when_the_payload_lacks_the_email(
    with_stripe: Patronage, fake_stripe: FakeStripe
) -> None:
    fake_stripe.state.add_customer("cus_dash", ADA, "Ada Lovelace")
    deleted = outside_subscription("customer.subscription.deleted", "canceled", se.T0 + 60)
    assert receive(with_stripe, deleted) == "applied"
    assert "GET /v1/customers/cus_dash" in fake_stripe.state.calls
    membership = with_stripe.ledger.get_typed(membership_id_for("sub_dash"), Membership)
    assert membership.status == MembershipStatus.CANCELLED
    supporter = with_stripe.ledger.get_typed(with_stripe.giving.directory.id_for(ADA), Supporter)
    assert (supporter.name, supporter.stripe_customer_ids) == ("Ada Lovelace", ["cus_dash"])


def test_an_unknown_customer_at_stripe_leaves_the_event_parked_on_the_subscription(
    with_stripe: Patronage,
) -> None:
    created = outside_subscription("customer.subscription.created", "active", se.T0)
    assert receive(with_stripe, created) == "parked"
    assert with_stripe.inbox.get(created["id"]).waiting_for == "subscription:sub_dash"  # type: ignore[union-attr]


def _refund_before_payment() -> tuple[dict, dict]:  # type: ignore[type-arg]
    refund = se.event("refund.created", se.refund("re_1", "pi_1", 400))
    intent = se.payment_intent("pi_1", 1000, se.our_metadata(ADA), ADA)
    return refund, se.event("payment_intent.succeeded", intent)


def test_a_redelivery_after_a_503_while_releasing_applies_the_parked_event(
    client: TestClient, patronage: Patronage, settings: Settings
) -> None:
    refund, payment = _refund_before_payment()
    assert se.deliver(client, refund).json()["status"] == "parked"
    # The payment commits, then the store refuses the parked refund's Applied mark.
    with writes_refused(settings, inbox_event_id_for(refund["id"]), from_version=3):
        assert se.deliver(client, payment).status_code == 503
    assert patronage.ledger.get_or_none(gift_id_for("pi_1"), Gift) is not None
    assert patronage.inbox.get(refund["id"]).status == InboxStatus.PARKED  # type: ignore[union-attr]
    again = se.deliver(client, payment)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert patronage.inbox.get(refund["id"]).status == InboxStatus.APPLIED  # type: ignore[union-attr]
    gift = patronage.ledger.get_typed(gift_id_for("pi_1"), Gift)
    assert gift.net == Money(600, "USD")


def test_the_sweep_applies_what_a_failed_release_left_parked_and_staff_see_its_age(
    client: TestClient, patronage: Patronage, settings: Settings
) -> None:
    refund, payment = _refund_before_payment()
    se.deliver(client, refund)
    parked = client.get("/staff/inbox/parked", params={"older_than_seconds": 0}, headers=STAFF)
    assert parked.status_code == 200
    [entry] = parked.json()
    assert (entry["event_id"], entry["waiting_for"]) == (refund["id"], "payment:pi_1")
    assert entry["age_seconds"] >= 0
    assert client.get("/staff/inbox/parked", headers=STAFF).json() == []  # not an hour yet
    with writes_refused(settings, inbox_event_id_for(refund["id"]), from_version=3):
        assert se.deliver(client, payment).status_code == 503
    result = CliRunner().invoke(cli, ["inbox", "retry-parked"], env=cli_env(settings))
    assert result.exit_code == 0, result.output
    assert "1 parked events applied; 0 still wait" in result.output
    assert patronage.inbox.get(refund["id"]).status == InboxStatus.APPLIED  # type: ignore[union-attr]
    assert (
        client.get("/staff/inbox/parked", params={"older_than_seconds": 0}, headers=STAFF).json()
        == []
    )


def test_fetch_missed_records_events_carrying_a_price(
    settings: Settings, patronage: Patronage, fake_stripe: FakeStripe
) -> None:
    """A Price's decimal-string fields come back from the SDK as Decimal: still recorded."""
    subscription = se.subscription("sub_fetched", 1500, se.our_metadata(ADA, kind="monthly"))
    price = subscription["items"]["data"][0]["price"]
    price |= {"object": "price", "unit_amount_decimal": "1500", "billing_scheme": "per_unit"}
    subscription["plan"] = {"id": "price_monthly", "object": "plan", "amount_decimal": "1500"}
    session = se.checkout_session(
        "cs_fetched",
        1500,
        ADA,
        se.our_metadata(ADA),
        mode="subscription",
        subscription="sub_fetched",
    )
    fake_stripe.state.events = [
        se.event("customer.subscription.created", subscription, created=se.T0 + 1),
        se.event("checkout.session.completed", session, created=se.T0),
    ]
    env = cli_env(settings, stripe_secret_key=fake_stripe.api_key, stripe_api_base=fake_stripe.url)
    fetched = CliRunner().invoke(cli, ["inbox", "fetch-missed"], env=env)
    assert fetched.exit_code == 0, fetched.output
    assert "applied" in fetched.output
    membership = patronage.ledger.get_typed(membership_id_for("sub_fetched"), Membership)
    assert membership.monthly_amount == Money(1500, "USD")
    recorded = patronage.inbox.get(fake_stripe.state.events[0]["id"])
    assert recorded is not None
    assert (
        recorded.payload["data"]["object"]["items"]["data"][0]["price"]["unit_amount_decimal"]
        == "1500"
    )


def test_a_first_invoice_that_fails_leaves_the_membership_incomplete_then_expired(
    patronage: Patronage,
) -> None:
    metadata = se.our_metadata(ADA, kind="monthly")
    created = se.subscription("sub_new", 1500, metadata, status="incomplete")
    failed = se.invoice(
        "in_first", "sub_new", 1500, metadata, ADA, pi="pi_first", paid_at=None, status="open",
        billing_reason="subscription_create",
    )  # fmt: skip
    assert receive(patronage, se.event("invoice.payment_failed", failed, se.T0 + 1)) == "applied"
    assert receive(patronage, se.event("customer.subscription.created", created)) == "applied"
    membership = patronage.ledger.get_typed(membership_id_for("sub_new"), Membership)
    assert membership.status == MembershipStatus.INCOMPLETE
    expired = se.subscription("sub_new", 1500, metadata, status="incomplete_expired")
    late = se.event("customer.subscription.deleted", expired, se.T0 + 23 * 3600)
    assert receive(patronage, late) == "applied"
    renewal_failed = se.event("invoice.payment_failed", failed, se.T0 + 24 * 3600)
    assert receive(patronage, renewal_failed) == "applied"
    membership = patronage.ledger.get_typed(membership_id_for("sub_new"), Membership)
    assert membership.status == MembershipStatus.INCOMPLETE_EXPIRED
    catch_up_all(patronage)
    assert members(patronage.views.totals).active == []


def renewal(pi_known_to_stripe: FakeStripe) -> tuple[dict, dict, dict]:  # type: ignore[type-arg]
    """A renewal in the current shape (the webhook's invoice names no PaymentIntent), a
    refund and a dispute that name only the PaymentIntent; Stripe knows which paid what."""
    pi_known_to_stripe.state.invoice_of_payment["pi_renewal"] = "in_renewal"
    metadata = se.our_metadata(ADA, kind="monthly")
    invoice = se.invoice(
        "in_renewal", "sub_r", 2000, metadata, ADA, pi="pi_renewal", include_payments=False
    )
    return (
        se.event("invoice.paid", invoice),
        se.event("refund.created", se.refund("re_r", "pi_renewal", 500), se.T0 + 10),
        se.event("charge.dispute.created", se.dispute("dp_r", "pi_renewal", 1500), se.T0 + 20),
    )


@pytest.mark.parametrize("order", ["invoice first", "invoice last"])
def test_renewal_refunds_and_disputes_resolve_without_invoice_payment_paid(
    with_stripe: Patronage, fake_stripe: FakeStripe, order: str
) -> None:
    paid, refunded, disputed = renewal(fake_stripe)
    history = [paid, refunded, disputed] if order == "invoice first" else [refunded, disputed, paid]
    for evt in history:
        receive(with_stripe, evt)
    assert with_stripe.inbox.waiting() == []
    gift = with_stripe.ledger.get_typed(gift_id_for("in_renewal"), Gift)
    assert gift.refunds == {"re_r": Money(500, "USD")}
    assert set(gift.disputes) == {"dp_r"}
    assert "GET /v1/invoice_payments" in fake_stripe.state.calls
