from __future__ import annotations

import pytest

from patronage.domain.errors import InvalidEmailError
from patronage.domain.supporter import Supporter, supporter_id_for
from patronage.domain.values import PostalAddress


def test_id_comes_from_the_normalised_email() -> None:
    supporter = Supporter(email="  Ada@Example.ORG ", name=" Ada ", consent_to_contact=False)
    assert supporter.id == supporter_id_for("ada@example.org")
    assert supporter.email == "ada@example.org"
    assert supporter.name == "Ada"


def test_an_address_without_an_at_sign_is_refused() -> None:
    with pytest.raises(InvalidEmailError):
        Supporter(email="not-an-email", name="x", consent_to_contact=False)


def test_updates_record_only_what_changed() -> None:
    supporter = Supporter(email="ada@example.org", name="Ada", consent_to_contact=False)
    supporter.rename("Ada")
    supporter.link_stripe_customer("cus_1")
    supporter.link_stripe_customer("cus_1")
    supporter.move(PostalAddress())
    supporter.move(PostalAddress(line1="1 Main St", city="Springfield", postal_code="62701"))
    supporter.set_consent(True)
    names = [type(e).__name__ for e in supporter.collect_events()]
    assert names == ["Registered", "StripeCustomerLinked", "AddressChanged", "ConsentChanged"]
    assert supporter.stripe_customer_ids == ["cus_1"]


def test_email_change_keeps_the_id() -> None:
    supporter = Supporter(email="ada@example.org", name="Ada", consent_to_contact=False)
    original = supporter.id
    supporter.change_email("ADA@new.example")
    assert supporter.email == "ada@new.example"
    assert supporter.id == original
