"""A declined payment as Stripe reports it (`payment_intent.payment_failed`): what the
card-testing guard counts against the sources it came from.

Stripe embeds the failed PaymentMethod in `last_payment_error.payment_method`, with the
card's `fingerprint` (the same card number gives the same fingerprint on one account).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from patronage.payments import metadata as meta

PAYMENT_FAILED = "payment_intent.payment_failed"


@dataclass(frozen=True, slots=True)
class Decline:
    """A payment the provider declined, and the sources its event names (the card, the
    donor's email, the reader): the guard counts it against those and the payment's own."""

    payment_id: str
    card_fingerprint: str = ""
    email: str = ""
    reader_id: str = ""


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object, limit: int = 255) -> str:
    return value[:limit] if isinstance(value, str) and value.isprintable() else ""


def decline_of(event: Mapping[str, Any]) -> Decline | None:
    """The decline an event reports, or None for any other event."""
    if event.get("type") != PAYMENT_FAILED:
        return None
    intent = _dict(_dict(event.get("data")).get("object"))
    payment_id = _text(intent.get("id"))
    if not payment_id:
        return None
    method = _dict(_dict(intent.get("last_payment_error")).get("payment_method"))
    metadata = _dict(intent.get("metadata"))
    try:
        email, _name = meta.read_donor(metadata)
        reader_id = meta.read_attribution(metadata).reader_id
    except ValueError:  # control characters: count the decline by what else it names
        email, reader_id = "", ""
    return Decline(
        payment_id=payment_id,
        card_fingerprint=_text(_dict(method.get("card")).get("fingerprint")),
        email=email or _text(intent.get("receipt_email")),
        reader_id=reader_id,
    )
