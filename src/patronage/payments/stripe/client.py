"""The one place a StripeClient is built, from settings."""

from __future__ import annotations

import stripe
from pydantic import AnyHttpUrl

from patronage.config import Settings


def make_stripe_client(
    settings: Settings, api_base: AnyHttpUrl | None = None
) -> stripe.StripeClient | None:
    """A client for the configured Stripe (or localstripe) server, or for `api_base`; None
    without a secret key."""
    api_key = settings.stripe_secret_key.get_secret_value()
    if not api_key:
        return None
    base_addresses: dict[str, str | None] = {}
    if (base := api_base or settings.stripe_api_base) is not None:
        base_addresses["api"] = str(base).rstrip("/")
    return stripe.StripeClient(
        api_key,
        base_addresses=base_addresses,  # type: ignore[arg-type]
        max_network_retries=2,
    )
