"""The member's own changes: each goes to Stripe, and the page shows it once Stripe's
webhook has reported it (until then the page says the change was asked for)."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from patronage.api.deps import PatronageDep
from patronage.api.my.giving import back
from patronage.api.my.session import CheckedForm, SignedIn, SupporterRefusedError, field
from patronage.application.member_changes import NotYourMembershipError
from patronage.domain.errors import DomainError
from patronage.payments.amounts import AmountError
from patronage.payments.orders import PaymentProviderError, PaymentRefusedError

router = APIRouter(prefix="/my/memberships", include_in_schema=False)

ASKED = "Stripe has your change; this page shows it as soon as Stripe confirms it."


async def _change(work: Callable[[], object], done: str = ASKED) -> Response:
    try:
        await run_in_threadpool(work)
    except NotYourMembershipError:
        raise SupporterRefusedError(404, "There is no such membership among yours.") from None
    except (DomainError, AmountError, PaymentRefusedError) as error:
        return back(error=str(error))
    except PaymentProviderError:
        return back(error="Stripe could not be reached: nothing changed. Please try again.")
    return back(notice=done)


@router.post("/{membership_id}/amount")
async def change_amount(
    patronage: PatronageDep, supporter: SignedIn, form: CheckedForm, membership_id: UUID
) -> Response:
    def work() -> None:
        membership = patronage.member_changes.owned(supporter.id, membership_id)
        currency = membership.monthly_amount.currency
        amount = patronage.checkout.rules.parse(field(form, "amount", 20), currency)
        patronage.member_changes.change_amount(supporter.id, membership_id, amount)

    return await _change(work)


@router.post("/{membership_id}/pause")
async def pause(
    patronage: PatronageDep, supporter: SignedIn, form: CheckedForm, membership_id: UUID
) -> Response:
    try:
        months = int(field(form, "months", 2))
    except ValueError:
        return back(error="Choose for how many months to pause.")
    return await _change(
        lambda: patronage.member_changes.pause(supporter.id, membership_id, months)
    )


@router.post("/{membership_id}/resume")
async def resume(
    patronage: PatronageDep, supporter: SignedIn, _form: CheckedForm, membership_id: UUID
) -> Response:
    return await _change(lambda: patronage.member_changes.resume(supporter.id, membership_id))


@router.post("/{membership_id}/cancel")
async def cancel(
    patronage: PatronageDep, supporter: SignedIn, _form: CheckedForm, membership_id: UUID
) -> Response:
    return await _change(
        lambda: patronage.member_changes.cancel_at_period_end(supporter.id, membership_id)
    )


@router.post("/{membership_id}/card")
async def update_card(
    patronage: PatronageDep, supporter: SignedIn, _form: CheckedForm, membership_id: UUID
) -> Response:
    """On to Stripe's hosted customer portal, which comes back to this page."""
    if patronage.settings.public_url is None:
        return back(error="Card changes are not available here yet.")
    return_url = f"{str(patronage.settings.public_url).rstrip('/')}/my"
    try:
        url = await run_in_threadpool(
            patronage.member_changes.card_page, supporter.id, membership_id, return_url
        )
    except NotYourMembershipError:
        raise SupporterRefusedError(404, "There is no such membership among yours.") from None
    except (DomainError, PaymentRefusedError) as error:
        return back(error=str(error))
    except PaymentProviderError:
        return back(error="Stripe's card page could not be opened. Please try again.")
    return RedirectResponse(url, status_code=303)
