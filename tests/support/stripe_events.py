"""Realistic Stripe event payloads for tests, in both invoice shapes, and signed delivery.

Builders return plain dicts shaped like Stripe's JSON (with some fields we never read, to
show the translation ignores them). Times are Unix seconds, as Stripe sends them.
"""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

import stripe
from httpx import Response

from patronage.domain.values import Attribution
from patronage.payments.metadata import checkout_metadata

if TYPE_CHECKING:  # the benchmark signs events with this module and needs no test client
    from fastapi.testclient import TestClient

PRIMARY_SECRET = "whsec_test_primary"
ROTATED_SECRET = "whsec_test_rotated"
NEW_API = "2026-10-28.endive"
OLD_API = "2017-08-15"
T0 = 1_780_000_000  # 2026-05-28, a Thursday

_ids = itertools.count(1)


def next_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):06d}"


# Stands for the ids our checkout issues (in production a keyed hash or a claim's supporter):
# a webhook registers an unknown supporter under the id in its metadata.
_TEST_IDS = UUID("0b6f4c52-6a55-4d1e-8f0e-2f7b3f9d1c11")


def supporter_id_for(email: str) -> UUID:
    """The supporter id our (test) checkout put in the metadata for this email."""
    return uuid5(_TEST_IDS, email.strip().lower())


def our_metadata(
    email: str, kind: str = "one_time", campaign: str = "spring", **extra: Any
) -> dict[str, str]:
    return checkout_metadata(
        supporter_id=supporter_id_for(email),
        gift_kind=kind,
        attribution=Attribution(article_id="article-7", campaign=campaign, variant="b"),
        **extra,
    )


def event(
    event_type: str,
    obj: dict[str, Any],
    created: int = T0,
    event_id: str | None = None,
    api_version: str = NEW_API,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": event_id or next_id("evt"),
        "object": "event",
        "api_version": api_version,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def payment_intent(
    pi: str,
    amount: int,
    metadata: dict[str, str],
    email: str | None = None,
    currency: str = "usd",
    status: str = "succeeded",
    customer: str | None = None,
) -> dict[str, Any]:
    return {
        "id": pi,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if status == "succeeded" else 0,
        "currency": currency,
        "customer": customer,
        "metadata": metadata,
        "receipt_email": email,
        "status": status,
        "latest_charge": f"ch_{pi}",
        "payment_method_types": ["card"],
        "some_field_added_next_year": {"nested": [1, 2, 3]},
    }


def checkout_session(
    session_id: str,
    amount: int,
    email: str,
    metadata: dict[str, str],
    mode: str = "payment",
    payment_intent: str | None = None,
    subscription: str | None = None,
    payment_status: str = "paid",
    currency: str = "usd",
    customer: str | None = None,
) -> dict[str, Any]:
    return {
        "id": session_id,
        "object": "checkout.session",
        "amount_subtotal": amount,
        "amount_total": amount,
        "currency": currency,
        "customer": customer,
        "customer_details": {"email": email, "name": "Ada Lovelace", "address": None},
        "customer_email": None,
        "metadata": metadata,
        "mode": mode,
        "payment_intent": payment_intent,
        "payment_status": payment_status,
        "status": "complete",
        "subscription": subscription,
        "ui_mode": "hosted",
    }


def subscription(
    sub: str,
    amount: int,
    metadata: dict[str, str],
    status: str = "active",
    start_date: int = T0,
    currency: str = "usd",
    customer: str = "cus_1",
    cancel_at_period_end: bool = False,
    pause_collection: dict[str, Any] | None = None,
    interval: str = "month",
    interval_count: int = 1,
    discount: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": sub,
        "object": "subscription",
        "cancel_at_period_end": cancel_at_period_end,
        "created": start_date,
        "currency": currency,
        "customer": customer,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": f"si_{sub}",
                    "object": "subscription_item",
                    "price": {
                        "id": "price_monthly",
                        "currency": currency,
                        "recurring": {"interval": interval, "interval_count": interval_count},
                        "unit_amount": amount,
                    },
                    "quantity": 1,
                }
            ],
        },
        "discount": discount,
        "discounts": [discount["id"]] if discount else [],
        "metadata": metadata,
        "pause_collection": pause_collection,
        "start_date": start_date,
        "status": status,
    }


def invoice(
    invoice_id: str,
    sub: str,
    amount: int,
    metadata: dict[str, str],
    email: str,
    *,
    shape: str = "basil",
    pi: str | None = None,
    paid_at: int | None = T0,
    status: str = "paid",
    currency: str = "usd",
    customer: str = "cus_1",
    include_payments: bool = True,
    billing_reason: str = "subscription_cycle",
) -> dict[str, Any]:
    """An invoice of a subscription, in the old (pre-basil) or the new (basil+) shape."""
    paid = status == "paid"
    body: dict[str, Any] = {
        "id": invoice_id,
        "object": "invoice",
        "amount_due": amount,
        "amount_paid": amount if paid else 0,
        "amount_remaining": 0 if paid else amount,
        "billing_reason": billing_reason,
        "currency": currency,
        "customer": customer,
        "customer_email": email,
        "customer_name": "Grace Hopper",
        "status": status,
        "status_transitions": {"finalized_at": paid_at, "paid_at": paid_at if paid else None},
        "subtotal": amount,
        "total": amount,
    }
    line = {
        "id": f"il_{invoice_id}",
        "object": "line_item",
        "amount": amount,
        "currency": currency,
    }
    if shape == "legacy":
        body["subscription"] = sub
        body["payment_intent"] = pi
        body["charge"] = f"ch_{pi}" if pi else None
        body["paid"] = paid
        line.update(type="subscription", subscription=sub, metadata=metadata)
    else:
        body["parent"] = {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": metadata, "subscription": sub},
        }
        line.update(
            metadata={},
            parent={
                "type": "subscription_item_details",
                "subscription_item_details": {"subscription": sub, "subscription_item": "si_1"},
            },
        )
        if include_payments and pi:
            body["payments"] = {
                "object": "list",
                "data": [
                    {
                        "id": f"inpay_{invoice_id}",
                        "object": "invoice_payment",
                        "payment": {"type": "payment_intent", "payment_intent": pi},
                        "status": "paid",
                    }
                ],
            }
    body["lines"] = {"object": "list", "data": [line], "has_more": False}
    return body


def refund(
    re_id: str, pi: str, amount: int, status: str = "succeeded", created: int = T0
) -> dict[str, Any]:
    return {
        "id": re_id,
        "object": "refund",
        "amount": amount,
        "charge": f"ch_{pi}",
        "created": created,
        "currency": "usd",
        "payment_intent": pi,
        "reason": "requested_by_customer",
        "status": status,
    }


def charge_refunded(pi: str, amount: int, refunds: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": f"ch_{pi}",
        "object": "charge",
        "amount": amount,
        "amount_refunded": sum(r["amount"] for r in refunds if r["status"] != "failed"),
        "currency": "usd",
        "payment_intent": pi,
        "refunded": False,
        "refunds": {"object": "list", "data": refunds, "has_more": False},
    }


def dispute(dp: str, pi: str, amount: int, status: str = "needs_response") -> dict[str, Any]:
    return {
        "id": dp,
        "object": "dispute",
        "amount": amount,
        "charge": f"ch_{pi}",
        "currency": "usd",
        "payment_intent": pi,
        "reason": "fraudulent",
        "status": status,
    }


def body_of(evt: dict[str, Any]) -> str:
    return json.dumps(evt, indent=2)


def signature(body: str, secret: str = PRIMARY_SECRET, timestamp: int | None = None) -> str:
    header: str = stripe.WebhookSignature.generate_signature_header(
        body, secret, timestamp=timestamp
    )
    return header


def deliver(
    client: TestClient,
    evt: dict[str, Any] | str,
    secret: str = PRIMARY_SECRET,
    headers: dict[str, str] | None = None,
) -> Response:
    body = evt if isinstance(evt, str) else body_of(evt)
    all_headers = {"Stripe-Signature": signature(body, secret), "Content-Type": "application/json"}
    all_headers.update(headers or {})
    return client.post("/webhooks/stripe", content=body.encode(), headers=all_headers)


def supporter_of(email: str) -> UUID:
    return supporter_id_for(email)


def discount(
    coupon_id: str, percent_off: float | None = None, amount_off: int | None = None
) -> dict[str, Any]:
    """A Discount object (the legacy `subscription.discount` shape, always expanded)."""
    return {
        "id": f"di_{coupon_id}",
        "object": "discount",
        "coupon": {
            "id": coupon_id,
            "object": "coupon",
            "amount_off": amount_off,
            "currency": "usd" if amount_off else None,
            "duration": "forever",
            "percent_off": percent_off,
            "valid": True,
        },
        "end": None,
    }
