"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from patronage.api.deps import PatronageDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    store: str
    head: int


@router.get("/health")
def health(patronage: PatronageDep) -> Health:
    """Answers once the event store is reachable, with the newest event's position."""
    store = "postgresql" if patronage.settings.uses_postgres else "sqlite"
    return Health(status="ok", store=store, head=patronage.ledger.head())
