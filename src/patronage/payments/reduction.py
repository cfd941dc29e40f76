"""What of a Stripe event the ledger needs once its payload has served: everything but the
person. Pure: the inbox keeps the result in place of the full payload (docs/personal-data.md).
"""

from __future__ import annotations

import json
from typing import Any

from patronage.payments import metadata as meta

# Fields of Stripe objects that describe a person (name, contact, address, payment card
# holder): dropped wherever they appear. Ids, amounts, currencies, statuses, times and our
# metadata stay, so the reduced event still explains (and replays) the money.
PERSONAL_FIELDS = frozenset(
    {
        "address",
        "billing_details",
        "customer_address",
        "customer_details",
        "customer_email",
        "customer_name",
        "customer_phone",
        "customer_shipping",
        "customer_tax_ids",
        "email",
        "name",
        "phone",
        "receipt_email",
        "shipping",
        "shipping_details",
        # What our checkout's metadata carries of the donor until Stripe confirms the payment.
        meta.DONOR_EMAIL,
        meta.DONOR_NAME,
    }
)


def reduce_payload(value: Any) -> Any:
    """`value` (a decoded Stripe event, or any part of one) without personal fields."""
    if isinstance(value, dict):
        return {k: reduce_payload(v) for k, v in value.items() if k not in PERSONAL_FIELDS}
    if isinstance(value, list):
        return [reduce_payload(v) for v in value]
    return value


def reduced_payload_json(payload: Any) -> str:
    return json.dumps(reduce_payload(payload), separators=(",", ":"), sort_keys=True)
