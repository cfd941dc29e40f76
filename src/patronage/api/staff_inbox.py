"""Staff view of the webhook inbox: what arrived, what was applied, what waits and for what,
what was ignored or failed; and re-applying an event after a fix."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel

from patronage.api.deps import AUTH_RESPONSES, AdminDep, PatronageDep, StaffDep
from patronage.api.read_models import MAX_POSITION
from patronage.application.inbox import InboxEntry
from patronage.bootstrap import Patronage
from patronage.domain.inbox import InboxEvent, InboxStatus, inbox_event_id_for

log = structlog.get_logger(__name__)

router = APIRouter(
    prefix="/staff/inbox",
    tags=["staff: webhook inbox"],
    responses={
        **AUTH_RESPONSES,
        404: {"description": "no such inbox event"},
    },
)


class InboxEntryOut(BaseModel):
    position: int
    event_id: str
    event_type: str
    status: InboxStatus
    detail: str
    stripe_created: datetime
    recorded_at: datetime
    updated_at: datetime
    livemode: bool
    api_version: str
    source: str

    @classmethod
    def of(cls, entry: InboxEntry) -> InboxEntryOut:
        return cls(**entry.__dict__)


class InboxPageOut(BaseModel):
    entries: list[InboxEntryOut]
    next_before: int | None


class HistoryItem(BaseModel):
    event: str
    at: datetime
    detail: str


class InboxEventOut(BaseModel):
    event_id: str
    event_type: str
    status: InboxStatus
    detail: str
    stripe_created: datetime
    recorded_at: datetime
    livemode: bool
    api_version: str
    source: str
    history: list[HistoryItem]
    payload: dict[str, Any]


class WaitingOut(BaseModel):
    key: str
    event_ids: list[str]


def _history(patronage: Patronage, inbox_event: InboxEvent) -> list[HistoryItem]:
    items = []
    for stored in patronage.ledger.events.get(inbox_event.id):
        detail = next(
            (
                str(getattr(stored, name))
                for name in ("outcome", "waiting_for", "reason", "error", "source")
                if hasattr(stored, name)
            ),
            "",
        )
        at: datetime = getattr(stored, "timestamp")  # noqa: B009 (every aggregate event has one)
        items.append(HistoryItem(event=type(stored).__name__, at=at, detail=detail))
    return items


def inbox_event_detail(patronage: Patronage, event_id: str) -> InboxEventOut:
    inbox_event = patronage.ledger.get_or_none(inbox_event_id_for(event_id), InboxEvent)
    if inbox_event is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no inbox event {event_id}")
    return InboxEventOut(
        event_id=inbox_event.event_id,
        event_type=inbox_event.event_type,
        status=inbox_event.status,
        detail=inbox_event.detail,
        stripe_created=inbox_event.created,
        recorded_at=inbox_event.created_on,
        livemode=inbox_event.livemode,
        api_version=inbox_event.api_version,
        source=inbox_event.source,
        history=_history(patronage, inbox_event),
        payload=inbox_event.payload,
    )


@router.get("")
def list_inbox(
    patronage: PatronageDep,
    _staff: StaffDep,
    status_: Annotated[
        InboxStatus | None, Query(alias="status", description="only events in this state")
    ] = None,
    event_type: Annotated[
        str | None, Query(max_length=100, description="e.g. invoice.paid")
    ] = None,
    before: Annotated[
        int | None,
        Query(ge=1, le=MAX_POSITION, description="position to page back from (next_before)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> InboxPageOut:
    """Inbox events, newest first."""
    page = patronage.inbox.entries(
        before=before, limit=limit, status=status_, event_type=event_type
    )
    return InboxPageOut(
        entries=[InboxEntryOut.of(e) for e in page.entries], next_before=page.next_before
    )


@router.get("/waiting")
def waiting(patronage: PatronageDep, _staff: StaffDep) -> list[WaitingOut]:
    """What parked events wait for ("payment:pi_...": a refund or dispute before its payment)."""
    return [WaitingOut(key=w.key, event_ids=w.event_ids) for w in patronage.inbox.waiting()]


EventIdPath = Annotated[str, Path(max_length=255, description="Stripe's event id, evt_...")]


@router.get("/{event_id}")
def inbox_event(event_id: EventIdPath, patronage: PatronageDep, _staff: StaffDep) -> InboxEventOut:
    """One inbox event: its state, its history and the payload as Stripe sent it."""
    return inbox_event_detail(patronage, event_id)


@router.post("/{event_id}/replay")
def replay(event_id: EventIdPath, patronage: PatronageDep, staff: AdminDep) -> InboxEventOut:
    """Apply the event again through the current translation (idempotent); admin only."""
    log.info("inbox_event_replayed", event_id=event_id, by=staff)
    if patronage.inbox.get(event_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no inbox event {event_id}")
    with patronage.audit.action(staff, "inbox.event_replayed", event_id):
        patronage.inbox.process(event_id, force=True)
    return inbox_event_detail(patronage, event_id)
