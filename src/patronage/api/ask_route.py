"""The quick route for `POST /asks`: the ask as every article view sends it (a JSON body, no
query), answered by the innermost middleware, without FastAPI's per-request machinery or the
router's.

FastAPI solves the route's dependencies, validates the parsed body, and validates the
returned answer again before serialising it: more than half of an ask's time
(docs/performance.md). Here pydantic-core validates the body straight from its bytes and
serialises the answer once. Everything else (an editor's preview or debug query, another
content type, a body that fails validation) goes on to the documented route in api/asks.py
with the body it was sent, so one route's contract, as the OpenAPI schema gives it, holds
for both: same validation, same 422s, same answers (tests/integration/test_ask_route.py).
"""

from __future__ import annotations

from fastapi.exception_handlers import http_exception_handler
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patronage.api.asks import AskRequest, answer_json

PATH = "/asks"
_REQUEST = TypeAdapter(AskRequest)


async def _body(receive: Receive) -> bytes:
    """The whole request body (its size is bounded by `BodyLimits` before it reaches here)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    """A `receive` that gives the body already read, for the documented route to read."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


class QuickAsk:
    """The innermost of the app's middleware: it takes the common case of `POST /asks` and
    passes the rest on to the router, which matches it to the documented route. Outside it,
    every answer still gets the request log, the security headers and the body limits (and
    an unexpected failure Starlette's 500); inside it, nothing an ask needs: the ask touches
    no database, so none of the app's exception handlers applies."""

    path = PATH  # the request log's route label, as for the documented route

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def takes(scope: Scope) -> bool:
        return (
            scope["type"] == "http"
            and scope["path"] == PATH
            and scope["method"] == "POST"
            and not scope["query_string"]
            and Headers(scope=scope).get("content-type") == "application/json"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.takes(scope):
            await self.app(scope, receive, send)
            return
        scope["route"] = self  # before the body: a refusal while reading it is an ask's too
        try:
            body = await _body(receive)
        except HTTPException as refused:  # the body limit, counted as the body streams
            # Answered as FastAPI answers it on the documented route: {"detail": ...}.
            await (await http_exception_handler(Request(scope), refused))(scope, receive, send)
            return
        try:
            request = _REQUEST.validate_json(body)
        except ValidationError:
            # To the documented route, with the body it was sent: its 422, its own detail.
            await self.app(scope, _replay(body), send)
            return
        content = answer_json(request, scope["app"].state, Headers(scope=scope))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", str(len(content)).encode()),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})
