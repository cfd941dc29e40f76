"""Hostile input at the edge (issue 15, defects 1, 7 and 8): refused with a 4xx and a reason,
nothing recorded, no 500, and no view stopped by what got through. Both stores."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.bootstrap import Patronage
from patronage.domain.gift import Gift, gift_id_for
from patronage.domain.inbox import InboxStatus
from patronage.projections.polling import pending
from tests.support import stripe_events as se
from tests.support.projections import catch_up_all

ADA = "ada@example.org"
CHECKOUT = {
    "checkout_key": "k" * 20,
    "frequency": "one_time",
    "amount": "25.00",
    "currency": "USD",
    "email": ADA,
    "name": "Ada Lovelace",
}
ASK = {"page": {"article_id": "a-1"}, "reader": {}}


@pytest.fixture
def client(patronage: Patronage) -> Iterator[TestClient]:
    with TestClient(create_app(patronage)) as test_client:
        yield test_client


def _views_caught_up(patronage: Patronage) -> bool:
    catch_up_all(patronage)
    return all(
        pending(patronage.ledger, store, patronage.views.projection(name).topics) == 0
        for name, store in patronage.views.stores.items()
    )


# Control characters --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/checkout", {**CHECKOUT, "name": "Ada\x00Lovelace"}),
        ("/checkout", {**CHECKOUT, "name": "Ada\x1b[31m"}),
        ("/checkout", {**CHECKOUT, "tracking": {"campaign": "spring\x00"}}),
        ("/checkout", {**CHECKOUT, "tribute": {"kind": "memory", "name": "Gran\x00"}}),
        ("/checkout", {**CHECKOUT, "email": "ada\x00@example.org"}),
        ("/asks", {"page": {"article_id": "a\x00"}, "reader": {}}),
        ("/asks", {"page": {"article_id": "a-1", "tags": ["x\x00"]}, "reader": {}}),
        ("/asks", {"page": {"article_id": "a-1"}, "reader": {"reader_id": "r\x00"}}),
    ],
)
def test_control_characters_are_refused_with_a_reason_and_change_nothing(
    client: TestClient, patronage: Patronage, path: str, body: dict[str, Any]
) -> None:
    head = patronage.ledger.head()
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    # /asks says which rule; /checkout, for a reader, gives a code ending in _invalid
    assert "control characters" in response.text or "_invalid" in response.text
    assert patronage.ledger.head() == head


@pytest.mark.parametrize("amount", [" 25.00", "25.00 ", "\t25"])
def test_padded_amounts_are_refused(client: TestClient, amount: str) -> None:
    response = client.post("/checkout/quote", json={"amount": amount, "currency": "USD"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["code"] == "amount_invalid"


# Not JSON numbers, and bodies too large -------------------------------------------------


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/checkout/quote", '{"amount": %s, "currency": "USD"}'),
        ("/checkout", '{"checkout_key": %s}'),
        ("/asks", '{"page": {"article_id": %s}, "reader": {}}'),
        ("/asks", '{"page": {"article_id": "a"}, "reader": {"weekly_counts": [{"count": %s}]}}'),
    ],
)
def test_nan_and_infinity_in_a_failing_field_answer_422_not_500(
    client: TestClient, path: str, body: str, constant: str
) -> None:
    response = client.post(
        path, content=body % constant, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert json.loads(response.text)["detail"]  # JSON, and says what failed


@pytest.mark.parametrize("path", ["/checkout", "/asks", "/checkout/quote"])
def test_bodies_over_the_limit_are_refused_while_read(
    client: TestClient, patronage: Patronage, path: str
) -> None:
    limit = patronage.settings.max_body_bytes
    big = json.dumps({**CHECKOUT, "name": "x" * (limit + 10)})
    declared = client.post(path, content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(limit // 1000 + 2):
            yield b" " * 1000

    streamed = client.post(path, content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert streamed.json() == {"detail": "Content Too Large"}  # as every route answers it


# Signed webhooks ------------------------------------------------------------------------


def _intent_event(amount: int = 2500, email: str = ADA, pi: str = "pi_edge_1") -> dict[str, Any]:
    return se.event(
        "payment_intent.succeeded",
        se.payment_intent(pi, amount, se.our_metadata(ADA), email=email),
    )


def test_a_signed_event_nested_100000_deep_is_refused(
    client: TestClient, patronage: Patronage
) -> None:
    evt = _intent_event()
    evt["data"]["object"]["metadata"]["deep"] = "HERE"
    body = json.dumps(evt).replace('"HERE"', "[" * 100_000 + "]" * 100_000)
    head = patronage.ledger.head()
    response = se.deliver(client, body)
    assert response.status_code == 400
    assert "nested deeper" in response.json()["detail"]
    assert patronage.ledger.head() == head


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"created": 10**12}, "creation time"),
        ({"type": "x" * 100_000}, "event type"),
        ({"id": "evt_\x00"}, "event id"),
    ],
)
def test_signed_envelopes_stripe_never_sends_are_refused(
    client: TestClient, patronage: Patronage, change: dict[str, Any], reason: str
) -> None:
    head = patronage.ledger.head()
    response = se.deliver(client, {**_intent_event(), **change})
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert patronage.ledger.head() == head


def test_an_amount_of_10_to_the_20_is_refused(client: TestClient, patronage: Patronage) -> None:
    head = patronage.ledger.head()
    response = se.deliver(client, _intent_event(amount=10**20))
    assert response.status_code == 400
    assert "integer beyond" in response.json()["detail"]
    assert patronage.ledger.head() == head


@pytest.mark.parametrize(
    ("evt", "reason"),
    [
        (_intent_event(amount=10**13, pi="pi_edge_big"), "beyond any payment"),
        (_intent_event(email="ada\x00@example.org", pi="pi_edge_nul"), "control characters"),
        (_intent_event(pi="pi_edge_\x00"), "control characters"),
    ],
)
def test_signed_events_with_impossible_content_are_kept_as_failed_and_no_view_stalls(
    client: TestClient, patronage: Patronage, evt: dict[str, Any], reason: str
) -> None:
    """Authentic but impossible: kept (2xx, so Stripe stops) and shown to staff as failed;
    nothing reaches a view, so every view catches up (on PostgreSQL, NUL stopped them)."""
    response = se.deliver(client, evt)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == InboxStatus.FAILED
    assert reason in response.json()["detail"]
    pi = evt["data"]["object"]["id"]
    assert patronage.ledger.get_or_none(gift_id_for(pi), Gift) is None
    assert _views_caught_up(patronage)


def test_a_signature_from_the_future_is_refused(client: TestClient, patronage: Patronage) -> None:
    body = se.body_of(_intent_event())
    ahead = int(time.time()) + 365 * 24 * 3600
    headers = {"Stripe-Signature": se.signature(body, timestamp=ahead)}
    head = patronage.ledger.head()
    response = client.post("/webhooks/stripe", content=body.encode(), headers=headers)
    assert response.status_code == 400
    assert "in the future" in response.json()["detail"]
    assert patronage.ledger.head() == head
