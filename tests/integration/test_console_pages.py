"""The console's forms do what they say, and record who did it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.bootstrap import Patronage
from patronage.domain.gift import Gift, gift_id_for
from patronage.domain.inbox import InboxStatus
from patronage.domain.receipt import TaxReceipt
from patronage.domain.staff import Role
from patronage.domain.supporter import Supporter
from tests.support import stripe_events as se
from tests.support.console import add_staff, csrf_token, post_form, sign_in
from tests.support.projections import catch_up_all
from tests.support.staff_ledger import StaffLedger, seed_staff_ledger, supporter_of

VARIANT = {
    "name": "urgent", "heading": "Help us finish the water story", "paragraphs": "One.\n\nTwo.",
    "cta_text": "Give", "currency": "usd", "one_time": "10, 25.50, 50", "monthly": "5, 10",
    "default_one_time": "25.50", "default_frequency": "one_time",
}  # fmt: skip


@pytest.fixture
def store() -> str:
    return "sqlite"  # the forms call the same services on either store


@pytest.fixture
def seeded(patronage: Patronage) -> StaffLedger:
    seeded = seed_staff_ledger(patronage)
    catch_up_all(patronage)
    for role in Role:
        add_staff(patronage, f"{role.value}@news.example", role)
    return seeded


@pytest.fixture
def client(patronage: Patronage, seeded: StaffLedger) -> Iterator[TestClient]:
    with TestClient(create_app(patronage)) as test_client:
        yield test_client


def test_an_editor_creates_edits_schedules_and_starts_a_campaign(
    client: TestClient, patronage: Patronage
) -> None:
    sign_in(client, "editor@news.example")
    created = post_form(
        client, "/console/campaigns", "/console/campaigns",
        {"code": "water", "campaign_name": "Water series", "priority": "5",
         "targeting": '{"include_tags": ["water"]}', **VARIANT},
    )  # fmt: skip
    assert created.headers["location"].startswith("/console/campaigns/water?notice=")
    spec = patronage.campaigns.catalogue.get("water")
    assert spec is not None and spec.targeting.include_tags == ("water",)
    [amounts] = spec.variants[0].amounts
    assert (amounts.currency, amounts.one_time, amounts.default_one_time) == (
        "USD", (1000, 2550, 5000), 2550,
    )  # fmt: skip
    page = "/console/campaigns/water"
    edited = post_form(client, page, f"{page}/variants", {**VARIANT, "heading": "The last pipes"})
    assert "notice=" in edited.headers["location"]
    post_form(client, page, f"{page}/schedule", {"starts_at": "2026-12-01T09:00", "ends_at": ""})
    post_form(client, page, f"{page}/start", {})
    patronage.campaigns.catalogue.refresh()
    spec = patronage.campaigns.catalogue.get("water")
    assert spec is not None
    assert spec.variants[0].heading == "The last pipes"
    assert spec.status.value == "live" and spec.starts_at is not None
    assert spec.starts_at.isoformat() == "2026-12-01T09:00:00+00:00"
    shown = client.get(page).text
    assert "25.50" in shown and "The last pipes" in shown
    actions = [e.action for e in patronage.audit.entries(actor="editor@news.example").entries]
    assert actions == [
        "campaign.started", "campaign.scheduled", "campaign.copy_edited", "campaign.created",
    ]  # fmt: skip


def test_a_refused_campaign_change_says_why_and_changes_nothing(
    client: TestClient, patronage: Patronage
) -> None:
    sign_in(client, "editor@news.example")
    bad = post_form(
        client, "/console/campaigns", "/console/campaigns",
        {"code": "bad", "campaign_name": "Bad", **VARIANT, "one_time": "10, 1.234"},
    )  # fmt: skip
    assert bad.headers["location"].startswith("/console/campaigns?error=")
    assert patronage.campaigns.catalogue.get("bad") is None
    page = client.get(bad.headers["location"])
    assert "decimals" in page.text or "1.234" in page.text
    assert patronage.audit.entries(action="campaign.").entries == []


def test_finance_corrects_an_address(
    client: TestClient, patronage: Patronage, seeded: StaffLedger
) -> None:
    sign_in(client, "finance@news.example")
    page = f"/console/supporters/{seeded.ada_id}"
    saved = post_form(
        client, page, f"{page}/address",
        {"line1": "1 Analytical Row", "city": "London", "postal_code": "N1 9GU", "country": "GB"},
    )  # fmt: skip
    assert saved.status_code == 303
    ada = patronage.ledger.get_typed(supporter_of(patronage, "ada@example.org"), Supporter)
    assert ada.address.line1 == "1 Analytical Row"
    [entry] = patronage.audit.entries(action="supporter.").entries
    assert (entry.actor, entry.subject) == ("finance@news.example", seeded.ada_id)


def test_finance_voids_a_receipt_from_the_register(
    client: TestClient, patronage: Patronage, seeded: StaffLedger
) -> None:
    sign_in(client, "finance@news.example")
    number = seeded.receipt_number
    assert number in client.get("/console/receipts").text
    page, action = f"/console/receipts/{number}", f"/console/receipts/{number}/void"
    asked = post_form(client, page, action, {"reason": "duplicate"})
    assert asked.status_code == 200 and f"Void receipt {number}?" in asked.text
    assert patronage.audit.entries(action="receipt.").entries == [], "nothing until confirmed"
    assert not patronage.receipting.receipt(number).is_void
    voided = post_form(client, page, action, {"reason": "duplicate", "confirmed": "yes"})
    assert voided.headers["location"].startswith(f"{page}?notice=")
    [entry] = patronage.audit.entries(action="receipt.").entries
    assert (entry.action, entry.subject) == ("receipt.voided", number)
    assert patronage.receipting.receipt(number).void_reason == "duplicate"
    shown = client.get(page).text
    assert "duplicate" in shown and "Replace…" not in shown, "a void receipt offers no action"
    again = post_form(client, "/console/receipts", action, {"reason": "twice"})
    assert "error=" in again.headers["location"]
    refused = post_form(client, "/console/receipts", action, {"reason": "x", "confirmed": "yes"})
    assert "error=" in refused.headers["location"], "a reason of three characters at least"
    assert client.get("/console/receipts/S2026-999999").status_code == 404


def test_finance_issues_a_receipt_for_one_gift_from_the_supporters_page(
    client: TestClient, patronage: Patronage
) -> None:
    sign_in(client, "finance@news.example")
    chen = f"/console/supporters/{supporter_of(patronage, 'chen.wei@example.org')}"
    gift_id = str(gift_id_for("pi_chen_9"))
    assert f'name="gift_id" value="{gift_id}"' in client.get(chen).text
    issued = post_form(
        client, chen, "/console/receipts/single", {"gift_id": gift_id, "supporter_id": chen[-36:]}
    )
    receipt_id = patronage.ledger.get_typed(gift_id_for("pi_chen_9"), Gift).receipt_id
    assert receipt_id is not None
    receipt = patronage.ledger.get_typed(receipt_id, TaxReceipt)
    assert issued.headers["location"].startswith(f"/console/receipts/{receipt.number}?notice=")
    assert f'name="gift_id" value="{gift_id}"' not in client.get(chen).text
    [entry] = patronage.audit.entries(action="receipt.issued").entries
    assert (entry.actor, entry.subject) == ("finance@news.example", f"gift {gift_id}")
    twice = post_form(
        client, chen, "/console/receipts/single", {"gift_id": gift_id, "supporter_id": chen[-36:]}
    )
    assert twice.headers["location"].startswith(f"{chen}?error=")


def test_the_gift_list_filters_and_totals(client: TestClient) -> None:
    sign_in(client, "finance@news.example")
    page = client.get("/console/gifts?kind=monthly&currency=USD").text
    assert page.count("ada@example.org") == 3
    assert "30.00 USD" in page
    export = 'href="/staff/exports/gifts.csv?kind=monthly&amp;currency=USD"'
    assert export in page
    refused = client.get("/console/gifts?since=yesterday")
    assert refused.status_code == 422 and "not a date" in refused.text


def test_search_finds_a_supporter_by_receipt_number(
    client: TestClient, patronage: Patronage, seeded: StaffLedger
) -> None:
    sign_in(client, "finance@news.example")
    found = client.get(
        f"/console/supporters?q={seeded.receipt_number.lower()}", follow_redirects=False
    )
    assert found.status_code == 303
    assert (
        found.headers["location"]
        == f"/console/supporters/{supporter_of(patronage, 'chen.wei@example.org')}"
    )


def test_an_admin_sees_the_settings_without_their_secrets(
    client: TestClient, patronage: Patronage
) -> None:
    sign_in(client, "admin@news.example")
    page = client.get("/console/settings").text
    assert "PATRONAGE_CONSOLE_SESSION_HOURS" in page
    secret = patronage.settings.supporter_token_secret.get_secret_value()
    assert secret and secret not in page
    assert "PATRONAGE_SUPPORTER_TOKEN_SECRET</code></td><td>set" in page


def test_finance_resends_a_receipt_and_opens_its_pdf(
    client: TestClient, patronage: Patronage, seeded: StaffLedger
) -> None:
    sign_in(client, "finance@news.example")
    number = seeded.receipt_number
    pdf = client.get(f"/console/receipts/{number}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    resent = post_form(client, "/console/receipts", f"/console/receipts/{number}/resend", {})
    assert "notice=" in resent.headers["location"]
    assert [e.action for e in patronage.audit.entries().entries][:1] == ["receipt.resent"]


def test_the_audit_trail_through_the_api(client: TestClient, patronage: Patronage) -> None:
    patronage.audit.record("ann@news.example", "export.gifts", "gifts")
    admin = patronage.api_tokens.create("auditor", Role.ADMIN, 1, by="test").secret_text
    answer = client.get("/staff/audit?action=export.", headers={"Authorization": f"Bearer {admin}"})
    assert answer.status_code == 200
    [entry] = answer.json()["entries"]
    assert (entry["actor"], entry["action"]) == ("ann@news.example", "export.gifts")


def test_year_end_starts_from_the_console_and_refuses_a_year_not_over(
    client: TestClient, patronage: Patronage
) -> None:
    sign_in(client, "finance@news.example")
    started = post_form(
        client, "/console/receipts", "/console/receipts/year-end",
        {"tax_year": "2025", "dry_run": "on"},
    )  # fmt: skip
    assert "notice=" in started.headers["location"]
    assert [e.action for e in patronage.audit.entries().entries][:1] == ["receipt.year_end_started"]
    refused = post_form(
        client, "/console/receipts", "/console/receipts/year-end", {"tax_year": "2999"}
    )
    assert "error=" in refused.headers["location"]


def test_finance_merges_a_duplicate_record(
    client: TestClient, patronage: Patronage, seeded: StaffLedger
) -> None:
    sign_in(client, "finance@news.example")
    chen = str(supporter_of(patronage, "chen.wei@example.org"))
    page = f"/console/supporters/{seeded.ada_id}"
    merged = post_form(
        client, page, f"{page}/merge", {"duplicate_id": chen, "reason": "same person, two emails"}
    )
    assert merged.headers["location"] == f"{page}?notice=Merged."
    [entry] = patronage.audit.entries(action="supporter.merged").entries
    assert (entry.actor, entry.subject, entry.details["duplicate"]) == (
        "finance@news.example", seeded.ada_id, chen,
    )  # fmt: skip
    again = post_form(client, page, f"{page}/merge", {"duplicate_id": chen, "reason": "again"})
    assert "error=" in again.headers["location"]


def test_finance_books_and_dismisses_unbooked_payments_beside_the_parked_events(
    client: TestClient, patronage: Patronage
) -> None:
    refund = se.event("refund.created", se.refund("re_early", "pi_later", 100))
    assert se.deliver(client, refund).json()["status"] == "parked"
    for pi in ("pi_foreign_1", "pi_foreign_2"):
        foreign = se.payment_intent(pi, 1800, {}, "grace@example.org")
        assert se.deliver(client, se.event("payment_intent.succeeded", foreign)).status_code == 200
    sign_in(client, "finance@news.example")
    page = client.get("/console/inbox").text
    assert refund["id"] in page and "payment:pi_later" in page and "Age" in page
    assert re.search(r'<td class="nowrap">\d+ s</td>', page), "the parked event's age is shown"
    for pi in ("pi_foreign_1", "pi_foreign_2"):
        assert f'action="/console/inbox/unbooked/{pi}/book"' in page
        assert f'action="/console/inbox/unbooked/{pi}/dismiss"' in page

    unbooked = "/console/inbox/unbooked"
    booked = post_form(client, "/console/inbox", f"{unbooked}/pi_foreign_1/book", {})
    assert "notice=" in booked.headers["location"]
    assert patronage.ledger.get_or_none(gift_id_for("pi_foreign_1"), Gift) is not None
    no_reason = post_form(client, "/console/inbox", f"{unbooked}/pi_foreign_2/dismiss", {})
    assert "error=" in no_reason.headers["location"]
    dismissed = post_form(
        client, "/console/inbox", f"{unbooked}/pi_foreign_2/dismiss", {"reason": "a ticket sale"}
    )
    assert "notice=" in dismissed.headers["location"]
    assert patronage.inbox.unbooked() == []
    assert "No unbooked payments." in client.get("/console/inbox").text
    actions = [e.action for e in patronage.audit.entries(actor="finance@news.example").entries]
    assert actions == ["payment.dismissed", "payment.booked"]


def test_an_admin_skips_a_parked_event_from_its_page(
    client: TestClient, patronage: Patronage
) -> None:
    refund = se.event("refund.created", se.refund("re_stray", "pi_never", 100))
    assert se.deliver(client, refund).json()["status"] == "parked"
    event_page = f"/console/inbox/{refund['id']}"
    sign_in(client, "finance@news.example")
    assert "/skip" not in client.get(event_page).text
    token = csrf_token(client.get(event_page).text)
    refused = client.post(
        f"{event_page}/skip", data={"reason": "stray", "csrf_token": token}, follow_redirects=False
    )
    assert refused.status_code == 403
    assert patronage.inbox.get(refund["id"]).status == InboxStatus.PARKED  # type: ignore[union-attr]

    sign_in(client, "admin@news.example")
    assert f'action="{event_page}/skip"' in client.get(event_page).text
    skipped = post_form(client, event_page, f"{event_page}/skip", {"reason": "a stray test refund"})
    assert "notice=" in skipped.headers["location"]
    assert patronage.inbox.get(refund["id"]).status == InboxStatus.SKIPPED  # type: ignore[union-attr]
    shown = client.get(event_page).text
    assert "a stray test refund" in shown and "/skip" not in shown
    [entry] = patronage.audit.entries(action="inbox.event_skipped").entries
    assert (entry.actor, entry.subject) == ("admin@news.example", refund["id"])


def test_every_form_on_the_pages_carries_the_csrf_token(
    client: TestClient, seeded: StaffLedger
) -> None:
    """A macro imported without the page's context rendered an empty token: every form but
    sign-out was refused in a real browser."""
    sign_in(client, "admin@news.example")
    pages = (
        "/console/inbox", "/console/reviews", "/console/receipts", "/console/staff",
        "/console/tokens", "/console/campaigns", "/console/campaigns/demo-spring-drive",
        f"/console/supporters/{seeded.ada_id}",
    )  # fmt: skip
    for path in pages:
        page = client.get(path)
        assert page.status_code == 200, path
        tokens = re.findall(r'name="csrf_token" value="([^"]*)"', page.text)
        assert tokens and all(tokens), (path, tokens)
