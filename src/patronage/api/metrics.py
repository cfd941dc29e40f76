"""Prometheus metrics: counters this process keeps, and gauges read from the database at
each scrape (so any API process reports the whole service's state).

Served at `/metrics` to staff, or on their own port (PATRONAGE_METRICS_PORT) for a scraper
that must not hold a staff key.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    start_http_server,
)
from prometheus_client import generate_latest as exposition
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from patronage.api.deps import StaffDep
from patronage.bootstrap import Patronage
from patronage.config import Settings
from patronage.projections import register, totals
from patronage.projections.polling import PENDING_CAP

log = structlog.get_logger(__name__)

router = APIRouter(tags=["operations"])


class LedgerCollector(Collector):
    """Gauges of the service's state, read from the event log and the views when scraped."""

    def __init__(self, patronage: Patronage) -> None:
        self.patronage = patronage

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("patronage_database_up", "1 when the last scrape read the store")
        try:
            families = list(self._families())
        except Exception as error:  # a scrape must answer, and say the store did not
            log.warning("metrics_store_unreadable", error=repr(error))
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self) -> Iterator[GaugeMetricFamily]:
        patronage = self.patronage
        head = GaugeMetricFamily("patronage_ledger_head", "Position of the newest event")
        head.add_metric([], patronage.ledger.head())
        yield head
        lag = GaugeMetricFamily(
            "patronage_projection_lag_events",
            f"Events a view has not applied yet (counted up to {PENDING_CAP})",
            labels=["view"],
        )
        position = GaugeMetricFamily(
            "patronage_projection_position", "Last event a view applied", labels=["view"]
        )
        for name, store in patronage.views.stores.items():
            lag.add_metric([name], patronage.views.lag(name))
            position.add_metric([name], store.position(patronage.ledger.name))
        yield lag
        yield position
        yield from self._inbox()
        yield from self._campaigns()
        yield from self._receipts()

    def _inbox(self) -> Iterator[GaugeMetricFamily]:
        parked = self.patronage.inbox.parked()
        count = GaugeMetricFamily(
            "patronage_inbox_parked_events", "Stripe events waiting for their counterpart"
        )
        count.add_metric([], len(parked))
        oldest = GaugeMetricFamily(
            "patronage_inbox_oldest_parked_seconds", "How long the oldest parked event waits"
        )
        oldest.add_metric([], max((entry.age_seconds for entry in parked), default=0))
        unbooked = GaugeMetricFamily(
            "patronage_inbox_unbooked_payments",
            "Payments without our metadata waiting for staff to book or dismiss them",
        )
        unbooked.add_metric([], len(self.patronage.inbox.unbooked()))
        yield count
        yield oldest
        yield unbooked

    def _receipts(self) -> Iterator[GaugeMetricFamily]:
        receipts = GaugeMetricFamily(
            "patronage_receipts",
            "Tax receipts in the register by status and email state",
            labels=["status", "email"],
        )
        backlog = GaugeMetricFamily(
            "patronage_receipt_outbox_backlog",
            "Valid receipts whose email is not sent yet (pending, or failed and retrying)",
        )
        waiting = 0
        for (status, email), count in sorted(
            register.counts(self.patronage.views.register).items()
        ):
            receipts.add_metric([status, email], count)
            if status in register.VALID and email in ("pending", "failed"):
                waiting += count
        backlog.add_metric([], waiting)
        yield receipts
        yield backlog

    def _campaigns(self) -> Iterator[GaugeMetricFamily]:
        labels = ["campaign", "currency"]
        gifts = GaugeMetricFamily("patronage_campaign_gifts", "Gifts per campaign", labels=labels)
        gross = GaugeMetricFamily(
            "patronage_campaign_gross_minor", "Money given per campaign, minor units", labels=labels
        )
        summed: dict[tuple[str, str], tuple[int, int]] = {}
        for row in totals.by_campaign(self.patronage.views.totals, totals.Filters()):
            key = (row.key[0], row.currency)
            count, minor = summed.get(key, (0, 0))
            summed[key] = (count + row.amounts.gifts, minor + row.amounts.gross)
        for (campaign, currency), (count, minor) in sorted(summed.items()):
            gifts.add_metric([campaign, currency], count)
            gross.add_metric([campaign, currency], minor)
        yield gifts
        yield gross


class Metrics:
    """One process's metrics: its own registry, so several apps in one process never clash."""

    def __init__(self, patronage: Patronage) -> None:
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "patronage_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.webhook_events = Counter(
            "patronage_webhook_events",
            "Stripe events delivered to this process, by type and result",
            ["type", "result"],
            registry=self.registry,
        )
        self.asks_served = Counter(
            "patronage_asks_served",
            "Asks served to readers by this process (previews excluded)",
            ["campaign", "variant"],
            registry=self.registry,
        )
        self.registry.register(LedgerCollector(patronage))
        # Each label set's child, found once: `labels()` takes a lock and checks its
        # arguments on every call, a tenth of an ask's time.
        self._served: dict[tuple[str, ...], Any] = {}
        self._timed: dict[tuple[str, ...], Any] = {}

    def ask_served(self, campaign: str, variant: str) -> None:
        _child(self._served, self.asks_served, (campaign, variant)).inc()

    def request_timed(self, method: str, route: str, status: int, seconds: float) -> None:
        _child(self._timed, self.request_seconds, (method, route, str(status))).observe(seconds)

    def exposition(self) -> bytes:
        return exposition(self.registry)


def _child(children: dict[tuple[str, ...], Any], metric: Any, labels: tuple[str, ...]) -> Any:
    """`metric`'s child for these label values, kept in `children` once found."""
    child = children.get(labels)
    if child is None:
        child = children[labels] = metric.labels(*labels)
    return child


@contextmanager
def metrics_port(settings: Settings, metrics: Metrics) -> Iterator[None]:
    """With PATRONAGE_METRICS_PORT set, serve the metrics there (no key) while the app runs."""
    if settings.metrics_port == 0:
        yield
        return
    server, thread = start_http_server(
        settings.metrics_port, addr=settings.metrics_host, registry=metrics.registry
    )
    log.info("metrics_serving", host=settings.metrics_host, port=settings.metrics_port)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[Metrics, Depends(get_metrics)]


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
        401: {"description": "no valid staff API key"},
    },
)
def metrics(metrics: MetricsDep, _staff: StaffDep) -> Response:
    """Prometheus metrics, for staff (or on PATRONAGE_METRICS_PORT, without a key)."""
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
