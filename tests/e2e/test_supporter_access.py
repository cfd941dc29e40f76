"""Who may see and change what on the supporter page: one-time sign-in links, the same
answer for every email, rate limits, one supporter never reaching another's giving, and
the one-click cancellation link of a membership email."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from patronage.application.supporter_access import CancelLinks
from tests.support import http
from tests.support.polling import eventually
from tests.support.supporters import World, sign_in_link, supporter_world

pytestmark = pytest.mark.e2e
ADA, BOB = "ada@example.org", "bob@example.org"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with supporter_world(
        tmp_path,
        {ADA: 2000, BOB: 1500},
        supporter_signin_per_email=3,
        supporter_signin_per_ip=6,
    ) as running:
        running.membership(ADA), running.membership(BOB)
        yield running


def browser(world: World) -> httpx.Client:
    return http.client(base_url=world.api.url, follow_redirects=False)


def ask_for_link(client: httpx.Client, email: str) -> httpx.Response:
    return client.post("/my/sign-in", data={"email": email})


def token_of(link: str) -> str:
    return link.split("token=", 1)[1]


def signed_in(world: World, email: str) -> httpx.Client:
    client = browser(world)
    before = len(world.mail.messages())
    assert ask_for_link(client, email).status_code == 200
    answer = client.post(
        "/my/sign-in/link", data={"token": token_of(sign_in_link(world.mail, email, before))}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/my"
    return client


def form_token(client: httpx.Client) -> str:
    page = client.get("/my")
    assert page.status_code == 200, page.text
    found = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def test_a_sign_in_link_works_once(world: World) -> None:
    client = browser(world)
    ask_for_link(client, ADA)
    token = token_of(sign_in_link(world.mail, ADA))
    opened = client.get("/my/sign-in/link", params={"token": token})
    assert opened.status_code == 200 and "Sign in" in opened.text  # opening it uses nothing up
    first = client.post("/my/sign-in/link", data={"token": token})
    assert first.status_code == 303
    cookie = first.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/my" in cookie
    assert ADA in client.get("/my").text
    again = browser(world).post("/my/sign-in/link", data={"token": token})
    assert again.status_code == 410 and "used already" in again.text
    assert "set-cookie" not in again.headers


def test_a_sign_in_link_expires(world: World) -> None:
    client = browser(world)
    ask_for_link(client, ADA)
    token = token_of(sign_in_link(world.mail, ADA))
    access = world.api.patronage.access
    later = datetime.now(UTC) + timedelta(minutes=15, seconds=1)
    access.clock = lambda: later  # our own service's clock, moved past the link's 15 minutes
    expired = client.post("/my/sign-in/link", data={"token": token})
    assert expired.status_code == 410 and "expired" in expired.text
    assert client.get("/my").status_code == 401


def test_a_made_up_link_signs_nobody_in(world: World) -> None:
    answer = browser(world).post("/my/sign-in/link", data={"token": "x" * 43})
    assert answer.status_code == 410 and "not valid" in answer.text


def test_the_answer_is_the_same_for_known_and_unknown_emails(world: World) -> None:
    known = ask_for_link(browser(world), ADA)
    unknown = ask_for_link(browser(world), "nobody@example.org")
    assert (known.status_code, known.text) == (unknown.status_code, unknown.text)
    assert known.headers.get("set-cookie") == unknown.headers.get("set-cookie")
    sign_in_link(world.mail, ADA)
    assert [m["To"] for m in world.mail.messages() if "sign-in" in str(m["Subject"])] == [ADA]


def test_links_are_rate_limited_per_email_and_per_address(world: World) -> None:
    client = browser(world)
    assert [ask_for_link(client, ADA).status_code for _ in range(4)] == [200, 200, 200, 429]
    # Other emails from the same address: six in the window, then refused.
    others = [ask_for_link(client, f"reader{n}@example.org").status_code for n in range(3)]
    assert others == [200, 200, 429]


def test_one_supporter_can_never_see_or_change_anothers(world: World) -> None:
    patronage = world.api.patronage
    ada_membership = world.membership(ADA)
    ada_receipt = patronage.receipting.issue_single(world.gift(ADA).id)
    bob = signed_in(world, BOB)
    token = form_token(bob)

    page = bob.get("/my").text
    assert BOB in page and ADA not in page and ada_receipt.number not in page
    assert bob.get(f"/my/receipts/{ada_receipt.number}.pdf").status_code == 404
    for action, fields in (
        ("amount", {"amount": "99.00"}),
        ("pause", {"months": "1"}),
        ("resume", {}),
        ("cancel", {}),
        ("card", {}),
    ):
        answer = bob.post(
            f"/my/memberships/{ada_membership.id}/{action}", data={"form_token": token, **fields}
        )
        assert answer.status_code == 404, (action, answer.text)
    ada_at_stripe = world.subscription(ADA)
    assert ada_at_stripe["status"] == "active" and not ada_at_stripe["cancel_at_period_end"]
    assert ada_at_stripe["items"]["data"][0]["plan"]["amount"] == 2000
    assert world.portal.requests == []

    # Ada's own session may; without the page's form token nobody may.
    ada = signed_in(world, ADA)
    refused = ada.post(f"/my/memberships/{ada_membership.id}/cancel", data={})
    assert refused.status_code == 403
    assert bob.get(f"/my/receipts/{ada_receipt.number}.pdf").status_code == 404
    assert ada.get(f"/my/receipts/{ada_receipt.number}.pdf").content.startswith(b"%PDF")
    anonymous = browser(world)
    assert anonymous.get("/my").status_code == 401
    assert anonymous.get(f"/my/receipts/{ada_receipt.number}.pdf").status_code == 401


def test_the_one_click_link_cancels_exactly_its_membership_after_confirmation(
    world: World,
) -> None:
    ada_membership, bob_membership = world.membership(ADA), world.membership(BOB)
    links = CancelLinks(b"supporter-secret-for-tests")
    ada_token = links.token(ada_membership.id)
    client = browser(world)

    confirm = client.get("/my/cancel", params={"token": ada_token})
    assert confirm.status_code == 200 and "Cancel my membership" in confirm.text
    assert "20.00 USD" in confirm.text
    assert world.subscription(ADA)["status"] == "active"  # opening the link changed nothing

    # Bob's membership id with Ada's signature, another secret's token, and noise: refused.
    bob_id, ada_signature = links.token(bob_membership.id), ada_token.split(".")[1]
    forged = bob_id.split(".")[0] + "." + ada_signature
    other_secret = CancelLinks(b"another-secret").token(bob_membership.id)
    for token in (forged, other_secret, "not-a-token", ""):
        assert client.get("/my/cancel", params={"token": token}).status_code == 404
        assert client.post("/my/cancel", data={"token": token}).status_code == 404
    assert world.subscription(BOB)["status"] == "active"

    done = client.post("/my/cancel", data={"token": ada_token})
    assert done.status_code == 200 and "cancelled" in done.text
    assert world.subscription(ADA)["status"] == "canceled"
    assert world.subscription(BOB)["status"] == "active"
    # localstripe's own customer.subscription.deleted brings it back into the ledger.
    ledger = world.api.patronage.ledger
    eventually(
        lambda: ledger.get_typed(ada_membership.id, type(ada_membership)).is_cancelled,
        "the cancellation in the ledger",
    )
    assert not ledger.get_typed(bob_membership.id, type(bob_membership)).is_cancelled
    # Used again, it cancels nothing more and says so.
    again = client.post("/my/cancel", data={"token": ada_token})
    assert again.status_code == 200 and "cancelled already" in again.text
    assert world.subscription(BOB)["status"] == "active"
