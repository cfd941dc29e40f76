"""Console: the Stripe webhook inbox: filter, read an event and what it did, replay (admin)."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from patronage.api.console.pages import render
from patronage.api.console.session import AdminUser, CheckedForm, ConsoleRefusedError, FinanceUser
from patronage.api.deps import PatronageDep
from patronage.domain.inbox import InboxStatus

router = APIRouter(prefix="/console/inbox", include_in_schema=False)
EventId = Annotated[str, Path(max_length=255)]
PAGE = 50


@router.get("", response_class=HTMLResponse)
def inbox(
    request: Request,
    user: FinanceUser,
    patronage: PatronageDep,
    status: str = "",
    event_type: str = "",
    before: int | None = None,
) -> Response:
    chosen = InboxStatus(status) if status in InboxStatus.__members__.values() else None
    kind = event_type.strip()[:100]
    page = patronage.inbox.entries(
        before=before if before and before > 0 else None, limit=PAGE, status=chosen,
        event_type=kind or None,
    )  # fmt: skip
    query = urlencode({k: v for k, v in (("status", status), ("event_type", kind)) if v})
    return render(
        request, "inbox.html", user, page=page, status=chosen, event_type=kind, query=query,
        statuses=list(InboxStatus), parked=patronage.inbox.parked(),
    )  # fmt: skip


@router.get("/{event_id}", response_class=HTMLResponse)
def inbox_event(
    request: Request, user: FinanceUser, patronage: PatronageDep, event_id: EventId,
    notice: str = "",
) -> Response:  # fmt: skip
    detail = patronage.inbox.detail(event_id)
    if detail is None:
        raise ConsoleRefusedError(404, f"No inbox event {event_id}.")
    return render(
        request, "inbox_event.html", user, event=detail, notice=notice,
        payload=json.dumps(detail.payload, indent=2, sort_keys=True),
    )  # fmt: skip


@router.post("/{event_id}/replay")
def replay(
    user: AdminUser, _form: CheckedForm, patronage: PatronageDep, event_id: EventId
) -> Response:
    """Apply the event again through the current translation (idempotent)."""
    with patronage.audit.action(user.actor, "inbox.event_replayed", event_id):
        if patronage.inbox.replay(event_id) is None:
            raise ConsoleRefusedError(404, f"No inbox event {event_id}.")
    return RedirectResponse(f"/console/inbox/{quote(event_id)}?notice=Replayed.", status_code=303)
