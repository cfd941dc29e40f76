"""Verifying a webhook's Stripe-Signature with the official SDK, against every configured
endpoint secret (more than one while a secret is rotated)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import stripe

# Stripe's own recommendation: refuse events signed more than five minutes ago (replays).
TOLERANCE_SECONDS = 300


class SignatureRefusedError(Exception):
    """The body is not proven to come from Stripe; the message says why, for the 400."""


def _timestamp(header: str) -> int | None:
    """The time of a `t=<unix time>,v1=<hex>[,...]` header as the SDK parses it, or None
    if the header is not of that form."""
    pairs = [item.split("=", 1) for item in header.split(",")]
    timestamps = [p[1].strip() for p in pairs if len(p) == 2 and p[0].strip() == "t"]
    signatures = [p[1] for p in pairs if len(p) == 2 and p[0].strip() == "v1" and p[1]]
    if len(timestamps) != 1 or not signatures:
        return None
    text = timestamps[0]
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None


def verify_stripe_signature(
    payload: str,
    header: str | None,
    secrets: Sequence[str],
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Return when `header` signs `payload` with one of `secrets` within `tolerance` seconds;
    otherwise raise SignatureRefusedError saying whether it was missing, malformed, stale or
    matched no secret."""
    if not header or not header.strip():
        raise SignatureRefusedError("missing Stripe-Signature header")
    signed_at = _timestamp(header)
    if signed_at is None:
        raise SignatureRefusedError("malformed Stripe-Signature header (expected t=...,v1=...)")
    stale = False
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=tolerance)
        except stripe.SignatureVerificationError as error:
            # The SDK checks the time only once a signature matched: this secret signed it.
            stale = stale or "tolerance" in str(error)
            continue
        if signed_at > time.time() + tolerance:
            # The SDK refuses only the past: a time ahead would make a captured body
            # replayable until that time comes.
            raise SignatureRefusedError(
                f"signature timestamped more than {tolerance} seconds in the future"
            )
        return
    if stale:
        raise SignatureRefusedError(
            f"stale signature: signed more than {tolerance} seconds ago (a replay?)"
        )
    raise SignatureRefusedError("no signature matches a configured webhook secret")
