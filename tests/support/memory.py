"""The application services on the library's in-memory store, for tests whose subject is not
storage: what a command decides, not how a database keeps it.

Storage itself (both SQL stores, concurrency, numbering, views, webhooks end to end) is
tested on SQLite and PostgreSQL in tests/integration.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from patronage.application.campaigns import CampaignCatalogue, Campaigns
from patronage.application.checkout import Checkout
from patronage.application.giving import Giving, UnattributedPolicy
from patronage.application.inbox import Inbox
from patronage.application.interval import Interval
from patronage.application.ledger import Ledger
from patronage.bootstrap import checkout_for, stripe_lookups
from patronage.config import Settings, load_settings
from patronage.payments.stripe.client import make_stripe_client
from patronage.storage import memory_env
from tests.support.payments import InMemoryPaymentGateway

IN_MEMORY = memory_env()


def service_settings(**changes: Any) -> Settings:
    defaults: dict[str, Any] = {
        "supporter_token_secret": "supporter-token-secret-for-tests",
    }
    return load_settings(_env_file=None, **(defaults | changes))


@dataclass
class Services:
    settings: Settings
    ledger: Ledger
    giving: Giving
    inbox: Inbox
    campaigns: Campaigns
    gateway: InMemoryPaymentGateway
    checkout: Checkout


@contextmanager
def in_memory(**setting_changes: Any) -> Iterator[Services]:
    """Every command handler on one in-memory Ledger, paying through an in-memory gateway."""
    settings = service_settings(**setting_changes)
    ledger = Ledger(env=IN_MEMORY)
    giving = Giving(ledger, UnattributedPolicy(settings.unattributed_payments))
    gateway = InMemoryPaymentGateway(confirm_on_server=settings.checkout_test_card)
    try:
        yield Services(
            settings=settings,
            ledger=ledger,
            giving=giving,
            inbox=Inbox(ledger, giving, stripe_lookups(make_stripe_client(settings))),
            campaigns=Campaigns(ledger, CampaignCatalogue(ledger, Interval(2.0))),
            gateway=gateway,
            checkout=checkout_for(settings, ledger, gateway),
        )
    finally:
        ledger.close()
