"""What every JSON body the API reads must be: text without control characters, and a
bounded size (see `BodyLimits`)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import AfterValidator
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from patronage.domain.text import refuse_control_characters

# Free text from a reader (names, ids, tags), as the last of a field's constraints:
# `Annotated[str, Field(max_length=200), NoControlCharacters]`. Refused with a 422 if it
# holds a control character, which no name holds and which would stop a PostgreSQL view.
NoControlCharacters = AfterValidator(refuse_control_characters)


class BodyLimits:
    """Refuse a request body larger than its path's limit with 413, while it is read: a
    declared Content-Length beyond it before reading anything, a streamed body as soon as
    it passes the limit. Starlette's middleware does the counting; this picks the limit."""

    def __init__(self, app: ASGIApp, default: int, by_path: Mapping[str, int]) -> None:
        self.app = app
        self.default = RequestBodyLimitMiddleware(app, default)
        self.by_path = {path: RequestBodyLimitMiddleware(app, n) for path, n in by_path.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.by_path.get(scope["path"], self.default)(scope, receive, send)
