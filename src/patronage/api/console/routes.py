"""Put the console on the app: its pages, its stylesheet, and its refusals as pages."""

from __future__ import annotations

from importlib.resources import files

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from patronage.api.console import (
    admin,
    campaigns,
    exports,
    gifts,
    inbox,
    receipts,
    reviews,
    signin,
    supporters,
)
from patronage.api.console.pages import render
from patronage.api.console.session import ConsoleRefusedError, console_signer, current_user
from patronage.application.ratelimit import RateLimiter
from patronage.bootstrap import Patronage

log = structlog.get_logger(__name__)
_CSS = files("patronage").joinpath("web/static/console.css")
assets = APIRouter(include_in_schema=False)


@assets.get("/console/assets/console.css")
def console_css() -> Response:
    return Response(
        _CSS.read_text(encoding="utf-8"),
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=300"},
    )


def install(app: FastAPI, patronage: Patronage) -> None:
    settings = patronage.settings
    if not settings.console_secret.get_secret_value():
        log.warning(
            "console_secret_unset",
            detail="console sessions end on restart and need one API process:"
            " set PATRONAGE_CONSOLE_SECRET",
        )
    app.state.console_signer = console_signer(
        settings.console_secret.get_secret_value(), settings.console_session_hours
    )
    app.state.signin_limiter = RateLimiter(signin.SIGNIN_ATTEMPTS, signin.SIGNIN_WINDOW_SECONDS)

    @app.exception_handler(ConsoleRefusedError)
    async def refused(request: Request, error: ConsoleRefusedError) -> Response:
        if error.status == 401:
            return render(
                request, "signin.html", None, status_code=401, message=error.message,
                next=request.url.path if request.method == "GET" else "",
            )  # fmt: skip
        user = current_user(request, patronage)
        return render(
            request, "refused.html", user, status_code=error.status, message=error.message
        )

    app.include_router(assets)
    for router in (
        signin.router,
        supporters.router,
        gifts.router,
        campaigns.router,
        inbox.router,
        reviews.router,
        receipts.router,
        exports.router,
        admin.router,
    ):
        app.include_router(router)
