"""Public: the campaign ticker an article page shows next to the ask. Cacheable."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel

from patronage.api.amounts import MoneyOut
from patronage.api.deps import PatronageDep, answers

router = APIRouter(prefix="/ticker", tags=["public: ticker"])

# Short enough that the ticker moves while readers watch, long enough for a CDN to help.
CACHE_CONTROL = "public, max-age=15, stale-while-revalidate=60"


class Ticker(BaseModel):
    campaign: str
    raised: list[MoneyOut]
    gifts: int
    supporters: int


@router.get("/{campaign}", response_model=Ticker, responses=answers(not_modified="unchanged"))
def ticker(
    patronage: PatronageDep,
    request: Request,
    campaign: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,100}$")],
) -> Response:
    """Money raised (net of refunds, per currency) and distinct supporters of a campaign."""
    raised = patronage.views.raised(campaign)
    body = Ticker(
        campaign=campaign,
        raised=[MoneyOut.of(m) for m in raised.amounts],
        gifts=raised.gifts,
        supporters=raised.supporters,
    ).model_dump_json()
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)
