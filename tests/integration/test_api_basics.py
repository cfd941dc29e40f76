"""The API's shared behaviour: request ids in logs, staff authentication."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.api.deps import StaffDep
from patronage.api.request_log import request_ids
from patronage.bootstrap import Patronage
from patronage.logs import configure_logging
from tests.support import stripe_events as se


@pytest.fixture
def client(patronage: Patronage) -> Iterator[TestClient]:
    app = create_app(patronage)
    probe = APIRouter()

    @probe.get("/staff/whoami")
    def whoami(staff: StaffDep) -> dict[str, str]:
        return {"staff": staff}

    app.include_router(probe)
    with TestClient(app) as test_client:
        yield test_client


def test_every_request_log_line_carries_the_request_id(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json_lines=True)
    response = client.get("/healthz", headers={"x-request-id": "req-123"})
    assert response.headers["x-request-id"] == "req-123"
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    handled = [line for line in lines if line["event"] == "request_handled"]
    assert handled and all(line["request_id"] == "req-123" for line in handled)
    assert handled[-1]["status"] == 200


def test_a_request_without_an_id_gets_a_new_one_in_its_answer_and_log(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json_lines=True)
    ids = [client.get("/healthz").headers["x-request-id"] for _ in range(3)]
    assert len(set(ids)) == 3
    assert all(len(rid) == 32 and int(rid, 16) >= 0 for rid in ids)
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    assert [line["request_id"] for line in lines if line["event"] == "request_handled"] == ids


def test_above_info_no_request_line_is_made_and_the_request_is_still_timed(
    patronage: Patronage, capsys: pytest.CaptureFixture[str]
) -> None:
    quiet = replace(
        patronage, settings=patronage.settings.model_copy(update={"log_level": "WARNING"})
    )
    # Logging itself left at INFO: the line is not even made, not merely filtered.
    configure_logging(json_lines=True, level="INFO")
    client = TestClient(create_app(quiet))
    assert client.get("/healthz").status_code == 200
    assert "request_handled" not in capsys.readouterr().out
    metrics = client.get("/metrics", headers={"Authorization": "Bearer staff-key-for-tests"})
    timed = (
        'patronage_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}'
    )
    assert f"{timed} 1.0" in metrics.text.splitlines()


def test_a_forked_process_numbers_its_requests_under_its_own_prefix() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first id, then out without running the parent's cleanup
        os.write(write, request_ids.next().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    assert len(child) == 32 and child[:16] != request_ids.next()[:16]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "staff endpoints need"),
        ({"Authorization": "Bearer wrong"}, "unknown staff API key"),
        ({"Authorization": "Basic c3RhZmY6a2V5"}, "staff endpoints need"),
    ],
)
def test_staff_endpoints_refuse_without_a_valid_key(
    client: TestClient, headers: dict[str, str], reason: str
) -> None:
    response = client.get("/staff/whoami", headers=headers)
    assert response.status_code == 401
    assert reason in response.json()["detail"]


def test_staff_endpoints_accept_a_configured_key(client: TestClient) -> None:
    response = client.get("/staff/whoami", headers={"Authorization": "Bearer staff-key-for-tests"})
    assert response.status_code == 200
    assert response.json() == {"staff": "bootstrap-key-1"}


@pytest.mark.parametrize("store", ["sqlite"])
def test_demo_pages_are_mounted_only_in_demo_mode(patronage: Patronage) -> None:
    plain = TestClient(create_app(patronage))
    assert plain.get("/demo/article").status_code == 404
    assert plain.get("/demo/mail").status_code == 404
    assert plain.get("/static/patronage-embed.js").status_code == 200  # the embed is not demo

    patronage.settings = patronage.settings.model_copy(update={"demo_mode": True})
    demo = TestClient(create_app(patronage))
    article = demo.get("/demo/article")
    assert article.status_code == 200
    assert "patronage-embed.js" in article.text


@pytest.mark.parametrize("store", ["sqlite"])
def test_the_api_has_one_model_for_money(patronage: Patronage) -> None:
    schema = TestClient(create_app(patronage)).get("/openapi.json").json()
    models = schema["components"]["schemas"]
    assert [name for name in models if set(models[name].get("properties", {})) >= {
        "minor", "currency", "text"}] == ["MoneyOut"]  # fmt: skip
    quote = models["QuoteOut"]["properties"]["fee"]
    assert quote["$ref"] == "#/components/schemas/MoneyOut"


@pytest.mark.parametrize("store", ["sqlite"])
def test_the_webhooks_answer_is_documented_and_answered_as_documented(
    patronage: Patronage,
) -> None:
    # Its route answers without FastAPI's own handling (api/webhooks.py, RawRequestRoute):
    # the schema still says what a delivery gets, and a delivery gets that.
    client = TestClient(create_app(patronage))
    post = client.get("/openapi.json").json()["paths"]["/webhooks/stripe"]["post"]
    ok = post["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/WebhookAccepted"}
    assert "requestBody" not in post
    event = se.event("customer.created", {"id": "cus_documented", "object": "customer"})
    answer = se.deliver(client, event)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert set(answer.json()) == {"event_id", "event_type", "status", "detail", "duplicate"}
