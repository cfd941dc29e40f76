"""Supporters signing in to their own page by a one-time link sent to their email.

A link is granted only to an email that finds a supporter (the caller answers the same
either way, so nobody learns who gives); it works once, until it expires. Sessions and
what the page may do are the API's business: this only says who the link signs in.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from eventsourcing.persistence import IntegrityError

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


class SupporterAccess:
    def __init__(
        self,
        ledger: Ledger,
        lifetime: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ledger = ledger
        self.directory = SupporterDirectory(ledger)
        self.lifetime = lifetime
        self.clock = clock

    def grant(self, email: str) -> SignInGrant | None:
        """A new link for the supporter this email finds; None when it finds nobody (or
        someone erased)."""
        supporter = self.directory.find(UnitOfWork(self.ledger), None, email)
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
        found = self.directory.find(UnitOfWork(self.ledger), supporter_id, "")
        return found if found is not None and found.is_active else None
