"""Supporter sessions and form tokens, signed by keys derived from one secret
(PATRONAGE_SUPPORTER_TOKEN_SECRET, which the ask's token and the cancellation links use too).

The session is a signed, HttpOnly, SameSite=Lax cookie that expires: Lax, so a link to the
page from the supporter's own email opens it signed in; every change is a POST carrying a
form token derived from the session cookie, which another site cannot read or make.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import FormData

from patronage.api.deps import PatronageDep
from patronage.api.forms import PageRefusedError, form_text, posted_form
from patronage.application.supporter_access import derive_key
from patronage.domain.supporter import Supporter

SESSION_COOKIE = "patronage_supporter"
FORM_FIELD = "form_token"


class SupporterRefusedError(PageRefusedError):
    """A supporter page refused: 401 shows the sign-in form, other statuses a message."""


class SupporterKeys:
    """The session and form keys of the supporter pages, derived from the one secret."""

    def __init__(self, root: bytes, session_seconds: int) -> None:
        self._form_key = derive_key(root, "form")
        self._sessions = URLSafeTimedSerializer(
            derive_key(root, "session").hex(), salt="patronage-supporter-session"
        )
        self.session_seconds = session_seconds

    def session(self, supporter_id: UUID, started_at: datetime) -> str:
        return self._sessions.dumps({"sid": str(supporter_id), "at": started_at.isoformat()})

    def read_session(self, cookie: str) -> UUID | None:
        """The supporter of a session cookie; None if forged or expired."""
        try:
            data: Any = self._sessions.loads(cookie, max_age=self.session_seconds)
            return UUID(data["sid"])
        except (BadSignature, KeyError, TypeError, ValueError):
            return None

    def form_token(self, cookie: str) -> str:
        return hmac.new(self._form_key, cookie.encode(), hashlib.sha256).hexdigest()


def keys(request: Request) -> SupporterKeys:
    value: SupporterKeys = request.app.state.supporter_keys
    return value


def _signed_in(request: Request, patronage: PatronageDep) -> Supporter:
    cookie = request.cookies.get(SESSION_COOKIE)
    supporter_id = keys(request).read_session(cookie) if cookie else None
    supporter = None if supporter_id is None else patronage.access.supporter(supporter_id)
    if supporter is None:
        raise SupporterRefusedError(401, "Please sign in to see your giving.")
    return supporter


SignedIn = Annotated[Supporter, Depends(_signed_in)]


_STALE_FORM = "This form is out of date: go back, reload the page and try again."


async def checked_form(request: Request, supporter: SignedIn) -> FormData:
    """The posted form of a signed-in supporter, once its token matches their session."""
    expected = keys(request).form_token(request.cookies.get(SESSION_COOKIE, ""))
    return await posted_form(request, FORM_FIELD, expected, SupporterRefusedError(403, _STALE_FORM))


CheckedForm = Annotated[FormData, Depends(checked_form)]


def field(form: FormData, name: str, max_length: int = 200) -> str:
    """A supporter page's form field as trimmed text ("" when absent)."""
    return form_text(form, name, max_length)


def start_session(request: Request, response: Response, supporter_id: UUID) -> None:
    supporter_keys = keys(request)
    response.set_cookie(
        SESSION_COOKIE,
        supporter_keys.session(supporter_id, datetime.now(UTC)),
        max_age=supporter_keys.session_seconds,
        path="/my",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/my")
