"""Issue 14's benchmark: every reference and every scenario in one run, one table, and
`bench/results.json`. `.venv/bin/python -m bench` (docs/performance.md says what limits each
figure). Not part of the test suite."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from rich.console import Console
from rich.table import Table

from bench import harness
from bench.harness import Load, Process
from bench.run import bench_year_end
from patronage.bootstrap import Patronage, bootstrap, rebuild_view
from patronage.collector import collecting_less_often
from patronage.config import Settings, load_settings
from patronage.domain.campaign import Campaign, SuggestedAmounts, Targeting, Variant
from patronage.domain.gift import Gift, GiftKind
from patronage.domain.money import Money
from patronage.domain.supporter import Supporter
from patronage.domain.values import Attribution
from patronage.logs import configure_logging
from patronage.payments.metadata import checkout_metadata
from patronage.projections.catalog import PROJECTIONS
from patronage.projections.polling import PAGE, catch_up, select_after
from tests.support import stripe_events

RESULTS = harness.BENCH / "results.json"
CATCH_UP_VIEW = "ticker"  # gifts with a campaign: three statements per event
WORKER_VIEW = "totals"
BARE = "bare FastAPI endpoint"
LIBRARY_SQLITE = "library save, SQLite, 1 thread"
LIBRARY_POSTGRES = "library save, PostgreSQL, 1 thread"
LIBRARY_POSTGRES_8 = "library save, PostgreSQL, 8 threads"


@dataclass
class Row:
    """One line of the table."""

    name: str
    rate: float | None = None  # per second
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int | None = None
    reference: str = ""  # the row this one is compared with
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None  # None: a reference, no goal
    value: str = ""  # a figure that is not a rate (memory, lag, seconds)
    notes: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        print(f"  {row.name}: {row.value or _rate(row.rate)} {row.notes}", flush=True)
        return row

    def find(self, name: str) -> Row:
        return next(r for r in self.rows if r.name == name)


def _rate(rate: float | None) -> str:
    return "" if rate is None else f"{rate:,.0f}/s"


def from_load(name: str, load: Load) -> Row:
    return Row(name, load.rate, load.p50_ms, load.p99_ms, load.errors)


def judge(
    row: Row,
    reference: Row,
    share: float,
    *,
    p99_ms: float | None = None,
    also: tuple[Row, float] | None = None,
) -> Row:
    """Hold `row` to at least `share` of `reference`'s rate (and of `also`'s), p99 under
    `p99_ms` and zero errors where given."""
    assert row.rate is not None and reference.rate
    row.reference, row.ratio = reference.name, row.rate / reference.rate
    goals, met = [f">= {share:.0%} of {reference.name}"], row.ratio >= share
    if also is not None:
        other, other_share = also
        assert other.rate
        goals.append(f">= {other_share:.0%} of {other.name} (is {row.rate / other.rate:.0%})")
        met = met and row.rate / other.rate >= other_share
    if p99_ms is not None:
        goals.append(f"p99 < {p99_ms:g} ms, 0 errors")
        met = met and (row.p99_ms or 0) < p99_ms and row.errors == 0
    row.goal, row.met = "; ".join(goals), met
    return row


# References ----------------------------------------------------------------------------------


class Thing(Aggregate):
    """The library's smallest aggregate: one Created event per save."""


def library_save_rate(env: dict[str, str], threads: int, seconds: float) -> float:
    """New aggregates saved per second, one per `save`, from `threads` threads."""
    app: Application[Any] = Application(env=env)
    try:
        deadline = time.monotonic() + seconds
        counts = [0] * threads

        def saver(index: int) -> None:
            while time.monotonic() < deadline:
                app.save(Thing())
                counts[index] += 1

        started = time.monotonic()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(saver, range(threads)))
        return sum(counts) / (time.monotonic() - started)
    finally:
        app.close()


def library_env(store: str, directory: str, schema: str = "") -> dict[str, str]:
    if store == "sqlite":
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": f"{directory}/library.sqlite3",
        }
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": "test",
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": "5432",
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": "",
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": "10",
        "POSTGRES_MAX_OVERFLOW": "10",
    }


def measure_library(report: Report, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rate = library_save_rate(library_env("sqlite", tmp), 1, seconds)
        report.add(Row(LIBRARY_SQLITE, rate))
    for threads, name in ((1, LIBRARY_POSTGRES), (8, LIBRARY_POSTGRES_8)):
        with harness.postgres_schema("benchlib") as schema:
            rate = library_save_rate(library_env("postgres", "", schema), threads, seconds)
            report.add(Row(name, rate))


def bare_body() -> str:
    return stripe_events.body_of(webhook_event(0, "bare")).replace("\n", "")


def measure_bare(report: Report, args: argparse.Namespace, log_dir: Path) -> None:
    requests = log_dir / "bare.requests"
    harness.write_requests(requests, [("", bare_body())])
    with harness.bare_endpoint(log_dir) as (url, _proc):
        harness.wrk(f"{url}/bare", requests, 2, args.connections)  # warm up
        load = harness.wrk(f"{url}/bare", requests, args.seconds, args.connections)
    report.add(from_load(BARE, load))


# Webhooks ------------------------------------------------------------------------------------


def webhook_event(n: int, run: str) -> dict[str, Any]:
    """A unique `payment_intent.succeeded` with our checkout's metadata."""
    email = f"{run}{n}@example.org"
    metadata = checkout_metadata(
        supporter_id=uuid4(),
        gift_kind="one_time",
        attribution=Attribution(article_id="a-1", campaign="spring", variant="control"),
    )
    obj = stripe_events.payment_intent(f"pi_{run}_{n}", 1000 + n % 9000, metadata, email)
    return stripe_events.event(
        "payment_intent.succeeded", obj, event_id=f"evt_{run}_{n}", created=int(time.time())
    )


def signed_webhooks(count: int, run: str) -> list[tuple[str, str]]:
    lines = []
    for n in range(count):
        body = json.dumps(webhook_event(n, run), separators=(",", ":"))
        lines.append((stripe_events.signature(body, harness.SECRET), body))
    return lines


def settings_of(env: dict[str, str]) -> Settings:
    overrides: dict[str, Any] = {"data_dir": Path(env["PATRONAGE_DATA_DIR"])}
    if "PATRONAGE_DATABASE_URL" in env:
        overrides |= {
            "database_url": env["PATRONAGE_DATABASE_URL"],
            "database_schema": env["PATRONAGE_DATABASE_SCHEMA"],
        }
    return load_settings(_env_file=None, **overrides)


@contextmanager
def workers(env: dict[str, str], log_dir: Path, names: list[str]) -> Iterator[Process]:
    """`patronage projections run` for the named views (none: all), once each is listening."""
    args = [*harness.patronage_cli(), "projections", "run", *names]
    before = harness.listeners()
    with harness.process("workers", args, env, log_dir) as proc:
        harness.wait_listening(before + len(names or PROJECTIONS), proc)
        yield proc


def views_caught_up_seconds(settings: Settings, timeout: float = 300.0) -> float:
    """How long, from now, until every view has applied every event up to the head now."""
    reader = bootstrap(settings)
    try:
        head, started = reader.ledger.head(), time.monotonic()
        for name in reader.views.stores:
            reader.views.wait(name, head, timeout)
        return time.monotonic() - started
    finally:
        reader.close()


def measure_webhooks(
    report: Report, store: str, args: argparse.Namespace, log_dir: Path, memory: dict[str, float]
) -> None:
    requests = log_dir / f"webhooks-{store}.requests"
    harness.write_requests(requests, signed_webhooks(args.seconds * args.webhook_ceiling, store))
    with (
        harness.store_env(store) as env,
        harness.service(env, log_dir) as (url, api),
        workers(env, log_dir, []) if store == "postgres" else _nothing() as worker,
    ):
        load = harness.wrk(f"{url}/webhooks/stripe", requests, args.seconds, args.connections)
        lag = views_caught_up_seconds(settings_of(env))
        memory[f"API after webhooks ({store})"] = api.peak_rss_mib()
        if worker is not None:
            memory["view workers after webhooks (largest)"] = max(
                worker.children_peak_rss_mib(), default=0.0
            )
    bare, library = report.find(BARE), None
    if store == "postgres":
        library = report.find(LIBRARY_POSTGRES)
        row = judge(
            from_load("webhooks, PostgreSQL", load), library, 3.0, p99_ms=50, also=(bare, 0.35)
        )
    else:
        library = report.find(LIBRARY_SQLITE)
        row = judge(from_load("webhooks, SQLite", load), library, 0.5)
    if load.requests > args.seconds * args.webhook_ceiling:
        row.notes = "more requests than unique events: some were redeliveries"
    report.add(row)
    report.add(
        Row(
            f"views' lag at the end of the webhook load ({store})",
            value=f"{lag:.2f} s",
            goal="< 2 s",
            met=lag < 2.0,
        )
    )


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


# The ask -------------------------------------------------------------------------------------


def seed_campaigns(patronage: Patronage, count: int) -> None:
    """`count` live campaigns of 3 variants each, half with a ticker goal, across 20 sections."""
    usd = SuggestedAmounts("USD", (500, 1000, 2500), (500, 1000, 2000), 1000, 1000)
    campaigns = []
    for n in range(count):
        campaign = Campaign.create(
            f"c{n:03d}",
            f"Campaign {n}",
            n % 7,
            Targeting(include_sections=(f"section{n % 20}",)),
            Money(1_000_000, "USD") if n % 2 == 0 else None,
            "bench",
        )
        for name in ("control", "urgent", "local"):
            campaign.add_variant(
                Variant(
                    name=name,
                    heading=f"Support us ({name})",
                    paragraphs=("Independent journalism costs money.",),
                    cta=_cta(),
                    amounts=(usd,),
                ),
                "bench",
            )
        campaign.start("bench")
        campaigns.append(campaign)
    patronage.ledger.save(*campaigns)


def _cta() -> Any:
    from patronage.domain.campaign import Action

    return Action("Give now", "https://example.org/give")


def ask_bodies(count: int) -> list[tuple[str, str]]:
    return [
        (
            "",
            json.dumps(
                {
                    "page": {
                        "article_id": f"a-{n}",
                        "section": f"section{n % 20}",
                        "tags": ["news"],
                    },
                    "reader": {
                        "reader_id": f"r-{n}",
                        "country": "US",
                        "weekly_counts": [{"week_start": "2026-11-16", "count": 3}],
                    },
                },
                separators=(",", ":"),
            ),
        )
        for n in range(count)
    ]


# The ask and its reference take turns, a few seconds each, so that both see the machine
# at the same speeds: on a shared machine whose speed drifts by minutes, one run of each, a
# few minutes apart, put their ratio anywhere between 0.4 and 0.9.
ASK_ROUNDS = 3
BARE_BESIDE_ASK = "bare FastAPI endpoint, in turns with the ask"


def measure_ask(
    report: Report, args: argparse.Namespace, log_dir: Path, memory: dict[str, float]
) -> None:
    requests, bare_requests = log_dir / "asks.requests", log_dir / "bare.requests"
    harness.write_requests(requests, ask_bodies(1000))
    harness.write_requests(bare_requests, [("", bare_body())])
    seconds = max(1, args.seconds // ASK_ROUNDS)
    asks, bares = [], []
    with harness.store_env("postgres") as env:
        seeder = bootstrap(settings_of(env))
        try:
            seed_campaigns(seeder, args.campaigns)
        finally:
            seeder.close()
        with harness.service(env, log_dir) as (url, api), harness.bare_endpoint(log_dir) as bare:
            bare_url = f"{bare[0]}/bare"
            harness.wrk(f"{url}/asks", requests, 2, args.connections)  # warm up
            harness.wrk(bare_url, bare_requests, 2, args.connections)
            for _ in range(ASK_ROUNDS):
                bares.append(harness.wrk(bare_url, bare_requests, seconds, args.connections))
                asks.append(harness.wrk(f"{url}/asks", requests, seconds, args.connections))
            memory["API after asks"] = api.peak_rss_mib()
    reference = report.add(from_load(BARE_BESIDE_ASK, harness.combined(bares)))
    row = from_load(f"POST /asks, {args.campaigns} campaigns x 3 variants", harness.combined(asks))
    report.add(judge(row, reference, 0.8, p99_ms=10))


# Catch-up and rebuild ------------------------------------------------------------------------


def seed_gifts(patronage: Patronage, events: int, batch: int = 5000) -> None:
    """About `events` events: 1,000 supporters and a gift each for the rest, for a campaign."""
    supporters = [
        Supporter.register(uuid4(), f"s{n}@example.org", f"S {n}", consent_to_contact=False)
        for n in range(1000)
    ]
    patronage.ledger.save(*supporters)
    pending: list[Aggregate] = []
    for n in range(max(events - 1000, 0)):
        pending.append(
            Gift(
                payment_id=f"pi_seed_{n}",
                supporter_id=supporters[n % 1000].id,
                amount=Money(500 + n % 5000, "USD"),
                received_at=datetime(2026, 1, 1, tzinfo=UTC),
                kind=GiftKind.ONE_TIME,
                attribution=Attribution(campaign=f"c{n % 50}"),
                benefit_value=Money(0, "USD"),
                fee_covered=Money(0, "USD"),
            )
        )
        if len(pending) == batch:
            patronage.ledger.save(*pending)
            pending.clear()
    if pending:
        patronage.ledger.save(*pending)


def read_and_decode_rate(patronage: Patronage, topics: tuple[str, ...]) -> tuple[int, float]:
    """The reference: read the view's events in pages and decode them, nothing else."""
    ledger, position, count = patronage.ledger, 0, 0
    started = time.monotonic()
    while page := select_after(ledger, topics, position, limit=PAGE):
        for notification in page:
            ledger.mapper.to_domain_event(notification)
        count += len(page)
        position = page[-1].id
    return count, count / (time.monotonic() - started)


def measure_catch_up(
    report: Report, args: argparse.Namespace, log_dir: Path, memory: dict[str, float]
) -> None:
    # This process reads, catches up and rebuilds as a worker and `projections rebuild` do,
    # with their garbage collector settings (the reference too), and only for this scenario.
    with collecting_less_often(), harness.store_env("postgres") as env:
        settings = settings_of(env)
        patronage = bootstrap(settings)
        try:
            started = time.monotonic()
            seed_gifts(patronage, args.events)
            seeded = time.monotonic() - started
            print(f"  seeded {args.events:,} events in {seeded:.0f} s", flush=True)
            projection = patronage.views.projection(CATCH_UP_VIEW)
            count, rate = read_and_decode_rate(patronage, projection.topics)
            reference = report.add(Row(f"read + decode {count:,} events (reference)", rate))
            started = time.monotonic()
            catch_up(patronage.ledger, projection)
            row = Row(
                f"catch-up of the {CATCH_UP_VIEW} view, {count:,} events",
                count / (time.monotonic() - started),
            )
            report.add(judge(row, reference, 0.5))
            started = time.monotonic()
            rebuild_view(settings, CATCH_UP_VIEW)
            row = Row(
                f"rebuild of the {CATCH_UP_VIEW} view, {count:,} events",
                count / (time.monotonic() - started),
            )
            report.add(judge(row, reference, 0.5))
            _worker_memory(report, patronage, env, log_dir, args.worker_seconds, memory)
        finally:
            patronage.close()


def _worker_memory(
    report: Report,
    patronage: Patronage,
    env: dict[str, str],
    log_dir: Path,
    seconds: float,
    memory: dict[str, float],
) -> None:
    """A real worker catching up the totals view from the first event: its resident memory
    a quarter of the way through the run and at its end."""
    store = patronage.views.stores[WORKER_VIEW]
    samples: list[tuple[float, int, float]] = []
    with workers(env, log_dir, [WORKER_VIEW]) as proc:
        started = time.monotonic()
        head = patronage.ledger.head()
        while time.monotonic() - started < seconds:
            position = store.position(patronage.ledger.name)
            samples.append((time.monotonic() - started, position, proc.peak_rss_mib()))
            if position >= head:
                break
            time.sleep(0.5)
    samples = [s for s in samples if s[1] > 0]  # from its first applied event on
    if len(samples) < 4:
        return
    quarter = samples[len(samples) // 4]
    end = samples[-1]
    elapsed = end[0] or 1.0
    memory[f"view worker ({WORKER_VIEW}) catching up"] = end[2]
    growth = end[2] / quarter[2] if quarter[2] else 0.0
    report.add(
        Row(
            f"view worker's memory as events grow ({WORKER_VIEW})",
            rate=end[1] / elapsed,
            value=f"{quarter[2]:.0f} MiB at {quarter[1]:,}, {end[2]:.0f} MiB at {end[1]:,}",
            goal="flat: <= 1.2x from a quarter of the run to its end",
            met=growth <= 1.2,
            notes=f"its catch-up rate {end[1] / elapsed:,.0f} positions/s",
        )
    )


# Annual receipts -----------------------------------------------------------------------------


def measure_year_end(report: Report, args: argparse.Namespace) -> None:
    result = bench_year_end("postgres", args.supporters)
    projected = result.seconds * 100_000 / max(args.supporters, 1)
    scaled = "" if args.supporters == 100_000 else f", {projected:.0f} s projected for 100,000"
    row = Row(
        f"annual receipts, {args.supporters:,} supporters, PostgreSQL",
        result.rate,
        value=f"{result.seconds:.1f} s{scaled}",
        goal="< 60 s for 100,000 supporters",
        met=projected < 60,
    )
    report.add(row)


# The run -------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=harness.ROOT
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(memory_kib / 2**20, 1),
        "python": platform.python_version(),
        "commit": commit,
        "load_average_at_start": os.getloadavg(),
    }


COLUMNS = ("what", "rate/s", "p50 ms", "p99 ms", "errors", "ratio", "goal", "met")


def cells(r: Row) -> list[str]:
    """A row as the table shows it, column by column."""

    def figure(value: float | None, fmt: str) -> str:
        return "" if value is None else format(value, fmt)

    return [
        r.name + (f" ({r.value})" if r.value else ""),
        figure(r.rate, ",.0f"),
        figure(r.p50_ms, ".1f"),
        figure(r.p99_ms, ".1f"),
        figure(r.errors, "d"),
        figure(r.ratio, ".2f"),
        r.goal,
        "" if r.met is None else ("yes" if r.met else "**NO**"),
    ]


def print_table(report: Report) -> None:
    table = Table(title="Patronage throughput (issue 14)")
    for column in COLUMNS:
        table.add_column(column)
    for r in report.rows:
        table.add_row(*(cell.replace("**", "") for cell in cells(r)))
    Console(width=200).print(table)


SCENARIOS = ("webhooks", "ask", "catchup", "receipts")


def main() -> None:
    configure_logging(json_lines=True, level="WARNING")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15, help="each wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--events", type=int, default=1_000_000, help="catch-up and rebuild")
    parser.add_argument("--supporters", type=int, default=100_000, help="annual receipts")
    parser.add_argument("--campaigns", type=int, default=200)
    parser.add_argument("--worker-seconds", type=float, default=60.0)
    parser.add_argument(
        "--webhook-ceiling",
        type=int,
        default=3000,
        help="unique webhooks prepared per second of load",
    )
    parser.add_argument("--only", default=",".join(SCENARIOS), help="scenarios to run")
    args = parser.parse_args()
    chosen = set(args.only.split(","))
    started = datetime.now(UTC)
    info = machine() | {"postgres": harness.ensure_postgres(), "wrk": harness.ensure_wrk()}
    report, memory = Report(), dict[str, float]()
    with tempfile.TemporaryDirectory(prefix="patronage-bench-logs-") as logs:
        log_dir = Path(logs)
        print("references", flush=True)
        measure_bare(report, args, log_dir)
        measure_library(report, seconds=5.0)
        if "webhooks" in chosen:
            for store in ("postgres", "sqlite"):
                print(f"webhooks on {store}", flush=True)
                measure_webhooks(report, store, args, log_dir, memory)
        if "ask" in chosen:
            print("the ask", flush=True)
            measure_ask(report, args, log_dir, memory)
        if "catchup" in chosen:
            print(f"catch-up and rebuild over {args.events:,} events", flush=True)
            measure_catch_up(report, args, log_dir, memory)
        if "receipts" in chosen:
            print(f"annual receipts for {args.supporters:,} supporters", flush=True)
            measure_year_end(report, args)
    for name, mib in memory.items():
        report.add(Row(f"peak memory: {name}", value=f"{mib:.0f} MiB"))
    print_table(report)
    RESULTS.write_text(
        json.dumps(
            {
                "started": started.isoformat(),
                "seconds_per_load": args.seconds,
                "connections": args.connections,
                "events": args.events,
                "supporters": args.supporters,
                "machine": info,
                "rows": [asdict(r) for r in report.rows],
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written {RESULTS.relative_to(harness.ROOT)}")
