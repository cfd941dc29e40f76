"""The quick route for `POST /asks`: the ask as every article view sends it (a JSON body, no
query), answered by a middleware, without FastAPI's per-request machinery or the router's.

FastAPI solves the route's dependencies, validates the parsed body, and validates the
returned answer again before serialising it: more than half of an ask's time
(docs/performance.md). Here pydantic-core validates the body straight from its bytes and
serialises the answer once. Everything else (an editor's preview or debug query, another
content type, a body that fails validation) goes on to the documented route in api/asks.py
with the body it was sent, so one route's contract, as the OpenAPI schema gives it, holds
for both: same validation, same 422s, same answers (tests/integration/test_ask_route.py).
"""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from patronage.api.asks import AskRequest, answer_json
from patronage.api.headers import API_HEADERS

PATH = "/asks"
_REQUEST = TypeAdapter(AskRequest)
_JSON = (b"content-type", b"application/json")
# As every route refuses a body over its limit (the body limits' HTTPException, FastAPI's
# handler).
TOO_LARGE = b'{"detail":"Content Too Large"}'


def declared_json_length(scope: Scope) -> int | None:
    """The declared length of a plain JSON body; None for another content type or a body
    sent without a length (chunked). ASGI header names are lower case."""
    content_type = length = None
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value
        elif name == b"content-length":
            length = value
    if content_type != b"application/json" or length is None or not length.isdigit():
        return None
    return int(length)


async def _body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body; None past `limit` bytes, which a server that keeps to the
    declared length (uvicorn does) never sends here."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
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


async def _send_json(send: Send, status: int, content: bytes) -> None:
    """A JSON answer with the headers the security middleware gives every JSON answer."""
    headers = [(b"content-length", str(len(content)).encode()), _JSON, *API_HEADERS]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


class QuickAsk:
    """The middleware that takes the common case of `POST /asks` (a JSON body of a declared
    length within the limit, no query) and passes the rest on, with the body it was sent
    when it read it, towards the router and the documented route.

    It sits inside the request log (and CORS, when on) and outside the security headers and
    the body limits, whose work it does itself for the answers it gives: the JSON answers'
    security headers (`API_HEADERS`), and the limit, on the declared length and on the bytes
    read. Each of those layers cost an ask about as much as validating its body. Inside it,
    nothing an ask needs: the ask touches no database, so none of the app's exception
    handlers applies."""

    path = PATH  # the request log's route label, as for the documented route

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    def takes(self, scope: Scope) -> bool:
        if not (
            scope["type"] == "http"
            and scope["path"] == PATH
            and scope["method"] == "POST"
            and not scope["query_string"]
        ):
            return False
        length = declared_json_length(scope)
        return length is not None and length <= self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.takes(scope):
            await self.app(scope, receive, send)
            return
        scope["route"] = self  # before the body: a refusal while reading it is an ask's too
        body = await _body(receive, self.max_body)
        if body is None:
            await _send_json(send, 413, TOO_LARGE)
            return
        try:
            request = _REQUEST.validate_json(body)
        except ValidationError:
            # To the documented route, with the body it was sent: its 422, its own detail.
            await self.app(scope, _replay(body), send)
            return
        await _send_json(send, 200, answer_json(request, scope["app"].state, Headers(scope=scope)))
