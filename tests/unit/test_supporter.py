from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from patronage.domain.errors import InvalidEmailError
from patronage.domain.identity import keyed_id
from patronage.domain.supporter import (
    Supporter,
    SupporterMergeError,
    email_claim_id_for,
    supporter_id_for,
)
from patronage.domain.values import PostalAddress

SECRET = b"identity-key-for-unit-tests-0123"


def ada() -> Supporter:
    return Supporter.register(uuid4(), "ada@example.org", "Ada", consent_to_contact=False)


def test_ids_are_keyed_hashes_of_the_normalised_email() -> None:
    assert supporter_id_for(SECRET, "  Ada@Example.ORG ") == supporter_id_for(
        SECRET, "ada@example.org"
    )
    # Without the key nobody gets the same id; claims and supporters never share one.
    assert supporter_id_for(SECRET, "ada@example.org") != supporter_id_for(
        b"another-identity-key-0123456789", "ada@example.org"
    )
    assert email_claim_id_for(SECRET, "ada@example.org") != supporter_id_for(
        SECRET, "ada@example.org"
    )
    assert supporter_id_for(SECRET, "ada@example.org").version == 4


def test_a_short_identity_key_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        keyed_id(b"short", "supporter", "ada@example.org")


def test_registration_normalises_and_checks_the_email() -> None:
    supporter = Supporter.register(uuid4(), "  Ada@Example.ORG ", " Ada ", False)
    assert (supporter.email, supporter.name) == ("ada@example.org", "Ada")
    with pytest.raises(InvalidEmailError):
        Supporter.register(uuid4(), "not-an-email", "x", consent_to_contact=False)


def test_updates_record_only_what_changed() -> None:
    supporter = ada()
    supporter.rename("Ada")
    supporter.link_stripe_customer("cus_1")
    supporter.link_stripe_customer("cus_1")
    supporter.move(PostalAddress())
    supporter.move(PostalAddress(line1="1 Main St", city="Springfield", postal_code="62701"))
    supporter.set_consent(True)
    names = [type(e).__name__ for e in supporter.collect_events()]
    assert names == ["Registered", "StripeCustomerLinked", "AddressChanged", "ConsentChanged"]
    assert supporter.stripe_customer_ids == ["cus_1"]


def test_the_newest_email_change_wins_whatever_the_order() -> None:
    supporter = ada()
    original = supporter.id
    may_2, may_1 = datetime(2026, 5, 2, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)
    supporter.change_email("ADA@two.example", may_2)
    supporter.change_email("ada@one.example", may_1)
    assert supporter.email == "ada@two.example"
    # The same second: the greater address wins, in either order.
    supporter.change_email("ada@aaa.example", may_2)
    supporter.change_email("ada@zzz.example", may_2)
    supporter.change_email("ada@two.example", may_2)
    assert supporter.email == "ada@zzz.example"
    supporter.change_email("ada@staff.example")  # a staff edit is newest
    assert (supporter.email, supporter.id) == ("ada@staff.example", original)


def test_the_same_email_reported_later_still_beats_older_reports() -> None:
    supporter = Supporter.register(uuid4(), "ada@two.example", "Ada", False)
    supporter.change_email("ada@two.example", datetime(2026, 5, 2, tzinfo=UTC))
    supporter.change_email("ada@one.example", datetime(2026, 5, 1, tzinfo=UTC))
    assert supporter.email == "ada@two.example"
    names = [type(e).__name__ for e in supporter.collect_events()]
    assert names == ["Registered", "EmailConfirmed"]


def test_a_merge_leaves_a_trail_on_both_and_refuses_nonsense() -> None:
    duplicate, survivor = ada(), ada()
    duplicate.link_stripe_customer("cus_dup")
    duplicate.merge_into(survivor, by="staff-key-1", reason="one person")
    assert duplicate.merged_into == survivor.id
    assert survivor.absorbed == [duplicate.id]
    assert "cus_dup" in survivor.stripe_customer_ids
    assert type(duplicate.collect_events()[-1]).__name__ == "MergedInto"
    assert type(survivor.collect_events()[-1]).__name__ == "Absorbed"
    with pytest.raises(SupporterMergeError):
        survivor.merge_into(survivor, by="x", reason="")
    with pytest.raises(SupporterMergeError):
        duplicate.merge_into(survivor, by="x", reason="")


def test_erasure_forgets_the_person_and_keeps_them_forgotten() -> None:
    supporter = ada()
    supporter.move(PostalAddress(line1="1 Main St", city="Springfield", postal_code="62701"))
    assert supporter.erase(by="staff-key-1", reason="request")
    assert not supporter.erase(by="staff-key-1", reason="again")
    assert (supporter.email, supporter.name, supporter.address) == ("", "", PostalAddress())
    supporter.rename("Ada")
    supporter.move(PostalAddress(line1="2 Main St", city="Springfield", postal_code="62701"))
    supporter.change_email("ada@example.org")
    supporter.link_stripe_customer("cus_2")  # customer ids still find the anonymous record
    assert (supporter.name, supporter.email) == ("", "")
    assert supporter.stripe_customer_ids == ["cus_2"]
