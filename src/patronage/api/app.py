"""The FastAPI application: middleware, error mapping, and the routers of each audience."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from patronage.api import health, register, supporters, ticker, totals
from patronage.bootstrap import Patronage, projections_running
from patronage.domain.errors import DomainError

log = structlog.get_logger(__name__)


def create_app(patronage: Patronage) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        with projections_running(patronage):
            yield

    app = FastAPI(
        title="Patronage",
        version="0.1.0",
        description="Donations and memberships for reader-funded newsrooms.",
        lifespan=lifespan,
    )
    app.state.patronage = patronage

    @app.middleware("http")
    async def request_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Tag every log line of a request with its id, and return the id to the caller."""
        rid = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=rid)
        try:
            response = await call_next(request)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
        response.headers["x-request-id"] = rid
        return response

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, error: DomainError) -> JSONResponse:
        # A rule of the domain refused the command: nothing was saved.
        return JSONResponse(status_code=409, content={"detail": str(error)})

    app.include_router(health.router)
    for router in (supporters.router, totals.router, register.router, ticker.router):
        app.include_router(router)
    return app
