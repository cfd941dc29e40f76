"""The demo keeps what it needs in its data directory: restarted on the same directory it
still thanks earlier donors, still knows their subscriptions at localstripe, and still
signs the staff in with the same password."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import stripe

from patronage.bootstrap import bootstrap
from patronage.cli.demo_setup import LOCALSTRIPE_KEY
from patronage.cli.mail_catcher import CaughtMail
from patronage.config import load_settings
from tests.support import http
from tests.support.demo import RunningDemo, demo_server
from tests.support.polling import eventually
from tests.support.supporters import give_at_localstripe, sign_in_link

pytestmark = pytest.mark.e2e
PAGE = {"article_id": "a-1", "url": "https://news.example/a-1", "section": "", "tags": []}
EMAIL = "returning@example.org"


def asked(demo: RunningDemo, token: str) -> str:
    answer = http.post(
        f"{demo.url}/asks",
        json={"page": PAGE, "reader": {"reader_id": "r-1", "supporter_token": token}},
    )
    kind: str = answer.json()["kind"]
    return kind


def subscriptions(demo: RunningDemo) -> list[dict[str, Any]]:
    reply = http.get(f"{demo.localstripe_url}/v1/subscriptions", auth=(LOCALSTRIPE_KEY, ""))
    reply.raise_for_status()
    data: list[dict[str, Any]] = reply.json()["data"]
    return data


def booked(demo: RunningDemo) -> bool:
    """localstripe's webhooks have booked the member (the staff API lists them as active)."""
    found = http.get(
        f"{demo.url}/staff/supporters",
        params={"q": EMAIL.split("@")[0]},
        headers={"Authorization": f"Bearer {demo.staff_token}"},
    ).json()
    return any(s["membership_status"] == "active" for s in found["items"])


def supporter_token(demo: RunningDemo) -> str | None:
    """Sign in on the supporter page (the link from the demo's caught mail): the page hands
    the browser a supporter token once the member's gifts are booked."""
    with http.client(base_url=demo.url) as browser:
        browser.post("/my/sign-in", data={"email": EMAIL})
        caught = CaughtMail("127.0.0.1", 0, demo.data_dir / "demo-mail")
        token = sign_in_link(caught, EMAIL).split("token=", 1)[1]
        browser.post("/my/sign-in/link", data={"token": token})
        found = re.search(r'data-token="([^"]+)"', browser.get("/my").text)
    return found.group(1) if found else None


def test_a_restart_on_the_same_directory_keeps_secrets_and_localstripe(tmp_path: Path) -> None:
    with demo_server(tmp_path) as first:
        client = stripe.StripeClient(LOCALSTRIPE_KEY, base_addresses={"api": first.localstripe_url})
        member = give_at_localstripe(client, uuid4(), EMAIL, "Returning Reader", 2000)
        eventually(lambda: booked(first), "localstripe's webhooks to book the member")
        token = supporter_token(first)
        assert token is not None
        assert asked(first, token) == "thanks"
        password = first.staff_password

    with demo_server(tmp_path) as again:
        assert again.data_dir == first.data_dir
        assert again.staff_password == password
        assert asked(again, token) == "thanks"  # the same supporter token secret
        [known] = subscriptions(again)
        assert (known["id"], known["status"]) == (member.subscription_id, "active")
    assert (first.data_dir / "demo-secrets.json").stat().st_mode & 0o077 == 0
    patronage = bootstrap(load_settings(_env_file=None, data_dir=first.data_dir))
    try:
        assert patronage.staff.authenticate(first.staff_email, password) is not None
    finally:
        patronage.close()
