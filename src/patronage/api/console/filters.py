"""Filters typed into console forms: lenient (an empty field is no filter) but strict about
what they accept, and echoed back so the page and its export link match."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import cast
from urllib.parse import urlencode

from fastapi import Request

from patronage.api.console.session import ConsoleRefusedError
from patronage.domain.inbox import InboxStatus
from patronage.domain.money import CURRENCY_EXPONENTS
from patronage.projections.gift_list import GiftFilters, GiftStatus

_CODE = re.compile(r"^[A-Za-z0-9_.:/-]{1,100}$")
KINDS = ("one_time", "monthly")
STATUSES = ("refunded", "disputed", "receipted", "unreceipted")


def _param(request: Request, name: str) -> str:
    return request.query_params.get(name, "").strip()


def _date(request: Request, name: str) -> date | None:
    value = _param(request, name)
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise ConsoleRefusedError(422, f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


def _choice(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = _param(request, name)
    if value and value not in allowed:
        raise ConsoleRefusedError(422, f"{name}: {value!r} is not one of {', '.join(allowed)}")
    return value or None


def _code(request: Request, name: str) -> str | None:
    value = _param(request, name)
    if value and not _CODE.match(value):
        raise ConsoleRefusedError(422, f"{name}: letters, digits and _.:/- only")
    return value or None


@dataclass(frozen=True)
class InboxQuery:
    status: InboxStatus | None  # an unknown status filters nothing
    event_type: str
    query: str  # the filters as a query string, for paging


def inbox_query(status: str = "", event_type: str = "") -> InboxQuery:
    chosen = InboxStatus(status) if status in InboxStatus.__members__.values() else None
    kind = event_type.strip()[:100]
    query = urlencode({k: v for k, v in (("status", status), ("event_type", kind)) if v})
    return InboxQuery(chosen, kind, query)


@dataclass(frozen=True)
class GiftQuery:
    filters: GiftFilters
    query: str  # the filters as a query string, for paging and the export link


def gift_query(request: Request) -> GiftQuery:
    currency = _param(request, "currency").upper()
    if currency and currency not in CURRENCY_EXPONENTS:
        raise ConsoleRefusedError(422, f"currency: {currency!r} is not supported")
    filters = GiftFilters(
        since=_date(request, "since"),
        until=_date(request, "until"),
        kind=_choice(request, "kind", KINDS),
        campaign=_code(request, "campaign"),
        status=cast(GiftStatus | None, _choice(request, "status", STATUSES)),
        currency=currency or None,
    )
    if filters.since and filters.until and filters.since > filters.until:
        raise ConsoleRefusedError(422, "until is before since")
    shown = {
        "since": filters.since.isoformat() if filters.since else "",
        "until": filters.until.isoformat() if filters.until else "",
        "kind": filters.kind or "",
        "campaign": filters.campaign or "",
        "status": filters.status or "",
        "currency": filters.currency or "",
    }
    return GiftQuery(filters, urlencode({k: v for k, v in shown.items() if v}))
