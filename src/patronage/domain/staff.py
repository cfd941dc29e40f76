"""Staff: the people who work in the console, their roles, and the API tokens of scripts.

A person is identified by their normalised email. Passwords and token secrets are never in
an event: only their hashes, made above the domain (application/staff.py).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from patronage.domain.errors import DomainError, InvalidEmailError
from patronage.domain.identity import natural_id, normalise_email


class Role(StrEnum):
    """What a staff member may do (docs/staff.md); an admin may do everything."""

    FINANCE = "finance"
    EDITOR = "editor"
    ADMIN = "admin"


def role_allows(held: Role, needed: Role) -> bool:
    return held == needed or held == Role.ADMIN


def staff_id_for(email: str) -> UUID:
    return natural_id("staff", normalise_email(email))


def api_token_id_for(token_id: str) -> UUID:
    return natural_id("api-token", token_id)


class StaffMember(Aggregate):
    @staticmethod
    def create_id(email: str) -> UUID:
        return staff_id_for(email)

    @event("Added")
    def __init__(self, email: str, role: Role, password_hash: str, added_by: str) -> None:
        if "@" not in email.strip():
            raise InvalidEmailError("a staff member needs an email address")
        self.email = normalise_email(email)
        self.role = Role(role)
        self.password_hash = password_hash
        self.added_by = added_by
        self.active = True
        self.signed_out_at: datetime | None = None

    def change_role(self, role: Role, by: str) -> None:
        if Role(role) != self.role:
            self._role_changed(role=Role(role), by=by)

    @event("RoleChanged")
    def _role_changed(self, role: Role, by: str) -> None:
        self.role = Role(role)

    def change_password(self, password_hash: str, by: str) -> None:
        self._password_changed(password_hash=password_hash, by=by)

    @event("PasswordChanged")
    def _password_changed(self, password_hash: str, by: str) -> None:
        self.password_hash = password_hash

    def sign_out(self, at: datetime) -> None:
        """End every session of this person that started before `at`."""
        self._signed_out(at=at)

    @event("SignedOut")
    def _signed_out(self, at: datetime) -> None:
        self.signed_out_at = at

    def disable(self, by: str) -> None:
        if self.active:
            self._disabled(by=by)

    @event("Disabled")
    def _disabled(self, by: str) -> None:
        self.active = False

    def enable(self, by: str) -> None:
        if not self.active:
            self._enabled(by=by)

    @event("Enabled")
    def _enabled(self, by: str) -> None:
        self.active = True

    def session_valid(self, started_at: datetime) -> bool:
        """A session started at `started_at` is still good: the person is active and has
        not signed out since."""
        return self.active and (self.signed_out_at is None or started_at > self.signed_out_at)


class ApiToken(Aggregate):
    """A script's bearer token: `pat_<token_id>_<secret>`; only the secret's hash is kept."""

    @staticmethod
    def create_id(token_id: str) -> UUID:
        return api_token_id_for(token_id)

    @event("Created")
    def __init__(
        self,
        token_id: str,
        label: str,
        role: Role,
        secret_hash: str,
        expires_at: datetime,
        created_by: str,
    ) -> None:
        if not label.strip():
            raise DomainError("an API token needs a label that says what uses it")
        self.token_id = token_id
        self.label = label.strip()
        self.role = Role(role)
        self.secret_hash = secret_hash
        self.expires_at = expires_at
        self.created_by = created_by
        self.revoked_by = ""

    @property
    def revoked(self) -> bool:
        return bool(self.revoked_by)

    def revoke(self, by: str) -> None:
        if not self.revoked:
            self._revoked(by=by)

    @event("Revoked")
    def _revoked(self, by: str) -> None:
        self.revoked_by = by

    def usable_at(self, now: datetime) -> bool:
        return not self.revoked and now < self.expires_at
