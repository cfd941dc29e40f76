"""Console: the receipt register, gifts waiting for a receipt, and the receipt actions
(issue an annual receipt, void, replace), which the staff receipt API performs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote, urlencode
from uuid import UUID

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from patronage.api import receipting
from patronage.api.console.pages import reason, render
from patronage.api.console.session import CheckedForm, FinanceUser, text
from patronage.api.deps import PatronageDep
from patronage.domain.errors import DomainError
from patronage.domain.tax_year import tax_year_bounds
from patronage.projections import register, supporters

router = APIRouter(prefix="/console/receipts", include_in_schema=False)
PAGE = 50
NUMBER = re.compile(r"^[SA]\d{4}-\d{6,9}$")
STATUSES = ("issued", "emailed", "void", "replaced")
WAITING_SHOWN = 100  # year end issues them all at once (patronage receipts issue-annual)


@router.get("", response_class=HTMLResponse)
def receipts(
    request: Request,
    user: FinanceUser,
    patronage: PatronageDep,
    tax_year: str = "",
    status: str = "",
    number: str = "",
    offset: int = 0,
    notice: str = "",
    error: str = "",
) -> Response:
    year = int(tax_year) if tax_year.isdigit() and 1900 <= int(tax_year) <= 2999 else None
    chosen = status if status in STATUSES else None
    wanted = number.strip().upper() if NUMBER.match(number.strip().upper()) else None
    total, entries = register.receipts(
        patronage.views.register, tax_year=year, status=chosen, number=wanted, limit=PAGE,
        offset=max(offset, 0),
    )  # fmt: skip
    waiting_year = year or datetime.now(UTC).year
    query = urlencode(
        {k: v for k, v in (("tax_year", year), ("status", chosen), ("number", wanted)) if v}
    )
    waiting = register.unreceipted(
        patronage.views.register, tax_year_bounds(waiting_year, patronage.settings.zone)
    )
    names = {
        w.supporter_id: row.name or row.email
        for w in waiting[:WAITING_SHOWN]
        if (row := supporters.one(patronage.views.supporters, w.supporter_id, year=waiting_year))
    }
    _n, correct = register.receipts(patronage.views.register, needs_correction=True, limit=PAGE)
    return render(
        request, "receipts.html", user, entries=entries, total=total, limit=PAGE,
        needs_correction=correct, missing=patronage.receipting.missing_details(waiting_year),
        offset=max(offset, 0), query=query, tax_year=year, status=chosen, number=wanted or "",
        statuses=STATUSES, waiting_year=waiting_year, notice=notice, error=error,
        waiting=waiting[:WAITING_SHOWN], waiting_count=len(waiting), names=names,
    )  # fmt: skip


def _done(message: str = "", error: str = "") -> RedirectResponse:
    query = f"notice={quote(message)}" if message else f"error={quote(error)}"
    return RedirectResponse(f"/console/receipts?{query}", status_code=303)


@router.post("/annual")
def issue_annual(user: FinanceUser, form: CheckedForm, patronage: PatronageDep) -> Response:
    try:
        body = receipting.IssueAnnualIn(
            supporter_id=UUID(text(form, "supporter_id", 40)),
            tax_year=int(text(form, "tax_year", 4)),
            currency=text(form, "currency", 3),
        )
        out = receipting.issue_annual(body, user.actor, patronage)
    except (HTTPException, DomainError, ValueError) as error:
        return _done(error=reason(error))
    return _done(f"Receipt {out.number} issued.")


@router.post("/year-end")
def year_end(user: FinanceUser, form: CheckedForm, patronage: PatronageDep) -> Response:
    """Start year end (annual receipts for everyone waiting) in the background."""
    try:
        body = receipting.YearEndIn(
            tax_year=int(text(form, "tax_year", 4)), dry_run=text(form, "dry_run") == "on"
        )
        job = receipting.start_year_end(body, user.actor, patronage)
    except (HTTPException, DomainError, ValueError) as error:
        return _done(error=reason(error))
    run = "Dry run of year end" if job.dry_run else "Year end"
    return _done(f"{run} {job.tax_year} started; the register fills as receipts are issued.")


@router.get("/{number}/pdf")
def receipt_pdf(user: FinanceUser, patronage: PatronageDep, number: str) -> Response:
    """The receipt's PDF as the donor received it, opened in the browser."""
    if not NUMBER.match(number):
        return _done(error="No such receipt.")
    return receipting.receipt_pdf(number, user.actor, patronage, download=False)


@router.post("/{number}/{action}")
def receipt_action(
    user: FinanceUser, form: CheckedForm, patronage: PatronageDep, number: str, action: str
) -> Response:
    """Void, replace (with a reason) or resend a receipt, as the staff receipt API does."""
    if not NUMBER.match(number) or action not in ("void", "replace", "resend"):
        return _done(error="No such receipt action.")
    try:
        if action == "resend":
            receipting.resend_receipt(number, user.actor, patronage)
            return _done(f"Receipt {number} will be emailed again.")
        body = receipting.ReasonIn(reason=text(form, "reason"))
        if action == "void":
            out = receipting.void_receipt(number, body, user.actor, patronage)
            return _done(f"Receipt {out.number} voided.")
        out = receipting.replace_receipt(number, body, user.actor, patronage)
    except (HTTPException, DomainError, ValueError) as error:
        return _done(error=reason(error))
    return _done(f"Receipt {number} replaced by {out.number}.")
