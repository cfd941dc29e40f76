"""Stable aggregate ids derived from natural keys.

An id derived with uuid5 from an external key (an email, a PaymentIntent id, an invoice id)
makes a repeated effect collide on creation, which the event store refuses atomically.
"""

from uuid import UUID, uuid5

PATRONAGE_NAMESPACE = UUID("6f0c7c1e-3f55-4d8a-9a0e-5b3f2f1d7a10")


def natural_id(kind: str, key: str) -> UUID:
    """The aggregate id of `kind` for the natural key `key`; refuses an empty key."""
    if not key:
        # A null external id would otherwise collide with every other null id.
        raise ValueError(f"a {kind} needs a non-empty natural key")
    return uuid5(PATRONAGE_NAMESPACE, f"{kind}:{key}")


def normalise_email(email: str) -> str:
    """Email as a supporter key: trimmed and case-folded, so case never makes a second supporter."""
    return email.strip().lower()
