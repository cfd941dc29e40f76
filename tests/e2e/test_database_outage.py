"""PostgreSQL taken away behind a TCP proxy (the shared server itself is never stopped):
while it is away, webhooks answer 503 within the pool's bounded wait (no library retry
storm), and so do the ticker, staff totals and /readyz (not 500); once it is back, the
service recovers by itself and Stripe's redeliveries are booked once (issue 15, defect 5)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from patronage.config import load_settings
from patronage.domain.gift import Gift, gift_id_for
from tests.support import stripe_events as se
from tests.support.polling import eventually
from tests.support.servers import running_api
from tests.support.stores import POSTGRES_URL, postgres_schema
from tests.support.tcp_proxy import tcp_proxy

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]
STAFF = {"Authorization": "Bearer staff-key-for-tests"}
# What a caller may wait while the database is down: two pool waits of
# PATRONAGE_DATABASE_TIMEOUT_SECONDS (2 s) and a little; the library's own retries took ~52 s.
CALLER_TIMEOUT_SECONDS = 15.0


def _post(url: str, evt: dict[str, Any]) -> httpx.Response:
    body = se.body_of(evt)
    headers = {"Stripe-Signature": se.signature(body), "Content-Type": "application/json"}
    return httpx.post(
        f"{url}/webhooks/stripe", content=body, headers=headers, timeout=CALLER_TIMEOUT_SECONDS
    )


def _intent(n: int) -> dict[str, Any]:
    email = f"donor{n}@example.org"
    return se.event(
        "payment_intent.succeeded",
        se.payment_intent(f"pi_outage_{n}", 1000 + n, se.our_metadata(email), email=email),
    )


def test_an_outage_answers_503_fast_and_recovers_by_itself(tmp_path: Path) -> None:
    upstream = urlsplit(POSTGRES_URL)
    with (
        postgres_schema() as schema,
        tcp_proxy(upstream.hostname or "", upstream.port or 5432) as proxy,
    ):
        url = POSTGRES_URL.replace(f":{upstream.port}/", f":{proxy.port}/")
        settings = load_settings(
            _env_file=None, data_dir=tmp_path, database_url=url, database_schema=schema,
            stripe_webhook_secrets="whsec_test_primary", staff_api_keys="staff-key-for-tests",
        )  # fmt: skip
        with running_api(settings) as api:
            assert _post(api.url, _intent(0)).status_code == 200

            proxy.stop()
            events = [_intent(n) for n in range(1, 9)]
            started = time.monotonic()
            with ThreadPoolExecutor(len(events)) as pool:
                answers = list(pool.map(lambda e: _post(api.url, e), events))
            took = time.monotonic() - started
            assert [a.status_code for a in answers] == [503] * len(events)
            assert all(a.headers.get("retry-after") for a in answers)
            for path, headers in (
                ("/ticker/spring", {}),
                ("/staff/totals", STAFF),
                ("/readyz", {}),
            ):
                answer = httpx.get(
                    f"{api.url}{path}", headers=headers, timeout=CALLER_TIMEOUT_SECONDS
                )
                assert answer.status_code == 503, (path, answer.text)
            print(f"\noutage: {len(events)} concurrent webhooks all 503 in {took:.1f} s")

            proxy.start()
            back = time.monotonic()
            eventually(lambda: _post(api.url, events[0]).status_code == 200, "recovery", timeout=60)
            print(
                f"outage: first 200 after the database came back: {time.monotonic() - back:.1f} s"
            )
            # Stripe delivers each unacknowledged event again (some twice): booked once each.
            for evt in events + events[:3]:
                assert _post(api.url, evt).status_code == 200
            for n in range(9):
                assert api.patronage.ledger.get_or_none(gift_id_for(f"pi_outage_{n}"), Gift)
