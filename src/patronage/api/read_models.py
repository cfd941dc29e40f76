"""What the read endpoints share: read-your-writes, paging, and their documented answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import HTTPException, Query, status
from fastapi.exceptions import RequestValidationError

from patronage.api.deps import AUTH_RESPONSES, PatronageDep, StaffDep
from patronage.domain.money import CURRENCY_EXPONENTS, MoneyError, normalise_currency

# Positions and offsets are 64-bit integers in both databases.
MAX_POSITION = 2**63 - 1
MAX_OFFSET = 10**9
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_OFFSET)]

# The answers every staff read endpoint may give besides its own, for the OpenAPI schema.
STAFF_READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_RESPONSES,
    503: {"description": "the view has not reached the position given in `after` yet"},
}


def invalid_query(name: str, value: object, reason: str) -> RequestValidationError:
    """A 422 for a query parameter, in the same shape as FastAPI's own validation errors
    (so the OpenAPI schema stays true), for rules the schema cannot express."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", name), "msg": reason, "input": value}]
    )


# Supported ISO codes in either case: the schema lists exactly what is accepted.
CURRENCY_PATTERN = "^(" + "|".join(f"{c}|{c.lower()}" for c in sorted(CURRENCY_EXPONENTS)) + ")$"


def currency_param(value: str | None) -> str | None:
    """A currency query parameter in either case, upper-cased; 422 if unsupported."""
    if value is None:
        return None
    try:
        return normalise_currency(value)
    except MoneyError as error:
        raise invalid_query("currency", value, str(error)) from None


def fresh(view: str) -> Callable[..., None]:
    """A dependency for read-your-writes: with `?after=N` (the position a command returned,
    or the log head after a staff action), wait until view `view` has applied the events up
    to N; 503 with Retry-After if it has not within the configured timeout.

    Staff only, and authenticated before any wait: an anonymous `?after=` must neither hold
    a thread nor learn how far behind a view is."""

    def wait(
        _staff: StaffDep,
        patronage: PatronageDep,
        after: Annotated[
            int | None,
            Query(
                ge=0,
                le=MAX_POSITION,
                description="Wait until this view has applied events up to this id",
            ),
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
