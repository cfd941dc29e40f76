"""Console: the receipt register, one receipt's page, gifts waiting for a receipt, and the
receipt actions (issue a single or annual receipt, void, replace, resend), which the staff
receipt API performs (and audits). Void and replace ask for a reason and are confirmed on a
page of their own before anything changes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote, urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from patronage.api import receipting
from patronage.api.console.pages import (
    REFUSED,
    FinancePage,
    back_to,
    found_or_404,
    reason,
    render,
)
from patronage.api.console.session import (
    ConsoleRefusedError,
    FinanceForm,
    FinanceUser,
)
from patronage.api.deps import PatronageDep
from patronage.bootstrap import Patronage
from patronage.domain.errors import DomainError
from patronage.domain.receipt import TaxReceipt
from patronage.domain.tax_year import tax_year_bounds, tax_year_has_ended
from patronage.projections import register, supporters

router = APIRouter(prefix="/console/receipts", include_in_schema=False)
PAGE = 50
NUMBER = re.compile(r"^[SA]\d{4}-\d{6,9}$")
STATUSES = ("issued", "emailed", "void", "replaced")
WAITING_SHOWN = 100  # year end issues them all at once (patronage receipts issue-annual)


@dataclass(frozen=True)
class ReceiptQuery:
    """The register's filters and page: a value out of range, unknown or malformed is none."""

    tax_year: int | None
    status: str | None
    number: str | None
    offset: int
    query: str  # the filters as a query string, for paging


def receipt_query(
    tax_year: str = "", status: str = "", number: str = "", offset: int = 0
) -> ReceiptQuery:
    year = int(tax_year) if tax_year.isdigit() and 1900 <= int(tax_year) <= 2999 else None
    chosen = status if status in STATUSES else None
    wanted = number.strip().upper() if NUMBER.match(number.strip().upper()) else None
    shown = (("tax_year", year), ("status", chosen), ("number", wanted))
    return ReceiptQuery(
        year, chosen, wanted, max(offset, 0), urlencode({k: v for k, v in shown if v})
    )


@router.get("", response_class=HTMLResponse)
def receipts(
    page: FinancePage, patronage: PatronageDep, q: Annotated[ReceiptQuery, Depends(receipt_query)]
) -> Response:
    total, entries = register.receipts(
        patronage.views.register, tax_year=q.tax_year, status=q.status, number=q.number,
        limit=PAGE, offset=q.offset,
    )  # fmt: skip
    waiting_year = q.tax_year or datetime.now(UTC).year
    waiting = register.unreceipted(
        patronage.views.register, tax_year_bounds(waiting_year, patronage.settings.zone)
    )
    names = {
        w.supporter_id: row.name or row.email
        for w in waiting[:WAITING_SHOWN]
        if (row := supporters.one(patronage.views.supporters, w.supporter_id, year=waiting_year))
    }
    _n, correct = register.receipts(patronage.views.register, needs_correction=True, limit=PAGE)
    return page.render(
        "receipts.html", entries=entries, total=total, limit=PAGE,
        needs_correction=correct, missing=patronage.receipting.missing_details(waiting_year),
        offset=q.offset, query=q.query, tax_year=q.tax_year, status=q.status, number=q.number or "",
        statuses=STATUSES, waiting_year=waiting_year,
        waiting=waiting[:WAITING_SHOWN], waiting_count=len(waiting), names=names,
        year_over=tax_year_has_ended(waiting_year, datetime.now(UTC), patronage.settings.zone),
    )  # fmt: skip


def _done(message: str = "", error: str = "") -> RedirectResponse:
    query = f"notice={quote(message)}" if message else f"error={quote(error)}"
    return RedirectResponse(f"/console/receipts?{query}", status_code=303)


@router.post("/annual")
def issue_annual(posted: FinanceForm, patronage: PatronageDep) -> Response:
    try:
        body = receipting.IssueAnnualIn(
            supporter_id=UUID(posted.text("supporter_id", 40)),
            tax_year=int(posted.text("tax_year", 4)),
            currency=posted.text("currency", 3),
        )
        out = receipting.issue_annual(body, posted.actor, patronage)
    except (HTTPException, DomainError, ValueError) as error:
        return _done(error=reason(error))
    return _done(f"Receipt {out.number} issued.")


@router.post("/year-end")
def year_end(posted: FinanceForm, patronage: PatronageDep) -> Response:
    """Start year end (annual receipts for everyone waiting) in the background."""
    try:
        body = receipting.YearEndIn(
            tax_year=int(posted.text("tax_year", 4)), dry_run=posted.text("dry_run") == "on"
        )
        job = receipting.start_year_end(body, posted.actor, patronage)
    except (HTTPException, DomainError, ValueError) as error:
        return _done(error=reason(error))
    run = "Dry run of year end" if job.dry_run else "Year end"
    return _done(f"{run} {job.tax_year} started; the register fills as receipts are issued.")


@router.post("/single")
def issue_single(posted: FinanceForm, patronage: PatronageDep) -> Response:
    """Issue a receipt for one gift (from the supporter's page), then show it."""
    supporter = posted.text("supporter_id", 40)
    back = f"/console/supporters/{supporter}" if _is_uuid(supporter) else "/console/receipts"
    try:
        body = receipting.IssueSingleIn(gift_id=UUID(posted.text("gift_id", 40)))
        out = receipting.issue_single(body, posted.actor, patronage)
    except REFUSED as error:
        return back_to(back, error=reason(error))
    return back_to(f"/console/receipts/{out.number}", notice=f"Receipt {out.number} issued.")


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def _receipt_or_404(patronage: Patronage, number: str) -> TaxReceipt:
    if not NUMBER.match(number):
        raise ConsoleRefusedError(404, "No such receipt.")
    return found_or_404(lambda: patronage.receipting.receipt(number), f"No receipt {number}.")


@router.get("/{number}", response_class=HTMLResponse)
def receipt_page(page: FinancePage, patronage: PatronageDep, number: str) -> Response:
    """One receipt: what it says, its PDF, its email, its history, and what can be done."""
    receipt = _receipt_or_404(patronage, number)
    _total, found = register.receipts(patronage.views.register, number=number, limit=1)
    return page.render(
        "receipt.html", receipt=receipt, entry=found[0] if found else None,
        history=patronage.receipting.history(number),
    )  # fmt: skip


@router.get("/{number}/pdf")
def receipt_pdf(
    user: FinanceUser, patronage: PatronageDep, number: str, download: bool = False
) -> Response:
    """The receipt's PDF as the donor received it: opened in the browser, or downloaded."""
    if not NUMBER.match(number):
        return _done(error="No such receipt.")
    return receipting.receipt_pdf(number, user.actor, patronage, download=download)


@router.post("/{number}/{action}")
def receipt_action(
    request: Request, posted: FinanceForm, patronage: PatronageDep,
    number: str, action: str,
) -> Response:  # fmt: skip
    """Void or replace (with a reason, once confirmed) or resend a receipt, as the staff
    receipt API does; back to the receipt's page (the replacement's, after a replace)."""
    if not NUMBER.match(number) or action not in ("void", "replace", "resend"):
        return _done(error="No such receipt action.")
    page = f"/console/receipts/{number}"
    try:
        if action == "resend":
            receipting.resend_receipt(number, posted.actor, patronage)
            return back_to(page, notice=f"Receipt {number} will be emailed again.")
        body = receipting.ReasonIn(reason=posted.text("reason"))
        if posted.text("confirmed") != "yes":
            receipt = _receipt_or_404(patronage, number)
            if receipt.is_void:
                raise DomainError(f"receipt {number} is already void")
            return render(
                request, "receipt_confirm.html", posted.user, receipt=receipt, action=action,
                reason=body.reason,
            )  # fmt: skip
        if action == "void":
            receipting.void_receipt(number, body, posted.actor, patronage)
            return back_to(page, notice=f"Receipt {number} is void. It stays in the register.")
        out = receipting.replace_receipt(number, body, posted.actor, patronage)
    except REFUSED as error:
        return back_to(page, error=reason(error))
    if out.number == number:
        return back_to(page, notice=f"Nothing is left to receipt: {number} is only voided.")
    return back_to(
        f"/console/receipts/{out.number}", notice=f"Receipt {out.number} replaces {number}."
    )
