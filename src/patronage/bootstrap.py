"""The composition root: settings in, every concrete part out.

It is the only place that knows which store, which Stripe server and which organisation are
in use; everything else receives what it needs from here.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
import stripe
import structlog
from argon2 import PasswordHasher
from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory, TrackingRecorder
from eventsourcing.utils import Environment

from patronage.application.allocation import SAMPLE_SECONDS, BanditScores
from patronage.application.ask_memory import AskMemory
from patronage.application.asks import Asks
from patronage.application.audit import Audit
from patronage.application.batching import CommitBatcher
from patronage.application.campaigns import CampaignCatalogue, Campaigns
from patronage.application.card_testing import CheckoutGuard, GuardPolicy, Source
from patronage.application.checkout import Checkout
from patronage.application.gift_review import GiftReviews
from patronage.application.giving import Giving, UnattributedPolicy
from patronage.application.impressions import ImpressionCounter
from patronage.application.inbox import Inbox
from patronage.application.interval import Interval
from patronage.application.ledger import Ledger
from patronage.application.member_changes import MembershipChanges
from patronage.application.my_giving import MyGiving
from patronage.application.notices import NoticeSettings, SupporterNotices
from patronage.application.payloads import StripePayloads
from patronage.application.ports import CaptchaVerifier, PaymentGateway
from patronage.application.raised import RaisedCache
from patronage.application.receipt_outbox import ReceiptOutbox, ReceiptWorker, RetryPolicy
from patronage.application.receipting import Receipting
from patronage.application.staff import ApiTokens, StaffAccounts
from patronage.application.supporter_access import (
    CancelLinks,
    SupporterAccess,
    SupporterLinks,
)
from patronage.application.supporters import Supporters
from patronage.application.sweeper import Sweeper
from patronage.application.view_operations import ViewOperations
from patronage.application.year_end import YearEndJobs
from patronage.asks.token import SupporterTokens
from patronage.collector import collect_less_often
from patronage.config import EventStore, Settings, SettingsError
from patronage.domain.receipt import OrganisationDetails, missing_organisation_details
from patronage.payments.amounts import AmountRules
from patronage.payments.captcha import SiteVerifyCaptcha
from patronage.payments.stripe.client import make_stripe_client
from patronage.payments.stripe.events import StripeEventList
from patronage.payments.stripe.gateway import StripePaymentGateway
from patronage.payments.stripe.lookups import StripeApiLookups
from patronage.payments.stripe.memberships import StripeMembershipGateway
from patronage.projections.campaign_results import CampaignResults
from patronage.projections.catalog import Views
from patronage.projections.faults import FAULTS, FaultLog
from patronage.projections.rebuild import rebuild
from patronage.projections.recorders import datastore_of, open_store, small_pool
from patronage.projections.register import RegisterQueries
from patronage.projections.store import StoreOpener, ViewSchema, ViewStore
from patronage.projections.worker import run_until_signalled
from patronage.receipts.mail import SmtpConfig, SmtpMailer
from patronage.receipts.pdf import Branding
from patronage.storage import fail_fast_env, sqlite_env

log = structlog.get_logger(__name__)


def personal_data_env(settings: Settings) -> dict[str, str]:
    """The library's cipher over every stored event, and the Ledger's identity key."""
    env: dict[str, str] = {}
    if settings.cipher_key is not None:
        env["CIPHER_TOPIC"] = "eventsourcing.cryptography:AESCipher"
        env["CIPHER_KEY"] = settings.cipher_key.get_secret_value()
    if settings.identity_key is not None:
        env["IDENTITY_KEY"] = settings.identity_key.get_secret_value()
    return env


def eventsourcing_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing library's settings for the configured store."""
    # Without table creation (production), `patronage setup` creates them before the start.
    tables = {"CREATE_TABLE": "yes" if settings.create_tables else "no"}
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return tables | {
            **sqlite_env(),
            "SQLITE_DBNAME": str(settings.data_dir / "ledger.sqlite3"),
            "SQLITE_LOCK_TIMEOUT": str(settings.database_lock_timeout_seconds),
            **personal_data_env(settings),
        }
    url = urlsplit(settings.database_url.get_secret_value())
    dbname = url.path.lstrip("/")
    if not (url.hostname and dbname):
        raise SettingsError("invalid settings: PATRONAGE_DATABASE_URL needs a host and a database")
    env = tables | {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",  # its fail-fast factory, below
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": url.hostname,
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_POOL_SIZE": str(settings.database_pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.database_pool_size),
        # The library's defaults wait 30 s for a connection, ten times: fail fast instead
        # (a few seconds, then 503), and check a pooled connection before use, so the
        # first requests after an outage do not meet its dead connections.
        "POSTGRES_CONNECT_TIMEOUT": str(settings.database_timeout_seconds),
        "POSTGRES_PRE_PING": "y",
        **fail_fast_env(),
        "POSTGRES_LOCK_TIMEOUT": str(settings.database_lock_timeout_seconds),
    }
    if settings.database_schema:
        env["POSTGRES_SCHEMA"] = settings.database_schema
    return env | personal_data_env(settings)


def database_problem(settings: Settings, timeout_seconds: int = 2) -> str | None:
    """Why the configured database cannot be reached right now, or None when it answers.

    A fresh connection, not the pool: the pool's own retries take far longer than a probe
    (or an operator) should wait to hear that the database is gone."""
    if settings.database_url is None:
        directory = settings.data_dir
        if directory.is_dir() and os.access(directory, os.W_OK):
            return None
        return f"the data directory {directory} is missing or not writable"
    try:
        with psycopg.connect(
            settings.database_url.get_secret_value(), connect_timeout=max(timeout_seconds, 2)
        ) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        return f"PostgreSQL does not answer: {str(error).strip()}"
    return None


def kurrentdb_problem(settings: Settings, timeout_seconds: float = 5.0) -> str | None:
    """Why the configured KurrentDB cannot be used right now (the optional extra missing,
    the server not answering), or None when it answers."""
    assert settings.kurrentdb_uri is not None
    try:
        from kurrentdbclient import KurrentDBClient  # the optional extra
        from kurrentdbclient.exceptions import KurrentDBClientError
    except ImportError:
        return (
            "PATRONAGE_EVENT_STORE=kurrentdb needs the optional extra: "
            "pip install 'patronage[kurrentdb]'"
        )
    uri = settings.kurrentdb_uri.get_secret_value()
    where = urlsplit(uri).netloc.rpartition("@")[2]  # never the credentials
    try:
        client = KurrentDBClient(uri=uri)
    except (KurrentDBClientError, ValueError) as error:
        return f"PATRONAGE_KURRENTDB_URI is not usable: {error}"
    try:
        client.get_commit_position(timeout=timeout_seconds)
    except KurrentDBClientError as error:
        return f"KurrentDB does not answer at {where}: {error}"
    finally:
        client.close()
    return None


def refuse_kurrentdb(settings: Settings) -> None:
    """The KurrentDB path goes as far as reaching the server; the Ledger does not run on it
    yet (docs/scaling.md says what must change), so starting stops here, clearly."""
    problem = kurrentdb_problem(settings)
    raise SettingsError(
        f"invalid settings: {problem}"
        if problem
        else "invalid settings: PATRONAGE_EVENT_STORE=kurrentdb: the server answers, but the "
        "Ledger cannot run on KurrentDB yet (see docs/scaling.md)"
    )


_ORGANISATION_SETTINGS = {
    "name": "PATRONAGE_ORG_NAME",
    "address": "PATRONAGE_ORG_ADDRESS",
    "tax or registration number": "PATRONAGE_ORG_TAX_ID",
    "place of issue": "PATRONAGE_ORG_PLACE_OF_ISSUE",
    "authorised signatory": "PATRONAGE_ORG_SIGNATORY",
}


def organisation_details(settings: Settings) -> OrganisationDetails:
    """The organisation as receipts print it; a SettingsError names every field its
    jurisdiction requires that is missing, so Patronage never starts unable to receipt."""
    organisation = OrganisationDetails(
        name=settings.org_name,
        address=settings.org_address,
        tax_id=settings.org_tax_id,
        jurisdiction=settings.org_jurisdiction.value,
        issued_at_place=settings.org_place_of_issue,
        signatory=settings.org_signatory,
    )
    missing = missing_organisation_details(organisation)
    if missing:
        names = ", ".join(f"{_ORGANISATION_SETTINGS[m]} ({m})" for m in missing)
        raise SettingsError(
            f"invalid settings: {settings.org_jurisdiction.value} receipts need {names}"
        )
    return organisation


def branding(settings: Settings) -> Branding:
    return Branding(
        logo=settings.org_logo_path.read_bytes() if settings.org_logo_path else None,
        signature=settings.org_signature_path.read_bytes() if settings.org_signature_path else None,
    )


def smtp_config(settings: Settings) -> SmtpConfig | None:
    """The SMTP server receipts are emailed through; None while none is configured."""
    if not settings.smtp_host:
        return None
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security.value,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value(),
        sender=settings.smtp_from,
        timeout=settings.smtp_timeout_seconds,
    )


def smtp_mailer(settings: Settings, *, timeout_most: float | None = None) -> SmtpMailer | None:
    """The one mailer every email goes through; None while no SMTP server is configured.
    `timeout_most` caps how long it waits for the server (`patronage check`)."""
    config = smtp_config(settings)
    if config is None:
        return None
    if timeout_most is not None:
        config = replace(config, timeout=min(config.timeout, timeout_most))
    return SmtpMailer(config)


def supporter_links(settings: Settings, cancel_links: CancelLinks) -> SupporterLinks | None:
    """The supporter page's addresses for emails; None while no public address is set."""
    if settings.public_url is None:
        return None
    return SupporterLinks(str(settings.public_url), cancel_links)


def receipt_outbox(
    settings: Settings,
    ledger: Ledger,
    register: RegisterQueries,
    links: SupporterLinks | None,
    mailer: SmtpMailer | None,
) -> ReceiptOutbox | None:
    """The email outbox, or None while no SMTP server is configured."""
    if mailer is None:
        return None
    return ReceiptOutbox(
        ledger,
        register,
        mailer,
        mailer.config.sender,
        mailer.config.sender_domain,
        branding(settings),
        links,
        RetryPolicy(
            first=timedelta(seconds=settings.receipt_email_retry_seconds),
            most=timedelta(seconds=settings.receipt_email_retry_max_seconds),
            lease=timedelta(seconds=settings.receipt_email_lease_seconds),
        ),
    )


@dataclass
class Patronage:
    """Every part of a running Patronage, wired from one Settings."""

    settings: Settings
    ledger: Ledger
    giving: Giving
    receipting: Receipting
    inbox: Inbox
    payloads: StripePayloads
    supporters: Supporters
    campaigns: Campaigns
    impressions: ImpressionCounter
    asks: Asks
    tokens: SupporterTokens
    checkout: Checkout
    reviews: GiftReviews
    views: Views
    campaign_results: CampaignResults
    staff: StaffAccounts
    api_tokens: ApiTokens
    audit: Audit
    view_operations: ViewOperations
    outbox: ReceiptOutbox | None
    receipt_worker: ReceiptWorker
    year_end: YearEndJobs
    branding: Branding
    stripe_events: StripeEventList | None  # None without a Stripe secret key
    commits: CommitBatcher
    ask_memory: AskMemory
    access: SupporterAccess
    my_giving: MyGiving
    member_changes: MembershipChanges
    mailer: SmtpMailer | None  # None while no SMTP server is configured
    # Signs supporter sessions, forms and cancellation links (keys derived per purpose).
    supporter_secret: bytes
    cancel_links: CancelLinks
    notices: SupporterNotices | None  # None without SMTP or a public address

    def close(self) -> None:
        self.commits.close()
        try:
            self.impressions.flush()
        except Exception:  # view counts are not worth failing a shutdown for
            log.warning("impressions_lost_at_shutdown", exc_info=True)
        self.ledger.close()


def view_stores(settings: Settings, ledger: Application[Any], *, create: bool) -> StoreOpener:
    """Views open their stores on the Ledger's database and share its connection pool;
    `create` makes their tables where missing."""
    postgres, datastore = settings.uses_postgres, datastore_of(ledger)

    def open_view(schema: ViewSchema, suffix: str = "") -> ViewStore:
        return open_store(
            schema, postgres=postgres, datastore=datastore, create=create, suffix=suffix
        )

    return open_view


def payment_gateway(
    settings: Settings, client: stripe.StripeClient | None = None
) -> PaymentGateway | None:
    """Stripe (or localstripe) as the checkout's gateway; None without a secret key."""
    client = client or make_stripe_client(settings)
    return None if client is None else StripePaymentGateway(client, settings.checkout_test_card)


def captcha_verifier(settings: Settings) -> CaptchaVerifier | None:
    """The CAPTCHA provider's siteverify check, or None (the guard's no-op default)."""
    if settings.captcha_verify_url is None:
        return None
    return SiteVerifyCaptcha(
        str(settings.captcha_verify_url), settings.captcha_secret.get_secret_value()
    )


def checkout_guard(settings: Settings) -> CheckoutGuard:
    return CheckoutGuard(
        GuardPolicy(
            attempts={
                Source.ADDRESS: settings.checkout_limit_per_ip,
                Source.READER: settings.checkout_limit_per_reader,
                Source.EMAIL: settings.checkout_limit_per_email,
                Source.CARD: settings.checkout_limit_per_card,
            },
            window_seconds=settings.checkout_limit_window_seconds,
            declines_to_block=settings.checkout_decline_limit,
            block_seconds=settings.checkout_decline_block_seconds,
            hold_after_declines=settings.checkout_hold_after_declines,
            hold_after_cards=settings.checkout_hold_after_cards,
        ),
        captcha_verifier(settings),
    )


def checkout_for(settings: Settings, ledger: Ledger, gateway: PaymentGateway | None) -> Checkout:
    return Checkout(
        ledger=ledger,
        gateway=gateway,
        rules=AmountRules(
            currencies=tuple(settings.checkout_currencies),
            minimum_major=settings.checkout_minimum,
            maximum_major=settings.checkout_maximum,
            fee_rate_bp=settings.fee_rate_basis_points,
            fee_fixed_cents=settings.fee_fixed_cents,
            minimums_major=tuple(settings.checkout_minimums.items()),
        ),
        guard=checkout_guard(settings),
        tokens=supporter_tokens(settings),
        pay_with_test_card=settings.checkout_test_card,
    )


def membership_gateway(
    settings: Settings, client: stripe.StripeClient | None
) -> StripeMembershipGateway | None:
    """Members' own changes at Stripe; None without a secret key. A custom API base is a
    test server (localstripe), which takes only the older proration flag."""
    # The one client, unless PATRONAGE_STRIPE_PORTAL_API_BASE sends the billing portal's
    # calls to another server (localstripe has no portal): a client has one API base.
    portal = (
        client
        if settings.stripe_portal_api_base is None
        else make_stripe_client(settings, settings.stripe_portal_api_base)
    )
    if client is None or portal is None:
        return None
    return StripeMembershipGateway(client, portal, settings.stripe_api_base is not None)


def stripe_lookups(client: stripe.StripeClient | None) -> StripeApiLookups | None:
    """What the inbox may ask Stripe; None without a secret key (parked events then wait)."""
    return None if client is None else StripeApiLookups(client)


def supporter_notices(
    settings: Settings, ledger: Ledger, links: SupporterLinks | None, mailer: SmtpMailer | None
) -> SupporterNotices | None:
    """Thank-yous and failed renewals' notices, while SMTP and a public address are set."""
    if mailer is None or links is None:
        return None
    return SupporterNotices(
        ledger,
        mailer,
        links,
        NoticeSettings(
            organisation=settings.org_name,
            sender=mailer.config.sender,
            receipts_thank_one_time_gifts=settings.receipts_single_automatic,
        ),
    )


@contextmanager
def notices_running(patronage: Patronage) -> Iterator[None]:
    """While the service runs: supporter notices (when configured), every few seconds, in
    each API process (claims keep an email from going twice)."""
    if patronage.notices is None:
        yield
        return
    sweeper = Sweeper(
        patronage.notices.send_new, patronage.settings.receipts_worker_seconds, "notices"
    )
    sweeper.start()
    try:
        yield
    finally:
        sweeper.stop()


def supporter_root_secret(settings: Settings) -> bytes:
    """The supporter pages' secret; unset, a random one for this process (sessions then end
    on restart, and emailed cancellation links stop working)."""
    secret = settings.supporter_token_secret.get_secret_value().encode()
    if not secret:
        log.warning(
            "supporter_secret_unset",
            detail="supporter sessions and cancellation links last one process:"
            " set PATRONAGE_SUPPORTER_TOKEN_SECRET",
        )
    return secret or secrets.token_bytes(32)


def supporter_tokens(settings: Settings) -> SupporterTokens:
    return SupporterTokens(
        settings.supporter_token_secret.get_secret_value(),
        timedelta(days=settings.supporter_token_days),
    )


def bootstrap(settings: Settings) -> Patronage:
    if settings.event_store == EventStore.KURRENTDB:
        refuse_kurrentdb(settings)
    organisation = organisation_details(settings)  # before anything opens: fail fast
    env = eventsourcing_env(settings)
    ledger = Ledger(env=env)
    giving = Giving(ledger, UnattributedPolicy(settings.unattributed_payments))
    views = Views(ledger, view_stores(settings, ledger, create=settings.create_tables))
    register = RegisterQueries(views.register, ledger, settings.read_your_writes_timeout_seconds)
    receipting = Receipting(ledger, organisation, settings.zone, register)
    supporter_secret = supporter_root_secret(settings)
    cancel_links = CancelLinks(supporter_secret)
    links = supporter_links(settings, cancel_links)
    mailer = smtp_mailer(settings)
    outbox = receipt_outbox(settings, ledger, register, links, mailer)
    # Each part of the ask's memory refreshes on its own interval (application/ask_memory.py);
    # the view counts are first flushed a full interval after the start.
    impressions = ImpressionCounter(
        views.impressions, Interval.started(settings.impression_flush_seconds)
    )
    results = CampaignResults(views)
    catalogue = CampaignCatalogue(ledger, Interval(settings.campaign_check_seconds))
    campaigns = Campaigns(ledger, catalogue)
    ask_memory = AskMemory(
        catalogue,
        RaisedCache(results, Interval(settings.ticker_refresh_seconds)),
        BanditScores(impressions, settings.default_currency, Interval(SAMPLE_SECONDS)),
        results,
        impressions,
    )
    # One client for every call to Stripe: checkout's payments, the inbox's lookups, the
    # inbox CLI's list of missed events and members' own changes (membership_gateway makes
    # a second only for a billing portal on a server of its own).
    stripe_client = make_stripe_client(settings)
    checkout = checkout_for(settings, ledger, payment_gateway(settings, stripe_client))
    tokens = supporter_tokens(settings)
    commits = CommitBatcher(ledger, settings.write_batch_max, settings.write_batch_wait_seconds)
    inbox = Inbox(ledger, giving, stripe_lookups(stripe_client), commits)
    payloads = StripePayloads(ledger, inbox)
    return Patronage(
        settings=settings,
        ledger=ledger,
        giving=giving,
        receipting=receipting,
        inbox=inbox,
        payloads=payloads,
        supporters=Supporters(ledger, payloads),
        campaigns=campaigns,
        impressions=impressions,
        asks=Asks(
            memory=ask_memory,
            tokens=tokens,
            rules=checkout.rules,
            default_currency=settings.default_currency,
            ticker_from_bp=settings.ticker_from_bp,
        ),
        tokens=tokens,
        checkout=checkout,
        reviews=GiftReviews(ledger, checkout.gateway),
        views=views,
        campaign_results=results,
        staff=StaffAccounts(
            ledger,
            hasher=PasswordHasher(
                time_cost=settings.staff_password_hash_time_cost,
                memory_cost=settings.staff_password_hash_memory_kib,
            ),
        ),
        api_tokens=ApiTokens(ledger),
        audit=Audit(ledger),
        outbox=outbox,
        receipt_worker=ReceiptWorker(
            receipting, outbox, settings.receipts_single_automatic, settings.receipts_worker_seconds
        ),
        year_end=YearEndJobs(receipting),
        branding=branding(settings),
        stripe_events=None if stripe_client is None else StripeEventList(stripe_client),
        view_operations=ViewOperations(ledger, views),
        commits=commits,
        ask_memory=ask_memory,
        access=SupporterAccess(ledger, timedelta(minutes=settings.supporter_link_minutes)),
        my_giving=MyGiving(ledger, views.register, views.supporters, receipting, settings.zone),
        member_changes=MembershipChanges(ledger, membership_gateway(settings, stripe_client)),
        mailer=mailer,
        supporter_secret=supporter_secret,
        cancel_links=cancel_links,
        notices=supporter_notices(settings, ledger, links, mailer),
    )


def set_up_tables(settings: Settings) -> None:
    """Create the event store's and every view's tables if missing (`patronage setup`)."""
    bootstrap(settings.model_copy(update={"create_tables": True})).close()


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


@contextmanager
def receipts_running(patronage: Patronage) -> Iterator[None]:
    """While the service runs: automatic single receipts (if on) and the email outbox."""
    patronage.receipt_worker.start()
    try:
        yield
    finally:
        patronage.receipt_worker.stop()


@contextmanager
def ask_memory_running(patronage: Patronage) -> Iterator[None]:
    """While the service runs: a thread keeps what asks read in memory, so an ask touches
    no database (application/ask_memory.py)."""
    with patronage.ask_memory.running():
        yield


@contextmanager
def parked_sweep_running(patronage: Patronage) -> Iterator[None]:
    """While the service runs: a thread tries the parked webhook events again every
    `parked_sweep_seconds` (each API process may run one: applying is idempotent)."""
    interval = patronage.settings.parked_sweep_seconds
    if interval <= 0:
        yield
        return
    sweeper = Sweeper(patronage.inbox.retry_parked, interval)
    sweeper.start()
    try:
        yield
    finally:
        sweeper.stop()


@contextmanager
def worker_faults(settings: Settings) -> Iterator[FaultLog]:
    """The fault log of a PostgreSQL view worker, on a small pool of its own: the worker
    reads and writes it while no runner, and so no Ledger, is open."""
    env = Environment(FAULTS.name, small_pool(eventsourcing_env(settings)))
    factory = InfrastructureFactory[TrackingRecorder].construct(env=env)
    try:
        datastore = factory.datastore  # type: ignore[attr-defined]
        yield FaultLog(
            open_store(FAULTS, postgres=True, datastore=datastore, create=settings.create_tables)
        )
    finally:
        factory.close()


def run_view_worker(settings: Settings, name: str) -> None:
    """One PostgreSQL worker process following the Ledger for the named view: each of its
    runners opens a fresh Ledger on a small pool, its view's store on that pool.

    The supervisor starts each worker as `patronage projections run NAME`, a new process
    that comes through here: every part is made in the process that uses it."""
    collect_less_often()
    env = small_pool(eventsourcing_env(settings))

    def open_ledger() -> Ledger:
        return Ledger(env=env)

    def stores_of(ledger: Application[Any]) -> StoreOpener:
        return view_stores(settings, ledger, create=settings.create_tables)

    with worker_faults(settings) as faults:
        run_until_signalled(name, open_ledger, stores_of, faults)


def rebuild_view(
    settings: Settings,
    name: str,
    *,
    on_start: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rebuild the named view aside and swap it in; returns its new position."""
    # A rebuild always creates its new tables aside, whatever PATRONAGE_CREATE_TABLES says.
    env = small_pool(eventsourcing_env(settings)) | {"CREATE_TABLE": "yes"}
    ledger = Ledger(env=env)
    try:
        opener = view_stores(settings, ledger, create=True)
        return rebuild(name, ledger, opener, on_start=on_start, progress=progress)
    finally:
        ledger.close()
