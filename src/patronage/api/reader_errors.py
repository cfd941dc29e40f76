"""Refused checkout input, as a reader's page needs it: per field, a stable machine code
beside a message written for the reader (docs/asks.md lists the codes).

The page shows only `message`; code and field let it put the message beside the right
input. Nothing of the refused value is echoed back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field


class FieldProblem(BaseModel):
    field: str = Field(description="The body field, dotted: 'email', 'tribute.name', 'amount'")
    code: str = Field(
        description="Stable machine code, e.g. 'email_invalid'", examples=["email_invalid"]
    )
    message: str = Field(description="For the reader, in plain words")


class FieldProblems(BaseModel):
    detail: list[FieldProblem]


MISSING, TOO_LONG, INVALID = "missing", "too_long", "invalid"

# What to tell a reader, per field and problem; anything else gets the field's INVALID line.
MESSAGES: dict[str, dict[str, str]] = {
    "email": {
        MISSING: "Please enter your email address, so we can send your receipt.",
        INVALID: "Please check your email address: it should look like name@example.org.",
    },
    "name": {
        MISSING: "Please enter your name.",
        TOO_LONG: "Please shorten your name to 200 characters or fewer.",
        INVALID: "Please check your name: it has characters we cannot print on a receipt.",
    },
    "tribute.name": {
        MISSING: "Please enter the name of the person this gift is for.",
        TOO_LONG: "Please shorten their name to 200 characters or fewer.",
        INVALID: "Please check their name: it has characters we cannot print.",
    },
    "amount": {
        MISSING: "Please choose or enter an amount.",
        INVALID: "Please enter an amount in numbers, like 25 or 25.50.",
    },
    "frequency": {INVALID: "Please choose once or monthly."},
    "currency": {INVALID: "This currency is not accepted here."},
    "payment_method": {INVALID: "Your card details did not reach us. Please enter them again."},
}
GENERAL = "Something on this form could not be read. Please reload the page and try again."


def problem(field: str, kind: str, message: str = "") -> FieldProblem:
    """One refused field: code `<field>_<kind>` (dots as underscores)."""
    lines = MESSAGES.get(field, {})
    text = message or lines.get(kind) or lines.get(INVALID) or GENERAL
    return FieldProblem(field=field, code=f"{field.replace('.', '_')}_{kind}", message=text)


def refuse(*problems: FieldProblem) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT, detail=[p.model_dump() for p in problems]
    )


def _kind(error_type: str) -> str:
    if error_type == "missing" or error_type == "string_too_short":
        return MISSING
    if error_type in ("string_too_long", "too_long"):
        return TOO_LONG
    return INVALID


def _field(loc: list[str]) -> str:
    """The body field an error is about: nested only one level (tribute.name), never
    anything the sender made up (a refused JSON document has positions, not names)."""
    field = ".".join(loc[:2]) if loc[:1] in (["tribute"], ["tracking"]) else ".".join(loc[:1])
    return field if re.fullmatch(r"[a-z_]+(\.[a-z_]+)?", field) else "body"


def _problems(error: RequestValidationError) -> list[FieldProblem]:
    found: dict[str, FieldProblem] = {}
    for item in list(error.errors())[:50]:
        field = _field([str(p) for p in item.get("loc", ()) if p != "body"])
        found.setdefault(field, problem(field, _kind(str(item.get("type", "")))))
    return list(found.values())


class ReaderFacingRoute(APIRoute):
    """A route whose refused body answers with `FieldProblems` instead of the library's
    error list (FastAPI's documented way: a custom APIRoute class)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def reader_facing(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                body = FieldProblems(detail=_problems(error))
                return Response(
                    body.model_dump_json(),
                    status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
                    media_type="application/json",
                )

        return reader_facing
