"""Probes for load balancers and orchestrators; neither shows any of the data.

`/healthz`: the process answers (liveness: restart it if not). `/readyz`: the database
answers and no view is more than PATRONAGE_READY_MAX_LAG events behind (readiness: send it
traffic only then); 503 with the reasons otherwise.
"""

from __future__ import annotations

from typing import Literal

import structlog
from eventsourcing.persistence import ProgrammingError
from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from patronage.api.deps import PatronageDep
from patronage.bootstrap import Patronage, database_problem

log = structlog.get_logger(__name__)

router = APIRouter(tags=["health"])


class Alive(BaseModel):
    status: Literal["ok"] = "ok"


class ViewReadiness(BaseModel):
    lag: int  # events not applied yet, counted up to PATRONAGE_READY_MAX_LAG + 1
    ready: bool


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    database: Literal["ok", "tables missing", "unreachable"]
    views: dict[str, ViewReadiness]
    reasons: list[str]


@router.get("/healthz")
def healthz() -> Alive:
    """The process is alive; says nothing about the database or the data."""
    return Alive()


def _tables_missing(error: Exception) -> bool:
    # PostgreSQL reports an undefined table as a ProgrammingError; SQLite only by message.
    return isinstance(error, ProgrammingError) or "no such table" in str(error)


def readiness(patronage: Patronage) -> Readiness:
    max_lag = patronage.settings.ready_max_lag
    views: dict[str, ViewReadiness] = {}
    problem = database_problem(patronage.settings)
    if problem is not None:
        log.warning("not_ready", reason=problem)
        reason = "the database is unreachable"
        return Readiness(status="not ready", database="unreachable", views={}, reasons=[reason])
    try:
        patronage.ledger.head()
        for name in patronage.views.stores:
            lag = patronage.views.lag(name, cap=max_lag + 1)
            views[name] = ViewReadiness(lag=lag, ready=lag <= max_lag)
    except Exception as error:  # any failure to read the store means: send no traffic here
        if _tables_missing(error):
            log.warning("not_ready", reason="tables missing", error=repr(error))
            reason = "the tables are missing: run `patronage setup`"
            return Readiness(
                status="not ready", database="tables missing", views={}, reasons=[reason]
            )
        log.warning("not_ready", reason="database unreachable", error=repr(error))
        reason = "the database is unreachable"
        return Readiness(status="not ready", database="unreachable", views={}, reasons=[reason])
    reasons = [
        f"view {name} is more than {max_lag} events behind"
        for name, view in views.items()
        if not view.ready
    ]
    return Readiness(
        status="not ready" if reasons else "ready", database="ok", views=views, reasons=reasons
    )


@router.get(
    "/readyz",
    responses={503: {"model": Readiness, "description": "The database or a view is not ready"}},
)
def readyz(patronage: PatronageDep, response: Response) -> Readiness:
    """Ready when the database answers and every view is close enough to the event log."""
    answer = readiness(patronage)
    if answer.status != "ready":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return answer
