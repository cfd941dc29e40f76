"""Readers give from the demo article in a real browser, against the real demo: the two-step
ask, the card typed into localstripe's Stripe.js card element (never sent to our server),
the charge on the server, 3-D Secure in the page, a declined card and its retry, and the
reader's typos. Screenshots of each step at 390 px and 1280 px go to the folder
`ask-screenshots` under the test's temporary directory (printed by the first test)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, expect

from patronage.bootstrap import bootstrap
from patronage.config import load_settings
from patronage.domain.gift import Gift, GiftKind, gift_id_for
from patronage.domain.membership import Membership, membership_id_for
from patronage.payments import metadata as keys
from tests.support import http
from tests.support.ask_page import (
    THANKS,
    VISA,
    details,
    give,
    localstripe_list,
    open_ask,
    type_card,
)
from tests.support.browser import chromium
from tests.support.demo import RunningDemo, demo_server
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e
ARTICLE_ID = "2026-water-rates-analysis"
DECLINED_WHEN_CHARGED = "4000000000000341"
NEEDS_3D_SECURE = "4000002760003184"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# Above every real attempt this module makes (each gift is two: the card setup, the charge),
# below the typos the typo test sends: typos must not count.
LIMIT_PER_IP = 20
STEPS = ("1-first-step", "2-second-step", "3-thank-you")
Booked = TypeVar("Booked", Gift, Membership)


@dataclass(frozen=True)
class MonthlyGift:
    demo: RunningDemo
    variant: str
    subscription: dict[str, Any]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    tmp_path: Path = tmp_path_factory.mktemp("demo")
    env = {"PATRONAGE_CHECKOUT_LIMIT_PER_IP": str(LIMIT_PER_IP)}
    with demo_server(tmp_path, env) as running:
        yield running


@pytest.fixture
def unvisited_demo(tmp_path: Path) -> Iterator[RunningDemo]:
    """A demo no other test has given through: its counts start from none, so only what
    the test itself sends can reach the limits."""
    with demo_server(tmp_path, {"PATRONAGE_CHECKOUT_LIMIT_PER_IP": str(LIMIT_PER_IP)}) as running:
        yield running


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ask-screenshots", numbered=False)
    print(f"screenshots of the ask: {folder}")
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


@pytest.fixture(scope="module")
def monthly_gift(demo: RunningDemo, browser: Browser, screenshots: Path) -> Iterator[MonthlyGift]:
    """At phone width: $20 a month in two steps, the card in the Stripe element, thanks, reload."""
    with browser.new_context(viewport=PHONE) as context:
        page = context.new_page()
        answer, ask = open_ask(page, f"{demo.url}/demo/article")
        assert answer["stripe"]["js_url"] == f"{demo.localstripe_url}/js.stripe.com/v3/"
        expect(ask.get_by_text("Preview")).to_have_count(0)

        ask.get_by_role("radio", name="Monthly").check()
        twenty = ask.get_by_role("radio", name="$20 a month")
        twenty.check()
        give = ask.get_by_role("button", name="Give $20 a month")
        expect(give).to_be_visible()
        expect(ask.get_by_label("Email (for your receipt)")).to_be_hidden()  # step 2 waits
        ask.screenshot(path=screenshots / "1-first-step-390.png")
        give.click()

        expect(ask.get_by_text("Your gift: $20 a month")).to_be_visible()
        details(ask, "reader.one@example.org", "Reader One")
        type_card(page, VISA)
        ask.screenshot(path=screenshots / "2-second-step-390.png")
        ask.get_by_role("button", name="Give $20 a month").click()

        thanks = page.get_by_role("heading", name=THANKS)
        expect(thanks).to_be_visible(timeout=15_000)
        live = page.locator("[aria-live=polite]")
        expect(live).to_contain_text("Your monthly gift of $20 has started.")
        expect(live).to_contain_text("A receipt is on its way to reader.one@example.org.")
        expect(live).to_contain_text("To change or cancel your monthly gift at any time")
        manage = live.get_by_role("link", name="your supporter page")
        expect(manage).to_have_attribute("href", f"{demo.url}/my")
        live.screenshot(path=screenshots / "3-thank-you-390.png")
        assert all((screenshots / f"{n}-390.png").stat().st_size for n in STEPS)

        page.reload()
        expect(page.get_by_role("heading", name=THANKS)).to_be_visible()
        expect(page.locator("form")).to_have_count(0)
        assert page.evaluate("localStorage.getItem('patronage.token')").startswith('"v1.')

        [subscription] = localstripe_list(demo, "subscriptions")
        yield MonthlyGift(demo, answer["tracking"]["variant"], subscription)


def test_a_reader_gives_monthly_in_two_steps_and_is_thanked_after_reload(
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
    # The card the reader typed is the membership's: saved by the page's SetupIntent.
    [customer] = [
        c for c in localstripe_list(monthly_gift.demo, "customers")
        if c["id"] == subscription["customer"]
    ]  # fmt: skip
    assert customer["invoice_settings"]["default_payment_method"].startswith("pm_")


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
    demo: RunningDemo, browser: Browser, screenshots: Path
) -> None:
    """At 1280 px, on an editor's preview: an other amount, the fee, a dedication, the card,
    all by keyboard; nothing but our server and the configured Stripe.js origin is asked."""
    with browser.new_context(viewport=DESKTOP) as context:
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        preview = f"{demo.url}/demo/article?force=demo-spring-drive:article-count"
        answer, ask = open_ask(page, preview)
        # One article read is below the variant's threshold (3): no "You've read 1".
        assert answer["ask"]["heading"] == "Become a member"
        assert answer["ask"]["article_count"] is None and answer["preview"] is True
        expect(ask.get_by_text("Preview: not counted as a view")).to_be_visible()
        expect(ask.locator("#patronage-ticker")).to_have_count(0)  # nothing raised yet

        ask.get_by_role("radio", name="Monthly").focus()
        page.keyboard.press("ArrowLeft")  # native radio group: moves to "Once"
        expect(ask.get_by_role("radio", name="Once")).to_be_checked()
        expect(ask.get_by_role("radio", name="$25", exact=True)).to_be_checked()
        ask.get_by_label("Other amount (USD)").focus()
        page.keyboard.type("12.34")
        for chip in ask.get_by_role("radio", name="$").all():
            expect(chip).not_to_be_checked()  # the other amount lets go of the chips
        expect(ask.get_by_role("button", name="Give $12.34 once")).to_be_visible()
        ask.screenshot(path=screenshots / "1-first-step-1280.png")
        page.keyboard.press("Enter")  # step 1 is a form of its own

        expect(page.get_by_role("heading", name="Your details")).to_be_focused()
        fee = ask.get_by_role("checkbox")
        expect(fee).to_have_accessible_name(
            "Add $0.59 to cover the card fee, so all of your $12.34 reaches the newsroom"
        )
        fee.focus()
        page.keyboard.press("Space")
        expect(ask.get_by_role("button", name="Give $12.93 once")).to_be_visible()
        ask.get_by_label("Email (for your receipt)").focus()
        page.keyboard.type("reader.two@example.org")
        page.keyboard.press("Tab")
        page.keyboard.type("Reader Two")
        expect(ask.get_by_label("Their name")).to_be_hidden()  # only with a dedication
        ask.get_by_label("Dedicate this gift (optional)").select_option("honour")
        ask.get_by_label("Their name").focus()
        page.keyboard.type("Ms. Alvarez")
        page.locator("#patronage-card").get_by_placeholder("number").focus()
        page.keyboard.type(VISA + "12" + "34" + "123" + "62701")  # the element moves along
        ask.screenshot(path=screenshots / "2-second-step-1280.png")
        page.keyboard.press("Enter")  # submits the second step

        thanks = page.get_by_role("heading", name=THANKS)
        expect(thanks).to_be_visible(timeout=15_000)
        live = page.locator("[aria-live=polite]")
        expect(live).to_contain_text("Your gift of $12.93 is on its way to the newsroom.")
        expect(live).to_contain_text("A receipt is on its way to reader.two@example.org.")
        expect(live).not_to_contain_text("cancel")  # nothing to manage for a one-time gift
        expect(live).to_be_focused()
        live.screenshot(path=screenshots / "3-thank-you-1280.png")
        assert all((screenshots / f"{n}-1280.png").stat().st_size for n in STEPS)

    intents = localstripe_list(demo, "payment_intents")
    [intent] = [
        i for i in intents
        if i["metadata"].get(keys.DONOR_EMAIL) == "reader.two@example.org"
    ]  # fmt: skip
    assert intent["amount"] == 1293 and intent["status"] == "succeeded"
    assert intent["payment_method"].startswith("pm_") and intent["customer"].startswith("cus_")
    assert intent["metadata"][keys.FEE_COVERED_MINOR] == "59"
    assert intent["metadata"][keys.VARIANT] == "article-count"
    assert (intent["metadata"][keys.TRIBUTE_KIND], intent["metadata"][keys.TRIBUTE_NAME]) == (
        "honour",
        "Ms. Alvarez",
    )
    # No CDN, no fonts: our server, and Stripe.js from its configured origin (localstripe's
    # stand-in), which alone received the card.
    allowed = (demo.url, demo.localstripe_url)
    assert requested and all(url.startswith(allowed) for url in requested), requested
    assert any(url.startswith(f"{demo.localstripe_url}/v1/setup_intents/") for url in requested)


def test_a_declined_card_says_so_and_another_card_pays(demo: RunningDemo, browser: Browser) -> None:
    with browser.new_context(viewport=PHONE) as context:
        page = context.new_page()
        ask = give(page, demo, "Once", "reader.three@example.org", DECLINED_WHEN_CHARGED)

        problem = ask.locator("#patronage-card-problem")
        expect(problem).to_have_text(
            "Your card was declined. Please check the details or try another card.",
            timeout=15_000,
        )
        expect(ask.get_by_role("button", name="Give $25 once")).to_be_enabled()
        type_card(page, VISA)
        ask.get_by_role("button", name="Give $25 once").click()
        expect(page.get_by_role("heading", name=THANKS)).to_be_visible(timeout=15_000)

    mine = [
        i for i in localstripe_list(demo, "payment_intents")
        if i["metadata"].get(keys.DONOR_EMAIL) == "reader.three@example.org"
    ]  # fmt: skip
    assert sorted(i["status"] for i in mine) == ["requires_payment_method", "succeeded"]


def test_a_card_that_needs_3d_secure_is_authenticated_in_the_page(
    demo: RunningDemo, browser: Browser
) -> None:
    """The bank's prompt (localstripe's stand-in for it) at the card setup and again for the
    membership's first payment (requires_action, confirmCardPayment)."""
    with browser.new_context(viewport=DESKTOP) as context:
        page = context.new_page()
        give(page, demo, "Monthly", "reader.four@example.org", NEEDS_3D_SECURE)
        for _step in ("card setup", "first payment"):
            page.get_by_role("button", name="Complete authentication").click(timeout=15_000)
        expect(page.get_by_role("heading", name=THANKS)).to_be_visible(timeout=15_000)

    [customer] = [
        c for c in localstripe_list(demo, "customers")
        if c["email"] == "reader.four@example.org"
    ]  # fmt: skip
    [subscription] = localstripe_list(demo, "subscriptions", customer=customer["id"])
    assert subscription["status"] == "active"


def test_typos_get_a_readers_words_and_do_not_lock_the_next_reader_out(
    unvisited_demo: RunningDemo, browser: Browser
) -> None:
    demo = unvisited_demo
    with browser.new_context(viewport=PHONE) as context:
        page = context.new_page()
        checkouts: list[str] = []
        page.on("request", lambda r: checkouts.append(r.url) if "/checkout" in r.url else None)
        _, ask = open_ask(page, f"{demo.url}/demo/article")
        other = ask.get_by_label("Other amount (USD)")
        for typed, words in [
            ("twelve", "Please enter an amount in numbers, like 25 or 25.50."),
            ("1", "The smallest gift is $2."),
            ("12.345", "Please enter an amount in numbers, like 25 or 25.50."),
        ]:
            other.fill(typed)
            ask.get_by_role("button", name="Give").click()
            expect(ask.get_by_text(words)).to_be_visible()
            expect(other).to_have_attribute("aria-invalid", "true")
            expect(other).to_be_focused()
        other.fill("30")
        ask.get_by_role("button", name="Give $30 a month").click()
        ask.get_by_role("button", name="Give $30 a month").click()  # nothing filled in
        expect(ask.get_by_text("Please enter your email address")).to_be_visible()
        expect(ask.get_by_text("Please enter your name.")).to_be_visible()
        expect(ask.get_by_label("Email (for your receipt)")).to_be_focused()
        ask.get_by_label("Email (for your receipt)").fill("reader.five@example")
        ask.get_by_label("Dedicate this gift (optional)").select_option("memory")
        ask.get_by_role("button", name="Give $30 a month").click()
        expect(ask.get_by_text("it should look like name@example.org")).to_be_visible()
        expect(ask.get_by_text("the name of the person this gift is for")).to_be_visible()
        text = ask.inner_text()
        assert "value is not" not in text and "String should" not in text
        assert checkouts == [], "typos are caught on the page, before any request"

    # The same typos sent by a page that skips those checks, more than the address's limit:
    # each is a 422 with the reader's words and a code, and none counts.
    form = {"frequency": "monthly", "amount": "30", "currency": "USD", "email": "ada@",
            "name": "", "checkout_key": "k" * 20}  # fmt: skip
    for _ in range(LIMIT_PER_IP + 5):
        refused = http.post(f"{demo.url}/checkout", json=form)
        assert refused.status_code == 422
    codes = {p["code"]: p["message"] for p in refused.json()["detail"]}
    assert set(codes) == {"email_invalid", "name_missing"}
    assert codes["name_missing"] == "Please enter your name."
    too_small = {**form, "email": "ada@example.org", "name": "Ada", "amount": "1.50"}
    [problem] = http.post(f"{demo.url}/checkout", json=too_small).json()["detail"]
    assert (problem["code"], problem["message"]) == (
        "amount_too_small",
        "The smallest gift is 2.00 USD.",
    )

    with browser.new_context(viewport=PHONE) as context:  # the next reader, same address
        page = context.new_page()
        give(page, demo, "Once", "reader.six@example.org", VISA)
        expect(page.get_by_role("heading", name=THANKS)).to_be_visible(timeout=15_000)


def test_the_ticker_moves_and_staff_see_the_new_supporter(
    monthly_gift: MonthlyGift, browser: Browser
) -> None:
    """After the gift: the ask's ticker counts it, and the staff console lists the reader."""
    demo = monthly_gift.demo

    def raised_usd() -> int:
        ticker = http.get(f"{demo.url}/ticker/demo-spring-drive").json()
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
