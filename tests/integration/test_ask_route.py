"""The quick route for `POST /asks` (api/ask_route.py) answers exactly as the documented
route: the same answers, the same refusals, the same headers. `?debug=false` changes
nothing in an answer and sends the ask down the documented route, so each case is asked
both ways and compared."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.api.ask_route import QuickAsk
from patronage.api.headers import API_HEADERS, SecurityHeaders
from patronage.api.inputs import BodyLimits
from patronage.api.request_log import RequestLog
from patronage.bootstrap import Patronage
from patronage.domain.campaign import Variant
from tests.integration.test_asks_api import ask_body, start_campaign
from tests.support.campaigns import variant

JSON = {"Content-Type": "application/json"}
SAME_EVERY_TIME = {"date", "x-request-id"}


def both_ways(client: TestClient, body: bytes, headers: dict[str, str] = JSON) -> Any:
    quick = client.post("/asks", content=body, headers=headers)
    documented = client.post("/asks?debug=false", content=body, headers=headers)
    assert quick.status_code == documented.status_code, (quick.text, documented.text)
    assert quick.content == documented.content
    quick_headers = {k: v for k, v in quick.headers.items() if k not in SAME_EVERY_TIME}
    assert quick_headers == {
        k: v for k, v in documented.headers.items() if k not in SAME_EVERY_TIME
    }
    return quick


def encoded(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


@pytest.fixture
def client(patronage: Patronage) -> TestClient:
    start_campaign(patronage, include_sections=("politics",))
    start_campaign(patronage, "sport", include_sections=("sport",), holdback_bp=5_000)
    return TestClient(create_app(patronage))


@pytest.mark.parametrize(
    "body",
    [
        ask_body(),
        ask_body(reader_id="reader-2", country="DE", device="mobile"),
        ask_body(weekly_counts=[{"week_start": "2026-11-16", "count": 40}]),
        {"page": {"article_id": "a-2", "section": "Sport"}, "reader": {"reader_id": "r-9"}},
        {"page": {"article_id": "a-3", "section": "weather"}, "reader": {}},
        {"page": {"article_id": "a-4", "hidden": True}, "reader": {}},
        ask_body(supporter_token="not-a-token", asks_seen=["2026-11-20T10:00:00"]),
    ],
)
def test_the_quick_route_answers_as_the_documented_route(
    client: TestClient, body: dict[str, Any]
) -> None:
    answer = both_ways(client, encoded(body))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    assert answer.json()["kind"] in {"ask", "none"}


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b'{"page": {"article_id": "a\\u0000"}, "reader": {}}',
        b'{"page": {"article_id": "a", "tags": 3}, "reader": {}}',
        b'{"reader": {}}',
        b'{"page": {"article_id": "a"}, "reader": {"weekly_counts": [{"count": -1}]}}',
        b"[]",
    ],
)
def test_a_refused_body_gets_the_documented_routes_refusal(client: TestClient, body: bytes) -> None:
    answer = both_ways(client, body)
    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize("content_type", ["text/plain", "application/json; charset=utf-8"])
def test_other_content_types_go_to_the_documented_route(
    client: TestClient, content_type: str
) -> None:
    both_ways(client, encoded(ask_body()), {"Content-Type": content_type})


def test_a_body_only_python_can_read_goes_to_the_documented_route(client: TestClient) -> None:
    # JSON in UTF-16: pydantic-core reads UTF-8 only, Python's json module detects the rest.
    body = '{"page": {"article_id": "caf\u00e9"}, "reader": {}}'.encode("utf-16")
    assert both_ways(client, body).status_code == 200


def test_only_a_plain_json_ask_takes_the_quick_route(patronage: Patronage) -> None:
    app = create_app(patronage)
    # Inside the request log (and CORS), outside the security headers and the body limits,
    # whose work it does itself for its own answers.
    layers = [m.cls for m in app.user_middleware]  # the outermost first
    assert layers.index(RequestLog) < layers.index(QuickAsk) < layers.index(SecurityHeaders)
    assert layers.index(QuickAsk) < layers.index(BodyLimits)
    quick = QuickAsk(app, max_body=100)

    def scope(**changes: Any) -> dict[str, Any]:
        base = {
            "type": "http",
            "path": "/asks",
            "method": "POST",
            "query_string": b"",
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        }
        return base | changes

    assert quick.takes(scope())
    assert not quick.takes(scope(query_string=b"debug=true"))
    assert not quick.takes(scope(method="GET"))
    assert not quick.takes(scope(path="/asks/"))
    assert not quick.takes(scope(headers=[]))
    assert not quick.takes(scope(type="websocket"))
    # Over the limit, or of no declared length: the body limits count it on the way.
    assert not quick.takes(scope(headers=[(b"content-type", b"application/json")]))
    too_long = [(b"content-type", b"application/json"), (b"content-length", b"101")]
    assert not quick.takes(scope(headers=too_long))


def test_more_body_than_the_limit_is_refused_as_every_route_refuses_it(
    patronage: Patronage,
) -> None:
    # A server that keeps to the declared length never sends more; if one did, the quick
    # route refuses it as the body limits would, with a JSON answer's security headers.
    app = create_app(patronage)
    sent: list[dict[str, Any]] = []
    chunks = [b'{"page": ', b" " * 100, b"}"]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    declared = [(b"content-type", b"application/json"), (b"content-length", b"50")]
    scope = {
        "type": "http",
        "path": "/asks",
        "method": "POST",
        "query_string": b"",
        "headers": declared,
    }
    asyncio.run(QuickAsk(app, max_body=100)(scope, receive, send))
    start, body = sent
    assert start["status"] == 413
    assert body["body"] == b'{"detail":"Content Too Large"}'
    headers = dict(start["headers"])
    assert headers[b"content-security-policy"] == API_HEADERS[0][1]
    assert headers[b"x-frame-options"] == b"DENY"
    assert chunks == [b"}"]  # it stopped reading at the limit


def test_a_quick_answer_takes_the_request_log_and_cors(patronage: Patronage) -> None:
    patronage.settings = patronage.settings.model_copy(
        update={"embed_origins": ["https://news.example"]}
    )
    start_campaign(patronage, include_sections=("politics",))
    client = TestClient(create_app(patronage))
    headers = {**JSON, "Origin": "https://news.example", "X-Request-Id": "req-1"}
    answer = both_ways(client, encoded(ask_body()), headers)
    assert answer.json()["kind"] == "ask"
    assert answer.headers["access-control-allow-origin"] == "https://news.example"
    assert answer.headers["x-request-id"] == "req-1"


def edited(heading: str) -> Variant:
    return variant("control", heading=heading)


def test_an_edited_ask_is_shown_once_the_catalogue_has_it(patronage: Patronage) -> None:
    start_campaign(patronage, control_bp=10_000)
    client = TestClient(create_app(patronage))
    assert client.post("/asks", json=ask_body()).json()["ask"]["heading"] == "Give now"
    patronage.campaigns.edit_copy("spring", edited("Winter is coming"), by="test")
    patronage.asks.memory.catalogue.refresh()
    assert client.post("/asks", json=ask_body()).json()["ask"]["heading"] == "Winter is coming"
