"""Answers for failures outside any one route: refused input and an unavailable database.

Both must stay JSON (a 422 that echoes `NaN` back cannot be serialised: it became a 500)
and bounded (an echoed input can be as large as the body)."""

from __future__ import annotations

import math

import structlog
from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

log = structlog.get_logger(__name__)

MAX_ECHOED_CHARS = 200
RETRY_AFTER_SECONDS = "5"


def _echo(value: object) -> object:
    """What a 422 may echo of a refused input: short text, a finite number, or nothing."""
    if isinstance(value, str):
        return value[:MAX_ECHOED_CHARS]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf": JSON has no such numbers
    if value is None or isinstance(value, bool | int | float):
        return value
    return None


def _field_error(error: dict[str, object]) -> dict[str, object]:
    loc = error.get("loc")
    item: dict[str, object] = {
        "type": str(error.get("type", "value_error")),
        "loc": [
            p if isinstance(p, int) else str(p)[:MAX_ECHOED_CHARS]
            for p in (loc if isinstance(loc, list | tuple) else ())
        ],
        "msg": str(error.get("msg", ""))[: MAX_ECHOED_CHARS * 2],
    }
    echoed = _echo(error.get("input"))
    if echoed is not None:
        item["input"] = echoed
    return item


async def refused_input(_request: Request, error: RequestValidationError) -> JSONResponse:
    details = [_field_error(e) for e in list(error.errors())[:50]]
    return JSONResponse(status_code=422, content={"detail": details})


async def database_unavailable(_request: Request, error: Exception) -> JSONResponse:
    log.warning("database_unavailable", error=repr(error))
    return JSONResponse(
        status_code=503,
        content={"detail": "the database is unavailable; try again shortly"},
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, refused_input)  # type: ignore[arg-type]
    app.add_exception_handler(OperationalError, database_unavailable)
    app.add_exception_handler(InterfaceError, database_unavailable)
