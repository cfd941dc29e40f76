"""Console for admins: staff accounts, API tokens, and the audit trail."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import SecretStr

from patronage.api.console.pages import (
    REFUSED,
    AdminPage,
    Before,
    Page,
    back_to,
    form_action,
    reason,
)
from patronage.api.console.session import AdminForm
from patronage.api.deps import PatronageDep
from patronage.bootstrap import Patronage
from patronage.domain.staff import Role

router = APIRouter(prefix="/console", include_in_schema=False)
ROLES = [r.value for r in Role]
STAFF_PAGE = "/console/staff"
TOKENS_PAGE = "/console/tokens"


def _role(value: str) -> Role:
    if value not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    return Role(value)


@router.get("/staff", response_class=HTMLResponse)
def staff(page: AdminPage, patronage: PatronageDep) -> Response:
    return page.render("staff.html", members=patronage.staff.members(), roles=ROLES)


@router.post("/staff")
@form_action(STAFF_PAGE)
def add_staff(posted: AdminForm, patronage: PatronageDep) -> str:
    email = posted.text("email", 320)
    role = _role(posted.text("role"))
    with patronage.audit.action(posted.actor, "staff.added", email, {"role": role.value}):
        patronage.staff.add(email, role, str(posted.form.get("password") or ""), by=posted.actor)
    return f"{email} added as {role.value}."


@router.post("/staff/{staff_id}/role")
@form_action(STAFF_PAGE)
def change_role(posted: AdminForm, patronage: PatronageDep, staff_id: UUID) -> str:
    role = _role(posted.text("role"))
    with patronage.audit.action(
        posted.actor, "staff.role_changed", str(staff_id), {"role": role.value}
    ):
        member = patronage.staff.change_role(staff_id, role, by=posted.actor)
    return f"{member.email} is now {role.value}."


@router.post("/staff/{staff_id}/access")
@form_action(STAFF_PAGE)
def change_access(posted: AdminForm, patronage: PatronageDep, staff_id: UUID) -> str:
    """Disable (ending their sessions) or enable a staff member."""
    enable = posted.text("access") == "enable"
    if staff_id == posted.user.staff_id and not enable:
        raise ValueError("You cannot disable yourself.")
    action = "staff.enabled" if enable else "staff.disabled"
    with patronage.audit.action(posted.actor, action, str(staff_id)):
        switch = patronage.staff.enable if enable else patronage.staff.disable
        member = switch(staff_id, posted.actor)
    return f"{member.email} {'enabled' if enable else 'disabled'}."


def _tokens_page(page: Page, patronage: Patronage, **context: Any) -> Response:
    """The tokens page: every token, and the roles a new one may have."""
    return page.render("tokens.html", tokens=patronage.api_tokens.tokens(), roles=ROLES, **context)


@router.get("/tokens", response_class=HTMLResponse)
def tokens(page: AdminPage, patronage: PatronageDep) -> Response:
    return _tokens_page(page, patronage)


@router.post("/tokens", response_class=HTMLResponse)
def create_token(request: Request, posted: AdminForm, patronage: PatronageDep) -> Response:
    """Create a token and show its secret this once."""
    label = posted.text("label", 100)
    try:
        role = _role(posted.text("role"))
        days = int(posted.text("days") or 90)
        with patronage.audit.action(posted.actor, "token.created", label, {"role": role.value}):
            issued = patronage.api_tokens.create(label, role, days, by=posted.actor)
    except REFUSED as refused:
        return back_to(TOKENS_PAGE, error=reason(refused))
    created = Page(request, posted.user, notice=f"Token {issued.token.token_id} created.")
    return _tokens_page(created, patronage, issued=issued)


@router.post("/tokens/{token_id}/revoke")
@form_action(TOKENS_PAGE)
def revoke_token(posted: AdminForm, patronage: PatronageDep, token_id: str) -> str:
    with patronage.audit.action(posted.actor, "token.revoked", token_id):
        patronage.api_tokens.revoke(token_id[:64], by=posted.actor)
    return f"Token {token_id} revoked."


@router.get("/audit", response_class=HTMLResponse)
def audit(
    page: AdminPage, patronage: PatronageDep, before: Before, actor: str = "", action: str = ""
) -> Response:
    """Every staff action, newest first."""
    entries = patronage.audit.entries(
        before=before, limit=100, actor=actor.strip()[:320], action=action.strip()[:100]
    )
    query = urlencode({k: v for k, v in (("actor", actor), ("action", action)) if v})
    return page.render("audit.html", page=entries, actor=actor, action=action, query=query)


def shown_setting(value: object) -> str:
    """A setting's value for the overview: a secret only as set or not."""
    if isinstance(value, SecretStr):
        return "set" if value.get_secret_value() else "not set"
    if isinstance(value, list):
        if any(isinstance(v, SecretStr) for v in value):
            return f"{len(value)} set"
        return ", ".join(map(str, value)) or "—"
    return "—" if value is None else str(value)


@router.get("/settings", response_class=HTMLResponse)
def settings_overview(page: AdminPage, patronage: PatronageDep) -> Response:
    """Every setting in force, with secrets shown only as set or not set."""
    settings = patronage.settings
    rows = [
        (f"PATRONAGE_{name.upper()}", shown_setting(getattr(settings, name)))
        for name in type(settings).model_fields
    ]
    return page.render("settings.html", rows=rows)
