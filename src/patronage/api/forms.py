"""What the HTML pages (the staff console and the supporter pages) share: a refusal with a
status and a message, and reading a posted form."""

from __future__ import annotations

import hmac

from fastapi import Request
from starlette.datastructures import FormData


class PageRefusedError(Exception):
    """A page's request refused: each kind of page (console, supporter) subclasses it and
    shows the status and message its own way."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def form_text(form: FormData, name: str, max_length: int) -> str:
    """A form field as trimmed text of at most `max_length` characters ("" when absent)."""
    value = form.get(name)
    return value.strip()[:max_length] if isinstance(value, str) else ""


async def posted_form(
    request: Request, field: str, expected: str, refused: PageRefusedError
) -> FormData:
    """The posted form, once its `field` holds the `expected` token (none is expected of a
    browser without the cookie it derives from); else `refused`."""
    form = await request.form()
    token = form.get(field)
    if not expected or not isinstance(token, str) or not hmac.compare_digest(token, expected):
        raise refused
    return form
