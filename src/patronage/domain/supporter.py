"""A supporter: one person who gives, identified by their normalised email."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from patronage.domain.errors import InvalidEmailError
from patronage.domain.identity import natural_id, normalise_email
from patronage.domain.values import PostalAddress


def supporter_id_for(email: str) -> UUID:
    """The supporter id for an email in any case or spacing."""
    return natural_id("supporter", normalise_email(email))


class Supporter(Aggregate):
    @staticmethod
    def create_id(email: str) -> UUID:
        return supporter_id_for(email)

    @event("Registered")
    def __init__(self, email: str, name: str, consent_to_contact: bool) -> None:
        if "@" not in email.strip():
            raise InvalidEmailError("a supporter needs an email address")
        self.email = normalise_email(email)
        self.name = name.strip()
        self.consent_to_contact = consent_to_contact
        self.address = PostalAddress()
        self.stripe_customer_ids: list[str] = []

    def rename(self, name: str) -> None:
        if name.strip() and name.strip() != self.name:
            self._renamed(name=name.strip())

    @event("Renamed")
    def _renamed(self, name: str) -> None:
        self.name = name

    def change_email(self, email: str) -> None:
        """Record a new contact email; the id stays the one derived from the first email."""
        if "@" not in email:
            raise InvalidEmailError("a supporter needs an email address")
        if normalise_email(email) != self.email:
            self._email_changed(email=normalise_email(email))

    @event("EmailChanged")
    def _email_changed(self, email: str) -> None:
        self.email = email

    def move(self, address: PostalAddress) -> None:
        if not address.is_empty() and address != self.address:
            self._address_changed(address=address)

    @event("AddressChanged")
    def _address_changed(self, address: PostalAddress) -> None:
        self.address = address

    def link_stripe_customer(self, customer_id: str) -> None:
        if customer_id and customer_id not in self.stripe_customer_ids:
            self._stripe_customer_linked(customer_id=customer_id)

    @event("StripeCustomerLinked")
    def _stripe_customer_linked(self, customer_id: str) -> None:
        self.stripe_customer_ids.append(customer_id)

    def set_consent(self, consent_to_contact: bool) -> None:
        if consent_to_contact != self.consent_to_contact:
            self._consent_changed(consent_to_contact=consent_to_contact)

    @event("ConsentChanged")
    def _consent_changed(self, consent_to_contact: bool) -> None:
        self.consent_to_contact = consent_to_contact
