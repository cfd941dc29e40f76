"""Every route of the app, walked: public ones are listed here; every other one answers 401
without an identity and 403 to a role that may not use it, by API token and by console
session alike."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.bootstrap import Patronage
from patronage.domain.staff import Role
from tests.support.console import add_staff, csrf_token, sign_in

# (method, path) of every route that needs no identity, and why.
PUBLIC = {
    ("GET", "/openapi.json"),  # the API's description
    ("GET", "/healthz"),  # liveness and readiness, for the orchestrator
    ("GET", "/readyz"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/docs/assets/{name}"),
    ("POST", "/webhooks/stripe"),  # Stripe: authenticated by its signature instead
    ("POST", "/asks"),  # readers, on article pages
    ("POST", "/checkout/quote"),
    ("POST", "/checkout"),
    ("POST", "/checkout/payments"),
    ("POST", "/checkout/confirmations"),
    ("GET", "/static/patronage-embed.js"),
    ("GET", "/demo/article"),  # the demo's pages, mounted only in demo mode
    ("GET", "/demo/mail"),
    ("GET", "/demo/mail/{message}/{index}"),
    ("GET", "/ticker/{campaign}"),
    ("GET", "/staff"),  # a redirect to /console
    ("GET", "/console"),  # a redirect to sign-in or the member's first page
    ("GET", "/console/sign-in"),
    ("POST", "/console/sign-in"),
    ("GET", "/console/assets/console.css"),
    ("GET", "/my/sign-in"),  # a supporter asks for a sign-in link (docs/supporters.md)
    ("POST", "/my/sign-in"),
    ("GET", "/my/sign-in/link"),  # the emailed link: its token is the credential
    ("POST", "/my/sign-in/link"),
    ("GET", "/my/cancel"),  # the one-click cancellation link: its token is the credential
    ("POST", "/my/cancel"),
    ("GET", "/my/assets/{name}"),  # the supporter pages' stylesheet and script
}
# A supporter's own pages: a supporter's session, never a staff identity, opens them
# (tests/e2e/test_supporter_access.py checks one supporter against another).
SUPPORTER_PREFIX = "/my"
# Routes any signed-in staff member may use.
ANY_ROLE = {
    ("POST", "/console/sign-out"),
    ("GET", "/console/account"),
    ("POST", "/console/account/password"),
}
PATH_VALUES = {
    "code": "demo-spring-drive",
    "name": "control",
    "supporter_id": str(uuid.UUID(int=7)),
    "staff_id": str(uuid.UUID(int=8)),
    "event_id": "evt_walk",
    "number": "S2026-000001",
    "token_id": "abc123",
    "step": "start",
    "action": "void",
    "job_id": "0" * 32,
    "message": "m1",
    "view": "totals",
    "payment_id": "pi_walk",
    "gift_id": str(uuid.UUID(int=9)),
    "index": "0",
    "membership_id": str(uuid.UUID(int=9)),
}


def needed_role(method: str, path: str) -> Role:
    """The role each staff route is for (docs/staff.md)."""
    if path.startswith(("/staff/campaigns", "/console/campaigns")):
        return Role.EDITOR
    if path.startswith(
        ("/console/staff", "/console/tokens", "/console/audit", "/console/settings", "/staff/audit")
    ):
        return Role.ADMIN
    if path.endswith(("/replay", "/skip")):
        return Role.ADMIN
    return Role.FINANCE


@dataclass(frozen=True)
class Walked:
    method: str
    path: str

    @property
    def url(self) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], self.path)


def every_route(app: FastAPI, *, supporters: bool = False) -> list[Walked]:
    """Every staff and public route, or (`supporters`) every route of a supporter's session."""
    routes = []
    for route in iter_route_contexts(app.routes):
        for method in sorted(route.methods or ()):
            path = str(route.path)
            is_supporters = path.startswith(SUPPORTER_PREFIX) and (method, path) not in PUBLIC
            if method != "HEAD" and is_supporters == supporters:
                routes.append(Walked(method, path))
    return routes


@pytest.fixture
def store() -> str:
    return "sqlite"  # who may call what does not depend on the store


@pytest.fixture
def app(patronage: Patronage) -> FastAPI:
    for role in Role:
        add_staff(patronage, f"{role.value}@news.example", role)
    # In demo mode, so that the demo's pages are walked too.
    patronage.settings = patronage.settings.model_copy(update={"demo_mode": True})
    return create_app(patronage)


@pytest.fixture
def tokens(patronage: Patronage) -> dict[Role, str]:
    return {
        role: patronage.api_tokens.create(f"walk {role.value}", role, 1, by="test").secret_text
        for role in Role
    }


def client_as(app: FastAPI, role: Role | None) -> Iterator[TestClient]:
    with TestClient(app) as client:
        if role is not None:
            sign_in(client, f"{role.value}@news.example")
        yield client


def call(client: TestClient, walked: Walked, headers: dict[str, str] | None = None) -> int:
    data = None
    if walked.path.startswith("/console") and walked.method == "POST":
        # A valid CSRF token, so that a refusal can only be about who is asking.
        data = {"csrf_token": csrf_token(client.get("/console/sign-in").text)}
    response = client.request(
        walked.method, walked.url, headers=headers, data=data, follow_redirects=False
    )
    return response.status_code


def test_the_walk_covers_every_route_and_the_public_list_is_current(app: FastAPI) -> None:
    walked = {(w.method, w.path) for w in every_route(app)}
    assert walked >= PUBLIC, f"listed as public but gone: {PUBLIC - walked}"
    assert len(walked - PUBLIC) > 60, "the staff API and the console are walked"
    assert len(every_route(app, supporters=True)) > 5, "a supporter's pages are walked"


@pytest.mark.parametrize("held", [None, *Role])
def test_a_supporters_pages_refuse_anyone_without_a_supporter_session(
    app: FastAPI, tokens: dict[Role, str], held: Role | None
) -> None:
    """Staff sessions and API tokens open nothing of a supporter's own."""
    answers: dict[tuple[str, str], int] = {}
    for client in client_as(app, held):
        headers = None if held is None else {"Authorization": f"Bearer {tokens[held]}"}
        for w in every_route(app, supporters=True):
            answers[(w.method, w.path)] = call(client, w, headers)
    assert {k: v for k, v in answers.items() if v != 401} == {}


def test_every_staff_route_refuses_a_caller_without_identity(app: FastAPI) -> None:
    with TestClient(app) as client:
        refused = {
            (w.method, w.path): call(client, w)
            for w in every_route(app)
            if (w.method, w.path) not in PUBLIC
        }
    assert {k: v for k, v in refused.items() if v != 401} == {}


def test_a_forged_or_unknown_identity_is_refused(app: FastAPI) -> None:
    with TestClient(app) as client:
        client.cookies.set("patronage_session", "eyJzaWQiOiJ4In0.forged.signature")
        assert client.get("/console/supporters").status_code == 401
        for bearer in ("pat_abc_wrong", "not-a-key", ""):
            answer = client.get("/staff/supporters", headers={"Authorization": f"Bearer {bearer}"})
            assert answer.status_code == 401


@pytest.mark.parametrize("held", [Role.FINANCE, Role.EDITOR])
def test_every_staff_route_refuses_a_role_that_may_not_use_it(
    app: FastAPI, tokens: dict[Role, str], held: Role
) -> None:
    """By API token on the staff API, by session on the console (exports take both)."""
    answers: dict[tuple[str, str], int] = {}
    for client in client_as(app, held):
        for w in every_route(app):
            key = (w.method, w.path)
            if key in PUBLIC or key in ANY_ROLE or needed_role(*key) == held:
                continue
            headers = None  # the console by session, the API by token
            if not w.path.startswith("/console"):
                headers = {"Authorization": f"Bearer {tokens[held]}"}
            answers[key] = call(client, w, headers)
    assert answers, "some routes are out of this role's reach"
    assert {k: v for k, v in answers.items() if v != 403} == {}


@pytest.mark.parametrize("held", list(Role))
def test_every_page_and_read_opens_for_its_role(
    app: FastAPI, tokens: dict[Role, str], held: Role
) -> None:
    """The roles are not only refused: each GET of a role's (or an admin's) routes answers
    without a 401 or 403."""
    answers: dict[tuple[str, str], int] = {}
    for client in client_as(app, held):
        for w in every_route(app):
            key = (w.method, w.path)
            if w.method != "GET" or key in PUBLIC:
                continue
            if held != Role.ADMIN and needed_role(*key) != held:
                continue
            headers = {"Authorization": f"Bearer {tokens[held]}"}
            answers[key] = call(client, w, None if w.path.startswith("/console") else headers)
    assert answers
    assert {k: v for k, v in answers.items() if v in (401, 403)} == {}
