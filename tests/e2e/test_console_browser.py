"""The staff console and the API docs in a real browser, with every outside request blocked."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect
from pypdf import PdfReader

from patronage.application.giving import RecordGift, SupporterDetails
from patronage.config import load_settings
from patronage.domain.gift import Gift, ReviewState
from patronage.domain.money import Money
from patronage.domain.staff import Role
from tests.support.browser import chromium
from tests.support.console import PASSWORD
from tests.support.projections import catch_up_all
from tests.support.servers import RunningApi, running_api
from tests.support.staff_ledger import StaffLedger, seed_staff_ledger

pytestmark = pytest.mark.e2e
WIDTHS = (1280, 390)


@dataclass(frozen=True)
class Console:
    api: RunningApi
    seeded: StaffLedger
    screens: Path


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    data = tmp_path_factory.mktemp("console")
    settings = load_settings(
        _env_file=None, data_dir=data, supporter_token_secret="secret-for-tests",
        console_secret="console-secret-for-tests",
    )  # fmt: skip
    with running_api(settings) as api:
        seeded = seed_staff_ledger(api.patronage)
        catch_up_all(api.patronage)
        for role in Role:
            api.patronage.staff.add(f"{role.value}@news.example", role, PASSWORD, by="test")
        # PATRONAGE_SCREENSHOTS keeps them somewhere to look at after the run.
        screens = Path(os.environ.get("PATRONAGE_SCREENSHOTS") or data / "screens")
        yield Console(api, seeded, screens)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


@dataclass
class Outside:
    """Requests the page tried to make to anywhere but our server (all refused)."""

    urls: list[str]


def offline(context: BrowserContext, base: str) -> Outside:
    outside = Outside([])

    def only_ours(route: Route) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.urls.append(route.request.url)
            route.abort()

    context.route("**/*", only_ours)
    return outside


@pytest.fixture
def context(browser: Browser, console: Console) -> Iterator[tuple[BrowserContext, Outside]]:
    with browser.new_context(viewport={"width": 1280, "height": 900}) as ctx:
        outside = offline(ctx, console.api.url)
        yield ctx, outside
        assert outside.urls == [], "nothing is loaded from outside"


def sign_in(page: Page, console: Console, role: Role) -> None:
    page.goto(f"{console.api.url}/console")
    page.get_by_label("Email").fill(f"{role.value}@news.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def shoot(page: Page, console: Console, name: str) -> None:
    """The page at desktop and phone width, whole, for a person to look at."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        path = console.screens / f"{name}-{width}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
        if width == 390:  # nothing but tables scrolls sideways on a phone
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= 390, f"{name} is {overflow}px wide at 390px"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_finance_finds_a_supporter_exports_gifts_and_signs_out(
    context: tuple[BrowserContext, Outside], console: Console, tmp_path: Path
) -> None:
    ctx, _outside = context
    page = ctx.new_page()
    sign_in(page, console, Role.FINANCE)
    expect(page.get_by_role("heading", name="Supporters")).to_be_visible()
    shoot(page, console, "supporters")

    page.get_by_label("Email, name, Stripe customer id or receipt number").fill("cus_ada123")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    gifts = page.get_by_role("table", name="Gifts and membership payments")
    expect(gifts).to_contain_text("25.85 USD")
    expect(gifts).to_contain_text("in honour of Grace Hopper")
    expect(gifts).to_contain_text("refund refunded")
    history = page.get_by_role("table", name="History")
    expect(history).to_contain_text("Payment received")
    expect(history).to_contain_text("10.00 USD, invoice in_ada_2")
    expect(page.get_by_role("link", name="cus_ada123")).to_have_attribute(
        "href", "https://dashboard.stripe.com/test/customers/cus_ada123"
    )
    shoot(page, console, "supporter")

    # A receipt number finds its supporter too.
    page.goto(f"{console.api.url}/console/supporters?q={console.seeded.receipt_number}")
    expect(page.get_by_role("heading", name="Chen Wei")).to_be_visible()

    page.get_by_role("link", name="Gifts", exact=True).click()  # not "Held gifts"
    page.get_by_label("Kind").select_option("one_time")
    page.get_by_role("button", name="Filter").click()
    shoot(page, console, "gifts")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    saved = tmp_path / "gifts.csv"
    download.value.save_as(saved)
    exported = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    ledger = console.api.patronage.ledger
    expected = {}
    for record in ledger.recorder.select_notifications(1, 10_000):
        if record.topic.endswith("Gift.Received"):
            gift = ledger.get_typed(record.originator_id, Gift)  # type: ignore[arg-type]
            if gift.kind == "one_time":
                expected[gift.payment_id] = (gift.amount.decimal_text(), gift.amount.currency,
                                             gift.net.decimal_text())  # fmt: skip
    assert {r["payment_id"]: (r["amount"], r["currency"], r["net"]) for r in exported} == expected

    # Nothing secret is readable by scripts or kept in the browser's storage.
    assert page.evaluate("document.cookie") == ""
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{console.api.url}/console/gifts")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_the_other_finance_pages_render(
    context: tuple[BrowserContext, Outside], console: Console
) -> None:
    ctx, _outside = context
    page = ctx.new_page()
    sign_in(page, console, Role.ADMIN)
    for name, heading in (
        ("totals", "Totals"), ("receipts", "Receipts"), ("inbox", "Stripe inbox"),
        ("exports", "Exports"), ("staff", "Staff"), ("tokens", "API tokens"),
        ("audit", "Audit trail"),
    ):  # fmt: skip
        page.goto(f"{console.api.url}/console/{name}")
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        shoot(page, console, name)
    page.goto(f"{console.api.url}/console/totals")
    expect(page.locator("svg.chart").first).to_be_visible()


def test_an_editor_sees_campaign_results_but_not_finance_pages(
    context: tuple[BrowserContext, Outside], console: Console
) -> None:
    ctx, _outside = context
    page = ctx.new_page()
    sign_in(page, console, Role.EDITOR)
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    expect(page.get_by_role("link", name="Supporters")).to_have_count(0)
    shoot(page, console, "campaigns")
    page.get_by_role("link", name="Spring member drive").click()
    results = page.get_by_role("heading", name="Results per variant")
    expect(results).to_be_visible()
    expect(page.locator("svg.chart[role=img]")).to_have_attribute("aria-label", "Gifts by variant")
    expect(page.get_by_role("row", name="article-count")).to_contain_text("135.85 USD")
    shoot(page, console, "campaign")
    refused = page.goto(f"{console.api.url}/console/gifts")
    assert refused is not None and refused.status == 403
    expect(page.get_by_text("This page needs the finance role.")).to_be_visible()


def test_a_form_without_its_csrf_token_is_refused(
    context: tuple[BrowserContext, Outside], console: Console
) -> None:
    ctx, _outside = context
    page = ctx.new_page()
    sign_in(page, console, Role.EDITOR)
    page.goto(f"{console.api.url}/console/campaigns/demo-spring-drive")
    before = console.api.patronage.campaigns.catalogue.get("demo-spring-drive")
    assert before is not None
    page.evaluate(
        "document.querySelectorAll('form[action$=\"/settings\"] input[name=csrf_token]')"
        ".forEach(e => e.remove())"
    )
    page.get_by_label("Priority").fill("99")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("security token is missing or out of date")).to_be_visible()
    catalogue = console.api.patronage.campaigns.catalogue
    catalogue.refresh()
    after = catalogue.get("demo-spring-drive")
    assert after is not None and after.priority == before.priority == 10
    assert console.api.patronage.audit.entries(action="campaign.retargeted").entries == []


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_docs_render_with_no_network(
    context: tuple[BrowserContext, Outside], console: Console, path: str
) -> None:
    ctx, _outside = context
    page = ctx.new_page()
    page.goto(f"{console.api.url}{path}")
    expect(page.get_by_text("/staff/exports/gifts.csv").first).to_be_visible(timeout=20_000)
    expect(page.get_by_text("/checkout/quote").first).to_be_visible()
    console.screens.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(console.screens / f"api{path.replace('/', '-')}.png"))


def test_finance_releases_a_gift_the_card_testing_guard_held(
    context: tuple[BrowserContext, Outside], console: Console
) -> None:
    patronage = console.api.patronage
    held = patronage.giving.record_gift(
        RecordGift(
            payment_id="pi_held_in_browser",
            supporter=SupporterDetails(email="tester@example.org", name="C. Tester"),
            amount=Money(500, "USD"),
            received_at=datetime(2026, 5, 2, tzinfo=UTC),
            review="2 declined payment(s) from this address recently",
        )
    )
    ctx, _outside = context
    page = ctx.new_page()
    sign_in(page, console, Role.FINANCE)
    page.get_by_role("link", name="Held for review").click()
    expect(page.get_by_role("heading", name="Held gifts")).to_be_visible()
    queue = page.get_by_role("table", name="Waiting for review, the oldest first")
    expect(queue).to_contain_text("2 declined payment(s) from this address recently")
    expect(queue).to_contain_text("5.00 USD")
    shoot(page, console, "reviews")
    page.get_by_role("button", name="Release").click()
    expect(page.get_by_role("status")).to_contain_text("Released")
    expect(queue).to_contain_text("No gifts are held.")
    assert patronage.ledger.get_typed(held, Gift).review == ReviewState.RELEASED


def pdf_of(page: Page, link: str, saved: Path) -> str:
    """Download a receipt's PDF with the page's link; its text, after checking it is one."""
    with page.expect_download() as download:
        page.get_by_role("link", name=link).click()
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-")
    return "\n".join(p.extract_text() for p in PdfReader(saved).pages)


def rendered(pdf: Path, png_stem: Path) -> Path:
    """The PDF's first page as a PNG, drawn by poppler's pdftoppm, for a person to look at."""
    if shutil.which("pdftoppm") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftoppm is missing under CI=true (apt-get install poppler-utils)")
        pytest.skip("pdftoppm is missing (apt-get install poppler-utils)")
    png_stem.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-singlefile", str(pdf), str(png_stem)], check=True
    )
    image = png_stem.with_suffix(".png")
    assert image.stat().st_size > 10_000, "the page has something drawn on it"
    return image


def test_finance_issues_a_receipt_downloads_it_replaces_and_voids_it(
    context: tuple[BrowserContext, Outside], console: Console, tmp_path: Path
) -> None:
    """A finance lead's correction, start to end, in the console: find the donor, receipt
    one gift, read the PDF, replace it (the name was wrong), then void the replacement (the
    gift was refunded by phone); the register keeps all of it."""
    steps = "receipt-correction"
    ctx, _outside = context
    page = ctx.new_page()
    sign_in(page, console, Role.FINANCE)
    page.get_by_label("Email, name, Stripe customer id or receipt number").fill("chen.wei")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Chen Wei").click()
    expect(page.get_by_role("heading", name="Chen Wei")).to_be_visible()
    gifts = page.get_by_role("table", name="Gifts and membership payments")
    issue = gifts.get_by_role("button", name="Issue a receipt for the gift of 50.00 USD")
    expect(issue).to_have_count(1)
    shoot(page, console, f"{steps}/1-supporter")

    issue.click()
    heading = page.get_by_role("heading", name="Receipt S2026-")
    expect(heading).to_be_visible()
    number = (heading.text_content() or "").split()[1]
    expect(page.get_by_role("status")).to_have_text(f"Receipt {number} issued.")
    expect(page.get_by_role("table", name="Gifts on this receipt")).to_contain_text("50.00 USD")
    shoot(page, console, f"{steps}/2-issued")

    text = pdf_of(page, "Download PDF", tmp_path / "issued.pdf")
    assert number in text and "Chen Wei" in text and "50.00" in text
    rendered(tmp_path / "issued.pdf", console.screens / steps / "3-pdf")

    page.get_by_label("Reason for replacing").fill("donor asked for their full name")
    page.get_by_role("button", name="Replace…").click()
    expect(page.get_by_role("heading", name=f"Replace receipt {number}?")).to_be_visible()
    shoot(page, console, f"{steps}/4-confirm-replace")
    page.get_by_role("button", name=f"Yes, replace {number}").click()
    expect(page.get_by_role("status")).to_contain_text(f"replaces {number}.")
    replacement = (page.get_by_role("heading", level=1).text_content() or "").split()[1]
    assert replacement != number
    expect(page.get_by_role("status")).to_have_text(f"Receipt {replacement} replaces {number}.")
    expect(page.get_by_text(f"This receipt replaces {number}, which is void.")).to_be_visible()
    shoot(page, console, f"{steps}/5-replaced")
    replaced_text = pdf_of(page, "Download PDF", tmp_path / "replacement.pdf")
    assert replacement in replaced_text and number in replaced_text
    rendered(tmp_path / "replacement.pdf", console.screens / steps / "6-replacement-pdf")

    page.get_by_label("Reason for voiding").fill("gift refunded by phone")
    page.get_by_role("button", name="Void…").click()
    expect(page.get_by_role("heading", name=f"Void receipt {replacement}?")).to_be_visible()
    shoot(page, console, f"{steps}/7-confirm-void")
    page.get_by_role("button", name=f"Yes, void {replacement}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Receipt {replacement} is void.")
    expect(page.get_by_role("table", name="History")).to_contain_text(
        "by finance@news.example: gift refunded by phone"
    )
    shoot(page, console, f"{steps}/8-voided")

    page.get_by_role("link", name="← Receipt register").click()
    register = page.get_by_role("table", name="The register")
    original_row = register.get_by_role("row").filter(
        has=page.get_by_role("link", name=number, exact=True)
    )
    expect(original_row).to_contain_text("replaced")
    expect(original_row).to_contain_text(f"by {replacement}")
    expect(original_row).to_contain_text("donor asked for their full name")
    replacement_row = register.get_by_role("row").filter(has_text=f"replaces {number}")
    expect(replacement_row).to_contain_text(replacement)
    expect(replacement_row).to_contain_text("void")
    expect(replacement_row).to_contain_text("gift refunded by phone")
    shoot(page, console, f"{steps}/9-register")

    actions = [e.action for e in console.api.patronage.audit.entries(action="receipt.").entries]
    assert actions[:3] == ["receipt.voided", "receipt.replaced", "receipt.issued"]
