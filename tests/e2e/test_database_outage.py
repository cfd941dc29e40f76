"""PostgreSQL taken away behind a TCP proxy (the shared server itself is never stopped) for
the issue's two outages, 10 s and then 40 s, while webhooks keep coming: every answer during
an outage is a 503 with Retry-After, within the caller's own timeout (no library retry
storm, no hung thread pool), and so are the ticker, staff totals and /readyz (not 500);
after each outage the service recovers by itself, and once Stripe has delivered again every
event it was not sure of, each event is in the ledger exactly once and the money booked is
the money sent (issue 15, defect 5).

Nothing here is timed: the outages last as long as the test keeps the proxy down, and a slow
answer fails only by exceeding the call's own generous timeout."""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from patronage.config import load_settings
from patronage.domain.gift import Gift, gift_id_for
from tests.support import http
from tests.support import stripe_events as se
from tests.support.polling import eventually
from tests.support.servers import RunningApi, running_api
from tests.support.stores import POSTGRES_URL, postgres_schema
from tests.support.tcp_proxy import TcpProxy, tcp_proxy

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]
STAFF = {"Authorization": "Bearer staff-key-for-tests"}
# What a caller may wait while the database is down: two pool waits of
# PATRONAGE_DATABASE_TIMEOUT_SECONDS (2 s) and a little; the library's own retries took ~52 s.
CALLER_TIMEOUT_SECONDS = 15.0
OUTAGES_SECONDS = (10.0, 40.0)  # as the probe
SENDERS = 4  # Stripe delivers concurrently
READS = (("/ticker/spring", {}), ("/staff/totals", STAFF), ("/readyz", {}))


def _amount(n: int) -> int:
    return 1000 + n


def _intent(n: int) -> dict[str, Any]:
    email = f"donor{n % 13}@example.org"
    return se.event(
        "payment_intent.succeeded",
        se.payment_intent(f"pi_outage_{n}", _amount(n), se.our_metadata(email), email=email),
        event_id=f"evt_outage_{n}",
    )


def _post(url: str, evt: dict[str, Any]) -> httpx.Response:
    """One delivery; a call slower than CALLER_TIMEOUT_SECONDS raises, failing the test."""
    body = se.body_of(evt)
    headers = {"Stripe-Signature": se.signature(body), "Content-Type": "application/json"}
    return http.post(
        f"{url}/webhooks/stripe", content=body, headers=headers, timeout=CALLER_TIMEOUT_SECONDS
    )


class Stripe:
    """The events sent, and which of them the service acknowledged (a 2xx)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.numbers = itertools.count()
        self.sent: set[int] = set()
        self.acknowledged: set[int] = set()
        self.lock = threading.Lock()

    def next_event(self) -> int:
        with self.lock:
            n = next(self.numbers)
            self.sent.add(n)
            return n

    def deliver(self, n: int) -> httpx.Response:
        answer = _post(self.url, _intent(n))
        if answer.is_success:
            with self.lock:
                self.acknowledged.add(n)
        return answer


def _outage(api: RunningApi, proxy: TcpProxy, stripe: Stripe, seconds: float) -> None:
    """Keep the database away for `seconds` while webhooks and reads keep coming: every
    answer must be a 503 with Retry-After."""
    proxy.stop()
    down_at = time.monotonic()
    answers: list[tuple[str, int, bool]] = []  # what, status, has Retry-After
    slowest = 0.0

    def keep_sending() -> None:
        nonlocal slowest
        while time.monotonic() - down_at < seconds:  # the outage's length, not a wait
            started = time.monotonic()
            answer = stripe.deliver(stripe.next_event())
            slowest = max(slowest, time.monotonic() - started)
            answers.append(("webhook", answer.status_code, bool(answer.headers.get("retry-after"))))

    def keep_reading() -> None:
        while time.monotonic() - down_at < seconds:
            for path, headers in READS:
                answer = http.get(
                    f"{api.url}{path}", headers=headers, timeout=CALLER_TIMEOUT_SECONDS
                )
                answers.append((path, answer.status_code, True))

    with ThreadPoolExecutor(SENDERS + 1) as pool:
        running = [pool.submit(keep_sending) for _ in range(SENDERS)]
        running.append(pool.submit(keep_reading))
        for future in running:
            future.result()  # a call past its timeout raised there: re-raised here
    lasted = time.monotonic() - down_at
    proxy.start()
    webhooks = [a for a in answers if a[0] == "webhook"]
    assert webhooks, "webhooks were delivered during the outage"
    assert {status for _what, status, _retry in answers} == {503}, answers
    assert all(retry for _what, _status, retry in webhooks), "503 says when to try again"
    print(
        f"\noutage of {lasted:.0f} s: {len(webhooks)} webhooks and "
        f"{len(answers) - len(webhooks)} reads, all 503; slowest webhook answer {slowest:.1f} s"
    )


def _recovered(api: RunningApi, stripe: Stripe) -> None:
    back = time.monotonic()
    n = stripe.next_event()
    eventually(lambda: stripe.deliver(n).status_code == 200, "webhooks again", timeout=60)
    for path, headers in READS:
        eventually(
            lambda path=path, headers=headers: (
                http.get(
                    f"{api.url}{path}", headers=headers, timeout=CALLER_TIMEOUT_SECONDS
                ).status_code
                == 200
            ),
            f"{path} again",
            timeout=60,
        )
    print(f"outage: everything answers again {time.monotonic() - back:.1f} s after it ended")


def test_two_outages_answer_503_fast_recover_and_lose_or_double_nothing(tmp_path: Path) -> None:
    upstream = urlsplit(POSTGRES_URL)
    with (
        postgres_schema() as schema,
        tcp_proxy(upstream.hostname or "", upstream.port or 5432) as proxy,
    ):
        url = POSTGRES_URL.replace(f":{upstream.port}/", f":{proxy.port}/")
        settings = load_settings(
            _env_file=None, data_dir=tmp_path, database_url=url, database_schema=schema,
            stripe_webhook_secrets=se.PRIMARY_SECRET, staff_api_keys="staff-key-for-tests",
        )  # fmt: skip
        with running_api(settings) as api:
            stripe = Stripe(api.url)
            for _ in range(5):
                assert stripe.deliver(stripe.next_event()).status_code == 200
            for seconds in OUTAGES_SECONDS:
                _outage(api, proxy, stripe, seconds)
                _recovered(api, stripe)

            # Stripe delivers again every event it has no 2xx for, and some it has: each is
            # booked once.
            for n in sorted(stripe.sent):
                if n not in stripe.acknowledged or n % 4 == 0:
                    assert stripe.deliver(n).status_code == 200, n
            ledger = api.patronage.ledger
            gifts = [ledger.get_or_none(gift_id_for(f"pi_outage_{n}"), Gift) for n in stripe.sent]
            assert all(gift is not None for gift in gifts)
            booked = sum(gift.amount.minor for gift in gifts if gift is not None)
            assert booked == sum(_amount(n) for n in stripe.sent)
            received = [
                notification
                for notification in ledger.recorder.select_notifications(start=1, limit=100_000)
                if notification.topic.endswith("Gift.Received")
            ]
            assert len(received) == len(stripe.sent), "each event booked exactly once"
    print(
        f"outages: {len(stripe.sent)} events sent, {len(stripe.acknowledged)} acknowledged, "
        f"{len(received)} gifts recorded once each, {booked} minor units booked = sent"
    )
