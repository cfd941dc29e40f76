"""The ask's page with a CAPTCHA configured, in a real browser against `patronage demo`
whose siteverify endpoint is a loopback server: the page's window.patronageCaptcha() gives
the token the embed sends with POST /checkout. A vouched token pays; a page without the
hook, a hook that fails, and a token the provider refuses each show the reader a sentence,
and the reader can try again. Screenshots go to `captcha-screenshots` in the last test's
temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from patronage.payments import metadata as keys
from tests.support.ask_page import THANKS, VISA, give, localstripe_list, open_ask
from tests.support.browser import chromium
from tests.support.captcha import GOOD_TOKEN, SECRET, SiteVerify, siteverify_server
from tests.support.demo import RunningDemo, demo_server

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
# What a newsroom's page defines: a Promise of its widget's token (here, a fixed one).
HOOK = "token => { window.patronageCaptcha = () => Promise.resolve(token) }"


@pytest.fixture(scope="module")
def provider() -> Iterator[SiteVerify]:
    with siteverify_server() as server:
        yield server


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, provider: SiteVerify) -> Iterator[RunningDemo]:
    env = {"PATRONAGE_CAPTCHA_VERIFY_URL": provider.url, "PATRONAGE_CAPTCHA_SECRET": SECRET}
    with demo_server(tmp_path_factory.mktemp("captcha-demo"), env) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


def checkouts_posted(page: Page) -> list[str]:
    """POST /checkout requests the page makes from now on (not /checkout/payments)."""
    posted: list[str] = []

    def note(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/checkout"):
            posted.append(request.url)

    page.on("request", note)
    return posted


def paid_by(demo: RunningDemo, email: str) -> list[str]:
    return [
        i["status"]
        for i in localstripe_list(demo, "payment_intents")
        if i["metadata"].get(keys.DONOR_EMAIL) == email
    ]


def test_a_gift_goes_through_with_the_token_the_newsrooms_hook_gives(
    demo: RunningDemo, provider: SiteVerify, browser: Browser
) -> None:
    with browser.new_context(viewport=PHONE) as context:
        context.add_init_script(f"({HOOK})({GOOD_TOKEN!r})")
        page = context.new_page()
        answer, _ = open_ask(page, f"{demo.url}/demo/article")
        assert answer["captcha_required"] is True
        give(page, demo, "Once", "reader.seven@example.org", VISA)
        expect(page.get_by_role("heading", name=THANKS)).to_be_visible(timeout=15_000)

    assert paid_by(demo, "reader.seven@example.org") == ["succeeded"]
    vouched = [a for a in provider.asked if a["response"] == GOOD_TOKEN]
    assert vouched and vouched[0]["secret"] == SECRET
    assert vouched[0]["remoteip"] == "127.0.0.1"  # the reader's address, as the server saw it


def test_without_a_token_or_with_a_refused_one_the_reader_is_told_and_can_try_again(
    demo: RunningDemo, browser: Browser, tmp_path: Path
) -> None:
    email = "reader.eight@example.org"
    screenshots = tmp_path / "captcha-screenshots"
    screenshots.mkdir()
    print(f"screenshots of the CAPTCHA's messages: {screenshots}")
    with browser.new_context(viewport=PHONE) as context:
        page = context.new_page()
        posted = checkouts_posted(page)
        ask = give(page, demo, "Once", email, VISA)  # this page forgot the hook
        alert = ask.get_by_role("alert").filter(has_text="security check")
        expect(alert).to_have_text(
            "We cannot take gifts on this page just now: its security check is missing. "
            "Please try again later."
        )
        ask.screenshot(path=screenshots / "1-no-hook-390.png")
        give_button = ask.get_by_role("button", name="Give $25 once")
        expect(give_button).to_be_enabled()

        page.evaluate("() => { window.patronageCaptcha = () => Promise.reject(new Error('x')) }")
        give_button.click()
        expect(alert).to_have_text("The security check did not complete. Please try again.")
        assert posted == [], "nothing is posted without a token"

        page.evaluate(HOOK, "a-token-the-provider-refuses")
        give_button.click()
        refused = ask.get_by_role("alert").filter(has_text="CAPTCHA")
        expect(refused).to_have_text(
            "The CAPTCHA check did not pass. Please complete it and try again."
        )
        ask.screenshot(path=screenshots / "2-refused-390.png")
        assert len(posted) == 1 and paid_by(demo, email) == []

        page.evaluate(HOOK, GOOD_TOKEN)  # the widget, completed again, gives a new token
        give_button.click()
        expect(page.get_by_role("heading", name=THANKS)).to_be_visible(timeout=15_000)

    assert len(posted) == 2
    assert paid_by(demo, email) == ["succeeded"]
