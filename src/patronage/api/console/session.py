"""Console sign-in state: a signed, HttpOnly, SameSite=Strict session cookie that expires,
and CSRF tokens for every form (double submit: a random cookie, and its HMAC in the form).

Nothing secret reaches the page's scripts or the browser's storage: the cookies are
HttpOnly, and the form token is useless without the cookie it was made from.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import FormData

from patronage.api.deps import PatronageDep
from patronage.api.forms import PageRefusedError, form_text, posted_form
from patronage.application.staff import StaffIdentity
from patronage.domain.staff import Role, role_allows

SESSION_COOKIE = "patronage_session"
CSRF_COOKIE = "patronage_csrf"
CSRF_FIELD = "csrf_token"


class ConsoleRefusedError(PageRefusedError):
    """A console request refused: 401 shows the sign-in form, 403 says what role it needs."""


@dataclass(frozen=True)
class ConsoleUser:
    staff_id: UUID
    email: str
    role: Role

    @property
    def identity(self) -> StaffIdentity:
        return StaffIdentity(actor=self.email, role=self.role, staff_id=self.staff_id)

    @property
    def actor(self) -> str:
        return self.email

    def may(self, role: str) -> bool:
        return role_allows(self.role, Role(role))


class Signer:
    """Signs session cookies and derives CSRF tokens from one secret."""

    def __init__(self, secret: str, session_seconds: float) -> None:
        self._secret = secret.encode()
        self._sessions = URLSafeTimedSerializer(secret, salt="patronage-console-session")
        self.session_seconds = session_seconds

    def session(self, staff_id: UUID, started_at: datetime) -> str:
        return self._sessions.dumps({"sid": str(staff_id), "at": started_at.isoformat()})

    def read_session(self, cookie: str) -> tuple[UUID, datetime] | None:
        """The staff id and start of a session cookie; None if forged or expired."""
        try:
            data: Any = self._sessions.loads(cookie, max_age=int(self.session_seconds))
            return UUID(data["sid"]), datetime.fromisoformat(data["at"])
        except (BadSignature, KeyError, TypeError, ValueError):
            return None

    def csrf_token(self, cookie: str) -> str:
        return hmac.new(self._secret, f"csrf:{cookie}".encode(), hashlib.sha256).hexdigest()


def signer(request: Request) -> Signer:
    value: Signer = request.app.state.console_signer
    return value


def console_signer(secret: str, session_hours: float) -> Signer:
    """The app's signer; without a configured secret, a random one for this process."""
    return Signer(secret or secrets.token_urlsafe(32), session_hours * 3600)


def current_user(request: Request, patronage: PatronageDep) -> ConsoleUser | None:
    """The signed-in staff member, or None (no cookie, forged, expired, signed out, disabled)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    session = signer(request).read_session(cookie) if cookie else None
    if session is None:
        return None
    staff_id, started_at = session
    member = patronage.staff.get(staff_id)
    if member is None or not member.session_valid(started_at):
        return None
    return ConsoleUser(staff_id=member.id, email=member.email, role=member.role)


MaybeUser = Annotated[ConsoleUser | None, Depends(current_user)]


def _allowed(user: ConsoleUser | None, role: Role | None) -> ConsoleUser:
    """The user, if signed in with the role (any role, for None): else 401 or 403."""
    if user is None:
        raise ConsoleRefusedError(401, "Please sign in to use the staff console.")
    if role is not None and not user.may(role):
        raise ConsoleRefusedError(403, f"This page needs the {role.value} role.")
    return user


def _needs(role: Role | None) -> Any:
    def user_with_role(user: MaybeUser) -> ConsoleUser:
        return _allowed(user, role)

    return user_with_role


FinanceUser = Annotated[ConsoleUser, Depends(_needs(Role.FINANCE))]
EditorUser = Annotated[ConsoleUser, Depends(_needs(Role.EDITOR))]
AdminUser = Annotated[ConsoleUser, Depends(_needs(Role.ADMIN))]
AnyUser = Annotated[ConsoleUser, Depends(_needs(None))]


_STALE_FORM = "This form's security token is missing or out of date: reload the page."


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matches the browser's CSRF cookie; else 403."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    expected = signer(request).csrf_token(cookie) if cookie else ""
    return await posted_form(request, CSRF_FIELD, expected, ConsoleRefusedError(403, _STALE_FORM))


CheckedForm = Annotated[FormData, Depends(checked_form)]


@dataclass(frozen=True)
class Posted:
    """A console form as posted: by a signed-in staff member with the role its route needs,
    and with its CSRF token checked."""

    user: ConsoleUser
    form: FormData

    @property
    def actor(self) -> str:
        return self.user.actor

    def text(self, name: str, max_length: int = 500) -> str:
        """A field as trimmed text ("" when absent)."""
        return form_text(self.form, name, max_length)


def _posted_by(role: Role | None) -> Callable[[Request, ConsoleUser | None], Awaitable[Posted]]:
    async def posted(request: Request, user: MaybeUser) -> Posted:
        # Who first: signed out, the sign-in page (401) rather than a stale form's 403.
        return Posted(_allowed(user, role), await checked_form(request))

    return posted


# A console form route's one dependency: who posted it, and what.
FinanceForm = Annotated[Posted, Depends(_posted_by(Role.FINANCE))]
EditorForm = Annotated[Posted, Depends(_posted_by(Role.EDITOR))]
AdminForm = Annotated[Posted, Depends(_posted_by(Role.ADMIN))]
AnyUserForm = Annotated[Posted, Depends(_posted_by(None))]


def text(form: FormData, name: str, max_length: int = 500) -> str:
    """A console form field as trimmed text ("" when absent)."""
    return form_text(form, name, max_length)


def csrf_cookie_value(request: Request) -> tuple[str, bool]:
    """The browser's CSRF cookie, or a new one (True: it must be set on the response)."""
    existing = request.cookies.get(CSRF_COOKIE)
    return (existing, False) if existing else (secrets.token_urlsafe(24), True)


def set_cookie(request: Request, response: Response, name: str, value: str, seconds: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=seconds,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def now() -> datetime:
    return datetime.now(UTC)
