"""Staff: each view's position and lag, the event a view is stuck on, and skipping it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, Field

from patronage.api.deps import AdminDep, PatronageDep, StaffDep, answers
from patronage.api.inputs import NoControlCharacters
from patronage.api.outputs import model_from
from patronage.api.read_models import MAX_POSITION
from patronage.projections.catalog import PROJECTIONS, UnknownViewError
from patronage.projections.faults import Fault, NotStuckError

router = APIRouter(
    prefix="/staff/projections",
    tags=["staff: views"],
    responses=answers(unauthorized="no valid staff API key"),
)

ViewName = Annotated[str, Path(pattern="^(" + "|".join(PROJECTIONS) + ")$")]


class ViewOut(BaseModel):
    view: str
    position: int
    head: int
    pending: int = Field(description="events of the view not applied yet (counted to a cap)")
    pending_capped: bool
    stuck: Fault | None = Field(
        description="the event the view fails on (`notification_id`), if any, and its retries"
    )


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
        model_from(ViewOut, s, view=s.name, stuck=s.fault)
        for s in patronage.view_operations.states()
    ]


@router.post(
    "/{view}/skip",
    responses=answers(
        not_found="no such view", conflict="the view waits for another event, or for none"
    ),
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
    return SkipOut.model_validate(trail, from_attributes=True)
