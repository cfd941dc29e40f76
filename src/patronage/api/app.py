"""The FastAPI application: middleware, error mapping, and the routers of each audience."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from patronage.api import (
    asks,
    campaigns,
    checkout,
    demo,
    demo_mail,
    docs,
    exports,
    health,
    metrics,
    receipting,
    register,
    staff_audit,
    staff_inbox,
    staff_reviews,
    supporter_actions,
    supporters,
    ticker,
    totals,
    view_operations,
    web,
    webhooks,
)
from patronage.api.ask_route import QuickAsk
from patronage.api.console.routes import install as install_console
from patronage.api.errors import add_error_handlers
from patronage.api.headers import SecurityHeaders
from patronage.api.inputs import BodyLimits
from patronage.api.metrics import Metrics, metrics_port
from patronage.api.my.routes import install as install_supporter_pages
from patronage.api.openapi import openapi_with_sentence_422s
from patronage.api.request_log import RequestLog
from patronage.bootstrap import (
    Patronage,
    ask_memory_running,
    notices_running,
    parked_sweep_running,
    projections_running,
    receipts_running,
)
from patronage.domain.errors import DomainError


def create_app(patronage: Patronage) -> FastAPI:
    settings = patronage.settings
    process_metrics = Metrics(patronage)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        with (
            projections_running(patronage),
            receipts_running(patronage),
            notices_running(patronage),
            parked_sweep_running(patronage),
            ask_memory_running(patronage),
            metrics_port(settings, process_metrics),
        ):
            yield

    app = FastAPI(
        title="Patronage",
        version="0.1.0",
        description="Donations and memberships for reader-funded newsrooms.",
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry hooks: unused here (the service has its own metrics and
        # logs), and while on they look for a provider on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # Served by api/docs.py with local assets: FastAPI's own pages load them from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.patronage = patronage
    app.state.metrics = process_metrics
    app.openapi = openapi_with_sentence_422s(app)  # type: ignore[method-assign]
    add_error_handlers(app)
    app.add_middleware(
        BodyLimits,
        default=patronage.settings.max_body_bytes,
        # The webhook reads its own (larger) limit, and refuses with its own reason.
        by_path={"/webhooks/stripe": patronage.settings.max_webhook_bytes + 1},
    )
    app.add_middleware(SecurityHeaders, stripe_js_url=settings.stripe_js_url)
    # Every article view's ask skips FastAPI's handling of a request, and the security
    # headers' and the body limits' layers, whose work it does itself; it stays inside CORS
    # and the request log.
    app.add_middleware(QuickAsk, max_body=patronage.settings.max_body_bytes)
    if patronage.settings.embed_origins:
        # The embed runs on the newsroom's pages and calls the public endpoints cross-origin.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=patronage.settings.embed_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-Patronage-Reader"],
            max_age=600,
        )

    app.add_middleware(RequestLog, metrics=process_metrics, log_level=settings.log_level)

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, error: DomainError) -> JSONResponse:
        # A rule of the domain refused the command: nothing was saved.
        return JSONResponse(status_code=409, content={"detail": str(error)})

    # The two routes every article view and every Stripe event call come first: a request is
    # matched against the routes in order, and there are some two hundred.
    app.include_router(asks.router)
    app.include_router(webhooks.router)
    app.include_router(health.router)
    app.include_router(docs.router)
    if settings.metrics_port == 0:  # else only on the metrics port, without a staff key
        app.include_router(metrics.router)
    app.include_router(staff_inbox.router)
    app.include_router(campaigns.router)
    app.include_router(checkout.router)
    app.include_router(web.router)
    if patronage.settings.demo_mode:
        app.include_router(demo.router)
        app.include_router(demo_mail.router)
    for router in (
        supporters.router,
        supporter_actions.router,
        totals.router,
        register.router,
        receipting.router,
        ticker.router,
        exports.router,
        staff_audit.router,
        staff_reviews.router,
        view_operations.router,
    ):
        app.include_router(router)
    install_console(app, patronage)
    install_supporter_pages(app, patronage)
    return app
