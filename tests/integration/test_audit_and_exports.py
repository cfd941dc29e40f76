"""The audit trail (each staff action with its actor and time, saved with its effect) and
the CSV exports (streamed, spreadsheet-safe, equal to the ledger)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.application.audit import RECORDED_TOPIC
from patronage.bootstrap import Patronage
from patronage.domain.gift import Gift
from patronage.domain.staff import Role
from tests.support.console import add_staff, post_form, sign_in
from tests.support.projections import catch_up_all
from tests.support.staff_ledger import StaffLedger, seed_staff_ledger


@pytest.fixture
def seeded(patronage: Patronage) -> StaffLedger:
    seeded = seed_staff_ledger(patronage)
    catch_up_all(patronage)
    return seeded


@pytest.fixture
def client(patronage: Patronage, seeded: StaffLedger) -> Iterator[TestClient]:
    with TestClient(create_app(patronage)) as test_client:
        yield test_client


def finance_token(patronage: Patronage) -> dict[str, str]:
    issued = patronage.api_tokens.create("books", Role.FINANCE, 30, by="test")
    return {"Authorization": f"Bearer {issued.secret_text}"}


def rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith("\ufeff".encode()), "a byte-order mark, for spreadsheets"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


# The audit trail ----------------------------------------------------------------------------


def test_a_staff_action_is_recorded_with_its_actor_in_the_same_transaction(
    client: TestClient, patronage: Patronage, seeded: StaffLedger
) -> None:
    headers = finance_token(patronage)
    voided = client.post(
        f"/staff/receipts/{seeded.receipt_number}/void",
        json={"reason": "wrong donor name"},
        headers=headers,
    )
    assert voided.status_code == 200
    [entry] = patronage.audit.entries(action="receipt.").entries
    assert (entry.actor, entry.action, entry.subject) == (
        "token:books", "receipt.voided", seeded.receipt_number,
    )  # fmt: skip
    assert entry.details == {"reason": "wrong donor name"}
    # Saved in the one save of the void: its notification sits among the void's own events.
    recorded = patronage.ledger.recorder.select_notifications(
        entry.position - 3, 7, topics=[], stop=entry.position + 3
    )
    around = {r.topic.rsplit(".", 1)[-1] for r in recorded}
    assert "Voided" in around


def test_a_refused_action_records_nothing(client: TestClient, patronage: Patronage) -> None:
    headers = finance_token(patronage)
    refused = client.post(
        "/staff/receipts/S2026-000099/void", json={"reason": "no such"}, headers=headers
    )
    assert refused.status_code == 404
    assert patronage.audit.entries().entries == []


def test_campaign_edits_replays_and_token_creation_are_audited(
    client: TestClient, patronage: Patronage
) -> None:
    add_staff(patronage, "ed@news.example", Role.EDITOR)
    add_staff(patronage, "boss@news.example", Role.ADMIN)
    sign_in(client, "ed@news.example")
    assert (
        post_form(
            client,
            "/console/campaigns/demo-spring-drive",
            "/console/campaigns/demo-spring-drive/pause",
            {},
        ).status_code
        == 303
    )
    client.cookies.clear()
    sign_in(client, "boss@news.example")
    post_form(client, "/console/tokens", "/console/tokens", {"label": "cms", "role": "editor"})
    actions = [(e.actor, e.action) for e in patronage.audit.entries().entries]
    assert actions[:2] == [
        ("boss@news.example", "token.created"),
        ("ed@news.example", "campaign.paused"),
    ]
    audit_page = client.get("/console/audit?action=campaign.")
    assert "ed@news.example" in audit_page.text and "campaign.paused" in audit_page.text
    assert "token.created" not in audit_page.text


def test_every_recorded_action_is_one_event_of_its_own_topic(patronage: Patronage) -> None:
    with patronage.audit.action("someone", "export.gifts", "gifts"):
        pass  # an action that changes nothing is recorded alone
    [notification] = patronage.ledger.recorder.select_notifications(1, 100, topics=[RECORDED_TOPIC])
    assert patronage.audit.entries().entries[0].position == notification.id


# Exports ------------------------------------------------------------------------------------


def gifts_in_ledger(patronage: Patronage) -> dict[str, Gift]:
    ids = {
        r.originator_id
        for r in patronage.ledger.recorder.select_notifications(1, 10_000)
        if r.topic.endswith("Gift.Received")
    }
    return {str(i): patronage.ledger.get_typed(i, Gift) for i in ids}


def test_the_gift_export_matches_the_ledger(client: TestClient, patronage: Patronage) -> None:
    answer = client.get("/staff/exports/gifts.csv", headers=finance_token(patronage))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].startswith('attachment; filename="gifts-')
    exported = rows(answer.content)
    ledger = gifts_in_ledger(patronage)
    assert {r["gift_id"] for r in exported} == set(ledger)
    for row in exported:
        gift = ledger[row["gift_id"]]
        assert row["payment_id"] == gift.payment_id
        assert (row["currency"], row["amount"]) == (
            gift.amount.currency,
            gift.amount.decimal_text(),
        )
        assert row["fee_covered"] == gift.fee_covered.decimal_text()
        assert row["refunded"] == gift.refunded.decimal_text()
        assert row["net"] == gift.net.decimal_text()
        assert row["received_at"] == gift.received_at.isoformat()
    ada = next(r for r in exported if r["payment_id"] == "pi_ada_1")
    assert (ada["amount"], ada["fee_covered"], ada["refunded"], ada["net"]) == (
        "25.85", "0.85", "5.00", "20.85",
    )  # fmt: skip
    assert (ada["tribute_kind"], ada["tribute_name"], ada["email"]) == (
        "honour", "Grace Hopper", "ada@example.org",
    )  # fmt: skip
    mallory = next(r for r in exported if r["email"] == "mallory@example.org")
    assert mallory["name"] == '\'=HYPERLINK("http://x")', "a formula is shown as text"
    assert (mallory["disputes_lost"], mallory["net"]) == ("100.00", "0.00")
    receipted = next(r for r in exported if r["payment_id"] == "pi_chen_2")
    assert receipted["receipt_number"].startswith("S2026-")


def test_the_gift_export_takes_the_gift_list_filters(
    client: TestClient, patronage: Patronage
) -> None:
    headers = finance_token(patronage)
    monthly = rows(client.get("/staff/exports/gifts.csv?kind=monthly", headers=headers).content)
    assert [r["payment_id"] for r in monthly] == ["pi_ada_m2", "pi_ada_m3", "pi_ada_m4"]
    may = rows(
        client.get(
            "/staff/exports/gifts.csv?since=2026-05-01&until=2026-05-09&currency=usd",
            headers=headers,
        ).content
    )
    assert [r["payment_id"] for r in may] == ["pi_chen_2", "pi_chen_9"]
    refunded = client.get("/staff/exports/gifts.csv?status=refunded", headers=headers)
    assert [r["payment_id"] for r in rows(refunded.content)] == ["pi_ada_1"]
    bad = client.get("/staff/exports/gifts.csv?since=2026-05-09&until=2026-05-01", headers=headers)
    assert bad.status_code == 422


def test_supporters_memberships_and_receipts_export(
    client: TestClient, patronage: Patronage, seeded: StaffLedger
) -> None:
    headers = finance_token(patronage)
    supporters = rows(client.get("/staff/exports/supporters.csv", headers=headers).content)
    by_email = {(r["email"], r["currency"]): r for r in supporters}
    ada = by_email[("ada@example.org", "USD")]
    assert (ada["lifetime_gross"], ada["lifetime_refunded"], ada["lifetime_net"]) == (
        "55.85", "5.00", "50.85",
    )  # fmt: skip
    assert ada["stripe_customer_ids"] == "cus_ada123"
    memberships = rows(client.get("/staff/exports/memberships.csv", headers=headers).content)
    assert [(m["email"], m["status"], m["monthly_amount"], m["currency"]) for m in memberships] == [
        ("ada@example.org", "active", "10.00", "USD")
    ]
    receipts = rows(
        client.get("/staff/exports/receipts.csv?tax_year=2026", headers=headers).content
    )
    assert [(r["number"], r["amount"], r["currency"]) for r in receipts] == [
        (seeded.receipt_number, "15.00", "USD")
    ]


def test_exports_need_finance_and_take_a_console_session(
    client: TestClient, patronage: Patronage
) -> None:
    assert client.get("/staff/exports/gifts.csv").status_code == 401
    add_staff(patronage, "ed@news.example", Role.EDITOR)
    add_staff(patronage, "fin@news.example", Role.FINANCE)
    sign_in(client, "ed@news.example")
    assert client.get("/staff/exports/gifts.csv").status_code == 403
    client.cookies.clear()
    sign_in(client, "fin@news.example")
    assert len(rows(client.get("/staff/exports/gifts.csv").content)) == 8
    exported: list[Any] = [
        e.action for e in patronage.audit.entries(actor="fin@news.example").entries
    ]
    assert exported == ["export.gifts"]


def test_a_large_export_is_streamed_in_chunks(client: TestClient, patronage: Patronage) -> None:
    from tests.support.projections import seed_many

    seed_many(patronage.ledger, 150, 3)
    catch_up_all(patronage)
    with client.stream(
        "GET", "/staff/exports/gifts.csv", headers=finance_token(patronage)
    ) as answer:
        assert "content-length" not in answer.headers
        chunks = list(answer.iter_raw())
    assert len(chunks) > 1
    assert len(rows(b"".join(chunks))) > 400
