"""End to end: localstripe (a fake Stripe) sends its signed webhooks to Patronage served by
real uvicorn on loopback; a one-time payment and a plan-based monthly subscription made
through the Stripe SDK end up in the ledger. localstripe sends each event once, about a
second after the change, in the old 2017-08-15 API shape."""

from __future__ import annotations

from pathlib import Path

import pytest
import stripe
from eventsourcing.utils import get_topic
from typer.testing import CliRunner

from patronage.application.ledger import Ledger
from patronage.bootstrap import bootstrap
from patronage.cli.main import cli
from patronage.config import Settings
from patronage.domain.commands import SupporterDetails
from patronage.domain.gift import Gift, GiftKind, gift_id_for
from patronage.domain.inbox import InboxStatus
from patronage.domain.membership import Membership, MembershipStatus, membership_id_for
from patronage.domain.money import Money
from patronage.domain.values import Attribution
from patronage.payments.metadata import checkout_metadata
from tests.support import stripe_events as se
from tests.support.polling import eventually
from tests.support.servers import LocalStripe, localstripe_server, running_api
from tests.support.stores import cli_env

pytestmark = pytest.mark.e2e

ADA = "ada@example.org"


def stripe_client(server: LocalStripe) -> stripe.StripeClient:
    return stripe.StripeClient(server.api_key, base_addresses={"api": server.url})


def one_time_payment(client: stripe.StripeClient, metadata: dict[str, str]) -> str:
    intent = client.v1.payment_intents.create(
        params={
            "amount": 2500,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "metadata": metadata,
        }
    )
    assert intent.status == "succeeded"
    return intent.id


def monthly_subscription(client: stripe.StripeClient, metadata: dict[str, str]) -> str:
    product = client.v1.products.create(params={"name": "Membership"})
    plan = client.v1.plans.create(
        params={"amount": 1000, "currency": "usd", "interval": "month", "product": product.id}
    )
    customer = client.v1.customers.create(
        params={
            "email": ADA,
            "name": "Ada Lovelace",
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    subscription = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"plan": plan.id}], "metadata": metadata}
    )
    return subscription.id


def test_a_gift_and_a_membership_payment_arrive_by_webhook(
    settings: Settings, tmp_path: Path
) -> None:
    with localstripe_server(tmp_path) as server, running_api(settings) as api:
        server.register_webhook("patronage", f"{api.url}/webhooks/stripe", se.PRIMARY_SECRET)
        client = stripe_client(server)
        # Our checkout registers the supporter first and names them in the metadata.
        supporter_id = api.patronage.giving.register_supporter(
            SupporterDetails(email=ADA, name="Ada Lovelace")
        )
        attribution = Attribution(article_id="article-7", campaign="spring", variant="b")
        payment_id = one_time_payment(
            client, checkout_metadata(supporter_id, "one_time", attribution)
        )
        subscription_id = monthly_subscription(
            client, checkout_metadata(supporter_id, "monthly", attribution)
        )
        ledger = api.patronage.ledger

        eventually(
            lambda: ledger.get_or_none(gift_id_for(payment_id), Gift) is not None,
            "the one-time gift is recorded",
        )
        gift = ledger.get_typed(gift_id_for(payment_id), Gift)
        assert (gift.amount, gift.kind, gift.supporter_id) == (
            Money(2500, "USD"),
            GiftKind.ONE_TIME,
            supporter_id,
        )
        assert gift.attribution == attribution

        def paid_membership() -> Membership | None:
            membership = ledger.get_or_none(membership_id_for(subscription_id), Membership)
            return membership if membership is not None and membership.payments else None

        eventually(lambda: paid_membership() is not None, "the membership payment is recorded")
        membership = paid_membership()
        assert membership is not None
        assert membership.supporter_id == supporter_id
        assert membership.status == MembershipStatus.ACTIVE
        assert list(membership.payments.values()) == [Money(1000, "USD")]
        eventually(
            lambda: (
                ledger.get_typed(membership_id_for(subscription_id), Membership).attribution
                == attribution
            ),
            "the subscription's own event adds its attribution",
        )
        (invoice_id,) = membership.payments
        monthly = [g for g in _all_gifts(ledger) if g.invoice_id == invoice_id]
        assert [(g.kind, g.amount) for g in monthly] == [(GiftKind.MONTHLY, Money(1000, "USD"))]

        entries = api.patronage.inbox.entries(limit=100).entries
        statuses = {(e.event_type, e.status) for e in entries}
        assert ("invoice.payment_succeeded", InboxStatus.APPLIED) in statuses
        assert ("customer.subscription.created", InboxStatus.APPLIED) in statuses
        # The invoice's own PaymentIntent carries no metadata of ours: not a second gift.
        assert ("payment_intent.succeeded", InboxStatus.IGNORED) in statuses
        assert not [e for e in entries if e.status in (InboxStatus.FAILED, InboxStatus.PARKED)]


def _all_gifts(ledger: Ledger) -> list[Gift]:
    topic = get_topic(vars(Gift)["Received"])
    notifications = ledger.recorder.select_notifications(1, 10_000, topics=[topic])
    return [ledger.get_typed(n.originator_id, Gift) for n in notifications]


def test_fetch_missed_books_what_no_webhook_delivered(settings: Settings, tmp_path: Path) -> None:
    patronage = bootstrap(settings)
    supporter_id = patronage.giving.register_supporter(SupporterDetails(email=ADA))
    try:
        with localstripe_server(tmp_path) as server:  # no webhook registered: nothing arrives
            payment_id = one_time_payment(
                stripe_client(server), checkout_metadata(supporter_id, "one_time", Attribution())
            )
            runner = CliRunner()
            env = cli_env(settings, stripe_secret_key=server.api_key, stripe_api_base=server.url)
            # localstripe cannot filter on delivery_success: a clear error, nothing booked.
            refused = runner.invoke(cli, ["inbox", "fetch-missed"], env=env)
            assert refused.exit_code == 1
            assert "Stripe refused" in refused.output
            fetched = runner.invoke(cli, ["inbox", "fetch-missed", "--include-delivered"], env=env)
            assert fetched.exit_code == 0, fetched.output
            again = runner.invoke(cli, ["inbox", "fetch-missed", "--include-delivered"], env=env)
            assert again.exit_code == 0, again.output
            assert "already recorded" in again.output
        gift = patronage.ledger.get_typed(gift_id_for(payment_id), Gift)
        assert gift.amount == Money(2500, "USD")
        assert gift.supporter_id == supporter_id
    finally:
        patronage.close()
