"""Console: find a supporter, see their whole history, correct their postal address."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote, urlencode
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from patronage.api.console.pages import FinancePage, found_or_404, reason
from patronage.api.console.session import FinanceForm
from patronage.api.deps import PatronageDep
from patronage.bootstrap import Patronage
from patronage.domain.commands import SupporterDetails
from patronage.domain.errors import DomainError
from patronage.domain.supporter import Supporter
from patronage.domain.values import PostalAddress
from patronage.projections import gift_list, register
from patronage.projections import supporters as view

router = APIRouter(prefix="/console/supporters", include_in_schema=False)
PAGE = 25
RECEIPT_NUMBER = re.compile(r"^[SA]\d{4}-\d{6,9}$")


def stripe_dashboard(patronage: Patronage) -> str:
    live = patronage.settings.stripe_secret_key.get_secret_value().startswith("sk_live")
    return "https://dashboard.stripe.com" + ("" if live else "/test")


@router.get("", response_class=HTMLResponse)
def supporters(
    page: FinancePage, patronage: PatronageDep, q: str = "", offset: int = 0
) -> Response:
    """Search by email, name, Stripe customer id or receipt number."""
    # Control characters can match nothing (and PostgreSQL refuses NUL): search without them.
    query = "".join(c for c in q if c >= " ").strip()[:200]
    if RECEIPT_NUMBER.match(query.upper()):
        _total, found = register.receipts(patronage.views.register, number=query.upper(), limit=1)
        if found:
            return RedirectResponse(f"/console/supporters/{found[0].supporter_id}", 303)
    results = view.search(
        patronage.views.supporters,
        query=query,
        sort="last_gift" if not query else "name",
        descending=not query,
        limit=PAGE,
        offset=max(offset, 0),
        year=datetime.now(UTC).year,
    )
    return page.render(
        "supporters.html", q=query, page=results, limit=PAGE,
        offset=max(offset, 0), query=urlencode({"q": query}),
    )  # fmt: skip


def _supporter_or_404(patronage: Patronage, supporter_id: UUID) -> Supporter:
    return found_or_404(
        lambda: patronage.supporters.supporter(supporter_id), f"No supporter {supporter_id}."
    )


@router.get("/{supporter_id}", response_class=HTMLResponse)
def supporter(page: FinancePage, patronage: PatronageDep, supporter_id: UUID) -> Response:
    """Contact, address, every payment with refunds and disputes, memberships, receipts."""
    person = _supporter_or_404(patronage, supporter_id)
    store = patronage.views.supporters
    summary = view.one(store, str(supporter_id), year=datetime.now(UTC).year)
    _n, gifts = gift_list.gift_page(
        store, gift_list.GiftFilters(supporter_id=str(supporter_id)), limit=1000
    )
    moves: dict[str, list[gift_list.Movement]] = {}
    for move in gift_list.movements(store, [g.gift_id for g in gifts]):
        moves.setdefault(move.gift_id, []).append(move)
    memberships = [
        (line, patronage.supporters.membership(UUID(line.membership_id)))
        for line in gift_list.iter_memberships(store, supporter_id=str(supporter_id))
    ]
    _t, receipts = register.receipts(
        patronage.views.register, supporter_id=str(supporter_id), limit=1000
    )
    # Receipt state from the register, which a receipt action has caught up before answering.
    states = {
        g.gift_id: g for g in register.supporter_gifts(patronage.views.register, str(supporter_id))
    }
    return page.render(
        "supporter.html", person=person, summary=summary, gifts=gifts, moves=moves,
        memberships=memberships, receipts=receipts, states=states,
        dashboard=stripe_dashboard(patronage),
    )  # fmt: skip


ADDRESS_FIELDS = ("line1", "line2", "city", "region", "postal_code", "country")


@router.post("/{supporter_id}/address")
def change_address(posted: FinanceForm, patronage: PatronageDep, supporter_id: UUID) -> Response:
    """Correct the postal address receipts print."""
    _supporter_or_404(patronage, supporter_id)
    address = PostalAddress(**{name: posted.text(name, 200) for name in ADDRESS_FIELDS})
    with patronage.audit.action(posted.actor, "supporter.address_changed", str(supporter_id)):
        patronage.giving.update_supporter(supporter_id, SupporterDetails(address=address))
    return RedirectResponse(
        f"/console/supporters/{supporter_id}?notice=Address+saved.", status_code=303
    )


@router.post("/{supporter_id}/merge")
def merge(posted: FinanceForm, patronage: PatronageDep, supporter_id: UUID) -> Response:
    """Merge a duplicate record of the same person into this supporter."""
    page = f"/console/supporters/{supporter_id}"
    try:
        duplicate = UUID(posted.text("duplicate_id", 40))
        why = posted.text("reason")
        with patronage.audit.action(
            posted.actor, "supporter.merged", str(supporter_id),
            {"duplicate": str(duplicate), "reason": why},
        ):  # fmt: skip
            patronage.supporters.merge(duplicate, supporter_id, posted.actor, why)
    except (DomainError, LookupError, ValueError) as error:
        return RedirectResponse(f"{page}?error={quote(reason(error))}", status_code=303)
    return RedirectResponse(f"{page}?notice=Merged.", status_code=303)
