"""Sign-in links and cancellation links, decided on the in-memory ledger."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from patronage.application.giving import RecordGift, SupporterDetails
from patronage.application.supporter_access import CancelLinks, SupporterAccess
from patronage.domain.money import Money
from patronage.domain.signin import SignInLink, SignInLinkRefusedError, sign_in_link_id_for
from patronage.domain.supporter import Supporter
from tests.support.memory import Services

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def a_supporter(services: Services, email: str = "ada@example.org") -> uuid.UUID:
    return services.giving.register_supporter(SupporterDetails(email=email, name="Ada"))


def test_a_link_is_granted_only_to_a_known_email_and_keeps_no_secret(services: Services) -> None:
    supporter_id = a_supporter(services)
    access = SupporterAccess(services.ledger, timedelta(minutes=15), clock=lambda: NOW)
    assert access.grant("nobody@example.org") is None
    grant = access.grant(" ADA@example.org ")
    assert grant is not None and grant.supporter_id == supporter_id
    assert grant.expires_at == NOW + timedelta(minutes=15)
    link = services.ledger.get_typed(sign_in_link_id_for(grant.secret), SignInLink)
    assert grant.secret not in repr(vars(link))  # only its digest made the id


def test_a_link_signs_in_once_until_it_expires(services: Services) -> None:
    a_supporter(services)
    clock = [NOW]
    access = SupporterAccess(services.ledger, timedelta(minutes=15), clock=lambda: clock[0])
    first, second = access.grant("ada@example.org"), access.grant("ada@example.org")
    assert first is not None and second is not None and first.secret != second.secret
    assert access.redeem(first.secret) == first.supporter_id
    with pytest.raises(SignInLinkRefusedError, match="used already"):
        access.redeem(first.secret)
    clock[0] = NOW + timedelta(minutes=15)
    with pytest.raises(SignInLinkRefusedError, match="expired"):
        access.redeem(second.secret)
    with pytest.raises(SignInLinkRefusedError, match="not valid"):
        access.redeem("")


def test_two_redemptions_at_once_sign_in_one(services: Services) -> None:
    a_supporter(services)
    access = SupporterAccess(services.ledger, timedelta(minutes=15))
    grant = access.grant("ada@example.org")
    assert grant is not None
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def redeem() -> None:
        start.wait()
        try:
            access.redeem(grant.secret)
            outcomes.append("in")
        except SignInLinkRefusedError:
            outcomes.append("refused")

    threads = [threading.Thread(target=redeem) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["in", "refused", "refused", "refused"]


def test_an_erased_supporter_gets_no_link_and_loses_their_session(services: Services) -> None:
    supporter_id = a_supporter(services)
    services.giving.record_gift(
        RecordGift("pi_1", SupporterDetails(email="ada@example.org"), Money(500, "USD"), NOW)
    )
    access = SupporterAccess(services.ledger, timedelta(minutes=15))
    assert access.supporter(supporter_id) is not None
    supporter = services.ledger.get_typed(supporter_id, Supporter)
    supporter.erase(by="finance", reason="asked to be forgotten")
    services.ledger.save(supporter)
    assert access.supporter(supporter_id) is None
    assert access.grant("ada@example.org") is None


def test_a_cancellation_link_names_one_membership_and_cannot_be_changed() -> None:
    links = CancelLinks(b"one secret")
    ada, bob = uuid.uuid4(), uuid.uuid4()
    token = links.token(ada)
    assert links.membership(token) == ada
    bob_id_with_ada_signature = links.token(bob).split(".")[0] + "." + token.split(".")[1]
    for forged in (
        bob_id_with_ada_signature,
        CancelLinks(b"another secret").token(ada),
        token[:-1],
        "",
        "no-dot",
        "!!!.???",
    ):
        assert links.membership(forged) is None
