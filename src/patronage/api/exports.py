"""Staff exports: gifts, supporters, memberships and receipts as streamed CSV files, with the
filters of the console's pages. Scripts call them with an API token; the console's links
with the signed-in session. Every export is recorded in the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials

from patronage.api.console.session import current_user
from patronage.api.csv_stream import amount, csv_chunks
from patronage.api.deps import (
    AUTH_RESPONSES,
    PatronageDep,
    bearer_identity,
    bearer_scheme,
    check_role,
    unauthorised,
)
from patronage.api.read_models import CURRENCY_PATTERN, currency_param, invalid_query
from patronage.domain.staff import Role
from patronage.projections import gift_list, register
from patronage.projections import supporters as supporters_view
from patronage.projections.gift_list import GiftFilters, GiftStatus

router = APIRouter(
    prefix="/staff/exports",
    tags=["staff: exports"],
    responses={
        **AUTH_RESPONSES,
        200: {"content": {"text/csv": {}}, "description": "a CSV file (UTF-8, streamed)"},
    },
)
_CODE = r"^[A-Za-z0-9_.:/-]{1,100}$"


def export_actor(
    request: Request,
    patronage: PatronageDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> str:
    """A finance caller by API token, or a finance member signed in to the console."""
    if credentials is not None:
        return check_role(bearer_identity(patronage, credentials), Role.FINANCE).actor
    user = current_user(request, patronage)
    if user is None:
        raise unauthorised("exports need an API token or a console sign-in")
    return check_role(user.identity, Role.FINANCE).actor


ExportActor = Annotated[str, Depends(export_actor)]


def _csv(name: str, chunks: Iterator[bytes]) -> StreamingResponse:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


def gift_filters(
    since: Annotated[date | None, Query(description="first day, inclusive (UTC)")] = None,
    until: Annotated[date | None, Query(description="last day, inclusive (UTC)")] = None,
    kind: Literal["one_time", "monthly"] | None = None,
    campaign: Annotated[str | None, Query(pattern=_CODE)] = None,
    status: GiftStatus | None = None,
    currency: Annotated[str | None, Query(pattern=CURRENCY_PATTERN)] = None,
) -> GiftFilters:
    if since and until and since > until:
        raise invalid_query("until", str(until), f"until ({until}) is before since ({since})")
    return GiftFilters(since, until, kind, campaign, status, currency_param(currency))


GIFT_HEADER = (
    "received_at", "gift_id", "payment_id", "supporter_id", "email", "name", "kind",
    "currency", "amount", "fee_covered", "refunded", "disputes_lost", "net", "open_disputes",
    "campaign", "variant", "article_id", "tribute_kind", "tribute_name", "receipt_number",
)  # fmt: skip


def gift_rows(lines: Iterator[gift_list.GiftLine]) -> Iterator[list[str]]:
    for g in lines:
        c = g.currency
        yield [
            g.received_at, g.gift_id, g.payment_id, g.supporter_id, g.email, g.name, g.kind,
            c, amount(g.amount, c), amount(g.fee_covered, c), amount(g.refunded, c),
            amount(g.lost, c), amount(g.net, c), str(g.open_disputes), g.campaign, g.variant,
            g.article_id, g.tribute_kind, g.tribute_name, g.receipt_number,
        ]  # fmt: skip


@router.get("/gifts.csv")
def export_gifts(
    actor: ExportActor,
    patronage: PatronageDep,
    filters: Annotated[GiftFilters, Depends(gift_filters)],
) -> StreamingResponse:
    """Every gift matching the filters, oldest first, one row each."""
    patronage.audit.record(actor, "export.gifts", "gifts")
    lines = gift_list.iter_gifts(patronage.views.supporters, filters)
    return _csv("gifts", csv_chunks(GIFT_HEADER, gift_rows(lines)))


SUPPORTER_HEADER = (
    "supporter_id", "email", "name", "stripe_customer_ids", "gift_count", "first_gift_at",
    "last_gift_at", "membership_status", "membership_monthly", "membership_currency",
    "receipts_issued", "currency", "lifetime_gross", "lifetime_refunded",
    "lifetime_disputes_lost", "lifetime_net",
)  # fmt: skip


def supporter_rows(patronage: PatronageDep, q: str) -> Iterator[list[str]]:
    """One row per supporter and currency they gave in (one row for a supporter who has not
    given yet), paged through the view."""
    offset, page_size = 0, 500
    while True:
        page = supporters_view.search(
            patronage.views.supporters, query=q, sort="email", limit=page_size,
            offset=offset, year=datetime.now(UTC).year,
        )  # fmt: skip
        for s in page.rows:
            monthly = s.membership_monthly
            base = [
                s.supporter_id, s.email, s.name, " ".join(s.stripe_customer_ids),
                str(s.gift_count), s.first_gift_at or "", s.last_gift_at or "",
                s.membership_status or "",
                amount(monthly.minor, monthly.currency) if monthly else "",
                monthly.currency if monthly else "", str(s.receipts_issued),
            ]  # fmt: skip
            if not s.lifetime:
                yield [*base, "", "", "", "", ""]
            for t in s.lifetime:
                c = t.currency
                yield [*base, c, amount(t.gross, c), amount(t.refunded, c), amount(t.lost, c),
                       amount(t.net, c)]  # fmt: skip
        if len(page.rows) < page_size:
            return
        offset += page_size


@router.get("/supporters.csv")
def export_supporters(
    actor: ExportActor,
    patronage: PatronageDep,
    q: Annotated[
        str, Query(max_length=200, pattern=r"^[^\x00-\x1f]*$", description="as on the list")
    ] = "",
) -> StreamingResponse:
    """Supporters (matching `q` as the supporter list does), with their lifetime money."""
    patronage.audit.record(actor, "export.supporters", q or "all")
    return _csv("supporters", csv_chunks(SUPPORTER_HEADER, supporter_rows(patronage, q)))


MEMBERSHIP_HEADER = (
    "membership_id", "supporter_id", "email", "name", "status", "monthly_amount", "currency",
    "started_at", "cancelled_at",
)  # fmt: skip


@router.get("/memberships.csv")
def export_memberships(
    actor: ExportActor,
    patronage: PatronageDep,
    status: Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$")] = None,
) -> StreamingResponse:
    """Every membership (optionally in one status), oldest first."""
    patronage.audit.record(actor, "export.memberships", status or "all")
    rows = (
        [m.membership_id, m.supporter_id, m.email, m.name, m.status,
         amount(m.monthly, m.currency), m.currency, m.started_at, m.cancelled_at]
        for m in gift_list.iter_memberships(patronage.views.supporters, status=status)
    )  # fmt: skip
    return _csv("memberships", csv_chunks(MEMBERSHIP_HEADER, rows))


RECEIPT_HEADER = (
    "number", "kind", "status", "tax_year", "issued_on", "supporter_id", "donor_name",
    "currency", "amount", "eligible_amount", "gift_count", "replaces_number",
    "replaced_by_number",
)  # fmt: skip


def receipt_rows(
    patronage: PatronageDep, tax_year: int | None, status: str | None
) -> Iterator[list[str]]:
    offset, page_size = 0, 500
    while True:
        _total, entries = register.receipts(
            patronage.views.register, tax_year=tax_year, status=status, limit=page_size,
            offset=offset,
        )  # fmt: skip
        for e in entries:
            yield [
                e.number, e.kind, e.status, str(e.tax_year), e.issued_on, e.supporter_id,
                e.donor_name, e.currency, amount(e.amount_minor, e.currency),
                amount(e.eligible_minor, e.currency), str(e.gift_count), e.replaces_number,
                e.replaced_by_number,
            ]  # fmt: skip
        if len(entries) < page_size:
            return
        offset += page_size


@router.get("/receipts.csv")
def export_receipts(
    actor: ExportActor,
    patronage: PatronageDep,
    tax_year: Annotated[int | None, Query(ge=1900, le=2999)] = None,
    status: Literal["issued", "emailed", "void", "replaced"] | None = None,
) -> StreamingResponse:
    """The receipt register (voided and replaced receipts included), by year and number."""
    patronage.audit.record(actor, "export.receipts", str(tax_year or "all"))
    return _csv("receipts", csv_chunks(RECEIPT_HEADER, receipt_rows(patronage, tax_year, status)))
