"""Staff: gifts the card-testing guard held for review. Release one (it may be receipted from
then on) or reject one (refunded at Stripe as fraudulent, never receipted); each decision is
in the audit trail with who made it and why."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError
from fastapi import HTTPException, status
from pydantic import BaseModel, Field

from patronage.api.amounts import MoneyOut
from patronage.api.deps import PatronageDep, StaffDep, answers, staff_router
from patronage.application.gift_review import ReviewUnavailableError
from patronage.payments.orders import PaymentProviderError

log = structlog.get_logger(__name__)

router = staff_router("/staff/reviews", "staff: gift review", not_found="no such gift")


class HeldGiftOut(BaseModel):
    gift_id: UUID
    payment_id: str
    supporter_id: UUID
    amount: MoneyOut
    received_at: datetime
    kind: str
    campaign: str
    reason: str = Field(description="why the card-testing guard held it")


class RejectIn(BaseModel):
    reason: str = Field(min_length=3, max_length=500, pattern=r"^[^\x00-\x1f]*$")


class RejectedOut(BaseModel):
    gift_id: UUID
    refund_id: str = Field(description="Stripe's refund; its webhook books it on the gift")


def _not_found(gift_id: UUID) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no gift {gift_id}")


@router.get("")
def held(patronage: PatronageDep, _staff: StaffDep) -> list[HeldGiftOut]:
    """Gifts held for review (not receipted until released), the oldest hold first."""
    return [
        HeldGiftOut(**(h.__dict__ | {"amount": MoneyOut.of(h.amount)}))
        for h in patronage.reviews.held()
    ]


@router.post(
    "/{gift_id}/release",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=answers(conflict="not held, or rejected already"),
)
def release(gift_id: UUID, patronage: PatronageDep, staff: StaffDep) -> None:
    """The gift is genuine: it may be receipted from now on."""
    try:
        with patronage.audit.action(staff, "gift.released_from_review", str(gift_id)):
            patronage.reviews.release(gift_id, by=staff)
    except AggregateNotFoundError:
        raise _not_found(gift_id) from None
    log.info("gift_released_from_review", gift_id=str(gift_id), by=staff)


@router.post(
    "/{gift_id}/reject",
    responses=answers(
        conflict="not held, or released already",
        bad_gateway="Stripe did not refund: reject again to retry the same refund",
        service_unavailable="payments are not configured",
    ),
)
def reject(gift_id: UUID, body: RejectIn, patronage: PatronageDep, staff: StaffDep) -> RejectedOut:
    """The gift is fraudulent: never receipted, and refunded in full at Stripe."""
    try:
        with patronage.audit.action(
            staff, "gift.rejected_in_review", str(gift_id), {"reason": body.reason}
        ):
            refund_id = patronage.reviews.reject(gift_id, by=staff, reason=body.reason)
    except AggregateNotFoundError:
        raise _not_found(gift_id) from None
    except ReviewUnavailableError as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(error)) from None
    except PaymentProviderError as error:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, detail=str(error)) from None
    log.info("gift_rejected_in_review", gift_id=str(gift_id), by=staff)
    return RejectedOut(gift_id=gift_id, refund_id=refund_id)
