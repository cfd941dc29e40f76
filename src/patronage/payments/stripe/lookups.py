"""The inbox's questions to Stripe (payments/lookups.py), asked with the SDK's client."""

from __future__ import annotations

from typing import Any

import stripe
import structlog

from patronage.domain.commands import SupporterDetails
from patronage.payments.lookups import LookupUnavailableError
from patronage.payments.translate import customer_details

log = structlog.get_logger(__name__)


class StripeApiLookups:
    def __init__(self, client: stripe.StripeClient) -> None:
        self._stripe = client

    def customer(self, customer_id: str) -> SupporterDetails | None:
        try:
            customer = self._stripe.v1.customers.retrieve(customer_id)
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            raise self._unavailable("customers.retrieve", error) from None
        except stripe.StripeError as error:
            raise self._unavailable("customers.retrieve", error) from None
        data: dict[str, Any] = customer.to_dict(for_json=True)
        if data.get("deleted") is True:
            return None
        return customer_details(data)

    def invoice_paid_by(self, payment_intent_id: str) -> str | None:
        params: dict[str, Any] = {
            "payment": {"type": "payment_intent", "payment_intent": payment_intent_id},
            "limit": 1,
        }
        try:
            found = self._stripe.v1.invoice_payments.list(params)  # type: ignore[arg-type]
        except stripe.StripeError as error:
            raise self._unavailable("invoice_payments.list", error) from None
        for invoice_payment in found.data:
            invoice = invoice_payment.invoice
            return invoice if isinstance(invoice, str) else invoice.id
        return None

    @staticmethod
    def _unavailable(call: str, error: stripe.StripeError) -> LookupUnavailableError:
        log.warning("stripe_lookup_failed", call=call, error=type(error).__name__)
        return LookupUnavailableError(f"Stripe {call} failed: {type(error).__name__}")
