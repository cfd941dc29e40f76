"""Staff accounts, console sessions, CSRF, API tokens and the bootstrap keys."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from pydantic import SecretStr

from patronage.api.app import create_app
from patronage.application import staff as staff_module
from patronage.application.staff import StaffError
from patronage.bootstrap import Patronage, bootstrap
from patronage.config import Settings
from patronage.domain.staff import Role
from tests.support.console import PASSWORD, add_staff, csrf_token, post_form, sign_in

BOOTSTRAP = {"Authorization": "Bearer staff-key-for-tests"}
SECRET = "console-secret-for-tests"


@pytest.fixture
def patronage(settings: Settings) -> Iterator[Patronage]:
    wired = bootstrap(settings.model_copy(update={"console_secret": SecretStr(SECRET)}))
    yield wired
    wired.close()


@pytest.fixture
def client(patronage: Patronage) -> Iterator[TestClient]:
    with TestClient(create_app(patronage)) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def stored_text(patronage: Patronage) -> str:
    """Every stored event's state, as the database holds it."""
    records = patronage.ledger.recorder.select_notifications(1, 10_000)
    return "\n".join(r.state.decode("utf-8", "replace") for r in records)


# Passwords and sessions ---------------------------------------------------------------------


def test_passwords_are_kept_as_argon2_hashes_and_checked(patronage: Patronage) -> None:
    add_staff(patronage, "fin@news.example", Role.FINANCE)
    assert "$argon2id$" in stored_text(patronage)
    assert PASSWORD not in stored_text(patronage)
    assert patronage.staff.authenticate("FIN@news.example ", PASSWORD) is not None
    assert patronage.staff.authenticate("fin@news.example", PASSWORD) is not None
    assert patronage.staff.authenticate("fin@news.example", "wrong password!") is None
    assert patronage.staff.authenticate("nobody@news.example", PASSWORD) is None
    with pytest.raises(StaffError, match="12 characters"):
        patronage.staff.add("short@news.example", Role.EDITOR, "too short", by="test")
    with pytest.raises(StaffError, match="already"):
        add_staff(patronage, "FIN@news.example", Role.ADMIN)


def test_sign_in_sets_a_signed_httponly_samesite_cookie_that_expires(
    client: TestClient, patronage: Patronage
) -> None:
    add_staff(patronage, "fin@news.example", Role.FINANCE)
    page = client.get("/console/sign-in")
    answer = client.post(
        "/console/sign-in",
        data={
            "email": "fin@news.example",
            "password": PASSWORD,
            "csrf_token": csrf_token(page.text),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/supporters"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "patronage_session=" in c)
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "max-age", "path"} <= attributes
    assert "samesite=strict" in cookie.lower()
    assert f"max-age={8 * 3600}" in cookie.lower()
    assert client.get("/console/supporters").status_code == 200


def test_a_wrong_password_shows_the_form_again_with_401(
    client: TestClient, patronage: Patronage
) -> None:
    add_staff(patronage, "fin@news.example", Role.FINANCE)
    answer = post_form(
        client, "/console/sign-in", "/console/sign-in",
        {"email": "fin@news.example", "password": "not the password"},
    )  # fmt: skip
    assert answer.status_code == 401
    assert "do not match" in answer.text
    assert "patronage_session" not in answer.headers.get("set-cookie", "")


def test_an_expired_session_cookie_is_refused(client: TestClient, patronage: Patronage) -> None:
    member = patronage.staff.add("fin@news.example", Role.FINANCE, PASSWORD, by="test")

    class NineHoursAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 9 * 3600

    old = URLSafeTimedSerializer(SECRET, salt="patronage-console-session", signer=NineHoursAgo)
    cookie = old.dumps({"sid": str(member.id), "at": "2026-01-01T00:00:00+00:00"})
    client.cookies.set("patronage_session", cookie)
    assert client.get("/console/supporters").status_code == 401
    fresh = URLSafeTimedSerializer(SECRET, salt="patronage-console-session")
    client.cookies.set(
        "patronage_session", fresh.dumps({"sid": str(member.id), "at": "2026-01-01T00:00:00+00:00"})
    )
    assert client.get("/console/supporters").status_code == 200, "the same cookie, in time"


def test_sign_out_ends_the_session_even_for_a_copied_cookie(
    client: TestClient, patronage: Patronage
) -> None:
    add_staff(patronage, "fin@news.example", Role.FINANCE)
    sign_in(client, "fin@news.example")
    copied = client.cookies.get("patronage_session")
    assert copied
    answer = post_form(client, "/console/supporters", "/console/sign-out", {})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/sign-in"
    assert client.get("/console/supporters").status_code == 401
    client.cookies.set("patronage_session", copied)
    assert client.get("/console/supporters").status_code == 401


def test_a_disabled_member_loses_their_session_at_once(
    client: TestClient, patronage: Patronage
) -> None:
    member = patronage.staff.add("fin@news.example", Role.FINANCE, PASSWORD, by="test")
    sign_in(client, "fin@news.example")
    patronage.staff.disable(member.id, by="test")
    assert client.get("/console/supporters").status_code == 401


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, patronage: Patronage, token: str | None
) -> None:
    add_staff(patronage, "admin@news.example", Role.ADMIN)
    sign_in(client, "admin@news.example")
    data = {"label": "sneaky", "role": "admin", "days": "30"}
    if token is not None:
        data["csrf_token"] = token
    answer = client.post("/console/tokens", data=data, follow_redirects=False)
    assert answer.status_code == 403
    assert "security token" in answer.text
    assert patronage.api_tokens.tokens() == []
    # The same form with the page's token goes through.
    assert post_form(client, "/console/tokens", "/console/tokens", data).status_code == 200
    assert [t.label for t in patronage.api_tokens.tokens()] == ["sneaky"]


def test_the_sign_in_form_needs_its_csrf_token_too(
    client: TestClient, patronage: Patronage
) -> None:
    add_staff(patronage, "fin@news.example", Role.FINANCE)
    answer = client.post(
        "/console/sign-in", data={"email": "fin@news.example", "password": PASSWORD}
    )
    assert answer.status_code == 403


def test_sign_in_goes_back_only_to_console_pages(client: TestClient, patronage: Patronage) -> None:
    add_staff(patronage, "fin@news.example", Role.FINANCE)
    for wanted, landed in (
        ("/console/gifts", "/console/gifts"),
        ("https://evil.example/", "/console/supporters"),
        ("//evil.example/console", "/console/supporters"),
    ):
        client.cookies.clear()
        answer = post_form(
            client, "/console/sign-in", "/console/sign-in",
            {"email": "fin@news.example", "password": PASSWORD, "next": wanted},
        )  # fmt: skip
        assert answer.headers["location"] == landed


def test_a_member_changes_their_password_and_signs_in_again(
    client: TestClient, patronage: Patronage
) -> None:
    add_staff(patronage, "ed@news.example", Role.EDITOR)
    sign_in(client, "ed@news.example")
    wrong = post_form(
        client, "/console/account", "/console/account/password",
        {"current": "not it at all", "new": "a brand new password"},
    )  # fmt: skip
    assert "error=" in wrong.headers["location"]
    changed = post_form(
        client, "/console/account", "/console/account/password",
        {"current": PASSWORD, "new": "a brand new password"},
    )  # fmt: skip
    assert changed.headers["location"] == "/console/sign-in"
    assert client.get("/console/campaigns").status_code == 401
    assert patronage.staff.authenticate("ed@news.example", PASSWORD) is None
    sign_in(client, "ed@news.example", "a brand new password")
    assert [e.action for e in patronage.audit.entries().entries] == ["staff.password_changed"]


# API tokens ---------------------------------------------------------------------------------


def test_a_token_is_shown_once_and_stored_only_as_its_hash(patronage: Patronage) -> None:
    issued = patronage.api_tokens.create("nightly export", Role.FINANCE, 30, by="test")
    secret = issued.secret_text.split("_", 2)[2]
    stored = stored_text(patronage)
    assert secret not in stored
    assert hashlib.sha256(secret.encode()).hexdigest() in stored
    assert all(not hasattr(t, "secret_text") for t in patronage.api_tokens.tokens())


def test_tokens_are_compared_in_constant_time(
    patronage: Patronage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check goes through hmac.compare_digest, for known and unknown ids alike."""
    compared: list[tuple[bytes, bytes]] = []
    constant_time = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return constant_time(a, b)

    monkeypatch.setattr(staff_module.hmac, "compare_digest", recording)
    issued = patronage.api_tokens.create("script", Role.FINANCE, 30, by="test")
    assert patronage.api_tokens.verify(issued.secret_text) is not None
    assert patronage.api_tokens.verify(issued.secret_text[:-2] + "xx") is None
    assert patronage.api_tokens.verify("pat_unknown0_" + "x" * 43) is None
    assert len(compared) == 3
    assert compared[0][0] == issued.token.secret_hash.encode()


def test_a_token_works_until_it_expires(client: TestClient, patronage: Patronage) -> None:
    issued = patronage.api_tokens.create("script", Role.FINANCE, 7, by="test")
    assert client.get("/staff/supporters", headers=bearer(issued.secret_text)).status_code == 200
    later = issued.token.expires_at + timedelta(seconds=1)
    patronage.api_tokens.clock = lambda: later
    answer = client.get("/staff/supporters", headers=bearer(issued.secret_text))
    assert answer.status_code == 401
    assert "expired" in answer.json()["detail"]


def test_a_revoked_token_stops_working_at_once(client: TestClient, patronage: Patronage) -> None:
    issued = patronage.api_tokens.create("script", Role.FINANCE, 7, by="test")
    assert client.get("/staff/supporters", headers=bearer(issued.secret_text)).status_code == 200
    patronage.api_tokens.revoke(issued.token.token_id, by="test")
    assert client.get("/staff/supporters", headers=bearer(issued.secret_text)).status_code == 401
    assert [t.revoked_by for t in patronage.api_tokens.tokens()] == ["test"]


def test_a_token_carries_its_role(client: TestClient, patronage: Patronage) -> None:
    editor = patronage.api_tokens.create("cms", Role.EDITOR, 7, by="test").secret_text
    assert client.get("/staff/campaigns", headers=bearer(editor)).status_code == 200
    refused = client.get("/staff/supporters", headers=bearer(editor))
    assert refused.status_code == 403
    assert "finance" in refused.json()["detail"]


def test_an_admin_creates_a_token_in_the_console_and_sees_it_once(
    client: TestClient, patronage: Patronage
) -> None:
    add_staff(patronage, "admin@news.example", Role.ADMIN)
    sign_in(client, "admin@news.example")
    created = post_form(
        client, "/console/tokens", "/console/tokens",
        {"label": "accounting", "role": "finance", "days": "30"},
    )  # fmt: skip
    [token] = patronage.api_tokens.tokens()
    shown = created.text.split('aria-label="The new API token">')[1].split("<")[0]
    assert shown.startswith(f"pat_{token.token_id}_")
    assert client.get("/staff/supporters", headers=bearer(shown)).status_code == 200
    assert shown not in client.get("/console/tokens").text


# Bootstrap keys -----------------------------------------------------------------------------


def test_bootstrap_keys_act_as_admin_until_the_first_admin_exists(
    client: TestClient, patronage: Patronage
) -> None:
    assert client.get("/console/audit").status_code == 401, "keys never open the console"
    assert client.get("/staff/inbox", headers=BOOTSTRAP).status_code == 200
    add_staff(patronage, "fin@news.example", Role.FINANCE)
    assert client.get("/staff/inbox", headers=BOOTSTRAP).status_code == 200
    add_staff(patronage, "admin@news.example", Role.ADMIN)
    retired = client.get("/staff/inbox", headers=BOOTSTRAP)
    assert retired.status_code == 401
    assert "admin account exists" in retired.json()["detail"]
