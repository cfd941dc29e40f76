"""Staff: change a supporter's email, merge two records of one person, erase a person.

Each answers with the event log position of the action: pass it as `?after=` to a staff
read to see the views with the action applied. Erasure is final.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from patronage.api.deps import PatronageDep, StaffDep, answers, audited, staff_router
from patronage.application.giving import SupporterDetails
from patronage.application.supporters import UnknownSupporterError

router = staff_router("/staff/supporters", "staff: supporters", not_found="no such supporter")


class EmailIn(BaseModel):
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+$")


class MergeIn(BaseModel):
    duplicate_id: UUID = Field(description="the record that is the same person; it is merged")
    reason: str = Field(min_length=3, max_length=500, pattern=r"^[^\x00-\x1f]*$")


class ReasonIn(BaseModel):
    reason: str = Field(min_length=3, max_length=500, pattern=r"^[^\x00-\x1f]*$")


class SupporterActionOut(BaseModel):
    supporter_id: UUID
    position: int = Field(description="the event log position of the action (for ?after=)")


class ErasureOut(BaseModel):
    supporter_ids: list[UUID] = Field(description="the person's record and any merged into it")
    payloads_reduced: int = Field(description="kept Stripe payloads that named them, reduced")
    position: int = Field(description="the event log position of the action (for ?after=)")


@router.put("/{supporter_id}/email", responses=answers(conflict="an erased supporter"))
def change_email(
    staff: StaffDep, patronage: PatronageDep, supporter_id: UUID, body: EmailIn
) -> SupporterActionOut:
    """Set the supporter's email; gifts with the new email find them from now on."""
    # The trail names the change, not the address: it outlives an erasure.
    with audited(patronage, staff, "supporter.email_changed", str(supporter_id)):
        patronage.giving.update_supporter(supporter_id, SupporterDetails(email=body.email))
    return SupporterActionOut(supporter_id=supporter_id, position=patronage.ledger.head())


@router.post(
    "/{supporter_id}/merge",
    responses=answers(conflict="the same record, or one merged or erased already"),
)
def merge(
    staff: StaffDep, patronage: PatronageDep, supporter_id: UUID, body: MergeIn
) -> SupporterActionOut:
    """Merge `duplicate_id` into this supporter (finance found them to be one person)."""
    with audited(
        patronage, staff, "supporter.merged", str(supporter_id),
        {"duplicate": str(body.duplicate_id), "reason": body.reason},
        missing=UnknownSupporterError,
    ):  # fmt: skip
        survivor = patronage.supporters.merge(body.duplicate_id, supporter_id, staff, body.reason)
    return SupporterActionOut(supporter_id=survivor, position=patronage.ledger.head())


@router.post("/{supporter_id}/erase")
def erase(
    staff: StaffDep, patronage: PatronageDep, supporter_id: UUID, body: ReasonIn
) -> ErasureOut:
    """Erase the person's name, email and address everywhere; their money stays."""
    with audited(
        patronage, staff, "supporter.erased", str(supporter_id), {"reason": body.reason},
        missing=UnknownSupporterError,
    ):  # fmt: skip
        erasure = patronage.supporters.erase(supporter_id, staff, body.reason)
    return ErasureOut(
        supporter_ids=erasure.supporter_ids,
        payloads_reduced=erasure.payloads_reduced,
        position=patronage.ledger.head(),
    )
