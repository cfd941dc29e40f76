"""Staff: the audit trail, newest first (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from patronage.api.deps import AdminDep, PatronageDep, staff_router
from patronage.api.read_models import MAX_POSITION
from patronage.application.audit import AuditPage

router = staff_router("/staff/audit", "staff: audit")


@router.get("")
def audit_trail(
    _admin: AdminDep,
    patronage: PatronageDep,
    actor: Annotated[str, Query(max_length=320, pattern=r"^[^\x00-\x1f]*$")] = "",
    action: Annotated[
        str, Query(max_length=100, pattern=r"^[a-z_.]*$", description="an action or its start")
    ] = "",
    before: Annotated[int | None, Query(ge=1, le=MAX_POSITION)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Every staff action with who did it and when; page back with `before=<next_before>`."""
    return patronage.audit.entries(before=before, limit=limit, actor=actor, action=action)
