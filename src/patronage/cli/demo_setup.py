"""The offline demo: localstripe on loopback, a sample campaign, and the article page."""

from __future__ import annotations

import importlib.util
import json
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import httpx

from patronage.application.campaigns import Campaigns, CampaignSettings
from patronage.application.giving import (
    Giving,
    RecordGift,
    RecordMembershipPayment,
    ReportMembership,
    SupporterDetails,
)
from patronage.domain.campaign import (
    Action,
    Campaign,
    Frequency,
    SuggestedAmounts,
    Targeting,
    Variant,
    campaign_id_for,
)
from patronage.domain.membership import MembershipStatus
from patronage.domain.money import Money
from patronage.domain.values import PostalAddress

DEMO_CAMPAIGN = "demo-spring-drive"
LOCALSTRIPE_KEY = "sk_test_patronage_demo"
_READY_SECONDS = 30.0

_AMOUNTS = tuple(
    SuggestedAmounts(currency, (1000, 2500, 5000), (500, 1000, 2000), 2500, 1000)
    for currency in ("USD", "EUR", "GBP", "CAD", "AUD")
)
DEMO_VARIANTS = (
    Variant(
        name="control",
        heading="Local news that answers to readers, not owners",
        paragraphs=(
            "The Springfield Ledger is free to read because readers like you pay for it.",
            "A monthly gift lets us plan the next investigation instead of the next cut.",
        ),
        highlighted="Every gift counts, however small.",
        cta=Action("Support the Ledger"),
        amounts=_AMOUNTS,
        default_frequency=Frequency.MONTHLY,
    ),
    Variant(
        name="article-count",
        heading="You've read %%ARTICLE_COUNT%% of our articles this year",
        paragraphs=("If our reporting is worth something to you, help keep it free for everyone.",),
        highlighted="Give monthly and you become a member.",
        cta=Action("Become a member"),
        article_count_from=3,
        secondary=Action("Why we ask", "https://example.org/why-we-ask"),
        amounts=_AMOUNTS,
        default_frequency=Frequency.MONTHLY,
    ),
)


def load_demo_campaign(campaigns: Campaigns) -> None:
    """Create and start the sample campaign, once."""
    if campaigns.ledger.get_or_none(campaign_id_for(DEMO_CAMPAIGN), Campaign) is not None:
        return
    campaigns.create(
        CampaignSettings(
            code=DEMO_CAMPAIGN,
            name="Spring member drive",
            priority=10,
            targeting=Targeting(always_ask=True),  # a demo visitor reloads a lot
            goal=Money(2_500_000, "USD"),
        ),
        DEMO_VARIANTS,
        by="demo",
    )
    campaigns.start(DEMO_CAMPAIGN, by="demo")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def hold_port(port: int) -> socket.socket:
    """A socket bound to the API's loopback port, held while localstripe and the mail catcher
    take free ports of their own: unbound, the API's port could be handed to one of them."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


def _localstripe_command(port: int, state: Path) -> list[str]:
    if importlib.util.find_spec("localstripe") is None:
        raise RuntimeError("localstripe is not installed: pip install 'patronage[demo]'")
    runner = "patronage.cli.demo_stripe"
    return [sys.executable, "-m", runner, "--port", str(port), "--state", str(state)]


@contextmanager
def localstripe(log_file: Path, state: Path) -> Iterator[str]:
    """localstripe on a free loopback port, with its state kept in `state` (a restart on it
    knows what the last run made), stopped on exit; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log_file.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            _localstripe_command(port, state),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + _READY_SECONDS
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"localstripe exited; see {log_file}")
                try:
                    httpx.get(f"{url}/v1/customers", auth=(LOCALSTRIPE_KEY, ""), timeout=1.0)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"localstripe not ready; see {log_file}") from None
                    time.sleep(0.05)  # readiness polling interval
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


@dataclass(frozen=True)
class DemoSecrets:
    """The demo's secrets, kept in its data directory so that a restart on the same
    directory still thanks earlier donors (the supporter token secret), still verifies
    localstripe's webhooks, and still signs the staff in with the same password."""

    webhook_secret: str
    supporter_token_secret: str
    console_secret: str
    staff_password: str


def demo_secrets(directory: Path) -> DemoSecrets:
    """The secrets of the demo in `directory`: made on its first run, read on the next."""
    path = directory / "demo-secrets.json"
    if path.exists():
        return DemoSecrets(**json.loads(path.read_text()))
    made = DemoSecrets(
        webhook_secret=f"whsec_demo_{secrets.token_hex(16)}",
        supporter_token_secret=secrets.token_hex(32),
        console_secret=secrets.token_urlsafe(32),
        staff_password=secrets.token_urlsafe(12),
    )
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    partial.touch(mode=0o600)  # secrets: readable by the demo's user only, from the start
    partial.write_text(json.dumps(asdict(made)))
    partial.replace(path)
    return made


def register_webhook(localstripe_url: str, webhook_url: str, secret: str) -> None:
    """Ask localstripe to sign and POST its events to our webhook endpoint."""
    response = httpx.post(
        f"{localstripe_url}/_config/webhooks/patronage",
        data={"url": webhook_url, "secret": secret},
        auth=(LOCALSTRIPE_KEY, ""),
    )
    response.raise_for_status()


# Last year's giving, so a newcomer can run year end straight away -----------------------

_TOWN = {"city": "Springfield", "region": "IL", "country": "US"}
_DONORS = (
    ("ada.lovelace@example.org", "Ada Lovelace",
     PostalAddress(line1="12 St James's Sq", postal_code="62701", **_TOWN)),
    ("grace.hopper@example.org", "Grace Hopper",
     PostalAddress(line1="4 Harbor Rd", line2="Apt 2", postal_code="62702", **_TOWN)),
    ("alan.turing@example.org", "Alan Turing",
     PostalAddress(line1="9 Bletchley Ln", postal_code="62703", **_TOWN)),
)  # fmt: skip


def load_last_year(giving: Giving, zone: tzinfo, now: datetime) -> int:
    """One-time gifts and a year of monthly payments from last year (in the organisation's
    time zone), one of them at 8 pm on New Year's Eve; once. Returns last year."""
    year = now.astimezone(zone).year - 1
    people = [SupporterDetails(email=e, name=n, address=a) for e, n, a in _DONORS]
    one_time = [(0, 3, 14, 5000), (1, 6, 2, 2500), (2, 9, 30, 10000), (0, 12, 31, 7500)]
    for n, (who, month, day, minor) in enumerate(one_time):
        hour = 20 if (month, day) == (12, 31) else 12  # New Year's Eve, still last year here
        giving.record_gift(
            RecordGift(
                payment_id=f"pi_demo_{year}_{n}",
                supporter=people[who],
                amount=Money(minor, "USD"),
                received_at=datetime(year, month, day, hour, tzinfo=zone).astimezone(UTC),
            )
        )
    started = datetime(year, 1, 15, 12, tzinfo=zone).astimezone(UTC)
    membership = ReportMembership(
        f"sub_demo_{year}", people[1], Money(1000, "USD"), MembershipStatus.ACTIVE, started
    )
    for month in range(1, 13):
        paid = datetime(year, month, 15, 12, tzinfo=zone).astimezone(UTC)
        giving.record_membership_payment(
            RecordMembershipPayment(
                membership, f"in_demo_{year}_{month}", f"pi_demo_{year}_m{month}",
                Money(1000, "USD"), paid,
            )
        )  # fmt: skip
    return year
