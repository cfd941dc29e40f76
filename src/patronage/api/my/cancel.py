"""The one-click cancellation link of every membership email: no sign-in, one page that
says what will stop, and a button that stops it. The link names one membership, signed by
us: it cannot be guessed, nor changed to name another. The token rides in the query and
the form, never in a path that request logs record."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from patronage.api.deps import PatronageDep
from patronage.api.my.pages import render
from patronage.api.my.session import SupporterRefusedError, field
from patronage.application.member_changes import NotYourMembershipError
from patronage.domain.errors import DomainError
from patronage.domain.membership import Membership
from patronage.payments.orders import PaymentProviderError, PaymentRefusedError

router = APIRouter(prefix="/my/cancel", include_in_schema=False)

_NOT_OURS = "This cancellation link is not valid. Sign in to manage your membership."


def _membership(request: Request, patronage: PatronageDep, token: str) -> Membership:
    membership_id = patronage.cancel_links.membership(token[:200])
    if membership_id is None:
        raise SupporterRefusedError(404, _NOT_OURS)
    try:
        return patronage.member_changes.linked(membership_id)
    except NotYourMembershipError:
        raise SupporterRefusedError(404, _NOT_OURS) from None


@router.get("")
def confirm_page(request: Request, patronage: PatronageDep, token: str = "") -> Response:
    """What the link would cancel, and a button: opening the link never cancels."""
    membership = _membership(request, patronage, token)
    return render(request, "cancel.html", membership=membership, token=token)


@router.post("")
async def cancel_now(request: Request, patronage: PatronageDep) -> Response:
    token = field(await request.form(), "token", 200)
    # A read of the Ledger: in a worker thread, as the cancellation below, not on the loop.
    membership = await run_in_threadpool(_membership, request, patronage, token)
    if membership.is_cancelled:
        return render(request, "cancel.html", membership=membership, token=token)
    try:
        await run_in_threadpool(patronage.member_changes.cancel_now, membership.id)
    except NotYourMembershipError:
        raise SupporterRefusedError(404, _NOT_OURS) from None
    except (DomainError, PaymentProviderError, PaymentRefusedError) as error:
        reason = (
            str(error)
            if isinstance(error, PaymentRefusedError)
            else "Stripe could not be reached, so nothing was cancelled. Please try again."
        )
        return render(
            request, "cancel.html", status_code=503, membership=membership, token=token,
            error=reason,
        )  # fmt: skip
    return render(request, "cancelled.html", membership=membership)
