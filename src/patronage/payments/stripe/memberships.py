"""The Stripe adapter of the application's `MembershipGateway` port: a member's own changes
to their subscription, and Stripe's hosted customer portal for their card.

localstripe (the demo's and the tests' Stripe) refuses `proration_behavior` on an update
but takes the older `prorate` flag; Stripe takes both, so with `legacy_prorate` the older
flag says the same thing: a new amount applies from the next payment, with no charge now.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import stripe
import structlog

from patronage.domain.money import Money
from patronage.payments.orders import PaymentRefusedError
from patronage.payments.stripe.gateway import ensure_plan, stripe_errors

log = structlog.get_logger(__name__)


@contextmanager
def _calls() -> Iterator[None]:
    """Stripe's errors as the port's: a request Stripe refuses (an unknown subscription, a
    change it does not allow) is the member's to hear about; anything else is "try again"."""
    with stripe_errors():
        try:
            yield
        except stripe.InvalidRequestError as error:
            log.warning("membership_change_refused", status=error.http_status, code=error.code)
            raise PaymentRefusedError(
                "Stripe refused this change to your membership: please write to us"
            ) from None


class StripeMembershipGateway:
    """Implements application.ports.MembershipGateway with Stripe's API."""

    def __init__(
        self, client: stripe.StripeClient, portal: stripe.StripeClient, legacy_prorate: bool
    ) -> None:
        self._stripe = client
        # Stripe's billing portal, through a client whose API base may differ (tests).
        self._portal = portal
        self._legacy_prorate = legacy_prorate

    def _update(self, subscription_id: str, params: dict[str, Any]) -> None:
        with _calls():
            self._stripe.v1.subscriptions.update(subscription_id, params)  # type: ignore[arg-type]

    def change_amount(self, subscription_id: str, amount: Money) -> None:
        no_proration: dict[str, Any] = (
            {"prorate": False} if self._legacy_prorate else {"proration_behavior": "none"}
        )
        with _calls():
            plan = ensure_plan(self._stripe, amount)
            subscription = self._stripe.v1.subscriptions.retrieve(subscription_id)
            item = subscription["items"].data[0].id
        self._update(subscription_id, {"items": [{"id": item, "plan": plan}], **no_proration})

    def pause(self, subscription_id: str, resumes_at: datetime) -> None:
        self._update(
            subscription_id,
            {"pause_collection": {"behavior": "void", "resumes_at": int(resumes_at.timestamp())}},
        )

    def resume(self, subscription_id: str) -> None:
        with _calls():
            subscription = self._stripe.v1.subscriptions.retrieve(subscription_id)
        params: dict[str, Any] = {}
        # localstripe leaves out fields it does not know: read them with a default.
        if getattr(subscription, "pause_collection", None):
            params["pause_collection"] = ""  # Stripe's way to unset a field
        if getattr(subscription, "cancel_at_period_end", False):
            params["cancel_at_period_end"] = False
        if params:
            self._update(subscription_id, params)

    def cancel_at_period_end(self, subscription_id: str) -> None:
        self._update(subscription_id, {"cancel_at_period_end": True})

    def cancel_now(self, subscription_id: str) -> None:
        with _calls():
            # A second click (or a link used again) must not fail: Stripe refuses to cancel
            # a cancelled subscription.
            if self._stripe.v1.subscriptions.retrieve(subscription_id).status != "canceled":
                self._stripe.v1.subscriptions.cancel(subscription_id)

    def card_page(self, subscription_id: str, return_url: str) -> str:
        with _calls():
            customer = self._stripe.v1.subscriptions.retrieve(subscription_id).customer
            session = self._portal.v1.billing_portal.sessions.create(
                {
                    "customer": customer if isinstance(customer, str) else customer.id,
                    "return_url": return_url,
                }
            )
        return session.url
