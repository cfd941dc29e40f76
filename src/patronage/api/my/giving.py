"""The supporter's page: their gifts, totals per year, memberships and receipts; their
details for future receipts, and the annual receipt of a past year."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from patronage.api.deps import PatronageDep
from patronage.api.my.pages import render
from patronage.api.my.session import CheckedForm, SignedIn, SupporterRefusedError, field
from patronage.application.giving import SupporterDetails
from patronage.application.my_giving import Statement
from patronage.bootstrap import Patronage
from patronage.domain.campaign import Frequency
from patronage.domain.errors import DomainError
from patronage.domain.values import PostalAddress
from patronage.receipts.pdf import render_receipt

router = APIRouter(prefix="/my", include_in_schema=False)


def back(notice: str = "", error: str = "") -> Response:
    """To the page, with what happened (a redirect after every POST)."""
    query = f"?notice={quote(notice)}" if notice else f"?error={quote(error)}" if error else ""
    return RedirectResponse(f"/my{query}", status_code=303)


def _supporter_token(patronage: Patronage, supporter_id: UUID, statement: Statement) -> str:
    """A fresh token for the ask on this device: a live member is thanked as a member, anyone
    else who gave as a giver (the ask may invite them to give monthly)."""
    if any(not m.ended for m in statement.memberships):
        kinds: tuple[Frequency, ...] = (Frequency.MONTHLY,)
    elif statement.gifts:
        kinds = (Frequency.ONE_TIME,)
    else:
        return ""
    if not patronage.tokens.enabled:
        return ""
    return patronage.tokens.issue(supporter_id, kinds, datetime.now(UTC))


@router.get("")
async def my_giving(
    request: Request,
    patronage: PatronageDep,
    supporter: SignedIn,
    notice: str = "",
    error: str = "",
) -> Response:
    statement = await run_in_threadpool(patronage.my_giving.statement, supporter.id)
    return render(
        request,
        "giving.html",
        supporter=supporter,
        statement=statement,
        supporter_token=_supporter_token(patronage, supporter.id, statement),
        notice=notice[:300],
        error=error[:300],
    )


@router.get("/receipts/{number}.pdf")
def receipt_pdf(patronage: PatronageDep, supporter: SignedIn, number: str) -> Response:
    receipt = patronage.my_giving.receipt(supporter.id, number[:64])
    if receipt is None:
        raise SupporterRefusedError(404, "There is no receipt with that number among yours.")
    return Response(
        render_receipt(receipt, patronage.branding),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="receipt-{receipt.number}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/details")
async def update_details(
    patronage: PatronageDep, supporter: SignedIn, form: CheckedForm
) -> Response:
    """Name and postal address for the receipts issued from now on (issued ones stay)."""
    name = field(form, "name")
    if not name:
        return back(error="Please give the name your receipts should carry.")
    address = PostalAddress(
        line1=field(form, "line1"),
        line2=field(form, "line2"),
        city=field(form, "city"),
        region=field(form, "region"),
        postal_code=field(form, "postal_code", 20),
        country=field(form, "country", 2).upper(),
    )
    details = SupporterDetails(name=name, address=address)
    await run_in_threadpool(patronage.giving.update_supporter, supporter.id, details)
    return back(notice="Saved: your next receipts carry this name and address.")


@router.post("/annual-receipt")
async def annual_receipt(
    patronage: PatronageDep, supporter: SignedIn, form: CheckedForm
) -> Response:
    try:
        year = int(field(form, "year", 4))
        issued = await run_in_threadpool(patronage.my_giving.request_annual, supporter.id, year)
    except ValueError:
        return back(error="Choose a year.")
    except DomainError as error:
        return back(error=str(error))
    numbers = ", ".join(i.number for i in issued)
    return back(
        notice=f"Your annual receipt {numbers} for {year} is issued and on its way by email."
    )
