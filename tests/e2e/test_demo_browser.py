"""A reader gives monthly from the demo article in a real browser, against the real demo."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, expect

from patronage.bootstrap import bootstrap
from patronage.config import load_settings
from patronage.domain.gift import Gift, GiftKind, gift_id_for
from patronage.domain.membership import Membership, membership_id_for
from patronage.payments import metadata as keys
from tests.support.browser import chromium
from tests.support.demo import RunningDemo, demo_server
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e
ARTICLE_ID = "2026-water-rates-analysis"
THANKS = "Thank you for supporting our journalism"
Booked = TypeVar("Booked", Gift, Membership)


@dataclass(frozen=True)
class MonthlyGift:
    demo: RunningDemo
    variant: str
    subscription: dict[str, Any]


def localstripe_list(demo: RunningDemo, kind: str, **params: str) -> list[dict[str, Any]]:
    reply = httpx.get(
        f"{demo.localstripe_url}/v1/{kind}", params=params, auth=("sk_test_patronage_demo", "")
    )
    reply.raise_for_status()
    data: list[dict[str, Any]] = reply.json()["data"]
    return data


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    tmp_path: Path = tmp_path_factory.mktemp("demo")
    with demo_server(tmp_path) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


@pytest.fixture(scope="module")
def monthly_gift(demo: RunningDemo, browser: Browser) -> Iterator[MonthlyGift]:
    """Open the article at mobile width, give $20 a month, see the thanks, reload."""
    with browser.new_context(viewport={"width": 390, "height": 844}) as context:
        page = context.new_page()
        with page.expect_response(lambda r: r.url.endswith("/asks")) as asked:
            page.goto(f"{demo.url}/demo/article")
        answer = asked.value.json()
        assert answer["kind"] == "ask", answer
        ask = page.get_by_role("region", name=answer["ask"]["heading"])
        expect(ask).to_be_visible()

        ask.get_by_role("radio", name="Monthly").check()
        ask.locator("input[name=amount][value='20.00']").check()
        ask.get_by_label("Email").fill("reader.one@example.org")
        ask.get_by_label("Name", exact=True).fill("Reader One")
        ask.get_by_role("button", name=answer["ask"]["cta"]["text"]).click()

        thanks = page.get_by_role("heading", name=THANKS)
        expect(thanks).to_be_visible(timeout=15_000)
        expect(page.locator("[aria-live=polite]")).to_contain_text("$20.00")

        page.reload()
        expect(page.get_by_role("heading", name=THANKS)).to_be_visible()
        expect(page.locator("form")).to_have_count(0)
        assert page.evaluate("localStorage.getItem('patronage.token')").startswith('"v1.')

        [subscription] = localstripe_list(demo, "subscriptions")
        yield MonthlyGift(demo, answer["tracking"]["variant"], subscription)


def test_a_reader_gives_monthly_on_the_article_and_is_thanked_after_reload(
    monthly_gift: MonthlyGift,
) -> None:
    subscription = monthly_gift.subscription
    assert subscription["status"] == "active"
    assert subscription["items"]["data"][0]["plan"]["amount"] == 2000
    metadata = subscription["metadata"]
    assert metadata[keys.GIFT_KIND] == "monthly"
    assert metadata[keys.ARTICLE_ID] == ARTICLE_ID
    assert metadata[keys.CAMPAIGN] == "demo-spring-drive"
    assert metadata[keys.VARIANT] == monthly_gift.variant


def attributed(booked: Booked | None) -> Booked | None:
    """What the ledger booked, once it knows which ask won it."""
    return booked if booked is not None and booked.attribution.article_id else None


def test_the_gift_and_its_attribution_reach_the_ledger(monthly_gift: MonthlyGift) -> None:
    """localstripe posts its events to the demo's webhook endpoint, which books them."""
    demo = monthly_gift.demo
    subscription_id = monthly_gift.subscription["id"]
    [invoice] = localstripe_list(demo, "invoices", subscription=subscription_id)
    payment_ids = [p for p in (invoice.get("payment_intent"), invoice["id"]) if p]
    patronage = bootstrap(load_settings(_env_file=None, data_dir=demo.data_dir))
    try:
        # localstripe sends each webhook about a second after the change, in any order: the
        # invoice's event may book the gift before the subscription's names the ask that won it.
        membership = eventually(
            lambda: attributed(
                patronage.ledger.get_or_none(membership_id_for(subscription_id), Membership)
            ),
            "the attributed membership in the ledger",
        )
        gift = eventually(
            lambda: next(
                (
                    g
                    for p in payment_ids
                    if (g := attributed(patronage.ledger.get_or_none(gift_id_for(p), Gift)))
                ),
                None,
            ),
            f"an attributed gift for {payment_ids} in the ledger",
        )
        assert gift.kind == GiftKind.MONTHLY and gift.amount.minor == 2000
        for attribution in (membership.attribution, gift.attribution):
            assert attribution.article_id == ARTICLE_ID
            assert attribution.campaign == "demo-spring-drive"
            assert attribution.variant == monthly_gift.variant
    finally:
        patronage.close()


def test_a_keyboard_only_reader_gives_once_with_the_fee_and_a_dedication(
    demo: RunningDemo, browser: Browser
) -> None:
    with browser.new_context(viewport={"width": 1280, "height": 900}) as context:
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{demo.url}/demo/article?force=demo-spring-drive:article-count")
        ask = page.get_by_role("region", name="You've read 1 of our articles this year")
        expect(ask).to_be_visible()

        ask.get_by_role("radio", name="Monthly").focus()
        page.keyboard.press("ArrowLeft")  # native radio group: moves to "Once"
        expect(ask.get_by_role("radio", name="Once")).to_be_checked()
        ask.get_by_label("Other amount").focus()
        page.keyboard.type("12.34")
        page.keyboard.press("Tab")
        fee = ask.get_by_role("checkbox")
        expect(fee).to_have_accessible_name("Add $0.59 to cover the card fee (total $12.93)")
        fee.focus()
        page.keyboard.press("Space")
        ask.get_by_label("Email").focus()
        page.keyboard.type("reader.two@example.org")
        ask.get_by_label("Name", exact=True).focus()
        page.keyboard.type("Reader Two")
        ask.get_by_label("Dedicate this gift").select_option("honour")
        ask.get_by_label("Name of the person").focus()
        page.keyboard.type("Ms. Alvarez")
        page.keyboard.press("Enter")  # submits the form

        thanks = page.get_by_role("heading", name=THANKS)
        expect(thanks).to_be_visible(timeout=15_000)
        expect(page.locator("[aria-live=polite]")).to_contain_text("$12.93")
        expect(page.locator("[aria-live=polite]")).to_be_focused()

    intents = localstripe_list(demo, "payment_intents")
    [intent] = [i for i in intents if i["metadata"].get(keys.GIFT_KIND) == "one_time"]
    assert intent["amount"] == 1293 and intent["status"] == "succeeded"
    assert intent["metadata"][keys.FEE_COVERED_MINOR] == "59"
    assert intent["metadata"][keys.VARIANT] == "article-count"
    assert (intent["metadata"][keys.TRIBUTE_KIND], intent["metadata"][keys.TRIBUTE_NAME]) == (
        "honour",
        "Ms. Alvarez",
    )
    # Nothing but our own server was contacted: no CDN, no fonts, no Stripe.js in demo mode.
    assert requested and all(url.startswith(demo.url) for url in requested), requested


def test_the_ticker_moves_and_staff_see_the_new_supporter(
    monthly_gift: MonthlyGift, browser: Browser
) -> None:
    """After the gift: the ask's ticker counts it, and the staff console lists the reader."""
    demo = monthly_gift.demo

    def raised_usd() -> int:
        ticker = httpx.get(f"{demo.url}/ticker/demo-spring-drive").json()
        return sum(a["minor"] for a in ticker["raised"] if a["currency"] == "USD")

    # The webhook books the gift, then the in-process views catch up.
    eventually(lambda: raised_usd() >= 2000, "the ticker to count the gift")
    with browser.new_context() as context:
        page = context.new_page()
        page.goto(f"{demo.url}/staff")  # the old address leads to the console's sign-in
        page.get_by_label("Email").fill(demo.staff_email)
        page.get_by_label("Password").fill(demo.staff_password)
        page.get_by_role("button", name="Sign in").click()
        supporters = page.get_by_role("table", name="Supporters, most recent gift first")
        expect(supporters).to_contain_text("Reader One")
        expect(supporters).to_contain_text("reader.one@example.org")
        expect(supporters).to_contain_text("active")
        page.get_by_role("link", name="Totals").click()
        expect(page.get_by_role("table", name="Totals by campaign")).to_contain_text(
            "demo-spring-drive"
        )
