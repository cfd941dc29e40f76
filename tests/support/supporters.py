"""For the supporter page's tests: a member made at localstripe, the sign-in link read from
the caught email, a Stripe stand-in that records what it is asked, and localstripe's own
subscription delivered as the `customer.subscription.updated` event localstripe never sends."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID, uuid4

import stripe

from patronage.cli.mail_catcher import CaughtMail, mail_catcher
from patronage.config import load_settings
from patronage.domain.gift import Gift, gift_id_for
from patronage.domain.membership import Membership, membership_id_for
from patronage.domain.money import Money
from patronage.domain.values import Attribution
from patronage.payments.metadata import checkout_metadata
from patronage.payments.orders import CreatedPayment, PaymentOrder
from patronage.payments.stripe.gateway import StripePaymentGateway
from tests.support import http
from tests.support.polling import eventually
from tests.support.servers import (
    LocalStripe,
    RunningApi,
    free_port,
    localstripe_server,
    running_api,
)
from tests.support.stripe_events import body_of, event, signature

PORTAL_URL = "https://billing.stripe.com/p/session/test_patronage"


@dataclass(frozen=True)
class Member:
    email: str
    subscription_id: str
    payment_intent_id: str  # a one-time gift too


def give_at_localstripe(
    client: stripe.StripeClient, supporter_id: UUID, email: str, name: str, monthly: int
) -> Member:
    """A monthly membership and a one-time gift of 50.00 USD, made at localstripe the way
    our checkout makes them (its metadata, the test card confirmed on the server)."""
    gateway = StripePaymentGateway(client, confirm_on_server=True)

    def order(kind: str, minor: int) -> PaymentOrder:
        metadata = checkout_metadata(
            supporter_id, kind, Attribution(), donor_email=email, donor_name=name
        )
        return PaymentOrder(uuid4(), email, name, Money(minor, "USD"), metadata)

    membership: CreatedPayment = gateway.monthly(order("monthly", monthly))
    gift = gateway.one_time(order("one_time", 5000))
    return Member(email, membership.subscription_id, gift.payment_intent_id)


def sign_in_link(caught: CaughtMail, email: str, after: int = 0) -> str:
    """The sign-in link in the newest email to `email` among those after the first `after`."""

    def link() -> str | None:
        for message in reversed(caught.messages()[after:]):
            if message["To"] == email and "sign-in link" in str(message["Subject"]):
                body = message.get_body(preferencelist=("plain",))
                assert body is not None
                found = re.search(r"https?://\S+/my/sign-in/link\?token=\S+", body.get_content())
                return found.group(0) if found else None
        return None

    found: str = eventually(link, f"a sign-in link emailed to {email}")
    return found


WEBHOOK_SECRET = "whsec_supporter_pages"


@dataclass(frozen=True)
class World:
    """Patronage served on loopback with localstripe (whose webhooks reach it), an SMTP
    catcher, a recording portal, and members who gave at localstripe."""

    api: RunningApi
    stripe: LocalStripe
    mail: CaughtMail
    portal: Recorded
    members: dict[str, Member]

    def subscription(self, email: str) -> dict[str, Any]:
        subscription_id = self.members[email].subscription_id
        reply = http.get(
            f"{self.stripe.url}/v1/subscriptions/{subscription_id}", auth=(self.stripe.api_key, "")
        )
        reply.raise_for_status()
        data: dict[str, Any] = reply.json()
        return data

    def membership(self, email: str) -> Membership:
        ledger = self.api.patronage.ledger
        subscription_id = self.members[email].subscription_id
        found: Membership = eventually(
            lambda: ledger.get_or_none(membership_id_for(subscription_id), Membership),
            f"localstripe's events to start the membership of {email}",
        )
        return found

    def gift(self, email: str) -> Gift:
        ledger = self.api.patronage.ledger
        payment_id = self.members[email].payment_intent_id
        found: Gift = eventually(
            lambda: ledger.get_or_none(gift_id_for(payment_id), Gift),
            f"localstripe's events to book the one-time gift of {email}",
        )
        return found


def _name_of(email: str) -> str:
    return email.split("@")[0].replace(".", " ").title()  # member.one@ -> Member One


@contextmanager
def supporter_world(tmp_path: Path, members: dict[str, int], **overrides: Any) -> Iterator[World]:
    """`members`: email -> monthly amount in cents (each gives 50.00 USD once, too)."""
    with (
        localstripe_server(tmp_path) as server,
        mail_catcher(tmp_path / "mail") as mail,
        recording_portal() as (portal_url, recorded),
    ):
        port = free_port()  # after the others have bound theirs
        settings = load_settings(
            _env_file=None,
            **{
                "data_dir": tmp_path / "data",
                "stripe_secret_key": server.api_key,
                "stripe_api_base": server.url,
                "stripe_portal_api_base": portal_url,
                "stripe_webhook_secrets": WEBHOOK_SECRET,
                "supporter_token_secret": "supporter-secret-for-tests",
                "public_url": f"http://127.0.0.1:{port}",
                "smtp_host": mail.host,
                "smtp_port": mail.port,
                "smtp_security": "none",
                "smtp_from": "Receipts <receipts@ledger.example>",
                "projection_poll_seconds": 0.05,
                **overrides,
            },
        )
        with running_api(settings, port) as api:
            server.register_webhook("patronage", f"{api.url}/webhooks/stripe", WEBHOOK_SECRET)
            client = stripe.StripeClient(server.api_key, base_addresses={"api": server.url})
            directory = api.patronage.giving.directory
            made = {
                email: give_at_localstripe(
                    client, directory.id_for(email), email, _name_of(email), cents
                )
                for email, cents in members.items()
            }
            yield World(api, server, mail, recorded, made)


def deliver_current_subscription(world: World, email: str) -> None:
    """localstripe sends no `customer.subscription.updated`: sign one of Stripe's shape around
    the subscription as localstripe has it now, and post it to our webhook endpoint."""
    body = body_of(
        event(
            "customer.subscription.updated",
            world.subscription(email),
            created=int(time.time()),
            api_version="2017-08-15",
            previous={},
        )
    )
    answer = http.post(
        f"{world.api.url}/webhooks/stripe",
        content=body.encode(),
        headers={
            "Stripe-Signature": signature(body, WEBHOOK_SECRET),
            "Content-Type": "application/json",
        },
    )
    assert answer.status_code == 200, answer.text


@dataclass
class Recorded:
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    # Subscriptions it answers for (localstripe refuses `pause_collection`): id -> JSON.
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def updates(self, subscription_id: str) -> list[dict[str, str]]:
        path = f"/v1/subscriptions/{subscription_id}"
        return [form for method, at, form in self.requests if (method, at) == ("POST", path)]


class _Recorder(BaseHTTPRequestHandler):
    recorded: Recorded

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    def _answer(self, body: dict[str, Any] | None) -> None:
        """`body` as JSON, or Stripe's 404 for an object it does not know (None)."""
        status = 200 if body is not None else 404
        if body is None:
            error = {"type": "invalid_request_error", "code": "resource_missing"}
            body = {"error": {**error, "message": "No such subscription"}}
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("Request-Id", "req_recorded")
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        self.recorded.requests.append(("GET", self.path, {}))
        known = (
            self.recorded.customers if "/customers/" in self.path else self.recorded.subscriptions
        )
        self._answer(known.get(self.path.rsplit("/", 1)[1]))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
        self.recorded.requests.append(("POST", self.path, form))
        if self.path.startswith("/v1/subscriptions/"):
            self._answer(self.recorded.subscriptions.get(self.path.rsplit("/", 1)[1]))
            return
        self._answer(
            {
                "id": "bps_test",
                "object": "billing_portal.session",
                "customer": form.get("customer", ""),
                "return_url": form.get("return_url", ""),
                "url": PORTAL_URL,
                "livemode": False,
            }
        )


@contextmanager
def recording_portal() -> Iterator[tuple[str, Recorded]]:
    """A loopback stand-in for Stripe's billing portal API (localstripe has none), and for
    the subscriptions it is given: records each request, answers with a portal session or
    the subscription as it was given (the test reports changes as Stripe's events)."""
    recorded = Recorded()
    handler = type("Handler", (_Recorder,), {"recorded": recorded})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="portal", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", recorded
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
