"""Probes and metrics on both stores: /healthz, /readyz (503 with reasons), /metrics (staff
only, or on its own port), and one Stripe event followed through the logs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.application.giving import RecordGift, SupporterDetails
from patronage.bootstrap import Patronage, bootstrap
from patronage.config import Settings, load_settings
from patronage.domain.gift import gift_id_for
from patronage.domain.money import Money
from patronage.domain.values import Attribution
from patronage.logs import configure_logging
from tests.support import http
from tests.support import stripe_events as se
from tests.support.polling import eventually
from tests.support.proxy import outage_proxy
from tests.support.servers import free_port, running_api
from tests.support.stores import postgres_schema

STAFF = {"Authorization": "Bearer staff-key-for-tests"}


def _give(patronage: Patronage, n: int = 1) -> None:
    patronage.giving.record_gift(
        RecordGift(
            f"pi_ops_{n}",
            SupporterDetails(email=f"ops{n}@example.org", name="Ops"),
            Money(1500, "USD"),
            datetime(2026, 6, 1, tzinfo=UTC),
            Attribution(campaign="spring"),
        )
    )


def test_healthz_says_alive_and_nothing_about_the_data(patronage: Patronage) -> None:
    _give(patronage)
    response = TestClient(create_app(patronage)).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert TestClient(create_app(patronage)).get("/health").status_code == 404


def test_readyz_is_503_while_a_view_is_too_far_behind(settings: Settings) -> None:
    patronage = bootstrap(settings.model_copy(update={"ready_max_lag": 0}))
    try:
        client = TestClient(create_app(patronage))  # no lifespan: nothing runs the views
        assert client.get("/readyz").json()["status"] == "ready"
        _give(patronage)
        behind = client.get("/readyz")
        assert behind.status_code == 503
        body = behind.json()
        assert body["database"] == "ok"
        assert body["views"]["supporters"] == {"lag": 1, "ready": False}
        assert "view supporters is more than 0 events behind" in body["reasons"]
        patronage.views.poller(0.1).poll_once()
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["views"]["totals"] == {"lag": 0, "ready": True}
    finally:
        patronage.close()


def test_readyz_is_503_until_setup_creates_the_tables(settings: Settings) -> None:
    patronage = bootstrap(settings.model_copy(update={"create_tables": False}))
    try:
        missing = TestClient(create_app(patronage)).get("/readyz")
        assert missing.status_code == 503
        assert missing.json()["database"] == "tables missing"
        assert missing.json()["reasons"] == ["the tables are missing: run `patronage setup`"]
    finally:
        patronage.close()


@pytest.mark.postgres
def test_readyz_is_503_while_the_database_is_cut_off_and_ready_again_after(
    tmp_path: Path,
) -> None:
    with postgres_schema() as schema, outage_proxy("127.0.0.1", 5432) as proxy:
        settings = load_settings(
            _env_file=None,
            data_dir=tmp_path,
            database_url=f"postgresql://postgres@127.0.0.1:{proxy.port}/test",
            database_schema=schema,
        )
        patronage = bootstrap(settings)
        try:
            client = TestClient(create_app(patronage))
            assert client.get("/readyz").status_code == 200
            proxy.cut()
            down = client.get("/readyz")
            assert down.status_code == 503
            assert down.json()["database"] == "unreachable"
            assert client.get("/healthz").status_code == 200, "liveness ignores the database"
            proxy.restore()
            eventually(lambda: client.get("/readyz").status_code == 200, "ready after the outage")
        finally:
            patronage.close()


def test_metrics_are_for_staff_and_count_webhooks_by_type_and_result(
    patronage: Patronage,
) -> None:
    with TestClient(create_app(patronage)) as client:
        assert client.get("/metrics").status_code == 401
        metadata = se.our_metadata("ada@example.org")
        intent = se.event(
            "payment_intent.succeeded", se.payment_intent("pi_metrics", 2500, metadata)
        )
        session = se.event(
            "checkout.session.completed",
            se.checkout_session(
                "cs_metrics",
                2500,
                "ada@example.org",
                metadata,
                "payment",
                payment_intent="pi_metrics",
            ),
            created=se.T0 + 2,
        )
        assert se.deliver(client, intent).json()["status"] == "parked"  # before its session
        assert se.deliver(client, session).json()["status"] == "applied"
        assert se.deliver(client, intent).json()["duplicate"] is True
        assert se.deliver(client, intent, secret="whsec_forged").status_code == 400
        patronage.views.poller(0.1).poll_once()
        text = client.get("/metrics", headers=STAFF).text
    lines = set(text.splitlines())
    assert (
        'patronage_webhook_events_total{result="parked",type="payment_intent.succeeded"} 1.0'
        in lines
    )
    assert (
        'patronage_webhook_events_total{result="applied",type="checkout.session.completed"} 1.0'
        in lines
    )
    assert (
        'patronage_webhook_events_total{result="duplicate",type="payment_intent.succeeded"} 1.0'
        in lines
    )
    assert 'patronage_webhook_events_total{result="refused",type="unknown"} 1.0' in lines
    assert 'patronage_projection_lag_events{view="totals"} 0.0' in lines
    assert 'patronage_campaign_gifts{campaign="spring",currency="USD"} 1.0' in lines
    assert 'patronage_campaign_gross_minor{campaign="spring",currency="USD"} 2500.0' in lines
    assert "patronage_inbox_parked_events 0.0" in lines
    assert "patronage_inbox_unbooked_payments 0.0" in lines
    assert "patronage_database_up 1.0" in lines
    assert any(
        line.startswith("patronage_http_request_duration_seconds_count{")
        and 'route="/webhooks/stripe"' in line
        and 'status="200"' in line
        and line.endswith(" 3.0")
        for line in lines
    )


def test_metrics_on_their_own_port_need_no_key_and_leave_the_api(settings: Settings) -> None:
    port = free_port()
    own_port = settings.model_copy(update={"metrics_port": port})
    with running_api(own_port) as api:
        assert http.get(f"{api.url}/metrics", headers=STAFF).status_code == 404
        scraped = http.get(f"http://127.0.0.1:{port}/metrics")
        assert scraped.status_code == 200
        assert 'patronage_projection_lag_events{view="supporters"}' in scraped.text


def test_every_line_of_a_webhook_carries_its_event_id_and_request_id(
    patronage: Patronage, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json_lines=True)
    intent = se.event(
        "payment_intent.succeeded",
        se.payment_intent("pi_logs", 2500, se.our_metadata("ada@example.org")),
        event_id="evt_follow_me",
    )
    with TestClient(create_app(patronage)) as client:
        capsys.readouterr()
        response = se.deliver(client, intent, headers={"x-request-id": "req-follow"})
        assert response.status_code == 200
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    mine = [line for line in lines if line.get("request_id") == "req-follow"]
    names = {line["event"] for line in mine}
    assert {"stripe_event_received", "stripe_webhook_handled", "request_handled"} <= names
    assert all(line.get("stripe_event_id") == "evt_follow_me" for line in mine)
    handled = next(line for line in mine if line["event"] == "stripe_webhook_handled")
    assert handled["result"] == "parked"  # a payment before its checkout session waits
    assert handled["ledger_position"] >= 1


def test_metrics_count_receipts_and_the_email_outbox_backlog(patronage: Patronage) -> None:
    _give(patronage, 1)
    _give(patronage, 2)
    poller = patronage.views.poller(0.1)
    poller.poll_once()
    for n in (1, 2):
        patronage.receipting.issue_single(gift_id_for(f"pi_ops_{n}"))
    poller.poll_once()
    lines = set(TestClient(create_app(patronage)).get("/metrics", headers=STAFF).text.splitlines())
    # No SMTP server is configured: both wait in the outbox.
    assert 'patronage_receipts{email="pending",status="issued"} 2.0' in lines
    assert "patronage_receipt_outbox_backlog 2.0" in lines
