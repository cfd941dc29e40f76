"""Dependencies shared by the routers: the wired Patronage and staff authentication."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from patronage.bootstrap import Patronage

_bearer = HTTPBearer(auto_error=False, description="A staff API key (PATRONAGE_STAFF_API_KEYS)")


def get_patronage(request: Request) -> Patronage:
    patronage: Patronage = request.app.state.patronage
    return patronage


PatronageDep = Annotated[Patronage, Depends(get_patronage)]


def require_staff(
    patronage: PatronageDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The staff member's key label; 401 without a valid staff API key."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="staff endpoints need 'Authorization: Bearer <staff API key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    presented = credentials.credentials.encode()
    for index, key in enumerate(patronage.settings.staff_api_keys):
        if hmac.compare_digest(presented, key.get_secret_value().encode()):
            return f"staff-key-{index + 1}"
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="unknown staff API key",
        headers={"WWW-Authenticate": "Bearer"},
    )


StaffDep = Annotated[str, Depends(require_staff)]
