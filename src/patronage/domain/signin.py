"""A supporter's one-time sign-in link: good once, for a short while.

The link carries a random secret; the ledger keeps only its SHA-256 (the aggregate id), so
a copy of the event store cannot be turned into working links. Redeeming records an event:
two tabs (or an attacker racing the owner) redeeming at once conflict on the same version,
and only one wins.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from patronage.domain.errors import DomainError
from patronage.domain.identity import natural_id


class SignInLinkRefusedError(DomainError):
    """The link was used already, or has expired."""


def digest_of(secret: str) -> str:
    """What the ledger keeps of a link's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def sign_in_link_id_for(secret: str) -> UUID:
    return natural_id("sign-in-link", digest_of(secret))


class SignInLink(Aggregate):
    @staticmethod
    def create_id(digest: str) -> UUID:
        return natural_id("sign-in-link", digest)

    @event("Issued")
    def __init__(self, digest: str, supporter_id: UUID, expires_at: datetime) -> None:
        self.supporter_id = supporter_id
        self.expires_at = expires_at
        self.redeemed_at: datetime | None = None

    def redeem(self, now: datetime) -> UUID:
        """The supporter the link signs in, once; refused when used or expired."""
        if self.redeemed_at is not None:
            raise SignInLinkRefusedError("this sign-in link was used already")
        if now >= self.expires_at:
            raise SignInLinkRefusedError("this sign-in link has expired")
        self._redeemed(at=now)
        return self.supporter_id

    @event("Redeemed")
    def _redeemed(self, at: datetime) -> None:
        self.redeemed_at = at
