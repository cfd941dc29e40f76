"""Dependencies shared by the routers: the wired Patronage and staff authentication.

Scripts call the staff API with `Authorization: Bearer <token>`: an API token (`pat_...`,
docs/staff.md), or, only until the first admin account exists, a bootstrap key from
PATRONAGE_STAFF_API_KEYS (it acts as an admin). Each route names the role it needs; an
admin may use every route. 401: no valid identity; 403: a valid one without the role.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from patronage.application.audit import Audit
from patronage.application.staff import TOKEN_PREFIX, StaffIdentity
from patronage.bootstrap import Patronage
from patronage.domain.staff import Role, role_allows

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API token (pat_..., docs/staff.md), or a bootstrap key before the first admin",
)


async def get_patronage(request: Request) -> Patronage:
    patronage: Patronage = request.app.state.patronage
    return patronage


PatronageDep = Annotated[Patronage, Depends(get_patronage)]


def unauthorised(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def _bootstrap_key(patronage: Patronage, presented: bytes) -> StaffIdentity | None:
    for index, key in enumerate(patronage.settings.staff_api_keys):
        if hmac.compare_digest(presented, key.get_secret_value().encode()):
            if patronage.staff.has_admin():
                raise unauthorised(
                    "bootstrap staff keys stop working once an admin account exists:"
                    " use an API token (docs/staff.md)"
                )
            return StaffIdentity(actor=f"bootstrap-key-{index + 1}", role=Role.ADMIN)
    return None


def bearer_identity(
    patronage: PatronageDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> StaffIdentity:
    """Who the bearer token says the caller is; 401 without a valid one."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorised("staff endpoints need 'Authorization: Bearer <API token>'")
    presented = credentials.credentials
    if presented.startswith(TOKEN_PREFIX):
        token = patronage.api_tokens.verify(presented)
        if token is None:
            raise unauthorised("unknown, expired or revoked API token")
        return StaffIdentity(actor=f"token:{token.label}", role=token.role)
    identity = _bootstrap_key(patronage, presented.encode())
    if identity is None:
        raise unauthorised("unknown staff API key")
    return identity


def check_role(identity: StaffIdentity, role: Role) -> StaffIdentity:
    if not role_allows(identity.role, role):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"this needs the {role.value} role; {identity.actor} is {identity.role.value}",
        )
    return identity


def _actor_with(role: Role) -> Callable[[StaffIdentity], str]:
    def actor(identity: Annotated[StaffIdentity, Depends(bearer_identity)]) -> str:
        return check_role(identity, role).actor

    return actor


StaffDep = Annotated[str, Depends(_actor_with(Role.FINANCE))]
"""A finance (or admin) caller; the value is the actor, as the audit trail names them."""
EditorDep = Annotated[str, Depends(_actor_with(Role.EDITOR))]
AdminDep = Annotated[str, Depends(_actor_with(Role.ADMIN))]


def get_audit(patronage: PatronageDep) -> Audit:
    return patronage.audit


AuditDep = Annotated[Audit, Depends(get_audit)]


@contextmanager
def audited(
    patronage: Patronage,
    staff: str,
    action: str,
    subject: str,
    details: Mapping[str, str] | None = None,
    *,
    missing: type[Exception] = LookupError,
) -> Iterator[None]:
    """A staff action recorded in the audit trail; 404 (and no record) when what it names is
    `missing`."""
    try:
        with patronage.audit.action(staff, action, subject, details):
            yield
    except missing as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from None


def answers(**described: str) -> dict[int | str, dict[str, Any]]:
    """Answers a route documents besides its own, named as HTTPStatus names them, with why:
    `conflict="decided already"` is a 409."""
    return {HTTPStatus[name.upper()].value: {"description": why} for name, why in described.items()}


# The answers of every staff route besides its own, for the OpenAPI schema.
AUTH_RESPONSES = answers(
    unauthorized="no valid API token", forbidden="the token's role may not do this"
)


def staff_router(prefix: str, tag: str, **described: str) -> APIRouter:
    """A staff API router: every route of it needs a role, so may answer 401 and 403, and
    each may give the `answers` described."""
    return APIRouter(
        prefix=prefix, tags=[tag], responses={**AUTH_RESPONSES, **answers(**described)}
    )
