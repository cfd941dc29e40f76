from __future__ import annotations

import json

from patronage.payments.reduction import reduce_payload, reduced_payload_json
from tests.support import stripe_events as se


def test_a_reduced_payload_keeps_the_money_and_drops_the_person() -> None:
    metadata = se.our_metadata("ada@example.org")
    metadata |= {"patronage_donor_email": "ada@example.org", "patronage_donor_name": "Ada King"}
    session = se.checkout_session("cs_1", 2500, "ada@example.org", metadata, payment_intent="pi_1")
    session["customer_details"]["address"] = {"line1": "12 St James's Square", "city": "London"}
    event = se.event("checkout.session.completed", session)
    reduced = reduce_payload(event)
    text = reduced_payload_json(event).lower()
    for personal in ("ada@example.org", "ada king", "lovelace", "london", "james"):
        assert personal not in text
    kept = reduced["data"]["object"]
    assert (kept["amount_total"], kept["currency"], kept["payment_intent"]) == (2500, "usd", "pi_1")
    assert kept["metadata"]["patronage_supporter_id"] == metadata["patronage_supporter_id"]
    assert kept["metadata"]["patronage_campaign"] == "spring"
    assert json.loads(reduced_payload_json(event)) == reduced
