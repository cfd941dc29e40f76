"""A member's own changes that localstripe cannot take (a pause, its end) and the page's
self-service (details for receipts, a past year's annual receipt), against a recording
stand-in for Stripe: the request Stripe gets, then the ledger only once Stripe reports it."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.application.giving import RecordGift, SupporterDetails
from patronage.bootstrap import Patronage, bootstrap
from patronage.cli.mail_catcher import CaughtMail, mail_catcher
from patronage.config import load_settings
from patronage.domain.membership import Membership, MembershipStatus, membership_id_for
from patronage.domain.money import Money
from patronage.domain.supporter import Supporter
from tests.support import stripe_events as se
from tests.support.fake_stripe import customer
from tests.support.polling import eventually
from tests.support.supporters import Recorded, recording_portal, sign_in_link

ADA = "ada@example.org"
_LATER = itertools.count()
SUB = "sub_ada"


@dataclass(frozen=True)
class Page:
    patronage: Patronage
    client: TestClient
    stripe: Recorded

    def report(self, subscription: dict[str, Any]) -> None:
        """Stripe's `customer.subscription.updated` for the subscription as it is now."""
        self.stripe.subscriptions[SUB] = subscription
        # Each report a second after the last, as Stripe's would be: a report in the same
        # second loses to a status further along (docs/events.md).
        created = int(time.time()) + next(_LATER)
        evt = se.event("customer.subscription.updated", subscription, created=created)
        assert se.deliver(self.client, evt).status_code == 200

    def membership(self) -> Membership:
        return self.patronage.ledger.get_typed(membership_id_for(SUB), Membership)

    def showing(self, text: str) -> str:
        """The page once it shows `text` (the views catch up with the ledger)."""

        def page() -> str | None:
            html = self.client.get("/my").text
            return html if text in html else None

        found: str = eventually(page, f"{text!r} on the page")
        return found

    def form_token(self) -> str:
        found = re.search(r'name="form_token" value="([^"]+)"', self.client.get("/my").text)
        assert found is not None
        return found.group(1)


def subscription(**changes: Any) -> dict[str, Any]:
    sub = se.subscription(SUB, 2000, se.our_metadata(ADA, kind="monthly"), **changes)
    sub["items"]["data"][0]["current_period_end"] = int(time.time()) + 20 * 86400
    return sub


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    with mail_catcher(tmp_path / "mail") as mail, recording_portal() as (url, recorded):
        settings = load_settings(
            _env_file=None,
            data_dir=tmp_path / "data",
            stripe_secret_key="sk_test_recorded",
            stripe_api_base=url,
            stripe_webhook_secrets=se.PRIMARY_SECRET,
            supporter_token_secret="supporter-secret-for-tests",
            public_url="http://testserver",
            smtp_host=mail.host,
            smtp_port=mail.port,
            smtp_security="none",
            smtp_from="Receipts <receipts@ledger.example>",
            projection_poll_seconds=0.05,
        )
        patronage = bootstrap(settings)
        with TestClient(create_app(patronage)) as client:
            opened = Page(patronage, client, recorded)
            recorded.customers["cus_1"] = customer("cus_1", ADA, "ada")
            opened.report(subscription())
            sign_in(client, mail)
            yield opened
        patronage.close()


def sign_in(client: TestClient, mail: CaughtMail) -> None:
    client.post("/my/sign-in", data={"email": ADA})
    token = sign_in_link(mail, ADA).split("token=", 1)[1]
    assert client.post("/my/sign-in/link", data={"token": token}).status_code == 200  # followed


def test_a_pause_goes_to_stripe_and_shows_once_stripe_reports_it(page: Page) -> None:
    asked = page.client.post(
        f"/my/memberships/{page.membership().id}/pause",
        data={"form_token": page.form_token(), "months": "2"},
    )
    assert "Stripe has your change" in asked.text
    [update] = page.stripe.updates(SUB)
    assert update["pause_collection[behavior]"] == "void"
    resumes = int(update["pause_collection[resumes_at]"])
    assert abs(resumes - (time.time() + 60 * 86400)) < 120
    assert page.membership().status == MembershipStatus.ACTIVE  # Stripe has not said so yet

    page.report(subscription(pause_collection={"behavior": "void", "resumes_at": resumes}))
    assert page.membership().status == MembershipStatus.PAUSED
    shown = page.showing("Paused until")
    assert "Resume now" in shown and "Change amount" not in shown

    page.client.post(
        f"/my/memberships/{page.membership().id}/resume", data={"form_token": page.form_token()}
    )
    assert page.stripe.updates(SUB)[-1] == {"pause_collection": ""}  # Stripe's way to unset it
    page.report(subscription())
    assert page.membership().status == MembershipStatus.ACTIVE


@pytest.mark.parametrize(
    ("months", "amount", "reason"),
    [("4", None, "1 to 3 months"), ("0", None, "1 to 3 months"), (None, "1.00", "smallest")],
)
def test_changes_outside_the_rules_are_refused_and_reach_no_one(
    page: Page, months: str | None, amount: str | None, reason: str
) -> None:
    membership_id = page.membership().id
    if months is not None:
        path, data = "pause", {"months": months}
    else:
        path, data = "amount", {"amount": amount or ""}
    answer = page.client.post(
        f"/my/memberships/{membership_id}/{path}", data={"form_token": page.form_token(), **data}
    )
    assert reason in answer.text
    assert page.stripe.updates(SUB) == []


def test_details_change_future_receipts_and_a_past_year_can_be_receipted(page: Page) -> None:
    patronage = page.patronage
    supporter_id = patronage.giving.directory.id_for(ADA)
    last_year = datetime.now(UTC).year - 1
    patronage.giving.record_gift(
        RecordGift(
            payment_id="pi_last_year",
            supporter=SupporterDetails(email=ADA, name="ada"),
            amount=Money(4200, "USD"),
            received_at=datetime(last_year, 6, 1, tzinfo=UTC) + timedelta(hours=12),
        )
    )
    token = page.form_token()
    page.client.post(
        "/my/details",
        data={"form_token": token, "name": "Ada Lovelace", "line1": "12 St James's Sq",
              "city": "London", "postal_code": "SW1Y 4JH", "country": "gb"},
    )  # fmt: skip
    supporter = patronage.ledger.get_typed(supporter_id, Supporter)
    assert supporter.name == "Ada Lovelace" and supporter.address.country == "GB"

    offered = page.showing(f"Issue my {last_year} annual receipt")
    assert "42.00 USD" in offered
    issued = page.client.post(
        "/my/annual-receipt", data={"form_token": page.form_token(), "year": str(last_year)}
    )
    assert "is issued" in issued.text
    receipt = eventually(
        lambda: patronage.my_giving.statement(supporter_id).receipts or None, "the receipt"
    )[0]
    assert (receipt.kind, receipt.tax_year, receipt.amount_minor) == ("annual", last_year, 4200)
    assert receipt.donor_name == "Ada Lovelace"
    again = page.client.post(
        "/my/annual-receipt", data={"form_token": page.form_token(), "year": str(last_year)}
    )
    assert "nothing of" in again.text  # a gift is on one valid receipt at most


def test_a_change_stripe_refuses_is_said_plainly_and_records_nothing(page: Page) -> None:
    """A membership Stripe does not know (the stand-in answers 404 for it, as Stripe would)."""
    del page.stripe.subscriptions[SUB]
    answer = page.client.post(
        f"/my/memberships/{page.membership().id}/cancel", data={"form_token": page.form_token()}
    )
    assert "Stripe refused this change" in answer.text
    assert page.stripe.updates(SUB) != [] and page.membership().status == MembershipStatus.ACTIVE
