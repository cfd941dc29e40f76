"""The quick route for `POST /asks`: the ask as every article view sends it (a JSON body, no
query), answered without FastAPI's per-request machinery.

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
from starlette.routing import BaseRoute, Match
from starlette.types import Message, Receive, Scope, Send

from patronage.api.asks import AskAnswer, AskRequest, answer_of

PATH = "/asks"
_REQUEST = TypeAdapter(AskRequest)
_ANSWER = TypeAdapter(AskAnswer)
_DECLINED = "patronage.quick_ask_declined"  # in the scope: the documented route answers


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


class QuickAskRoute(BaseRoute):
    """First among the app's routes: it takes the common case of `POST /asks` and declines
    the rest, which the router then matches to the documented route. Not in the schema,
    since the documented route describes it."""

    path = PATH  # the request log's route label, as for the documented route

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if (
            scope["type"] == "http"
            and scope["path"] == PATH
            and scope["method"] == "POST"
            and not scope["query_string"]
            and _DECLINED not in scope
            and Headers(scope=scope).get("content-type") == "application/json"
        ):
            return Match.FULL, {"route": self, "endpoint": self.handle, "path_params": {}}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _body(receive)
        try:
            request = _REQUEST.validate_json(body)
        except ValidationError:
            # Routed again, to the documented route: its 422, with its own detail.
            scope[_DECLINED] = True
            await scope["router"](scope, _replay(body), send)
            return
        answer = answer_of(request, scope["app"].state, Headers(scope=scope), None, False)
        content = _ANSWER.dump_json(answer)
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


def install(routes: list[BaseRoute]) -> None:
    """Put the quick route in front of every other."""
    routes.insert(0, QuickAskRoute())
