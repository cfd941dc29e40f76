"""A supporter: one person who gives, and the email claims that find them.

A supporter's id is not derived from anything an outsider knows: the first one is a keyed
hash of the email it was registered with (so a repeated registration collides), and every
email the supporter is known by is an `EmailClaim` keyed the same way, pointing at them.
An email change adds a claim, so the next gift with the new email finds the same person.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from patronage.domain.errors import DomainError, InvalidEmailError
from patronage.domain.identity import keyed_id, normalise_email
from patronage.domain.values import PostalAddress


def supporter_id_for(secret: bytes, email: str) -> UUID:
    """The id a new supporter registered with `email` gets: a keyed hash, not computable
    from the email without the identity key."""
    return keyed_id(secret, "supporter", normalise_email(email))


def email_claim_id_for(secret: bytes, email: str) -> UUID:
    return keyed_id(secret, "email-claim", normalise_email(email))


def is_email(email: str) -> bool:
    return "@" in email.strip()


class SupporterMergeError(DomainError):
    """Two supporters that cannot be merged (the same one, or one already merged/erased)."""


class SupporterErasedError(DomainError):
    """A staff change to a person who was erased: their details are not taken again."""


class Supporter(Aggregate):
    """Personal fields (email, name, address) are sealed with the supporter's own data key
    when stored (application/sealing.py): erasing the supporter deletes that key."""

    @classmethod
    def register(
        cls,
        supporter_id: UUID,
        email: str,
        name: str,
        consent_to_contact: bool,
    ) -> Supporter:
        if not is_email(email):
            raise InvalidEmailError("a supporter needs an email address")
        return cls._create(
            vars(cls)["Registered"],
            id=supporter_id,
            email=normalise_email(email),
            name=name.strip(),
            consent_to_contact=consent_to_contact,
        )

    @event("Registered")
    def __init__(
        self,
        email: str,
        name: str,
        consent_to_contact: bool,
    ) -> None:
        # No checks here: the body runs again when the supporter is read back, also after
        # erasure, when the sealed fields come back empty.
        self.email = email
        # When the newest email change happened at Stripe (registration is not a change).
        self.email_as_of: datetime | None = None
        self.name = name
        self.consent_to_contact = consent_to_contact
        self.address = PostalAddress()
        self.stripe_customer_ids: list[str] = []
        self.merged_into: UUID | None = None
        self.absorbed: list[UUID] = []
        self.erased = False

    @property
    def is_active(self) -> bool:
        """Neither merged into another supporter nor erased: personal details may change."""
        return self.merged_into is None and not self.erased

    def rename(self, name: str) -> None:
        if self.is_active and name.strip() and name.strip() != self.name:
            self._renamed(name=name.strip())

    @event("Renamed")
    def _renamed(self, name: str) -> None:
        self.name = name

    def change_email(self, email: str, as_of: datetime | None = None) -> None:
        """Record a contact email reported at `as_of` (Stripe's time; None, a staff edit,
        counts as newest). The newest report wins whatever order reports arrive in; two in
        the same second are settled by a fixed rule (the greater address), as Stripe gives
        no finer order."""
        if not is_email(email):
            raise InvalidEmailError("a supporter needs an email address")
        email = normalise_email(email)
        if not self.is_active:
            return
        if as_of is None or self.email_as_of is None or as_of > self.email_as_of:
            newer = True
        else:
            newer = as_of == self.email_as_of and email > self.email
        if not newer:
            return
        if email != self.email:
            self._email_changed(email=email, as_of=as_of)
        elif as_of is not None:
            self._email_confirmed(as_of=as_of)

    @event("EmailChanged")
    def _email_changed(self, email: str, as_of: datetime | None = None) -> None:
        self.email = email
        if as_of is not None:
            self.email_as_of = as_of

    @event("EmailConfirmed")
    def _email_confirmed(self, as_of: datetime) -> None:
        """The same email reported again at a newer time, which older reports must lose to."""
        self.email_as_of = as_of

    def move(self, address: PostalAddress) -> None:
        if self.is_active and not address.is_empty() and address != self.address:
            self._address_changed(address=address)

    @event("AddressChanged")
    def _address_changed(self, address: PostalAddress) -> None:
        self.address = address

    def link_stripe_customer(self, customer_id: str) -> None:
        # Customer ids are kept after erasure: they are how later events find the
        # (anonymous) supporter instead of registering the person again.
        if customer_id and customer_id not in self.stripe_customer_ids:
            self._stripe_customer_linked(customer_id=customer_id)

    @event("StripeCustomerLinked")
    def _stripe_customer_linked(self, customer_id: str) -> None:
        self.stripe_customer_ids.append(customer_id)

    def set_consent(self, consent_to_contact: bool) -> None:
        if self.is_active and consent_to_contact != self.consent_to_contact:
            self._consent_changed(consent_to_contact=consent_to_contact)

    @event("ConsentChanged")
    def _consent_changed(self, consent_to_contact: bool) -> None:
        self.consent_to_contact = consent_to_contact

    # Merging two records of one person -----------------------------------------------------

    def merge_into(self, survivor: Supporter, by: str, reason: str) -> None:
        """This supporter is `survivor` under another record: it and its claims point there
        from now on. Both records keep the trail (MergedInto here, Absorbed there)."""
        if survivor.id == self.id:
            raise SupporterMergeError("a supporter cannot be merged into itself")
        if not self.is_active or not survivor.is_active:
            raise SupporterMergeError("merged or erased supporters cannot be merged")
        self._merged_into(survivor_id=survivor.id, by=by, reason=reason)
        survivor._absorbed(
            duplicate_id=self.id,
            customer_ids=list(self.stripe_customer_ids),
            by=by,
            reason=reason,
        )

    @event("MergedInto")
    def _merged_into(self, survivor_id: UUID, by: str, reason: str) -> None:
        self.merged_into = survivor_id

    @event("Absorbed")
    def _absorbed(self, duplicate_id: UUID, customer_ids: list[str], by: str, reason: str) -> None:
        self.absorbed.append(duplicate_id)
        for customer_id in customer_ids:
            if customer_id not in self.stripe_customer_ids:
                self.stripe_customer_ids.append(customer_id)

    # Erasure -------------------------------------------------------------------------------

    def erase(self, by: str, reason: str) -> bool:
        """Forget the person's details; the money they gave stays. False if already erased."""
        if self.erased:
            return False
        self._erased(by=by, reason=reason)
        return True

    @event("Erased")
    def _erased(self, by: str, reason: str) -> None:
        self.email = ""
        self.name = ""
        self.address = PostalAddress()
        self.consent_to_contact = False
        self.erased = True


class EmailClaim(Aggregate):
    """An email (by its keyed hash only: the email itself is not stored here) and the
    supporter it belongs to. Created in the same transaction as the supporter or the email
    change that brings the email in, so two supporters never claim one email. A claim is
    never moved: after a merge it leads to the duplicate, which leads to the survivor."""

    @classmethod
    def claim(cls, claim_id: UUID, supporter_id: UUID) -> EmailClaim:
        return cls._create(vars(cls)["Claimed"], id=claim_id, supporter_id=supporter_id)

    @event("Claimed")
    def __init__(self, supporter_id: UUID) -> None:
        self.supporter_id = supporter_id
