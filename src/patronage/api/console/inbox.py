"""Console: the Stripe webhook inbox: filter, read an event and what it did, parked events
with their age, unbooked payments to book or dismiss, replay and skip (admin). The changes go
through the staff inbox API's own functions, so they are checked and audited the same way."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path
from fastapi.responses import HTMLResponse, Response

from patronage.api import staff_inbox
from patronage.api.console.filters import InboxQuery, inbox_query
from patronage.api.console.pages import Before, FinancePage, after_form, back_to, form_action
from patronage.api.console.session import (
    AdminForm,
    ConsoleRefusedError,
    FinanceForm,
)
from patronage.api.deps import PatronageDep
from patronage.domain.inbox import SKIPPABLE, InboxStatus

router = APIRouter(prefix="/console/inbox", include_in_schema=False)
EventId = Annotated[str, Path(max_length=255)]
PaymentId = Annotated[str, Path(max_length=255)]
INBOX_PAGE = "/console/inbox"
PAGE = 50
InboxFilter = Annotated[InboxQuery, Depends(inbox_query)]


@router.get("", response_class=HTMLResponse)
def inbox(
    page: FinancePage, patronage: PatronageDep, before: Before, chosen: InboxFilter
) -> Response:
    entries = patronage.inbox.entries(
        before=before, limit=PAGE, status=chosen.status, event_type=chosen.event_type or None
    )
    return page.render(
        "inbox.html", page=entries, status=chosen.status, event_type=chosen.event_type,
        query=chosen.query, statuses=list(InboxStatus), parked=patronage.inbox.parked(),
        unbooked=patronage.inbox.unbooked(),
    )  # fmt: skip


@router.get("/{event_id}", response_class=HTMLResponse)
def inbox_event(page: FinancePage, patronage: PatronageDep, event_id: EventId) -> Response:
    detail = patronage.inbox.detail(event_id)
    if detail is None:
        raise ConsoleRefusedError(404, f"No inbox event {event_id}.")
    return page.render(
        "inbox_event.html", event=detail, skippable=detail.status in SKIPPABLE,
        payload=json.dumps(detail.payload, indent=2, sort_keys=True),
    )  # fmt: skip


@router.post("/{event_id}/replay")
def replay(posted: AdminForm, patronage: PatronageDep, event_id: EventId) -> Response:
    """Apply the event again through the current translation (idempotent)."""
    with patronage.audit.action(posted.actor, "inbox.event_replayed", event_id):
        if patronage.inbox.replay(event_id) is None:
            raise ConsoleRefusedError(404, f"No inbox event {event_id}.")
    return back_to(f"/console/inbox/{quote(event_id)}", notice="Replayed.")


@router.post("/{event_id}/skip")
def skip(posted: AdminForm, patronage: PatronageDep, event_id: EventId) -> Response:
    """Never apply a parked or failed event, with the reason (as the staff API does)."""

    def skip_it() -> str:
        body = staff_inbox.SkipIn(reason=posted.text("reason"))
        staff_inbox.skip(event_id, body, patronage, posted.actor)
        return "Skipped: it will never be applied."

    return after_form(f"/console/inbox/{quote(event_id)}", skip_it)


@router.post("/unbooked/{payment_id}/book")
@form_action(INBOX_PAGE)
def book(posted: FinanceForm, patronage: PatronageDep, payment_id: PaymentId) -> str:
    """Book an unbooked payment as a one-time gift."""
    booked = staff_inbox.book_unbooked(payment_id, patronage, posted.actor)
    return f"{booked.payment_id} booked as a gift."


@router.post("/unbooked/{payment_id}/dismiss")
@form_action(INBOX_PAGE)
def dismiss(posted: FinanceForm, patronage: PatronageDep, payment_id: PaymentId) -> str:
    """Dismiss an unbooked payment as not a donation, with the reason."""
    body = staff_inbox.DismissIn(reason=posted.text("reason"))
    staff_inbox.dismiss_unbooked(payment_id, body, patronage, posted.actor)
    return f"{payment_id} dismissed."
