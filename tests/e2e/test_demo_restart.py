"""The demo keeps what it needs in its data directory: restarted on the same directory it
still thanks earlier donors, still knows their subscriptions at localstripe, and still
signs the staff in with the same password."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from patronage.bootstrap import bootstrap
from patronage.config import load_settings
from tests.support.demo import RunningDemo, demo_server
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e
PAGE = {"article_id": "a-1", "url": "https://news.example/a-1", "section": "", "tags": []}


def give_monthly(demo: RunningDemo) -> dict[str, Any]:
    answer = httpx.post(
        f"{demo.url}/checkout",
        json={
            "checkout_key": secrets.token_urlsafe(16),
            "frequency": "monthly",
            "amount": "20.00",
            "currency": "USD",
            "email": "returning@example.org",
            "name": "Returning Reader",
        },
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    assert result["status"] == "succeeded" and result["supporter_token"]
    return result


def asked(demo: RunningDemo, token: str) -> str:
    answer = httpx.post(
        f"{demo.url}/asks",
        json={"page": PAGE, "reader": {"reader_id": "r-1", "supporter_token": token}},
    )
    kind: str = answer.json()["kind"]
    return kind


def subscriptions(demo: RunningDemo) -> list[dict[str, Any]]:
    reply = httpx.get(
        f"{demo.localstripe_url}/v1/subscriptions", auth=("sk_test_patronage_demo", "")
    )
    reply.raise_for_status()
    data: list[dict[str, Any]] = reply.json()["data"]
    return data


def test_a_restart_on_the_same_directory_keeps_secrets_and_localstripe(tmp_path: Path) -> None:
    with demo_server(tmp_path) as first:
        token = give_monthly(first)["supporter_token"]
        assert asked(first, token) == "thanks"
        [subscription] = eventually(lambda: subscriptions(first) or None, "the subscription")
        password = first.staff_password

    with demo_server(tmp_path) as again:
        assert again.data_dir == first.data_dir
        assert again.staff_password == password
        assert asked(again, token) == "thanks"  # the same supporter token secret
        [known] = subscriptions(again)
        assert (known["id"], known["status"]) == (subscription["id"], "active")
    assert (first.data_dir / "demo-secrets.json").stat().st_mode & 0o077 == 0
    patronage = bootstrap(load_settings(_env_file=None, data_dir=first.data_dir))
    try:
        assert patronage.staff.authenticate(first.staff_email, password) is not None
    finally:
        patronage.close()
