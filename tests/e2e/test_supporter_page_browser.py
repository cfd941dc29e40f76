"""A member signs in by email link, sees their gifts and receipts, changes their monthly
amount and cancels, in a real browser; every change goes to localstripe and comes back
into the ledger and the page through webhooks."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from patronage.domain.membership import Membership, MembershipStatus
from tests.support.browser import chromium
from tests.support.polling import eventually
from tests.support.supporters import (
    PORTAL_URL,
    World,
    deliver_current_subscription,
    sign_in_link,
    supporter_world,
)

pytestmark = pytest.mark.e2e
EMAIL = "member.one@example.org"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with supporter_world(tmp_path, {EMAIL: 2000}, receipts_worker_seconds=0.2) as running:
        yield running


@pytest.fixture
def screens(tmp_path: Path) -> Path:
    """PATRONAGE_SCREENSHOTS keeps them somewhere to look at after the run."""
    return Path(os.environ.get("PATRONAGE_SCREENSHOTS") or tmp_path) / "supporter-page"


def _stripe_reports(world: World, done: Callable[[Membership], bool], what: str) -> None:
    """Deliver the subscription as localstripe has it now (it sends no update event), and
    wait for the ledger to show the change."""
    deliver_current_subscription(world, EMAIL)
    ledger = world.api.patronage.ledger
    membership_id = world.membership(EMAIL).id
    eventually(lambda: done(ledger.get_typed(membership_id, Membership)), f"{what} in the ledger")


def membership_email_cancel_link(world: World) -> str:
    def link() -> str | None:
        for message in world.mail.messages():
            if "membership" in str(message["Subject"]) and message["To"] == EMAIL:
                body = message.get_body(preferencelist=("plain",))
                assert body is not None
                found = re.search(r"http://\S+/my/cancel\?token=\S+", body.get_content())
                return found.group(0) if found else None
        return None

    found: str = eventually(link, "the membership's thank-you email")
    return found


def _shot(screens: Path, page: Page, name: str) -> None:
    screens.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screens / f"{name}.png"), full_page=True)


def test_a_member_signs_in_by_email_sees_their_giving_changes_the_amount_and_cancels(
    world: World, screens: Path
) -> None:
    patronage = world.api.patronage
    world.membership(EMAIL)
    gift = world.gift(EMAIL)
    single = patronage.receipting.issue_single(gift.id)
    replacement = patronage.receipting.replace(
        single.number, "a typo in the name", by="finance@ledger.example"
    )

    with chromium() as browser, browser.new_context(viewport={"width": 390, "height": 844}) as ctx:
        page = ctx.new_page()
        page.goto(f"{world.api.url}/my")
        expect(page.get_by_role("heading", name="See your giving")).to_be_visible()
        _shot(screens, page, "1-sign-in")
        page.get_by_label("Email address").fill(EMAIL)
        page.get_by_role("button", name="Email me a sign-in link").click()
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        _shot(screens, page, "2-link-sent")

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
        _shot(screens, page, "3-my-giving")
        page.set_viewport_size({"width": 1280, "height": 900})
        _shot(screens, page, "3-my-giving-wide")
        page.set_viewport_size({"width": 390, "height": 844})

        with page.expect_download() as download:
            receipts.get_by_role(
                "link", name=f"Download PDF of receipt {replacement.number}"
            ).click()
        assert Path(download.value.path()).read_bytes().startswith(b"%PDF")

        # A new amount: localstripe has it at once; the page shows it once Stripe reports it.
        page.get_by_label("New amount each month (USD), from the next payment").fill("25.00")
        page.get_by_role("button", name="Change amount").click()
        expect(page.get_by_role("status")).to_contain_text("Stripe has your change")
        items = world.subscription(EMAIL)["items"]
        assert isinstance(items, dict) and items["data"][0]["plan"]["amount"] == 2500
        _stripe_reports(world, lambda m: m.monthly_amount.minor == 2500, "the new amount")
        page.goto(f"{world.api.url}/my")
        expect(page.get_by_test_id("membership-amount")).to_have_text("25.00 USD every month")

        # Cancel at the end of the period: the same way back.
        page.get_by_role("button", name="Cancel at the end of this period").click()
        expect(page.get_by_role("status")).to_contain_text("Stripe has your change")
        assert world.subscription(EMAIL)["cancel_at_period_end"] is True
        _stripe_reports(
            world,
            lambda m: m.status == MembershipStatus.CANCELLATION_SCHEDULED,
            "the scheduled cancellation",
        )
        page.goto(f"{world.api.url}/my")
        expect(page.get_by_test_id("membership-status")).to_have_text(
            "Ending: nothing more is charged"
        )
        expect(page.get_by_test_id("membership-next")).not_to_be_empty()
        _shot(screens, page, "4-ending")

        # The card goes to Stripe's hosted portal: the session is asked for with this customer
        # (the portal page itself is answered here: nothing leaves the machine).
        page.route(PORTAL_URL, lambda route: route.fulfill(body="Stripe's customer portal"))
        page.get_by_role("button", name="Update card").click()
        expect(page).to_have_url(PORTAL_URL)
        [(method, path, form)] = world.portal.requests
        assert (method, path) == ("POST", "/v1/billing_portal/sessions")
        assert form["customer"] == world.subscription(EMAIL)["customer"]
        assert form["return_url"] == f"{world.api.url}/my"

        # The one-click link of the membership's thank-you email: no sign-in, a page that asks,
        # and localstripe's own customer.subscription.deleted brings the end into the ledger.
        ctx.clear_cookies()
        page.goto(membership_email_cancel_link(world))
        expect(page.get_by_role("heading", name="Cancel your membership?")).to_be_visible()
        expect(page.get_by_role("main")).to_contain_text("25.00 USD every month")
        _shot(screens, page, "5-cancel-link")
        assert world.subscription(EMAIL)["status"] == "active"
        page.get_by_role("button", name="Cancel my membership").click()
        expect(page.get_by_role("heading", name="Your membership is cancelled")).to_be_visible()
        _shot(screens, page, "6-cancelled")
        assert world.subscription(EMAIL)["status"] == "canceled"
        ledger = world.api.patronage.ledger
        eventually(
            lambda: ledger.get_typed(world.membership(EMAIL).id, Membership).is_cancelled,
            "localstripe's customer.subscription.deleted in the ledger",
        )
