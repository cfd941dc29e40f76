"""Console: gifts the card-testing guard held for review, to release or reject (refund) with
a reason. The decisions go through the staff review API's own functions, so they are checked
and audited the same way."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from patronage.api import staff_reviews
from patronage.api.console.pages import FinancePage, form_action
from patronage.api.console.session import FinanceForm
from patronage.api.deps import PatronageDep

router = APIRouter(prefix="/console/reviews", include_in_schema=False)
REVIEWS_PAGE = "/console/reviews"


@router.get("", response_class=HTMLResponse)
def reviews(page: FinancePage, patronage: PatronageDep) -> Response:
    return page.render("reviews.html", held=patronage.reviews.held())


@router.post("/{gift_id}/release")
@form_action(REVIEWS_PAGE)
def release(posted: FinanceForm, patronage: PatronageDep, gift_id: UUID) -> str:
    staff_reviews.release(gift_id, patronage, posted.actor)
    return "Released: the gift may be receipted."


@router.post("/{gift_id}/reject")
@form_action(REVIEWS_PAGE)
def reject(posted: FinanceForm, patronage: PatronageDep, gift_id: UUID) -> str:
    body = staff_reviews.RejectIn(reason=posted.text("reason"))
    rejected = staff_reviews.reject(gift_id, body, patronage, posted.actor)
    return f"Rejected and refunded at Stripe ({rejected.refund_id})."
