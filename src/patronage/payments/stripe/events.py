"""Stripe's own list of its recent events (the last 30 days): what to fetch when webhooks
were missed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import stripe


class StripeListRefusedError(Exception):
    """Stripe (or the server standing in for it) refused to list its events."""


class StripeEventList:
    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client

    def recent(self, *, undelivered_only: bool) -> Iterator[dict[str, Any]]:
        """Each event Stripe still lists, newest first; only those whose delivery failed
        with `undelivered_only`."""
        params: dict[str, object] = {"limit": 100}
        if undelivered_only:
            params["delivery_success"] = False
        try:
            listed = self._client.v1.events.list(params=params)  # type: ignore[arg-type]
            for event in listed.auto_paging_iter():
                # for_json: the SDK keeps decimal strings (unit_amount_decimal) as Decimal.
                yield event.to_dict(for_json=True)
        except stripe.StripeError as error:
            raise StripeListRefusedError(error.user_message or str(error)) from None
