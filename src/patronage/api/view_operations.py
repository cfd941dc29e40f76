"""Staff: each view's position and lag, the event a view is stuck on, and skipping it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, Field

from patronage.api.deps import AdminDep, PatronageDep, StaffDep
from patronage.api.inputs import NoControlCharacters
from patronage.api.read_models import MAX_POSITION
from patronage.projections.catalog import PROJECTIONS, UnknownViewError
from patronage.projections.faults import Fault, NotStuckError

router = APIRouter(
    prefix="/staff/projections",
    tags=["staff: views"],
    responses={401: {"description": "no valid staff API key"}},
)

ViewName = Annotated[str, Path(pattern="^(" + "|".join(PROJECTIONS) + ")$")]


class StuckOut(BaseModel):
    notification_id: int = Field(description="the event the view cannot apply")
    topic: str
    error: str
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    next_attempt_at: datetime

    @classmethod
    def of(cls, fault: Fault) -> StuckOut:
        return cls(
            notification_id=fault.notification_id,
            topic=fault.topic,
            error=fault.error,
            attempts=fault.attempts,
            first_failed_at=fault.first_failed_at,
            last_failed_at=fault.last_failed_at,
            next_attempt_at=fault.next_attempt_at,
        )


class ViewOut(BaseModel):
    view: str
    position: int
    head: int
    pending: int = Field(description="events of the view not applied yet (counted to a cap)")
    pending_capped: bool
    stuck: StuckOut | None = Field(description="the event the view fails on, if any")


class SkipIn(BaseModel):
    notification_id: Annotated[int, Field(ge=1, le=MAX_POSITION)]
    reason: Annotated[str, Field(min_length=1, max_length=500), NoControlCharacters]


class SkipOut(BaseModel):
    view: str
    notification_id: int
    topic: str
    error: str
    by: str
    reason: str


@router.get("")
def views(_staff: StaffDep, patronage: PatronageDep) -> list[ViewOut]:
    return [
        ViewOut(
            view=s.name,
            position=s.position,
            head=s.head,
            pending=s.pending,
            pending_capped=s.pending_capped,
            stuck=None if s.fault is None else StuckOut.of(s.fault),
        )
        for s in patronage.view_operations.states()
    ]


@router.post(
    "/{view}/skip",
    responses={
        404: {"description": "no such view"},
        409: {"description": "the view waits for another event, or for none"},
    },
)
def skip(view: ViewName, body: SkipIn, staff: AdminDep, patronage: PatronageDep) -> SkipOut:
    """Move the view past the one event it cannot apply, recording who and why
    (`SkippedViewEvent.Recorded`). The event stays in the ledger; only this view ignores it."""
    try:
        with patronage.audit.action(
            staff, "view.event_skipped", view,
            {"notification_id": str(body.notification_id), "reason": body.reason},
        ):  # fmt: skip
            trail = patronage.view_operations.skip(view, body.notification_id, staff, body.reason)
    except UnknownViewError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from None
    except NotStuckError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(error)) from None
    except ValueError as error:  # a reason of spaces only
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from None
    return SkipOut(
        view=trail.view,
        notification_id=trail.notification_id,
        topic=trail.topic,
        error=trail.error,
        by=trail.by,
        reason=trail.reason,
    )
