"""Stripe-Signature verification with the official SDK, over every configured secret."""

from __future__ import annotations

import time

import pytest

from patronage.payments.stripe.signatures import SignatureRefusedError, verify_stripe_signature
from tests.support.stripe_events import signature

BODY = '{"id": "evt_1", "object": "event"}'
SECRETS = ["whsec_current", "whsec_previous"]


@pytest.mark.parametrize("secret", SECRETS)
def test_a_signature_by_any_configured_secret_verifies(secret: str) -> None:
    verify_stripe_signature(BODY, signature(BODY, secret), SECRETS)


def test_a_header_with_several_signatures_verifies_if_one_matches() -> None:
    header = signature(BODY, "whsec_previous") + ",v1=" + "0" * 64 + ",v0=legacy"
    verify_stripe_signature(BODY, header, SECRETS)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("garbage", "malformed"),
        ("t=abc,v1=00", "malformed"),
        ("t=1700000000", "malformed"),
        ("v1=deadbeef", "malformed"),
        (signature(BODY, "whsec_other"), "no signature matches"),
        (signature(BODY + " ", "whsec_current"), "no signature matches"),
        (signature(BODY, "whsec_current", timestamp=int(time.time()) - 301), "stale"),
    ],
    # Fixed ids: the signed headers carry the time, which differs between xdist workers.
    ids=[
        "none",
        "empty",
        "garbage",
        "bad-time",
        "no-v1",
        "no-time",
        "other-secret",
        "other-body",
        "stale",
    ],
)
def test_refusals_say_why(header: str | None, reason: str) -> None:
    with pytest.raises(SignatureRefusedError, match=reason):
        verify_stripe_signature(BODY, header, SECRETS)


def test_a_stale_signature_by_the_wrong_secret_is_a_mismatch_not_stale() -> None:
    old = signature(BODY, "whsec_other", timestamp=int(time.time()) - 3600)
    with pytest.raises(SignatureRefusedError, match="no signature matches"):
        verify_stripe_signature(BODY, old, SECRETS)
