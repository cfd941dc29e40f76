"""The ask on the demo article, as a reader drives it in the browser: open it, fill both
steps, type the card into localstripe's Stripe.js card element; and what localstripe holds."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.support import http
from tests.support.demo import RunningDemo

THANKS = "Thank you for supporting our journalism"
VISA = "4242424242424242"


def localstripe_list(demo: RunningDemo, kind: str, **params: str) -> list[dict[str, Any]]:
    reply = http.get(
        f"{demo.localstripe_url}/v1/{kind}",
        params={"limit": "100", **params},
        auth=("sk_test_patronage_demo", ""),
    )
    reply.raise_for_status()
    data: list[dict[str, Any]] = reply.json()["data"]
    return data


def open_ask(page: Page, url: str) -> tuple[dict[str, Any], Locator]:
    with page.expect_response(lambda r: r.url.endswith("/asks") or "/asks?" in r.url) as asked:
        page.goto(url)
    answer: dict[str, Any] = asked.value.json()
    assert answer["kind"] == "ask", answer
    ask = page.get_by_role("region", name=answer["ask"]["heading"])
    expect(ask).to_be_visible()
    return answer, ask


def type_card(page: Page, number: str) -> None:
    """Into localstripe's card element: its own inputs, which jump to the next by themselves."""
    card = page.locator("#patronage-card")
    card.get_by_placeholder("number").fill(number)
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("34")
    card.get_by_placeholder("cvc").fill("123")
    card.get_by_placeholder("postal_code").fill("62701")


def details(ask: Locator, email: str, name: str) -> None:
    ask.get_by_label("Email (for your receipt)").fill(email)
    ask.get_by_label("Full name").fill(name)


def give(page: Page, demo: RunningDemo, frequency: str, email: str, card: str) -> Locator:
    """Both steps with the default amount, the card typed, the button pressed; the ask."""
    _, ask = open_ask(page, f"{demo.url}/demo/article")
    ask.get_by_role("radio", name=frequency).check()
    button = "Give $25 once" if frequency == "Once" else "Give $10 a month"
    ask.get_by_role("button", name=button).click()
    details(ask, email, email.split("@")[0].replace(".", " ").title())
    type_card(page, card)
    ask.get_by_role("button", name=button).click()
    return ask
