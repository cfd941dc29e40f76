"""Security headers on every page, a demo page that ignores the Host header, and bounded
logging of hostile paths and event types (issue 15, defects 2 and 8)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.bootstrap import Patronage
from patronage.logs import MAX_TEXT_CHARS, configure_logging
from tests.support import stripe_events as se


@pytest.fixture
def client(patronage: Patronage) -> Iterator[TestClient]:
    """The app as `patronage demo` serves it: the demo pages are mounted in demo mode only."""
    patronage.settings = patronage.settings.model_copy(update={"demo_mode": True})
    with TestClient(create_app(patronage)) as test_client:
        yield test_client


@pytest.mark.parametrize("path", ["/staff", "/docs", "/redoc", "/demo/article", "/healthz"])
def test_pages_and_answers_carry_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy or "default-src 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_console_and_demo_pages_run_no_inline_or_foreign_script(client: TestClient) -> None:
    for path in ("/staff", "/demo/article"):
        policy = client.get(path).headers["content-security-policy"]
        script_src = next(p for p in policy.split(";") if p.strip().startswith("script-src"))
        assert "'unsafe-inline'" not in script_src
        assert "'self'" in script_src


def test_the_demo_page_does_not_take_its_script_address_from_the_host_header(
    client: TestClient,
) -> None:
    page = client.get("/demo/article", headers={"Host": "attacker.example"}).text
    assert "attacker.example" not in page
    assert '<script src="/static/patronage-embed.js" defer></script>' in page


def _json_lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


async def _get_over_asgi(app: Any, path: str) -> int:
    """GET `path` straight through the ASGI app: HTTP clients refuse such long URLs, and
    servers with an unbounded request line (httptools) pass them on."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"test")], "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }  # fmt: skip
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    return statuses[0]


def test_a_120_kb_path_is_answered_and_logged_bounded(
    patronage: Patronage, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json_lines=True)
    status = anyio.run(_get_over_asgi, create_app(patronage), "/" + "a" * 120_000)
    assert status == 404
    out = capsys.readouterr().out
    handled = [r for r in _json_lines(out) if r["event"] == "request_handled"]
    assert handled
    assert all(len(str(r["path"])) <= MAX_TEXT_CHARS + 40 for r in handled)
    assert max(len(line) for line in out.splitlines()) < 2 * MAX_TEXT_CHARS + 500


def test_a_signed_webhook_with_a_100_kb_type_is_refused_and_logged_bounded(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json_lines=True)
    evt = se.event("x" * 100_000, se.payment_intent("pi_type", 500, se.our_metadata("a@b.org")))
    response = se.deliver(client, evt)
    assert response.status_code == 400
    assert len(response.text) < 1000
    out = capsys.readouterr().out
    assert out and max(len(line) for line in out.splitlines()) < 2 * MAX_TEXT_CHARS + 500
