"""Where one webhook's time goes: transactions, reads and table locks per delivery.

`.venv/bin/python -m bench.profile_webhook [--count N] [--stores sqlite,postgres]` delivers
N unique signed `payment_intent.succeeded` events (then the same N again, as Stripe's
redeliveries) through the real app in this process, counting the Ledger recorder's calls
and the database transactions they open. On PostgreSQL every `insert_events` takes the
event table's EXCLUSIVE lock (the library orders notification ids that way), so write
transactions are also the lock count.
"""

from __future__ import annotations

import argparse
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from bench.run import settings_for
from patronage.api.app import create_app
from patronage.bootstrap import bootstrap
from patronage.logs import configure_logging
from tests.support import stripe_events

COUNTED = ("insert_events", "select_events", "select_notifications", "max_notification_id")


class Calls:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def wrap(self, owner: Any, name: str, label: str) -> None:
        method: Callable[..., Any] = getattr(owner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.counts[label] += 1
            return method(*args, **kwargs)

        setattr(owner, name, counted)


def signed_payments(prefix: str, count: int) -> list[tuple[str, str]]:
    deliveries = []
    for n in range(count):
        email = f"{prefix}{n}@example.org"
        obj = stripe_events.payment_intent(
            f"pi_{prefix}_{n}", 1000 + n, stripe_events.our_metadata(email), email
        )
        body = stripe_events.body_of(stripe_events.event("payment_intent.succeeded", obj))
        deliveries.append((body, stripe_events.signature(body)))
    return deliveries


def profile(store: str, count: int) -> dict[str, dict[str, float]]:
    per_delivery: dict[str, dict[str, float]] = {}
    with settings_for(store) as settings:
        patronage = bootstrap(settings)
        try:
            calls = Calls()
            recorder, datastore = patronage.ledger.recorder, patronage.ledger.recorder.datastore  # type: ignore[attr-defined]
            for name in COUNTED:
                calls.wrap(recorder, name, name)
            # PostgreSQL: every call checks out a pooled connection (reads autocommit, each its
            # own transaction); SQLite: every call opens a transaction on the datastore.
            opens = "get_connection" if store == "postgres" else "transaction"
            calls.wrap(datastore, opens, "transactions")
            # The data keys that seal personal fields live in their own table, outside the
            # events' transaction (application/keys.py).
            for name in ("_select", "_insert_or_select", "_delete"):
                calls.wrap(patronage.ledger.keys, name, f"key{name}")
            deliveries = signed_payments(f"prof{store}", count)
            # Not entered as a context: no lifespan, so no view poller shares the counts.
            client = TestClient(create_app(patronage))
            if True:
                for label, batch in (("new event", deliveries), ("redelivery", deliveries)):
                    calls.counts.clear()
                    for body, signature in batch:
                        reply = client.post(
                            "/webhooks/stripe",
                            content=body,
                            headers={"Stripe-Signature": signature},
                        )
                        assert reply.status_code == 200, reply.text
                    per_delivery[label] = {k: v / count for k, v in sorted(calls.counts.items())}
        finally:
            patronage.close()
    return per_delivery


def main() -> None:
    configure_logging(json_lines=True, level="WARNING")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    for store in args.stores.split(","):
        for label, counts in profile(store, args.count).items():
            shown = ", ".join(f"{name} {value:.1f}" for name, value in counts.items())
            print(f"{store:8} {label:11} per delivery: {shown}")


if __name__ == "__main__":
    main()
