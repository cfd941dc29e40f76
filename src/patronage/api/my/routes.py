"""Put the supporter pages on the app: their routes, keys, rate limits and refusals."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from patronage.api.my import cancel, giving, membership, signin
from patronage.api.my.pages import render
from patronage.api.my.session import SupporterKeys, SupporterRefusedError
from patronage.application.ratelimit import RateLimiter
from patronage.bootstrap import Patronage

_STATIC = files("patronage").joinpath("web/static")
assets = APIRouter(include_in_schema=False)


@assets.get("/my/assets/{name}")
def asset(name: str) -> Response:
    types = {"my.css": "text/css", "my-token.js": "text/javascript"}
    if name not in types:
        return Response(status_code=404)
    return Response(
        _STATIC.joinpath(name).read_text(encoding="utf-8"),
        media_type=types[name],
        headers={"Cache-Control": "public, max-age=300"},
    )


def install(app: FastAPI, patronage: Patronage) -> None:
    settings = patronage.settings
    app.state.supporter_keys = SupporterKeys(
        patronage.supporter_secret, settings.supporter_session_days * 86400
    )
    window = settings.supporter_signin_window_seconds
    app.state.supporter_signin_by_ip = RateLimiter(settings.supporter_signin_per_ip, window)
    app.state.supporter_signin_by_email = RateLimiter(settings.supporter_signin_per_email, window)

    @app.exception_handler(SupporterRefusedError)
    async def refused(request: Request, error: SupporterRefusedError) -> Response:
        if error.status == 401:  # not an error to show: the sign-in form is the answer
            return render(
                request, "signin.html", status_code=401,
                available=patronage.mailer is not None and settings.public_url is not None,
            )  # fmt: skip
        return render(request, "message.html", status_code=error.status, message=error.message)

    for router in (assets, signin.router, giving.router, membership.router, cancel.router):
        app.include_router(router)
