"""Typed settings, read once from the environment (prefix PATRONAGE_) and an optional .env file.

This is the only module that reads the environment; bootstrap.py turns these settings into
the eventsourcing environment and every concrete part.
"""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from patronage.domain.money import MoneyError, normalise_currency
from patronage.domain.receipt import Jurisdiction


class LogFormat(StrEnum):
    AUTO = "auto"  # JSON lines unless the output is a terminal
    CONSOLE = "console"
    JSON = "json"


class SmtpSecurity(StrEnum):
    NONE = "none"  # loopback catchers only
    STARTTLS = "starttls"
    TLS = "tls"


class EventStore(StrEnum):
    SQL = "sql"  # SQLite, or PostgreSQL with PATRONAGE_DATABASE_URL
    KURRENTDB = "kurrentdb"  # wired up to the server, not supported beyond: docs/scaling.md


class SettingsError(Exception):
    """Settings that cannot start Patronage; the message names the setting and the problem."""


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PATRONAGE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Storage: an embedded SQLite data directory unless a PostgreSQL URL is given.
    data_dir: Path = Path("data")
    database_url: SecretStr | None = Field(
        default=None, description="postgresql://user:password@host:port/dbname"
    )
    database_schema: str = Field(default="", pattern=r"^[a-z_][a-z0-9_]{0,62}$|^$")
    database_pool_size: int = Field(default=5, ge=1, le=100)
    database_lock_timeout_seconds: int = Field(default=5, ge=1, le=300)
    database_timeout_seconds: int = Field(
        default=2, ge=1, le=60, description="Wait for a PostgreSQL connection; then 503"
    )
    event_store: EventStore = EventStore.SQL
    kurrentdb_uri: SecretStr | None = Field(
        default=None, description="kurrentdb://host:2113?Tls=true (with event_store=kurrentdb)"
    )
    create_tables: bool = Field(
        default=True, description="Create missing tables at start (false: `patronage setup` does)"
    )

    # Personal data (docs/personal-data.md)
    cipher_key: SecretStr | None = Field(
        default=None,
        description="Base64 AES key (16, 24 or 32 bytes) encrypting every stored event",
    )
    identity_key: SecretStr | None = Field(
        default=None,
        description="Secret that supporter ids and email claims are keyed hashes under",
    )
    stripe_payload_retention_days: int = Field(default=30, ge=0, le=3650)

    # Stripe
    stripe_secret_key: SecretStr = SecretStr("")
    stripe_publishable_key: str = ""
    stripe_webhook_secrets: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    stripe_api_base: AnyHttpUrl | None = Field(
        default=None, description="Point the Stripe SDK at another server (localstripe in the demo)"
    )
    stripe_portal_api_base: AnyHttpUrl | None = Field(
        default=None,
        description="Server for billing portal sessions only (default: the Stripe API base)",
    )

    # The organisation, as tax receipts print it.
    org_name: str = "Patronage Demo Newsroom"
    org_address: str = "1 Press Row, Springfield, IL 62701, USA"
    org_tax_id: str = "00-0000000"
    org_jurisdiction: Jurisdiction = Jurisdiction.US
    org_time_zone: str = Field(
        default="America/New_York",
        description="IANA zone that decides tax years and receipt dates, e.g. America/Toronto",
    )
    org_place_of_issue: str = Field(default="", description="Printed on receipts (CA requires)")
    org_signatory: str = Field(default="", description="Authorised signer's name and title")
    org_logo_path: Path | None = Field(default=None, description="PNG or JPEG on receipts")
    org_signature_path: Path | None = Field(default=None, description="PNG or JPEG signature")
    default_currency: str = "USD"

    # Receipts (docs/receipts.md)
    receipts_single_automatic: bool = Field(
        default=False, description="Issue a single receipt after each one-time gift"
    )
    receipts_worker_seconds: float = Field(default=5.0, gt=0, le=3600)
    receipt_email_retry_seconds: float = Field(default=60.0, gt=0, le=86400)
    receipt_email_retry_max_seconds: float = Field(default=3600.0, gt=0, le=7 * 86400)
    receipt_email_lease_seconds: float = Field(default=300.0, gt=0, le=86400)

    # Email (SMTP); receipts are not emailed while smtp_host is empty.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = Field(default="", description="e.g. Receipts <receipts@news.example>")
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    # The service
    staff_api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    supporter_token_secret: SecretStr = SecretStr("")
    log_format: LogFormat = LogFormat.AUTO
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    max_webhook_bytes: int = Field(default=256 * 1024, ge=1024)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)

    # Operations (docs/operations.md)
    metrics_port: int = Field(
        default=0, ge=0, le=65535, description="0: /metrics on the API for staff; else this port"
    )
    metrics_host: str = Field(default="127.0.0.1", description="Interface of the metrics port")
    ready_max_lag: int = Field(
        default=1000, ge=0, description="/readyz fails while a view is more events behind"
    )

    # Asks and checkout (docs/asks.md)
    campaign_check_seconds: float = Field(default=2.0, ge=0.0, le=300.0)
    embed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Sites whose article pages call /asks and /checkout, e.g. https://news.example",
    )
    asks_country_header: str = Field(
        default="", description="Header with the reader's country, e.g. CF-IPCountry"
    )
    impression_flush_seconds: float = Field(default=30.0, ge=0.0, le=3600.0)
    ticker_refresh_seconds: float = Field(default=15.0, ge=0.0, le=3600.0)
    supporter_token_days: int = Field(default=365, ge=1, le=3650)
    checkout_currencies: Annotated[list[str], NoDecode] = ["USD", "EUR", "GBP", "CAD", "AUD"]
    checkout_minimum: int = Field(default=2, ge=1, description="Smallest gift, whole units")
    checkout_maximum: int = Field(default=10_000, ge=1, description="Largest gift, whole units")
    fee_rate_basis_points: int = Field(default=220, ge=0, le=2000, description="220 = 2.2%")
    fee_fixed_cents: int = Field(default=30, ge=0, le=1000, description="In 1/100 of a unit")
    # Smallest gift per currency in whole units ("JPY=500,USD=5"), over checkout_minimum.
    checkout_minimums: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    # Card-testing guard (docs/security.md): payments asked of Stripe per source and window.
    checkout_limit_per_ip: int = Field(default=10, ge=1)
    checkout_limit_per_reader: int = Field(default=5, ge=1)
    checkout_limit_per_email: int = Field(default=5, ge=1)
    checkout_limit_per_card: int = Field(default=3, ge=1)
    checkout_limit_window_seconds: int = Field(default=600, ge=1)
    checkout_decline_limit: int = Field(default=5, ge=1, description="Declines that block")
    checkout_decline_block_seconds: int = Field(default=3600, ge=1, le=7 * 86_400)
    checkout_hold_after_declines: int = Field(default=2, ge=0, description="0: never hold")
    checkout_hold_after_cards: int = Field(default=3, ge=0, description="0: never hold")
    # An optional CAPTCHA: the provider's siteverify endpoint (Turnstile, hCaptcha) and secret.
    captcha_verify_url: AnyHttpUrl | None = None
    captcha_secret: SecretStr = SecretStr("")
    stripe_js_url: str = Field(
        default="https://js.stripe.com/v3/",
        pattern=r"^https?://([^\s\"'<>/]+/)*js\.stripe\.com/v3/$",
        description="Where the ask loads Stripe.js (localstripe's stand-in in the demo)",
    )
    ticker_from_bp: int = Field(
        default=1000, ge=0, le=10_000, description="Show the ticker once this share is raised"
    )
    members_contact: str = Field(
        default="", description="How members change or cancel, shown after a monthly gift"
    )
    checkout_test_card: bool = Field(
        default=False,
        description="Tests only: pay on the server with Stripe's test card, without the page",
    )
    demo_mode: bool = Field(default=False, description="Mount the demo pages under /demo")

    # The supporter's own page (docs/supporters.md)
    public_url: AnyHttpUrl | None = Field(
        default=None,
        description="Where supporters reach Patronage, e.g. https://give.news.example (for"
        " the links in emails; sign-in by email is off while unset)",
    )
    supporter_link_minutes: int = Field(default=15, ge=1, le=24 * 60)
    supporter_session_days: int = Field(default=30, ge=1, le=365)
    supporter_signin_per_email: int = Field(default=5, ge=1)
    supporter_signin_per_ip: int = Field(default=30, ge=1)
    supporter_signin_window_seconds: int = Field(default=3600, ge=1)

    # The staff console (docs/staff.md): signs session cookies and CSRF tokens. Unset, a
    # random secret per process is used: sessions then end on restart and work only with
    # one API process.
    console_secret: SecretStr = SecretStr("")
    console_session_hours: float = Field(default=8.0, gt=0, le=24 * 7)
    # Staff passwords' argon2id cost: the defaults are argon2-cffi's (RFC 9106's low-memory
    # profile). The test suite lowers them: hashing is not what its tests check, and it
    # was a fifth of the suite's CPU.
    staff_password_hash_time_cost: int = Field(default=3, ge=1, le=20)
    staff_password_hash_memory_kib: int = Field(default=65_536, ge=64, le=4_194_304)
    # The webhook inbox: how often parked events are tried again, and after how long a parked
    # event is shown to staff as stuck.
    parked_sweep_seconds: float = Field(default=300.0, ge=0.0, le=86_400.0)
    parked_alert_seconds: int = Field(default=3600, ge=0, le=30 * 86_400)
    # Money without our checkout's metadata: "review" (listed for staff) or "book" (a gift).
    unattributed_payments: Literal["review", "book"] = "review"

    # Group commit of the webhook path (docs/performance.md): at most this many concurrent
    # deliveries' saves in one transaction, gathered for at most this long.
    write_batch_max: int = Field(default=100, ge=1, le=1000)
    write_batch_wait_seconds: float = Field(default=0.002, ge=0.0, le=0.1)

    # Projections (views): how often the in-process SQLite runner polls the log, and how
    # long a read after a staff action waits for the views to catch up.
    projection_poll_seconds: float = Field(default=0.25, gt=0, le=60)
    read_your_writes_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    @field_validator("stripe_webhook_secrets", "staff_api_keys", "embed_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("checkout_currencies", mode="before")
    @classmethod
    def _currencies(cls, value: object) -> object:
        codes = _split_csv(value)
        try:
            return [normalise_currency(str(c)) for c in codes] if isinstance(codes, list) else codes
        except MoneyError as error:
            raise ValueError(str(error)) from None

    @field_validator("checkout_minimums", mode="before")
    @classmethod
    def _minimums(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        minimums: dict[str, int] = {}
        for part in (p.strip() for p in value.split(",")):
            code, _, amount = part.partition("=")
            if not part:
                continue
            if not amount.strip().isdigit():
                raise ValueError(f"{part!r}: write CURRENCY=WHOLE_UNITS, e.g. JPY=500")
            try:
                minimums[normalise_currency(code.strip())] = int(amount)
            except MoneyError as error:
                raise ValueError(str(error)) from None
        return minimums

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("postgresql://", "postgres://")
        ):
            raise ValueError("must be a postgresql:// URL (leave it unset for embedded SQLite)")
        return value

    @field_validator("cipher_key")
    @classmethod
    def _aes_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                size = len(base64.b64decode(value.get_secret_value(), validate=True))
            except binascii.Error:
                size = -1
            if size not in (16, 24, 32):
                raise ValueError("must be base64 of 16, 24 or 32 random bytes")
        return value

    @field_validator("identity_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (32 random bytes, base64, is good)")
        return value

    @field_validator("org_time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not an IANA time zone such as America/New_York"
            ) from None
        return value

    @field_validator("org_logo_path", "org_signature_path")
    @classmethod
    def _image_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no image file at {value}")
        return value

    @field_validator("default_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        try:
            return normalise_currency(value)
        except MoneyError as error:
            raise ValueError(str(error)) from None

    @model_validator(mode="after")
    def _checkout_is_coherent(self) -> Settings:
        if self.checkout_minimum > self.checkout_maximum:
            raise ValueError("PATRONAGE_CHECKOUT_MINIMUM is above PATRONAGE_CHECKOUT_MAXIMUM")
        if any(not 1 <= m <= self.checkout_maximum for m in self.checkout_minimums.values()):
            raise ValueError("PATRONAGE_CHECKOUT_MINIMUMS must be between 1 and the maximum")
        if self.captcha_verify_url is not None and not self.captcha_secret.get_secret_value():
            raise ValueError("PATRONAGE_CAPTCHA_VERIFY_URL needs PATRONAGE_CAPTCHA_SECRET")
        if self.smtp_host and "@" not in self.smtp_from:
            raise ValueError("PATRONAGE_SMTP_FROM needs an address when PATRONAGE_SMTP_HOST is set")
        live = self.stripe_secret_key.get_secret_value().startswith("sk_live")
        if live and self.demo_mode:
            raise ValueError("PATRONAGE_DEMO_MODE is for test keys only: never with a live key")
        if live and self.checkout_test_card:
            raise ValueError("PATRONAGE_CHECKOUT_TEST_CARD pays with test cards: never live")
        return self

    @model_validator(mode="after")
    def _kurrentdb_is_complete(self) -> Settings:
        if self.event_store == EventStore.KURRENTDB:
            if self.kurrentdb_uri is None:
                raise ValueError("PATRONAGE_EVENT_STORE=kurrentdb needs PATRONAGE_KURRENTDB_URI")
            if self.database_url is None:
                raise ValueError(
                    "PATRONAGE_EVENT_STORE=kurrentdb keeps the views in PostgreSQL: "
                    "set PATRONAGE_DATABASE_URL too"
                )
        return self

    @property
    def uses_postgres(self) -> bool:
        return self.database_url is not None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.org_time_zone)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, or a SettingsError that names each bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = "; ".join(
            f"PATRONAGE_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None
