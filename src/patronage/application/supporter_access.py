"""Supporters signing in to their own page by a one-time link sent to their email.

A link is granted only to an email that finds a supporter (the caller answers the same
either way, so nobody learns who gives); it works once, until it expires. Sessions and
what the page may do are the API's business: this only says who the link signs in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from patronage.application.clock import Clock, utc_now
from patronage.application.identity import SupporterDirectory
from patronage.application.ledger import Ledger, UnitOfWork
from patronage.domain.signin import (
    SignInLink,
    SignInLinkRefusedError,
    digest_of,
    sign_in_link_id_for,
)
from patronage.domain.supporter import Supporter

# 32 random bytes: a link cannot be guessed, only received.
_SECRET_BYTES = 32


@dataclass(frozen=True)
class SignInGrant:
    """A link's secret for a known supporter, to be emailed to them (and nowhere else)."""

    secret: str
    supporter_id: UUID
    email: str
    name: str
    expires_at: datetime


@dataclass(eq=False)
class SupporterAccess:
    ledger: Ledger
    lifetime: timedelta
    clock: Clock = utc_now

    def grant(self, email: str) -> SignInGrant | None:
        """A new link for the supporter this email finds; None when it finds nobody (or
        someone erased)."""
        supporter = SupporterDirectory(self.ledger).find(UnitOfWork(self.ledger), None, email)
        if supporter is None or not supporter.is_active:
            return None
        secret = secrets.token_urlsafe(_SECRET_BYTES)
        expires_at = self.clock() + self.lifetime
        self.ledger.save(SignInLink(digest_of(secret), supporter.id, expires_at))
        return SignInGrant(secret, supporter.id, supporter.email, supporter.name, expires_at)

    def redeem(self, secret: str) -> UUID:
        """The supporter a link signs in, once; SignInLinkRefusedError for a link that is
        unknown, used or expired."""
        link = self.ledger.get_or_none(sign_in_link_id_for(secret), SignInLink) if secret else None
        if link is None:
            raise SignInLinkRefusedError("this sign-in link is not valid")
        supporter_id = link.redeem(self.clock())
        try:
            self.ledger.save(link)
        except IntegrityError:
            # Redeemed a moment ago by another request: only one of them signs in.
            raise SignInLinkRefusedError("this sign-in link was used already") from None
        return supporter_id

    def supporter(self, supporter_id: UUID) -> Supporter | None:
        """The signed-in supporter as they are now (the survivor of a merge); None once
        erased, which ends their sessions."""
        found = SupporterDirectory(self.ledger).find(UnitOfWork(self.ledger), supporter_id, "")
        return found if found is not None and found.is_active else None


def derive_key(root: bytes, purpose: str) -> bytes:
    """A key for one purpose (sessions, forms, cancellation links) from the one secret."""
    return hmac.new(root, f"patronage-supporter:{purpose}".encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class CancelLinks:
    """The one-click cancellation link of every membership email: the membership's id and our
    signature of it, so it names exactly that membership, cannot be guessed, and cannot be
    changed to name another. It needs no sign-in and does not expire (a member may find the
    email months later); the page it opens asks before it cancels."""

    def __init__(self, root: bytes) -> None:
        self._key = derive_key(root, "cancel")

    def token(self, membership_id: UUID) -> str:
        return f"{_b64(membership_id.bytes)}.{self._signature(membership_id)}"

    def _signature(self, membership_id: UUID) -> str:
        digest = hmac.new(self._key, b"cancel:" + membership_id.bytes, hashlib.sha256).digest()
        return _b64(digest)

    def membership(self, token: str) -> UUID | None:
        """The membership a token names; None if it is not one we made."""
        encoded, _, signature = token.partition(".")
        try:
            membership_id = UUID(
                bytes=base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            )
        except ValueError:
            return None
        return (
            membership_id
            if hmac.compare_digest(signature, self._signature(membership_id))
            else None
        )


@dataclass(frozen=True)
class SupporterLinks:
    """The addresses emails give supporters: their page, and a membership's cancellation."""

    public_url: str
    cancel_links: CancelLinks

    @property
    def page(self) -> str:
        return f"{self.public_url.rstrip('/')}/my"

    def cancel(self, membership_id: UUID) -> str:
        return f"{self.page}/cancel?token={self.cancel_links.token(membership_id)}"
