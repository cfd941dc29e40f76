"""Driving the staff console over HTTP as a browser would: the CSRF token from the page."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

from patronage.bootstrap import Patronage
from patronage.domain.staff import Role

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_token(page: str) -> str:
    match = _TOKEN.search(page)
    assert match, "the page has a form with a CSRF token"
    return match.group(1)


def add_staff(patronage: Patronage, email: str, role: Role) -> None:
    patronage.staff.add(email, role, PASSWORD, by="test")


def sign_in(client: TestClient | httpx.Client, email: str, password: str = PASSWORD) -> None:
    page = client.get("/console/sign-in")
    response = client.post(
        "/console/sign-in",
        data={"email": email, "password": password, "csrf_token": csrf_token(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def form_token(page: str, action: str) -> str:
    """The CSRF token inside the page's form for `action` (as a browser would post it), or
    the page's first token when the page has no such form."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    if form is None:
        return csrf_token(page)
    token = csrf_token(form.group(1))
    assert token, f"the form for {action} carries a CSRF token"
    return token


def post_form(
    client: TestClient | httpx.Client, page_path: str, action: str, data: dict[str, str]
) -> httpx.Response:
    """Submit a form found on `page_path`, with the CSRF token that form carries."""
    token = form_token(client.get(page_path).text, action)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)
