"""The composition root: settings in, every concrete part out.

It is the only place that knows which store, which Stripe server and which organisation are
in use; everything else receives what it needs from here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from patronage.application.allocation import BanditScores
from patronage.application.audit import Audit
from patronage.application.campaigns import CampaignCatalogue, Campaigns
from patronage.application.checkout import Checkout, Limits
from patronage.application.giving import Giving
from patronage.application.impressions import ImpressionCounter
from patronage.application.inbox import Inbox
from patronage.application.ledger import Ledger
from patronage.application.ratelimit import RateLimiter
from patronage.application.receipting import Receipting
from patronage.application.staff import ApiTokens, StaffAccounts
from patronage.asks.token import SupporterTokens
from patronage.config import Settings, SettingsError
from patronage.domain.receipt import OrganisationDetails
from patronage.payments.amounts import AmountRules
from patronage.payments.stripe.client import make_stripe_client
from patronage.payments.stripe.gateway import PaymentGateway
from patronage.projections.campaign_results import CampaignResults
from patronage.projections.catalog import Views
from patronage.projections.rebuild import rebuild
from patronage.projections.store import small_pool
from patronage.projections.worker import run_until_signalled


def eventsourcing_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing library's settings for the configured store."""
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(settings.data_dir / "ledger.sqlite3"),
            "SQLITE_LOCK_TIMEOUT": str(settings.database_lock_timeout_seconds),
        }
    url = urlsplit(settings.database_url.get_secret_value())
    dbname = url.path.lstrip("/")
    if not (url.hostname and dbname):
        raise SettingsError("invalid settings: PATRONAGE_DATABASE_URL needs a host and a database")
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": url.hostname,
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_POOL_SIZE": str(settings.database_pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.database_pool_size),
        # The library's defaults wait 30 s per try (and retry): fail fast instead.
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_LOCK_TIMEOUT": str(settings.database_lock_timeout_seconds),
    }
    if settings.database_schema:
        env["POSTGRES_SCHEMA"] = settings.database_schema
    return env


def organisation_details(settings: Settings) -> OrganisationDetails:
    return OrganisationDetails(
        name=settings.org_name,
        address=settings.org_address,
        tax_id=settings.org_tax_id,
        jurisdiction=settings.org_jurisdiction.value,
        issued_at_place=settings.org_address,
    )


@dataclass
class Patronage:
    """Every part of a running Patronage, wired from one Settings."""

    settings: Settings
    ledger: Ledger
    giving: Giving
    receipting: Receipting
    inbox: Inbox
    campaigns: Campaigns
    impressions: ImpressionCounter
    bandit: BanditScores
    tokens: SupporterTokens
    checkout: Checkout
    views: Views
    campaign_results: CampaignResults
    staff: StaffAccounts
    api_tokens: ApiTokens
    audit: Audit

    def close(self) -> None:
        self.impressions.flush()
        self.views.close()
        self.ledger.close()


def checkout_for(settings: Settings, ledger: Ledger, giving: Giving) -> Checkout:
    client = make_stripe_client(settings)
    window = settings.checkout_limit_window_seconds
    return Checkout(
        ledger=ledger,
        giving=giving,
        gateway=None if client is None else PaymentGateway(client, settings.demo_mode),
        rules=AmountRules(
            currencies=tuple(settings.checkout_currencies),
            minimum_major=settings.checkout_minimum,
            maximum_major=settings.checkout_maximum,
            fee_rate_bp=settings.fee_rate_basis_points,
            fee_fixed_cents=settings.fee_fixed_cents,
        ),
        limits=Limits(
            per_ip=RateLimiter(settings.checkout_limit_per_ip, window),
            per_reader=RateLimiter(settings.checkout_limit_per_reader, window),
        ),
        tokens=supporter_tokens(settings),
    )


def supporter_tokens(settings: Settings) -> SupporterTokens:
    return SupporterTokens(
        settings.supporter_token_secret.get_secret_value(),
        timedelta(days=settings.supporter_token_days),
    )


def bootstrap(settings: Settings) -> Patronage:
    env = eventsourcing_env(settings)
    ledger = Ledger(env=env)
    giving = Giving(ledger)
    impressions = ImpressionCounter(ledger, settings.impression_flush_seconds)
    views = Views(ledger, env)
    return Patronage(
        settings=settings,
        ledger=ledger,
        giving=giving,
        receipting=Receipting(ledger, organisation_details(settings)),
        inbox=Inbox(ledger, giving),
        campaigns=Campaigns(ledger, CampaignCatalogue(ledger, settings.campaign_check_seconds)),
        impressions=impressions,
        bandit=BanditScores(impressions, settings.default_currency),
        tokens=supporter_tokens(settings),
        checkout=checkout_for(settings, ledger, giving),
        views=views,
        campaign_results=CampaignResults(views),
        staff=StaffAccounts(ledger),
        api_tokens=ApiTokens(ledger),
        audit=Audit(ledger),
    )


@contextmanager
def projections_running(patronage: Patronage) -> Iterator[None]:
    """While the service runs: on SQLite a thread keeps the views; on PostgreSQL the
    `patronage projections run` workers do, so the service only reads them."""
    if patronage.settings.uses_postgres:
        yield
        return
    poller = patronage.views.poller(patronage.settings.projection_poll_seconds)
    poller.start()
    try:
        yield
    finally:
        poller.stop()


def run_view_worker(settings: Settings, name: str) -> None:
    """One PostgreSQL worker process following the Ledger for the named view."""
    run_until_signalled(name, Ledger, eventsourcing_env(settings))


def rebuild_view(
    settings: Settings,
    name: str,
    *,
    on_start: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rebuild the named view aside and swap it in; returns its new position."""
    env = small_pool(eventsourcing_env(settings))
    ledger = Ledger(env=env)
    try:
        return rebuild(name, ledger, env, on_start=on_start, progress=progress)
    finally:
        ledger.close()
