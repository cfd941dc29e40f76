"""Staff view of the webhook inbox: what arrived, what was applied, what waits and for what,
what was ignored or failed; and re-applying an event after a fix."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID

import structlog
from fastapi import HTTPException, Path, Query, status
from pydantic import BaseModel, Field

from patronage.api.amounts import MoneyOut
from patronage.api.deps import AdminDep, PatronageDep, StaffDep, answers, audited, staff_router
from patronage.api.read_models import MAX_POSITION
from patronage.application.giving import CounterpartMissingError
from patronage.application.inbox import (
    InboxEventDetail,
    InboxPage,
    ParkedEntry,
    WaitingKey,
)
from patronage.domain.inbox import InboxStatus

log = structlog.get_logger(__name__)

router = staff_router("/staff/inbox", "staff: webhook inbox", not_found="no such inbox event")


def _found(detail: InboxEventDetail | None, event_id: str) -> InboxEventDetail:
    if detail is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no inbox event {event_id}")
    return detail


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
) -> InboxPage:
    """Inbox events, newest first."""
    return patronage.inbox.entries(
        before=before, limit=limit, status=status_, event_type=event_type
    )


@router.get("/waiting")
def waiting(patronage: PatronageDep, _staff: StaffDep) -> list[WaitingKey]:
    """What parked events wait for ("payment:pi_...": a refund or dispute before its payment)."""
    return patronage.inbox.waiting()


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
) -> list[ParkedEntry]:
    """Events parked longer than the threshold, with their age: the longest waiting first."""
    threshold = older_than_seconds
    if threshold is None:
        threshold = patronage.settings.parked_alert_seconds
    return patronage.inbox.parked(timedelta(seconds=threshold))


class UnbookedOut(BaseModel):
    """A payment that reached Stripe without our checkout's metadata."""

    payment_id: str = Field(description="pi_... (a payment) or in_... (an invoice)")
    amount: MoneyOut
    received_at: datetime = Field(description="When Stripe took the money")
    email: str = Field(description="The payer's, as Stripe had it; empty if none")
    name: str = Field(description="The payer's, as Stripe had it; empty if none")
    stripe_customer_id: str = Field(description="cus_..., empty if Stripe named no customer")
    source: str = Field(description="What Stripe reported it in: payment_intent or invoice")
    noted_at: datetime = Field(description="When we listed it for staff")


class BookedOut(BaseModel):
    payment_id: str
    gift_id: UUID


class DismissIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="why it is not a donation")


class SkipIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="why it is never to be applied")


@router.get("/unbooked")
def unbooked(patronage: PatronageDep, _staff: StaffDep) -> list[UnbookedOut]:
    """Money that reached Stripe without our checkout's metadata and waits for staff to book
    it as a gift or dismiss it (PATRONAGE_UNATTRIBUTED_PAYMENTS=review)."""
    return [
        UnbookedOut(
            **(entry.__dict__ | {"amount": MoneyOut.of(entry.amount.minor, entry.amount.currency)})
        )
        for entry in patronage.inbox.unbooked()
    ]


PaymentIdPath = Annotated[str, Path(max_length=255, description="pi_... or in_...")]


@router.post(
    "/unbooked/{payment_id}/book",
    responses=answers(conflict="decided already, or no supporter can be named"),
)
def book_unbooked(payment_id: PaymentIdPath, patronage: PatronageDep, staff: StaffDep) -> BookedOut:
    """Book a listed payment as a one-time gift (the trail keeps who did it and when)."""
    try:
        with patronage.audit.action(staff, "payment.booked", payment_id):
            gift_id = patronage.giving.book_unattributed(payment_id, by=staff)
    except CounterpartMissingError as missing:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"no supporter is known for it ({missing.key})"
        ) from None
    except LookupError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from None
    log.info("unattributed_payment_booked", payment_id=payment_id, by=staff)
    return BookedOut(payment_id=payment_id, gift_id=gift_id)


@router.post(
    "/unbooked/{payment_id}/dismiss",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=answers(conflict="decided already"),
)
def dismiss_unbooked(
    payment_id: PaymentIdPath, body: DismissIn, patronage: PatronageDep, staff: StaffDep
) -> None:
    """Dismiss a listed payment as not a donation, with the reason (kept in the trail)."""
    with audited(patronage, staff, "payment.dismissed", payment_id, {"reason": body.reason}):
        patronage.giving.dismiss_unattributed(payment_id, by=staff, reason=body.reason)
    log.info("unattributed_payment_dismissed", payment_id=payment_id, by=staff)


EventIdPath = Annotated[str, Path(max_length=255, description="Stripe's event id, evt_...")]


@router.get("/{event_id}")
def inbox_event(
    event_id: EventIdPath, patronage: PatronageDep, _staff: StaffDep
) -> InboxEventDetail:
    """One inbox event: its state, its history and the payload as Stripe sent it."""
    return _found(patronage.inbox.detail(event_id), event_id)


@router.post("/{event_id}/replay")
def replay(event_id: EventIdPath, patronage: PatronageDep, staff: AdminDep) -> InboxEventDetail:
    """Apply the event again through the current translation (idempotent); admin only."""
    log.info("inbox_event_replayed", event_id=event_id, by=staff)
    with patronage.audit.action(staff, "inbox.event_replayed", event_id):
        return _found(patronage.inbox.replay(event_id), event_id)  # 404: no record


NOT_SKIPPABLE = answers(conflict="the event is neither parked nor failed")


@router.post("/{event_id}/skip", responses=NOT_SKIPPABLE)
def skip(
    event_id: EventIdPath, body: SkipIn, patronage: PatronageDep, staff: AdminDep
) -> InboxEventDetail:
    """Never apply a parked or failed event (admin only): it leaves its waitlist, and neither
    a redelivery, the parked sweep nor a replay applies it; the reason stays in its history."""
    # Refused (a DomainError): 409 from the app's handler, and nothing recorded.
    with patronage.audit.action(staff, "inbox.event_skipped", event_id, {"reason": body.reason}):
        found = patronage.inbox.skip(event_id, by=staff, reason=body.reason)
        return _found(found, event_id)  # 404 inside: no record of nothing done
