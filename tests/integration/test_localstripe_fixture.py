"""The localstripe fixture answers the official SDK over real HTTP."""

from __future__ import annotations

from pathlib import Path

import stripe

from tests.support.servers import localstripe_server


def test_sdk_creates_a_customer_on_localstripe(tmp_path: Path) -> None:
    with localstripe_server(tmp_path) as server:
        client = stripe.StripeClient(server.api_key, base_addresses={"api": server.url})
        customer = client.v1.customers.create(params={"email": "ada@example.org"})
        assert customer.id.startswith("cus_")
        fetched = client.v1.customers.retrieve(customer.id)
        assert fetched.email == "ada@example.org"
