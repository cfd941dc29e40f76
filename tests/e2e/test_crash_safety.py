"""Crash safety on PostgreSQL: `patronage serve` under a stream of signed webhooks is
SIGKILLed part way and started again; Stripe's redelivery (every event not acknowledged,
and some that were) then finds each acknowledged event in the ledger exactly once, and the
money booked equals the money sent (issue 15)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from patronage.bootstrap import bootstrap
from patronage.config import load_settings
from patronage.domain.gift import Gift, gift_id_for
from tests.support import http
from tests.support import stripe_events as se
from tests.support.polling import answers, eventually, exited
from tests.support.processes import patronage_process, process_env
from tests.support.servers import free_port
from tests.support.stores import store_settings

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]
EVENTS = 300
KILL_AFTER = 80  # acknowledged events before the SIGKILL


def _intent(n: int) -> dict[str, Any]:
    email = f"crash{n % 37}@example.org"
    return se.event(
        "payment_intent.succeeded",
        se.payment_intent(f"pi_crash_{n}", 500 + n, se.our_metadata(email), email=email),
        event_id=f"evt_crash_{n}",
    )


def _deliver(url: str, evt: dict[str, Any]) -> bool:
    """True if acknowledged (2xx); a refused connection or a 5xx is Stripe's cue to retry."""
    body = se.body_of(evt)
    headers = {"Stripe-Signature": se.signature(body), "Content-Type": "application/json"}
    try:
        answer = http.post(f"{url}/webhooks/stripe", content=body, headers=headers, timeout=30)
    except httpx.TransportError:
        return False
    return 200 <= answer.status_code < 300


def test_a_sigkilled_service_loses_and_doubles_nothing_acknowledged(tmp_path: Path) -> None:
    with store_settings("postgres", tmp_path) as overrides:
        settings = load_settings(_env_file=None, **overrides)
        env = process_env(settings) | {"PATRONAGE_STRIPE_WEBHOOK_SECRETS": se.PRIMARY_SECRET}
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        serve = ["serve", "--port", str(port)]
        events = [_intent(n) for n in range(EVENTS)]
        acknowledged: set[int] = set()
        log = tmp_path / "serve.log"

        with patronage_process(serve, env, log) as server:
            eventually(
                lambda: answers(f"{url}/healthz"),
                "serve to answer",
                timeout=120,
                abort=exited(server),
            )

            def stream(first: int) -> None:  # two senders, as Stripe delivers concurrently
                for n in range(first, EVENTS, 2):
                    if _deliver(url, events[n]):
                        acknowledged.add(n)

            senders = [threading.Thread(target=stream, args=(first,)) for first in (0, 1)]
            for sender in senders:
                sender.start()
            eventually(
                lambda: len(acknowledged) >= KILL_AFTER,
                "events acknowledged",
                timeout=120,
                abort=exited(server),
            )
            server.send_signal(signal.SIGKILL)
            server.wait()
            for sender in senders:
                sender.join()
        before_kill = len(acknowledged)
        assert KILL_AFTER <= before_kill < EVENTS, "the kill must come part way through"

        with patronage_process(serve, env, log) as server:
            eventually(
                lambda: answers(f"{url}/healthz"),
                "serve to answer",
                timeout=120,
                abort=exited(server),
            )
            # Redelivery: every event not acknowledged, and every tenth one that was.
            for n in range(EVENTS):
                if n not in acknowledged or n % 10 == 0:
                    eventually(
                        lambda n=n: _deliver(url, events[n]),
                        f"event {n}",
                        timeout=60,
                        abort=exited(server),
                    )
                    acknowledged.add(n)

        patronage = bootstrap(settings)
        try:
            gifts = [
                patronage.ledger.get_or_none(gift_id_for(f"pi_crash_{n}"), Gift)
                for n in range(EVENTS)
            ]
            assert all(gift is not None for gift in gifts)
            booked = sum(gift.amount.minor for gift in gifts if gift is not None)
            assert booked == sum(500 + n for n in range(EVENTS))
            recorded = [
                n
                for n in patronage.ledger.recorder.select_notifications(start=1, limit=100_000)
                if n.topic.endswith("Gift.Received")
            ]
            assert len(recorded) == EVENTS  # each exactly once
        finally:
            patronage.close()
        print(
            f"\ncrash safety: {EVENTS} events sent, {before_kill} acknowledged before SIGKILL, "
            f"{len(recorded)} gifts recorded once each, {booked} minor units booked = sent"
        )
