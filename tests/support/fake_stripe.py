"""A small Stripe stand-in on loopback for what localstripe lacks (Prices in events, invoice
payments, customers without our metadata): real HTTP, answering in Stripe's JSON shapes, so
the SDK's client is used exactly as in production (never patched)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_KEY = "sk_test_patronage_fake_stripe"


@dataclass
class FakeStripeState:
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoice_of_payment: dict[str, str] = field(default_factory=dict)  # PaymentIntent -> invoice
    events: list[dict[str, Any]] = field(default_factory=list)  # newest first, as Stripe lists
    calls: list[str] = field(default_factory=list)

    def add_customer(self, customer_id: str, email: str, name: str = "") -> None:
        self.customers[customer_id] = customer(customer_id, email, name)


def customer(customer_id: str, email: str, name: str = "") -> dict[str, Any]:
    return {
        "id": customer_id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": 1_780_000_000,
        "email": email,
        "invoice_settings": {"default_payment_method": None},
        "livemode": False,
        "metadata": {},
        "name": name or None,
    }


def _invoice_payment(payment_intent: str, invoice_id: str) -> dict[str, Any]:
    return {
        "id": f"inpay_{invoice_id}",
        "object": "invoice_payment",
        "amount_paid": None,
        "amount_requested": 0,
        "created": 1_780_000_000,
        "currency": "usd",
        "invoice": invoice_id,
        "is_default": True,
        "livemode": False,
        "payment": {"type": "payment_intent", "payment_intent": payment_intent},
        "status": "paid",
        "status_transitions": {"canceled_at": None, "paid_at": 1_780_000_000},
    }


def _list(url: str, data: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": False, "url": url}


def _not_found(what: str) -> tuple[int, dict[str, Any]]:
    message = f"No such {what}"
    error = {"type": "invalid_request_error", "code": "resource_missing", "message": message}
    return 404, {"error": error}


class _Handler(BaseHTTPRequestHandler):
    state: FakeStripeState

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        self.state.calls.append(f"GET {url.path}")
        status, body = self._answer(url.path, query)
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("Request-Id", "req_fake")
        self.end_headers()
        self.wfile.write(raw)

    def _answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if path.startswith("/v1/customers/"):
            found = self.state.customers.get(path.rsplit("/", 1)[1])
            return (200, found) if found else _not_found("customer")
        if path == "/v1/invoice_payments":
            payment_intent = query.get("payment[payment_intent]", "")
            invoice_id = self.state.invoice_of_payment.get(payment_intent)
            data = [_invoice_payment(payment_intent, invoice_id)] if invoice_id else []
            return 200, _list(path, data)
        if path == "/v1/events":
            return 200, _list(path, self.state.events)
        return _not_found(f"route {path}")


@dataclass(frozen=True)
class FakeStripe:
    url: str
    state: FakeStripeState
    api_key: str = API_KEY


@contextmanager
def fake_stripe_server() -> Iterator[FakeStripe]:
    state = FakeStripeState()
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="fake-stripe", daemon=True)
    thread.start()
    try:
        yield FakeStripe(url=f"http://127.0.0.1:{server.server_address[1]}", state=state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
