"""Staff receipt actions over HTTP: each answers with the register already showing it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.application.giving import RecordGift, SupporterDetails
from patronage.bootstrap import Patronage
from patronage.domain.gift import gift_id_for
from patronage.domain.money import Money
from tests.support.polling import eventually
from tests.support.stripe_events import supporter_id_for

STAFF = {"Authorization": "Bearer staff-key-for-tests"}
ADA = supporter_id_for("ada@example.org")


def give(patronage: Patronage, payment_id: str, minor: int, when: datetime) -> None:
    patronage.giving.record_gift(
        RecordGift(
            payment_id=payment_id,
            supporter=SupporterDetails(
                email="ada@example.org", name="Ada Lovelace", supporter_id=ADA
            ),
            amount=Money(minor, "USD"),
            received_at=when,
        )
    )


@pytest.fixture
def client(patronage: Patronage) -> Iterator[TestClient]:
    patronage.receipting.clock = lambda: datetime(2026, 3, 1, 12, tzinfo=UTC)
    give(patronage, "pi_2025_a", 1000, datetime(2025, 3, 1, tzinfo=UTC))
    give(patronage, "pi_2025_b", 2500, datetime(2025, 9, 1, tzinfo=UTC))
    give(patronage, "pi_2025_c", 700, datetime(2025, 12, 1, tzinfo=UTC))
    give(patronage, "pi_2026", 30000, datetime(2026, 2, 1, tzinfo=UTC))
    # The views follow the log as the service's runner would (a worker, on PostgreSQL).
    poller = patronage.views.poller(0.02)
    poller.start()
    try:
        with TestClient(create_app(patronage)) as test_client:
            yield test_client
    finally:
        poller.stop()


def test_a_single_receipt_is_in_the_register_when_the_answer_comes(client: TestClient) -> None:
    response = client.post(
        "/staff/receipts/single", json={"gift_id": str(gift_id_for("pi_2026"))}, headers=STAFF
    )
    assert response.status_code == 201
    body = response.json()
    assert body["number"] == "S2026-000001"
    assert body["in_register"]["status"] == "issued"
    assert body["in_register"]["amount"]["minor"] == 30000
    again = client.post(
        "/staff/receipts/single", json={"gift_id": str(gift_id_for("pi_2026"))}, headers=STAFF
    )
    assert again.status_code == 409
    assert "already covered" in again.json()["detail"]


def test_annual_receipt_leaves_out_gifts_receipted_singly(client: TestClient) -> None:
    single = client.post(
        "/staff/receipts/single", json={"gift_id": str(gift_id_for("pi_2025_c"))}, headers=STAFF
    )
    assert single.json()["number"] == "S2025-000001"
    annual = client.post(
        "/staff/receipts/annual",
        json={"supporter_id": str(ADA), "tax_year": 2025, "currency": "usd"},
        headers=STAFF,
    )
    assert annual.status_code == 201
    entry = annual.json()["in_register"]
    assert (entry["number"], entry["kind"], entry["gift_count"]) == ("A2025-000001", "annual", 2)
    assert entry["amount"]["minor"] == 3500
    nothing_left = client.post(
        "/staff/receipts/annual",
        json={"supporter_id": str(ADA), "tax_year": 2025, "currency": "USD"},
        headers=STAFF,
    )
    assert nothing_left.status_code == 409


def test_an_annual_receipt_waits_for_the_year_to_end(
    client: TestClient, patronage: Patronage
) -> None:
    head = patronage.ledger.head()
    response = client.post(
        "/staff/receipts/annual",
        json={"supporter_id": str(ADA), "tax_year": 2026, "currency": "USD"},
        headers=STAFF,
    )
    assert response.status_code == 409
    assert "after year end" in response.json()["detail"]
    assert patronage.ledger.head() == head


def test_void_and_replace_keep_the_trail_in_the_register(client: TestClient) -> None:
    client.post(
        "/staff/receipts/single", json={"gift_id": str(gift_id_for("pi_2026"))}, headers=STAFF
    )
    gifts = client.get(f"/staff/receipts/supporters/{ADA}/gifts", headers=STAFF).json()
    assert (gifts[0]["gift_id"], gifts[0]["receipt_number"]) == (
        str(gift_id_for("pi_2026")),
        "S2026-000001",
    )
    replaced = client.post(
        "/staff/receipts/S2026-000001/replace", json={"reason": "name misspelt"}, headers=STAFF
    )
    assert replaced.status_code == 201
    assert replaced.json()["in_register"]["replaces_number"] == "S2026-000001"
    register = client.get("/staff/receipts?tax_year=2026", headers=STAFF).json()["items"]
    assert [(r["number"], r["status"]) for r in register] == [
        ("S2026-000001", "replaced"),
        ("S2026-000002", "issued"),
    ]
    found = client.get("/staff/receipts", params={"search": "lovelace", "kind": "single",
                                                  "status": "issued"}, headers=STAFF)  # fmt: skip
    assert [r["number"] for r in found.json()["items"]] == ["S2026-000002"]
    pdf = client.get("/staff/receipts/S2026-000002/pdf?download=true", headers=STAFF)
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment")
    assert pdf.content.startswith(b"%PDF")
    resent = client.post("/staff/receipts/S2026-000002/resend", headers=STAFF)
    assert resent.status_code == 202
    voided = client.post(
        "/staff/receipts/S2026-000002/void", json={"reason": "issued in error"}, headers=STAFF
    )
    assert voided.json()["in_register"]["status"] == "void"
    twice = client.post(
        "/staff/receipts/S2026-000002/void", json={"reason": "issued in error"}, headers=STAFF
    )
    assert twice.status_code == 409 and "already void" in twice.json()["detail"]
    never = client.post("/staff/receipts/S2026-000002/resend", headers=STAFF)
    assert never.status_code == 409


def test_year_end_runs_as_a_job_whose_progress_can_be_read(
    client: TestClient, patronage: Patronage
) -> None:
    too_early = client.post("/staff/receipts/year-end", json={"tax_year": 2026}, headers=STAFF)
    assert too_early.status_code == 409
    started = client.post("/staff/receipts/year-end", json={"tax_year": 2025}, headers=STAFF)
    assert started.status_code == 202
    job_id = started.json()["job_id"]

    def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/staff/receipts/year-end/{job_id}", headers=STAFF).json()
        return None if job["state"] == "running" else job

    job = eventually(finished, "the year-end job to finish")
    assert (job["state"], job["issued"], job["first_number"]) == ("done", 1, "A2025-000001")
    assert client.get("/staff/receipts/year-end/" + "0" * 32, headers=STAFF).status_code == 404
    lists = [
        client.get("/staff/receipts/needs-correction", headers=STAFF),
        client.get("/staff/receipts/missing-details?tax_year=2025", headers=STAFF),
    ]
    assert [r.status_code for r in lists] == [200, 200]
    assert lists[0].json()["items"] == [] and lists[1].json() == []


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/staff/receipts/single", {"gift_id": "00000000-0000-0000-0000-000000000000"}, 404),
        ("/staff/receipts/single", {"gift_id": "not-a-uuid"}, 422),
        (
            "/staff/receipts/annual",
            {"supporter_id": str(ADA), "tax_year": 2025, "currency": "XXX"},
            422,
        ),
        ("/staff/receipts/S2026-000009/void", {"reason": "no such receipt"}, 404),
        ("/staff/receipts/26-1/void", {"reason": "bad number"}, 422),
        ("/staff/receipts/S2026-000001/void", {"reason": ""}, 422),
        ("/staff/receipts/year-end", {"tax_year": 1800}, 422),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(
    client: TestClient, patronage: Patronage, path: str, body: dict[str, object], code: int
) -> None:
    head = patronage.ledger.head()
    response = client.post(path, json=body, headers=STAFF)
    assert response.status_code == code
    assert response.json()["detail"]
    assert patronage.ledger.head() == head


def test_receipt_actions_need_a_staff_key(client: TestClient) -> None:
    response = client.post("/staff/receipts/single", json={"gift_id": str(gift_id_for("pi_2026"))})
    assert response.status_code == 401
