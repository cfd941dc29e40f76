"""Staff view of the webhook inbox: what arrived, what was applied, what waits and for what,
what was ignored or failed; and re-applying an event after a fix."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel

from patronage.api.deps import AUTH_RESPONSES, AdminDep, PatronageDep, StaffDep
from patronage.api.read_models import MAX_POSITION
from patronage.application.inbox import InboxEntry, InboxEventDetail
from patronage.domain.inbox import InboxStatus

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


class HistoryItemOut(BaseModel):
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
    history: list[HistoryItemOut]
    payload: dict[str, Any]

    @classmethod
    def of(cls, found: InboxEventDetail | None, event_id: str) -> InboxEventOut:
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no inbox event {event_id}")
        fields = found.__dict__ | {
            "history": [HistoryItemOut(**item.__dict__) for item in found.history]
        }
        return cls(**fields)


class WaitingOut(BaseModel):
    key: str
    event_ids: list[str]


class ParkedOut(BaseModel):
    event_id: str
    event_type: str
    waiting_for: str
    stripe_created: datetime
    parked_since: datetime
    age_seconds: int


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


@router.get("/parked")
def parked(
    patronage: PatronageDep,
    _staff: StaffDep,
    older_than_seconds: Annotated[
        int | None,
        Query(
            ge=0,
            le=10 * 365 * 24 * 3600,
            description="only events parked at least this long "
            "(default: PATRONAGE_PARKED_ALERT_SECONDS)",
        ),
    ] = None,
) -> list[ParkedOut]:
    """Events parked longer than the threshold, with their age: the longest waiting first."""
    threshold = older_than_seconds
    if threshold is None:
        threshold = patronage.settings.parked_alert_seconds
    found = patronage.inbox.parked(timedelta(seconds=threshold))
    return [ParkedOut(**entry.__dict__) for entry in found]


EventIdPath = Annotated[str, Path(max_length=255, description="Stripe's event id, evt_...")]


@router.get("/{event_id}")
def inbox_event(event_id: EventIdPath, patronage: PatronageDep, _staff: StaffDep) -> InboxEventOut:
    """One inbox event: its state, its history and the payload as Stripe sent it."""
    return InboxEventOut.of(patronage.inbox.detail(event_id), event_id)


@router.post("/{event_id}/replay")
def replay(event_id: EventIdPath, patronage: PatronageDep, staff: AdminDep) -> InboxEventOut:
    """Apply the event again through the current translation (idempotent); admin only."""
    log.info("inbox_event_replayed", event_id=event_id, by=staff)
    with patronage.audit.action(staff, "inbox.event_replayed", event_id):
        return InboxEventOut.of(patronage.inbox.replay(event_id), event_id)  # 404: no record
