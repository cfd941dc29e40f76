"""What the read endpoints share: money as the API shows it, and read-your-writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import HTTPException, Query, status
from pydantic import BaseModel, Field

from patronage.api.deps import PatronageDep
from patronage.domain.money import Money, MoneyError, normalise_currency


class MoneyOut(BaseModel):
    """An exact amount: integer minor units of an ISO currency, and the same as text."""

    minor: int = Field(description="integer minor units (cents)")
    currency: str = Field(description="ISO 4217 code")
    text: str = Field(description='exact decimal text, e.g. "12.50"')

    @classmethod
    def of(cls, minor: int, currency: str) -> MoneyOut:
        return cls(minor=minor, currency=currency, text=Money(minor, currency).decimal_text())


# The answers every staff read endpoint may give besides its own, for the OpenAPI schema.
STAFF_READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid staff API key"},
    503: {"description": "the view has not reached the position given in `after` yet"},
}


def currency_param(value: str | None) -> str | None:
    """A currency query parameter in any case, or a 422 naming the problem."""
    if value is None:
        return None
    try:
        return normalise_currency(value)
    except MoneyError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from None


def fresh(view: str) -> Callable[..., None]:
    """A dependency for read-your-writes: with `?after=N` (the position a command returned,
    or the log head after a staff action), wait until view `view` has applied the events up
    to N; 503 with Retry-After if it has not within the configured timeout."""

    def wait(
        patronage: PatronageDep,
        after: Annotated[
            int | None,
            Query(ge=0, description="Wait until this view has applied events up to this id"),
        ] = None,
    ) -> None:
        if after is None:
            return
        try:
            patronage.views.wait(view, after, patronage.settings.read_your_writes_timeout_seconds)
        except TimeoutError:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                detail=f"the {view} view has not caught up with position {after} yet",
                headers={"Retry-After": "1"},
            ) from None

    return wait
