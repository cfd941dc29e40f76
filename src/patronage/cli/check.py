"""`patronage check`: is this configuration fit to run? Every problem, each on one line.

Run it before a deploy (the Kubernetes setup Job runs it first): it loads the settings,
reaches the database and the SMTP server (if configured), checks the shape of the Stripe keys
and webhook secrets (a key pasted in the wrong place is the classic outage), the staff keys,
and what a tax receipt must print. Exit 0 when everything passed, 1 when anything failed, 2
when the settings cannot even be read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import typer

from patronage.bootstrap import (
    database_problem,
    kurrentdb_problem,
    organisation_details,
    smtp_config,
    smtp_mailer,
)
from patronage.config import EventStore, Settings, SettingsError, load_settings
from patronage.domain.receipt import Jurisdiction
from patronage.receipts.mail import DeliveryFailedError

_SECRET_KEY = re.compile(r"^(sk|rk)_(test|live)_\w{6,}$")
_PUBLISHABLE_KEY = re.compile(r"^pk_(test|live)_\w{6,}$")
_WEBHOOK_SECRET = re.compile(r"^whsec_[A-Za-z0-9_+/=]{8,}$")
MIN_STAFF_KEY_LENGTH = 16
# What a receipt's tax id looks like: an EIN, a CRA registration number, a UK charity number
# (England and Wales; Scotland SC...; Northern Ireland NIC...).
TAX_ID_FORMATS = {
    Jurisdiction.US: (re.compile(r"^\d{2}-\d{7}$"), "an EIN like 12-3456789"),
    Jurisdiction.CA: (re.compile(r"^\d{9}RR\d{4}$"), "a CRA number like 123456789RR0001"),
    Jurisdiction.UK: (re.compile(r"^(\d{6,8}|SC\d{6}|NIC\d{6})$"), "a charity number"),
}
DEMO_VALUES = {"org_name": "Patronage Demo Newsroom", "org_tax_id": "00-0000000",
               "org_address": "1 Press Row, Springfield, IL 62701, USA"}  # fmt: skip


@dataclass(frozen=True)
class Finding:
    passed: bool
    subject: str
    message: str


def _ok(subject: str, message: str) -> Finding:
    return Finding(True, subject, message)


def _fail(subject: str, message: str) -> Finding:
    return Finding(False, subject, message)


def check_database(settings: Settings) -> Iterator[Finding]:
    problem = database_problem(settings, timeout_seconds=5)
    store = "PostgreSQL" if settings.uses_postgres else f"SQLite in {settings.data_dir}"
    yield _ok("database", f"{store} answers") if problem is None else _fail("database", problem)


def check_event_store(settings: Settings) -> Iterator[Finding]:
    if settings.event_store != EventStore.KURRENTDB:
        return
    problem = kurrentdb_problem(settings)
    if problem is not None:
        yield _fail("event store", problem)
        return
    yield _fail(
        "event store", "KurrentDB answers, but the Ledger cannot run on it yet (docs/scaling.md)"
    )


def check_stripe(settings: Settings) -> Iterator[Finding]:
    secret = settings.stripe_secret_key.get_secret_value()
    publishable = settings.stripe_publishable_key
    if not secret:
        yield _fail("stripe", "PATRONAGE_STRIPE_SECRET_KEY is not set: checkout cannot take money")
    elif not _SECRET_KEY.match(secret):
        yield _fail(
            "stripe",
            "PATRONAGE_STRIPE_SECRET_KEY is not a secret key (sk_live_..., sk_test_... or a "
            "restricted rk_...); a publishable key or webhook secret pasted there?",
        )
    if not _PUBLISHABLE_KEY.match(publishable):
        yield _fail("stripe", "PATRONAGE_STRIPE_PUBLISHABLE_KEY is not a publishable key (pk_...)")
    elif _SECRET_KEY.match(secret) and _mode(secret) != _mode(publishable):
        yield _fail(
            "stripe",
            f"the secret key is {_mode(secret)} mode but the publishable key is "
            f"{_mode(publishable)} mode",
        )
    secrets = [s.get_secret_value() for s in settings.stripe_webhook_secrets]
    if not secrets:
        yield _fail("stripe", "PATRONAGE_STRIPE_WEBHOOK_SECRETS is not set: every webhook gets 503")
    for number, value in enumerate(secrets, start=1):
        if not _WEBHOOK_SECRET.match(value):
            yield _fail("stripe", f"webhook secret {number} is not an endpoint secret (whsec_...)")
    yield _ok("stripe", "keys and webhook secrets checked")


def _mode(key: str) -> str:
    return key.split("_")[1]


def check_staff(settings: Settings) -> Iterator[Finding]:
    keys = [k.get_secret_value() for k in settings.staff_api_keys]
    if not keys:
        yield _fail("staff", "PATRONAGE_STAFF_API_KEYS is not set: nobody can use the console")
    for number, key in enumerate(keys, start=1):
        if len(key) < MIN_STAFF_KEY_LENGTH:
            yield _fail(
                "staff", f"staff API key {number} is shorter than {MIN_STAFF_KEY_LENGTH} characters"
            )
    if not settings.supporter_token_secret.get_secret_value():
        yield _fail(
            "supporters",
            "PATRONAGE_SUPPORTER_TOKEN_SECRET is not set: supporters would be asked again",
        )
    yield _ok("staff", "staff keys and the supporter token secret checked")


def check_smtp(settings: Settings) -> Iterator[Finding]:
    mailer = smtp_mailer(settings, timeout_most=10)
    if mailer is None:
        yield _ok("smtp", "not configured: receipts are issued but not emailed")
        return
    config = mailer.config
    try:
        mailer.check()
    except DeliveryFailedError as error:
        yield _fail("smtp", f"{config.host}:{config.port} refused or did not answer: {error}")
        return
    yield _ok("smtp", f"{config.host}:{config.port} answers ({config.security})")


def check_supporter_page(settings: Settings) -> Iterator[Finding]:
    url = settings.public_url
    if url is None or smtp_config(settings) is None:
        yield _ok("supporters", "sign-in by email is off (needs PATRONAGE_PUBLIC_URL and SMTP)")
        return
    if url.scheme != "https" and url.host not in ("127.0.0.1", "localhost", "::1"):
        yield _fail(
            "supporters",
            f"PATRONAGE_PUBLIC_URL {url} needs https: sign-in links and cookies would travel"
            " in clear",
        )
        return
    yield _ok("supporters", f"sign-in links and emails point at {url}")


def check_receipt_profile(settings: Settings) -> Iterator[Finding]:
    try:
        organisation_details(settings)  # every field the jurisdiction requires
    except SettingsError as error:
        yield _fail("receipts", str(error).removeprefix("invalid settings: "))
    for name, demo in DEMO_VALUES.items():
        if str(getattr(settings, name)).strip() == demo:
            yield _fail("receipts", f"PATRONAGE_{name.upper()} is still the demo's value")
    pattern, expected = TAX_ID_FORMATS[settings.org_jurisdiction]
    tax_id = settings.org_tax_id.strip()
    if tax_id and tax_id != DEMO_VALUES["org_tax_id"] and not pattern.match(tax_id):
        yield _fail(
            "receipts",
            f"PATRONAGE_ORG_TAX_ID is not {expected} ({settings.org_jurisdiction.value} receipts)",
        )
    yield _ok("receipts", f"the {settings.org_jurisdiction.value} receipt profile checked")


CHECKS: tuple[Callable[[Settings], Iterator[Finding]], ...] = (
    check_database,
    check_event_store,
    check_stripe,
    check_staff,
    check_smtp,
    check_supporter_page,
    check_receipt_profile,
)


def findings(settings: Settings) -> list[Finding]:
    """Every failure of every check; a check with none reports its one success line."""
    found: list[Finding] = []
    for check in CHECKS:
        results = list(check(settings))
        failures = [f for f in results if not f.passed]
        found += failures or results
    return found


def check() -> None:
    """Check the configuration: settings, database, Stripe keys, staff keys, receipt profile."""
    try:
        settings = load_settings()
    except SettingsError as error:
        typer.secho(f"FAIL  settings: {error}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    results = findings(settings)
    for finding in results:
        if finding.passed:
            typer.echo(f"ok    {finding.subject}: {finding.message}")
        else:
            typer.secho(f"FAIL  {finding.subject}: {finding.message}", fg=typer.colors.RED)
    failed = sum(not f.passed for f in results)
    if failed:
        typer.secho(f"{failed} problem(s): fix them before starting Patronage", err=True)
        raise typer.Exit(1)
    typer.echo("everything checked is fine")
