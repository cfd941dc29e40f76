"""Speed goals, measured apart from the test suite: `.venv/bin/python -m bench.run`.

Each benchmark runs against real stores on this machine (a temporary SQLite directory and a
throw-away PostgreSQL schema) and prints one table row: what was measured, how many, how long,
the rate, and the goal it is held to.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import uuid4

import httpx
import psycopg
from eventsourcing.domain import Aggregate
from rich.console import Console
from rich.table import Table

from patronage.application.giving import RecordGift, SupporterDetails
from patronage.bootstrap import Patronage, bootstrap
from patronage.config import Settings, load_settings
from patronage.domain.gift import Gift, GiftKind
from patronage.domain.money import Money
from patronage.domain.receipt import (
    DonorDetails,
    OrganisationDetails,
    ReceiptedGift,
    ReceiptKind,
    TaxReceipt,
)
from patronage.domain.supporter import Supporter
from patronage.domain.values import Attribution, PostalAddress
from patronage.logs import configure_logging
from patronage.receipts.pdf import render_receipt
from tests.support import stripe_events
from tests.support.servers import running_api

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class Result:
    name: str
    store: str
    count: int
    seconds: float
    goal_per_second: float
    cpu_seconds: float | None = None  # this process's CPU: on a busy machine, the fairer cost

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


@contextmanager
def settings_for(store: str) -> Iterator[Settings]:
    """Settings on a temporary SQLite directory or a throw-away PostgreSQL schema."""
    with tempfile.TemporaryDirectory() as tmp:
        overrides: dict[str, object] = {
            "data_dir": Path(tmp),
            "stripe_webhook_secrets": stripe_events.PRIMARY_SECRET,
        }
        schema = f"bench_{int(time.time() * 1000)}"
        if store == "postgres":
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {schema}")
            overrides |= {"database_url": POSTGRES_URL, "database_schema": schema}
        try:
            yield load_settings(_env_file=None, **overrides)
        finally:
            if store == "postgres":
                with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def wired(store: str) -> Iterator[Patronage]:
    with settings_for(store) as settings:
        patronage = bootstrap(settings)
        try:
            yield patronage
        finally:
            patronage.close()


def a_gift(n: int) -> RecordGift:
    return RecordGift(
        payment_id=f"pi_bench_{n}",
        supporter=SupporterDetails(email=f"reader{n % 500}@example.org", name="Reader"),
        amount=Money(500 + n % 5000, "USD"),
        received_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def timed(run: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    count = run()
    return count, time.perf_counter() - started


def timed_with_cpu(run: Callable[[], int]) -> tuple[int, float, float]:
    cpu = time.process_time()
    count, seconds = timed(run)
    return count, seconds, time.process_time() - cpu


def bench_record_gifts(store: str, count: int, threads: int) -> Result:
    with wired(store) as patronage:

        def run() -> int:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda n: patronage.giving.record_gift(a_gift(n)), range(count)))
            return count

        done, seconds = timed(run)
    return Result(f"record_gift, {threads} threads", store, done, seconds, goal_per_second=200)


def bench_repeat_deliveries(store: str, count: int) -> Result:
    """Recording payments that are already in the ledger: the cost of Stripe's redeliveries."""
    with wired(store) as patronage:
        for n in range(count):
            patronage.giving.record_gift(a_gift(n))

        def run() -> int:
            for n in range(count):
                patronage.giving.record_gift(a_gift(n))
            return count

        done, seconds = timed(run)
    return Result("record_gift again (no-op)", store, done, seconds, goal_per_second=500)


def bench_webhook_burst(store: str, count: int, senders: int) -> Result:
    """A burst of signed payment events, each delivered twice, over real HTTP to uvicorn."""
    bodies = []
    for n in range(count):
        email = f"burst{n}@example.org"
        pi = f"pi_burst_{n}"
        obj = stripe_events.payment_intent(pi, 1000 + n, stripe_events.our_metadata(email), email)
        bodies.append(stripe_events.body_of(stripe_events.event("payment_intent.succeeded", obj)))
    signed = [(body, stripe_events.signature(body)) for body in bodies + bodies]
    local = threading.local()

    with settings_for(store) as settings, running_api(settings) as api:

        def deliver(delivery: tuple[str, str]) -> int:
            if not hasattr(local, "client"):  # one keep-alive connection per sender
                local.client = httpx.Client(base_url=api.url)
            body, signature = delivery
            headers = {"Stripe-Signature": signature, "Content-Type": "application/json"}
            reply = local.client.post("/webhooks/stripe", content=body, headers=headers)
            return int(reply.status_code)

        def run() -> int:
            with ThreadPoolExecutor(senders) as pool:
                codes = list(pool.map(deliver, signed))
            if any(code != 200 for code in codes):
                raise RuntimeError(f"not every delivery was accepted: {sorted(set(codes))}")
            return len(codes)

        done, seconds = timed(run)
    return Result(f"webhook deliveries, {senders} senders", store, done, seconds, 100)


def seed_supporters_with_a_gift(patronage: Patronage, supporters: int, batch: int = 2000) -> None:
    """A year's donors, fast: one supporter and one 2025 gift each, saved many at a time."""
    pending: list[Aggregate] = []
    for n in range(supporters):
        supporter = Supporter.register(uuid4(), f"donor{n}@example.org", f"Donor {n}",
                                       consent_to_contact=False)  # fmt: skip
        gift = Gift(
            payment_id=f"pi_year_{n}", supporter_id=supporter.id,
            amount=Money(1000 + n % 9000, "USD"), received_at=datetime(2025, 6, 1, tzinfo=UTC),
            kind=GiftKind.ONE_TIME, attribution=Attribution(),
            benefit_value=Money(0, "USD"), fee_covered=Money(0, "USD"),
        )  # fmt: skip
        pending += [supporter, gift]
        if len(pending) >= batch:
            patronage.ledger.save(*pending)
            pending.clear()
    if pending:
        patronage.ledger.save(*pending)


def bench_year_end(store: str, supporters: int) -> Result:
    """Annual receipts for every supporter of 2025: the issuing only (PDFs and email follow
    in the outbox). The register catches up with the seeded gifts before the clock starts."""
    with wired(store) as patronage:
        seed_supporters_with_a_gift(patronage, supporters)
        poller = patronage.views.poller(0.05, ["register"])
        poller.start()
        try:
            patronage.receipting.register.catch_up(3600)
        finally:
            poller.stop()
            poller.join()
        done, seconds, cpu = timed_with_cpu(lambda: patronage.receipting.run_year_end(2025).issued)
    if done != supporters:
        raise RuntimeError(f"year end issued {done} receipts for {supporters} supporters")
    # 100,000 supporters in under 60 s (issues 10 and 14): at least 1,667 a second.
    return Result("year end: annual receipts issued", store, done, seconds, 100_000 / 60, cpu)


def bench_receipt_pdfs(count: int) -> Result:
    """Rendering receipt PDFs (what the email outbox does for each receipt)."""
    organisation = OrganisationDetails(
        name="Springfield Ledger", address="1 Press Row", tax_id="12-3456789", jurisdiction="US"
    )
    donor = DonorDetails("s", "Ada Lovelace", "ada@example.org", PostalAddress(line1="1 Main St"))
    receipts = [
        TaxReceipt(
            number=f"A2025-{n:06d}",
            series="2025-annual",
            kind=ReceiptKind.ANNUAL,
            tax_year=2025,
            currency="USD",
            donor=donor,
            organisation=organisation,
            gifts=[ReceiptedGift(f"g{m}", f"2025-{m + 1:02d}-01", 1000 + n) for m in range(12)],
            statement="No goods or services were provided.",
            issued_on=date(2026, 1, 15),
        )
        for n in range(count)
    ]

    def run() -> int:
        for receipt in receipts:
            render_receipt(receipt)
        return count

    done, seconds, cpu = timed_with_cpu(run)
    return Result("receipt PDFs rendered (12 lines each)", "-", done, seconds, 20, cpu)


def main() -> None:
    configure_logging(json_lines=True, level="WARNING")  # measure the work, not the logging
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000, help="operations per benchmark")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument(
        "--supporters", type=int, default=100_000, help="supporters receipted at year end"
    )
    args = parser.parse_args()
    results: list[Result] = [bench_receipt_pdfs(min(args.count, 500))]
    for store in args.stores.split(","):
        results.append(bench_record_gifts(store, args.count, threads=1))
        results.append(bench_record_gifts(store, args.count, threads=8))
        results.append(bench_repeat_deliveries(store, args.count))
        results.append(bench_webhook_burst(store, args.count // 2, senders=16))
        results.append(bench_year_end(store, args.supporters))
    table = Table(title="Patronage benchmarks")
    for column in ("benchmark", "store", "count", "seconds", "cpu s", "per second", "goal", "met"):
        table.add_column(column)
    for r in results:
        met = "yes" if r.rate >= r.goal_per_second else "NO"
        table.add_row(
            r.name, r.store, str(r.count), f"{r.seconds:.2f}",
            "" if r.cpu_seconds is None else f"{r.cpu_seconds:.2f}", f"{r.rate:,.0f}",
            f"{r.goal_per_second:,.0f}/s", met,
        )  # fmt: skip
    Console().print(table)


if __name__ == "__main__":
    main()
