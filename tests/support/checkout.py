"""Checkout test parts: settings pointing at localstripe, and a recording proxy in front of it.

localstripe ignores idempotency keys, so the proxy (a real HTTP server on loopback) records
each request's method, path and Idempotency-Key header on its way through.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from pydantic import AnyHttpUrl, SecretStr

from patronage.config import Settings
from tests.support import http
from tests.support.servers import LocalStripe, loopback_http


@dataclass
class RecordedRequest:
    method: str
    path: str
    idempotency_key: str


@dataclass
class RecordingProxy:
    url: str
    requests: list[RecordedRequest] = field(default_factory=list)

    def creates(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path == path]


@contextmanager
def recording_proxy(target: str) -> Iterator[RecordingProxy]:
    recorded: list[RecordedRequest] = []

    class Handler(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else None
            recorded.append(
                RecordedRequest(
                    self.command,
                    self.path.split("?")[0],
                    self.headers.get("idempotency-key", ""),
                )
            )
            headers = {
                k: v for k, v in self.headers.items() if k.lower() not in {"host", "content-length"}
            }
            reply = http.request(self.command, target + self.path, headers=headers, content=body)
            self.send_response(reply.status_code)
            self.send_header("content-type", reply.headers.get("content-type", "application/json"))
            self.send_header("content-length", str(len(reply.content)))
            self.end_headers()
            self.wfile.write(reply.content)

        do_GET = do_POST = do_DELETE = _forward  # noqa: N815

        def log_message(self, *_args: Any) -> None:
            return

    with loopback_http(Handler) as url:
        yield RecordingProxy(url, recorded)


def with_stripe(settings: Settings, api_base: str, api_key: str, **changes: Any) -> Settings:
    return settings.model_copy(
        update={
            "stripe_secret_key": SecretStr(api_key),
            "stripe_publishable_key": "pk_test_patronage",
            "stripe_api_base": AnyHttpUrl(api_base),
            **changes,
        }
    )


def stripe_objects(localstripe: LocalStripe, kind: str) -> list[dict[str, Any]]:
    """Every object of a kind at localstripe (payment_intents, customers, subscriptions...)."""
    reply = http.get(
        f"{localstripe.url}/v1/{kind}", params={"limit": 100}, auth=(localstripe.api_key, "")
    )
    reply.raise_for_status()
    data: list[dict[str, Any]] = reply.json()["data"]
    return data


def confirm_card_setup(localstripe: LocalStripe, client_secret: str, number: str) -> str:
    """What localstripe's Stripe.js does in confirmCardSetup, over HTTP: the card reaches
    the provider, never our server; returns the saved payment method."""
    setup_intent_id = client_secret.split("_secret_")[0]
    reply = http.post(
        f"{localstripe.url}/v1/setup_intents/{setup_intent_id}/confirm",
        json={
            "key": "pk_test_patronage",
            "client_secret": client_secret,
            "payment_method_data": {
                "type": "card",
                "card": {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"},
            },
        },
    )
    reply.raise_for_status()
    method: str = reply.json()["payment_method"]
    return method
