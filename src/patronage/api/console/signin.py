"""Signing in and out of the console with an email and password."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from patronage.api.console.pages import render
from patronage.api.console.session import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    AnyUser,
    AnyUserForm,
    CheckedForm,
    MaybeUser,
    now,
    set_cookie,
    signer,
    text,
)
from patronage.api.deps import PatronageDep
from patronage.application.ratelimit import RateLimiter
from patronage.domain.errors import DomainError
from patronage.domain.staff import Role

router = APIRouter(prefix="/console", include_in_schema=False)

# Guessing passwords: at most this many tries per address in the window.
SIGNIN_ATTEMPTS = 10
SIGNIN_WINDOW_SECONDS = 600


def home_for(role: Role) -> str:
    return "/console/campaigns" if role == Role.EDITOR else "/console/supporters"


def _safe_next(value: str) -> str:
    """Only a console path: never an open redirect to another site."""
    if value.startswith("/console") and not value.startswith("//"):
        return value
    return ""


@router.get("", response_class=HTMLResponse)
def console_home(request: Request, user: MaybeUser) -> Response:
    if user is None:
        return RedirectResponse("/console/sign-in", status_code=303)
    return RedirectResponse(home_for(user.role), status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, user: MaybeUser, next: str = "") -> Response:
    if user is not None:
        return RedirectResponse(_safe_next(next) or home_for(user.role), status_code=303)
    return render(request, "signin.html", None, next=_safe_next(next))


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.signin_limiter
    return limiter


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, form: CheckedForm, patronage: PatronageDep) -> Response:
    email, password = text(form, "email", 320), str(form.get("password") or "")[:1024]
    next_path = _safe_next(text(form, "next"))
    client = request.client.host if request.client else "unknown"
    if _limiter(request).hit(client) is not None:
        return render(
            request, "signin.html", None, status_code=429, next=next_path, email=email,
            error="Too many sign-in attempts from here: wait a few minutes.",
        )  # fmt: skip
    member = await run_in_threadpool(patronage.staff.authenticate, email, password)
    if member is None:
        return render(
            request, "signin.html", None, status_code=401, next=next_path, email=email,
            error="That email and password do not match an active staff account.",
        )  # fmt: skip
    response = RedirectResponse(next_path or home_for(member.role), status_code=303)
    session = signer(request).session(member.id, now())
    set_cookie(request, response, SESSION_COOKIE, session, int(signer(request).session_seconds))
    # A fresh CSRF cookie per session: a token seen before sign-in is worth nothing after.
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.post("/sign-out")
def sign_out(posted: AnyUserForm, patronage: PatronageDep) -> Response:
    """End every session of this person (this browser's and any other)."""
    patronage.staff.sign_out(posted.user.staff_id)
    response = RedirectResponse("/console/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, user: AnyUser, notice: str = "", error: str = "") -> Response:
    return render(request, "account.html", user, notice=notice, error=error)


@router.post("/account/password")
async def change_password(
    request: Request, posted: AnyUserForm, patronage: PatronageDep
) -> Response:
    """A new password, given the current one; other sessions of this person end."""
    user, form = posted.user, posted.form
    current, new = str(form.get("current") or "")[:1024], str(form.get("new") or "")[:1024]
    if await run_in_threadpool(patronage.staff.authenticate, user.email, current) is None:
        return RedirectResponse("/console/account?error=The+current+password+is+wrong.", 303)
    try:
        with patronage.audit.action(user.actor, "staff.password_changed", user.email):
            await run_in_threadpool(patronage.staff.change_password, user.staff_id, new, user.actor)
    except DomainError as error:
        return RedirectResponse(f"/console/account?error={quote(str(error))}", 303)
    await run_in_threadpool(patronage.staff.sign_out, user.staff_id)
    response = RedirectResponse("/console/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
