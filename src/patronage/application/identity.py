"""Finding a supporter: by our id (following merges) or by an email's claim.

Every command that learns about a person goes through here, so identity follows an email
change (the new email's claim points at the same supporter) and a merge (the duplicate
points at the survivor), and an erased supporter is found, not registered again.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from patronage.application.ledger import Ledger, UnitOfWork
from patronage.domain.gift import Gift
from patronage.domain.supporter import (
    EmailClaim,
    Supporter,
    email_claim_id_for,
    is_email,
    supporter_id_for,
)

# A merge chain longer than this is a bug (a merge refuses merged supporters).
MAX_MERGE_HOPS = 8


class SupporterDirectory:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    @property
    def _secret(self) -> bytes:
        return self.ledger.identity_key

    def find(self, unit: UnitOfWork, supporter_id: UUID | None, email: str) -> Supporter | None:
        """The supporter with our id, else the one the email is claimed by; the survivor
        if that one was merged."""
        supporter = None if supporter_id is None else unit.get_or_none(supporter_id, Supporter)
        if supporter is None and is_email(email):
            claim = unit.get_or_none(self.claim_id_for(email), EmailClaim)
            if claim is not None:
                supporter = unit.get_or_none(claim.supporter_id, Supporter)
        return None if supporter is None else self.survivor(unit, supporter)

    def claim_id_for(self, email: str) -> UUID:
        return email_claim_id_for(self._secret, email)

    @staticmethod
    def survivor(unit: UnitOfWork, supporter: Supporter) -> Supporter:
        for _ in range(MAX_MERGE_HOPS):
            if supporter.merged_into is None:
                return supporter
            supporter = unit.get_typed(supporter.merged_into, Supporter)
        raise RuntimeError(f"supporter {supporter.id}: merge chain too long")

    def register(
        self,
        unit: UnitOfWork,
        supporter_id: UUID | None,
        email: str,
        name: str,
        consent_to_contact: bool,
    ) -> Supporter:
        """A new supporter (with our id when a checkout issued one) and its email claim."""
        supporter = Supporter.register(
            supporter_id or supporter_id_for(self._secret, email),
            email,
            name,
            consent_to_contact,
        )
        unit.add(supporter)
        self.claim(unit, supporter, email)
        return supporter

    def claim(self, unit: UnitOfWork, supporter: Supporter, email: str) -> None:
        """The email finds `supporter` from now on, unless it finds someone already (then
        the two may be one person: finance merges them)."""
        if not is_email(email):
            return
        claim_id = self.claim_id_for(email)
        if unit.get_or_none(claim_id, EmailClaim) is None:
            unit.add(EmailClaim.claim(claim_id, supporter.id))

    def change_email(
        self, unit: UnitOfWork, supporter: Supporter, email: str, as_of: datetime | None
    ) -> None:
        """A reported contact email. It finds the supporter from now on even if a newer
        report wins, as do the older ones: late events name them."""
        supporter.change_email(email, as_of)
        self.claim(unit, supporter, email)

    def id_for(self, email: str) -> UUID:
        """The id a checkout puts in Stripe's metadata for this email: the supporter it
        finds, or the id the supporter will be registered with."""
        found = self.find(UnitOfWork(self.ledger), None, email)
        return found.id if found is not None else supporter_id_for(self._secret, email)


def concerns_erased(unit: UnitOfWork) -> bool:
    """Whether a command in `unit` was about a person who was erased (directly, or through
    a gift of theirs): then what reported it must not be kept whole."""
    for aggregate in unit.loaded():
        if isinstance(aggregate, Supporter) and aggregate.erased:
            return True
        if isinstance(aggregate, Gift):
            giver = unit.get_or_none(aggregate.supporter_id, Supporter)
            if giver is not None and giver.erased:
                return True
    return False
