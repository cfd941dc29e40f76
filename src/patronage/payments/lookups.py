"""What the inbox may ask Stripe when an event lacks something: the port, free of the SDK
(its adapter is `payments/stripe/lookups.py`, wired in bootstrap).

Subscription events carry only a customer id, and since Stripe's basil API version a
PaymentIntent no longer names the invoice it paid: rather than wait for an event that may
never come, the inbox asks.
"""

from __future__ import annotations

from typing import Protocol

from patronage.domain.commands import SupporterDetails


class LookupUnavailableError(Exception):
    """Stripe could not answer now (network, rate limit, outage): try again later."""


class StripeLookups(Protocol):
    def customer(self, customer_id: str) -> SupporterDetails | None:
        """The customer's email, name, address and our supporter id; None if Stripe has no
        such customer (or it was deleted)."""

    def invoice_paid_by(self, payment_intent_id: str) -> str | None:
        """The id of the invoice this PaymentIntent paid, None if it paid no invoice."""
