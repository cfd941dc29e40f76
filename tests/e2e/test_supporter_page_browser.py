"""A member signs in by email link, sees their gifts and receipts, changes their monthly
amount and cancels, in a real browser; every change goes to localstripe and comes back
into the ledger and the page through webhooks."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import stripe
from playwright.sync_api import Page, expect

from patronage.cli.mail_catcher import CaughtMail, mail_catcher
from patronage.config import load_settings
from patronage.domain.gift import Gift, gift_id_for
from patronage.domain.membership import Membership, MembershipStatus, membership_id_for
from tests.support.browser import chromium
from tests.support.polling import eventually
from tests.support.servers import (
    LocalStripe,
    RunningApi,
    free_port,
    localstripe_server,
    running_api,
)
from tests.support.supporters import (
    PORTAL_URL,
    Member,
    Recorded,
    deliver_current_subscription,
    give_at_localstripe,
    recording_portal,
    sign_in_link,
)

pytestmark = pytest.mark.e2e
WEBHOOK_SECRET = "whsec_supporter_page"
EMAIL = "member.one@example.org"


@dataclass(frozen=True)
class World:
    api: RunningApi
    stripe: LocalStripe
    mail: CaughtMail
    portal: Recorded
    member: Member
    screens: Path  # PATRONAGE_SCREENSHOTS keeps them somewhere to look at after the run


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    port = free_port()
    with (
        localstripe_server(tmp_path) as server,
        mail_catcher(tmp_path / "mail") as mail,
        recording_portal() as (portal_url, recorded),
    ):
        settings = load_settings(
            _env_file=None,
            data_dir=tmp_path / "data",
            stripe_secret_key=server.api_key,
            stripe_api_base=server.url,
            stripe_portal_api_base=portal_url,
            stripe_webhook_secrets=WEBHOOK_SECRET,
            supporter_token_secret="supporter-secret-for-the-browser-test",
            public_url=f"http://127.0.0.1:{port}",
            smtp_host=mail.host,
            smtp_port=mail.port,
            smtp_security="none",
            smtp_from="Receipts <receipts@ledger.example>",
            projection_poll_seconds=0.05,
        )
        with running_api(settings, port) as api:
            server.register_webhook("patronage", f"{api.url}/webhooks/stripe", WEBHOOK_SECRET)
            client = stripe.StripeClient(server.api_key, base_addresses={"api": server.url})
            member = give_at_localstripe(api.patronage, client, EMAIL, "Member One", 2000)
            screens = Path(os.environ.get("PATRONAGE_SCREENSHOTS") or tmp_path) / "supporter-page"
            yield World(api, server, mail, recorded, member, screens)


def _booked(world: World) -> tuple[Membership, Gift]:
    ledger = world.api.patronage.ledger
    membership = eventually(
        lambda: ledger.get_or_none(membership_id_for(world.member.subscription_id), Membership),
        "localstripe's events to start the membership",
    )
    gift = eventually(
        lambda: ledger.get_or_none(gift_id_for(world.member.payment_intent_id), Gift),
        "localstripe's events to book the one-time gift",
    )
    return membership, gift


def _subscription(world: World) -> dict[str, object]:
    reply = httpx.get(
        f"{world.stripe.url}/v1/subscriptions/{world.member.subscription_id}",
        auth=(world.stripe.api_key, ""),
    )
    reply.raise_for_status()
    data: dict[str, object] = reply.json()
    return data


def _stripe_reports(world: World, done: Callable[[Membership], bool], what: str) -> None:
    """Deliver the subscription as localstripe has it now (it sends no update event), and
    wait for the ledger to show the change."""
    deliver_current_subscription(
        world.api.url, world.stripe.url, world.stripe.api_key,
        world.member.subscription_id, WEBHOOK_SECRET,
    )  # fmt: skip
    subscription_id = world.member.subscription_id
    ledger = world.api.patronage.ledger
    eventually(
        lambda: done(ledger.get_typed(membership_id_for(subscription_id), Membership)),
        f"{what} in the ledger",
    )


def _shot(world: World, page: Page, name: str) -> None:
    world.screens.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(world.screens / f"{name}.png"), full_page=True)


def test_a_member_signs_in_by_email_sees_their_giving_changes_the_amount_and_cancels(
    world: World,
) -> None:
    patronage = world.api.patronage
    _membership, gift = _booked(world)
    single = patronage.receipting.issue_single(gift.id)
    replacement = patronage.receipting.replace(
        single.number, "a typo in the name", by="finance@ledger.example"
    )

    with chromium() as browser, browser.new_context(viewport={"width": 390, "height": 844}) as ctx:
        page = ctx.new_page()
        page.goto(f"{world.api.url}/my")
        expect(page.get_by_role("heading", name="See your giving")).to_be_visible()
        _shot(world, page, "1-sign-in")
        page.get_by_label("Email address").fill(EMAIL)
        page.get_by_role("button", name="Email me a sign-in link").click()
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        _shot(world, page, "2-link-sent")

        page.goto(sign_in_link(world.mail, EMAIL))
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Your giving")).to_be_visible()
        gifts = page.get_by_role("region", name="Your gifts")
        expect(gifts).to_contain_text("One-time gift")
        expect(gifts).to_contain_text("Membership payment")
        expect(gifts).to_contain_text("50.00 USD")
        receipts = page.get_by_role("region", name="Your receipts")
        expect(receipts.locator("li.void")).to_contain_text(single.number)
        expect(receipts.locator("li.void")).to_contain_text("Void: replaced by")
        expect(receipts).to_contain_text(replacement.number)
        expect(page.get_by_test_id("membership-amount")).to_have_text("20.00 USD every month")
        # The ask on this device now thanks instead of asking.
        assert page.evaluate("localStorage.getItem('patronage.token')").startswith('"v1.')
        _shot(world, page, "3-my-giving")

        with page.expect_download() as download:
            receipts.get_by_role(
                "link", name=f"Download PDF of receipt {replacement.number}"
            ).click()
        assert Path(download.value.path()).read_bytes().startswith(b"%PDF")

        # A new amount: localstripe has it at once; the page shows it once Stripe reports it.
        page.get_by_label("New amount each month (USD), from the next payment").fill("25.00")
        page.get_by_role("button", name="Change amount").click()
        expect(page.get_by_role("status")).to_contain_text("Stripe has your change")
        items = _subscription(world)["items"]
        assert isinstance(items, dict) and items["data"][0]["plan"]["amount"] == 2500
        _stripe_reports(world, lambda m: m.monthly_amount.minor == 2500, "the new amount")
        page.goto(f"{world.api.url}/my")
        expect(page.get_by_test_id("membership-amount")).to_have_text("25.00 USD every month")

        # Cancel at the end of the period: the same way back.
        page.get_by_role("button", name="Cancel at the end of this period").click()
        expect(page.get_by_role("status")).to_contain_text("Stripe has your change")
        assert _subscription(world)["cancel_at_period_end"] is True
        _stripe_reports(
            world,
            lambda m: m.status == MembershipStatus.CANCELLATION_SCHEDULED,
            "the scheduled cancellation",
        )
        page.goto(f"{world.api.url}/my")
        expect(page.get_by_test_id("membership-status")).to_have_text(
            "Ends at the end of this period"
        )
        _shot(world, page, "4-ending")

        # The card goes to Stripe's hosted portal: the session is asked for with this customer.
        with page.expect_request(lambda r: r.url.startswith(PORTAL_URL)) as to_portal:
            page.get_by_role("button", name="Update card").click()
        assert to_portal.value.url == PORTAL_URL
        [(method, path, form)] = world.portal.requests
        assert (method, path) == ("POST", "/v1/billing_portal/sessions")
        assert form["customer"] == _subscription(world)["customer"]
        assert form["return_url"] == f"{world.api.url}/my"
