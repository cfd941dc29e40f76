"""`POST /webhooks/stripe`: Stripe's events, verified on the raw body and kept in the inbox.

2xx only once the event is committed in the inbox and applied (or parked, or marked
ignored or failed for staff); non-2xx when anything transient failed, so Stripe delivers
again. Nothing is recorded for a body that is too large, unsigned, forged or stale.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import structlog
from eventsourcing.persistence import PersistenceError
from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from patronage.api.deps import answers
from patronage.api.metrics import Metrics
from patronage.application.inbox import InvalidStripeEventError, validate_event
from patronage.bootstrap import Patronage
from patronage.payments.declines import decline_of
from patronage.payments.envelope import RefusedBodyError, parse_event_body
from patronage.payments.stripe.signatures import SignatureRefusedError, verify_stripe_signature

log = structlog.get_logger(__name__)


class RawRequestRoute(APIRoute):
    """A documented route whose endpoint takes the request and returns the response itself:
    FastAPI neither solves its parameters nor validates its answer again (the schema still
    comes from the decorator). Under a burst of webhooks those were a tenth of the API's
    interpreter time past the endpoint (docs/performance.md)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
        return handler


router = APIRouter(tags=["webhooks"], route_class=RawRequestRoute)


class WebhookAccepted(BaseModel):
    event_id: str
    event_type: str
    status: str
    detail: str
    duplicate: bool


async def _read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    too_large = HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, detail=f"the body exceeds {limit} bytes"
    )
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="invalid Content-Length")
        if int(declared) > limit:
            raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse(reason: str) -> HTTPException:
    log.warning("stripe_webhook_refused", reason=reason)
    return HTTPException(status.HTTP_400_BAD_REQUEST, detail=reason)


@router.post(
    "/webhooks/stripe",
    response_model=WebhookAccepted,
    responses=answers(
        bad_request="Missing, malformed, forged or stale signature, or not an event",
        request_entity_too_large="Body larger than PATRONAGE_MAX_WEBHOOK_BYTES",
        service_unavailable="Not configured, or the store failed: Stripe will deliver again",
    ),
)
async def stripe_webhook(request: Request) -> Response:
    """Receive one Stripe event (no JSON body parameter: the signature covers the raw bytes)."""
    # The wiring straight from the app's state, as the ask's: a burst of webhooks skips
    # dependency solving (a twentieth of the API's CPU per delivery).
    patronage: Patronage = request.app.state.patronage
    metrics: Metrics = request.app.state.metrics
    try:
        accepted = await _handle(request, patronage, metrics)
        return JSONResponse(accepted.model_dump())
    except HTTPException as refused:
        if refused.status_code in (400, 413):
            metrics.webhook_events.labels("unknown", "refused").inc()
        raise
    finally:
        structlog.contextvars.unbind_contextvars("stripe_event_id", "stripe_event_type")


def _follow(request: Request, event: Mapping[str, Any]) -> None:
    """Put the Stripe event's id and type on every log line from here on, including the
    inbox's and the request's last line, so one event can be followed to its effect."""
    context = {"stripe_event_id": event["id"], "stripe_event_type": event["type"]}
    structlog.contextvars.bind_contextvars(**context)
    request.state.log_context = context


async def _handle(request: Request, patronage: Patronage, metrics: Metrics) -> WebhookAccepted:
    settings = patronage.settings
    body = await _read_limited(request, settings.max_webhook_bytes)
    secrets = [s.get_secret_value() for s in settings.stripe_webhook_secrets]
    secrets = [s for s in secrets if s.strip()]
    if not secrets:
        log.error("stripe_webhook_secret_missing")
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="no webhook secret is configured (PATRONAGE_STRIPE_WEBHOOK_SECRETS)",
        )
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse("the body is not UTF-8") from None
    try:
        verify_stripe_signature(payload, request.headers.get("stripe-signature"), secrets)
    except SignatureRefusedError as refused:
        raise _refuse(str(refused)) from None
    try:
        event = validate_event(parse_event_body(payload))
    except (RefusedBodyError, InvalidStripeEventError) as error:
        raise _refuse(f"not a Stripe event: {error}") from None
    _follow(request, event)
    try:
        outcome = await patronage.inbox.receive_batched(payload, event)
        position = outcome.position
        if position is None:  # saved step by step, or before: the head is at or past it
            position = await run_in_threadpool(patronage.ledger.head)
    except PersistenceError as error:
        metrics.webhook_events.labels(event["type"], "store_failed").inc()
        log.warning("stripe_webhook_store_failed", error=repr(error))
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the ledger is unavailable; deliver again later",
            headers={"Retry-After": "30"},
        ) from None
    decline = None if outcome.duplicate else decline_of(event)
    if decline is not None:  # a card declined after the page confirmed it: card testing?
        patronage.checkout.guard.note_provider_decline(decline)
    result = "duplicate" if outcome.duplicate else str(outcome.status)
    metrics.webhook_events.labels(outcome.event_type, result).inc()
    # The views show this event's effect once their position (metrics, `projections
    # status`) reaches this one.
    log.info("stripe_webhook_handled", result=result, ledger_position=position)
    return WebhookAccepted(
        event_id=outcome.event_id,
        event_type=outcome.event_type,
        status=str(outcome.status),
        detail=outcome.detail,
        duplicate=outcome.duplicate,
    )
