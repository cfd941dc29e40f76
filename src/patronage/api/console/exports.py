"""Console: the exports page. Its forms come here first, so that empty fields are dropped
before the browser is sent on to the CSV endpoint (whose parameters are typed)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from patronage.api.console.pages import FinancePage
from patronage.api.console.session import ConsoleRefusedError, FinanceUser

router = APIRouter(prefix="/console/exports", include_in_schema=False)
EXPORTS = ("gifts", "supporters", "memberships", "receipts")


@router.get("", response_class=HTMLResponse)
def exports(page: FinancePage) -> Response:
    return page.render("exports.html")


@router.get("/{name}")
def download(request: Request, _user: FinanceUser, name: str) -> Response:
    if name not in EXPORTS:
        raise ConsoleRefusedError(404, f"No export {name!r}.")
    filled = {k: v for k, v in request.query_params.items() if v.strip()}
    query = f"?{urlencode(filled)}" if filled else ""
    return RedirectResponse(f"/staff/exports/{name}.csv{query}", status_code=303)
