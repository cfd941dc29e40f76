"""Stable aggregate ids derived from natural keys.

An id derived from an external key (a PaymentIntent id, an invoice id) makes a repeated
effect collide on creation, which the event store refuses atomically. Keys that are personal
data (an email) are hashed with a secret key instead: the same email gives the same id inside
Patronage, and nobody without the key can compute it from the email.
"""

import hashlib
import hmac
from uuid import UUID, uuid5

PATRONAGE_NAMESPACE = UUID("6f0c7c1e-3f55-4d8a-9a0e-5b3f2f1d7a10")


def natural_id(kind: str, key: str) -> UUID:
    """The aggregate id of `kind` for the natural key `key`; refuses an empty key."""
    if not key:
        # A null external id would otherwise collide with every other null id.
        raise ValueError(f"a {kind} needs a non-empty natural key")
    return uuid5(PATRONAGE_NAMESPACE, f"{kind}:{key}")


def keyed_id(secret: bytes, kind: str, key: str) -> UUID:
    """The aggregate id of `kind` for a personal key: an HMAC-SHA256 of it under `secret`,
    shaped as a version-4 UUID so it looks like (and sorts like) any random id."""
    if not key:
        raise ValueError(f"a {kind} needs a non-empty natural key")
    if len(secret) < 16:
        raise ValueError("the identity key must have at least 16 bytes")
    digest = bytearray(hmac.new(secret, f"{kind}:{key}".encode(), hashlib.sha256).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x40
    digest[8] = (digest[8] & 0x3F) | 0x80
    return UUID(bytes=bytes(digest))


def normalise_email(email: str) -> str:
    """Email as a supporter key: trimmed and case-folded, so case never makes a second supporter."""
    return email.strip().lower()
