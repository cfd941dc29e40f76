"""Staff accounts and API tokens: add people with a role, check passwords, issue and check
tokens. Passwords are hashed with argon2; token secrets (random, 256 bits) with SHA-256,
compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventsourcing.utils import get_topic

from patronage.application.clock import Clock, utc_now
from patronage.application.ledger import Ledger, retrying
from patronage.domain.errors import DomainError
from patronage.domain.staff import ApiToken, Role, StaffMember, api_token_id_for, staff_id_for

MIN_PASSWORD_LENGTH = 12
TOKEN_PREFIX = "pat_"  # noqa: S105 (a prefix that marks a token, not a secret)
ADDED_TOPIC = get_topic(StaffMember.Added)  # type: ignore[attr-defined]
TOKEN_CREATED_TOPIC = get_topic(ApiToken.Created)


class StaffError(DomainError):
    """A staff or token command refused: the message says why."""


@dataclass(frozen=True)
class StaffIdentity:
    """Who is calling: `actor` names them in the audit trail."""

    actor: str
    role: Role
    staff_id: UUID | None = None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def _added(ledger: Ledger, topic: str) -> Iterator[UUID]:
    """Ids of the aggregates whose first event has `topic`, oldest first."""
    position = 0
    while True:
        batch = ledger.recorder.select_notifications(
            position, 500, topics=[topic], inclusive_of_start=False
        )
        if not batch:
            return
        for notification in batch:
            yield UUID(str(notification.originator_id))
        position = batch[-1].id


class StaffAccounts:
    def __init__(
        self,
        ledger: Ledger,
        clock: Clock = utc_now,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.ledger = ledger
        self.clock = clock
        self.hasher = hasher or PasswordHasher()

    @cached_property
    def _decoy(self) -> str:
        """Verified against when the email is unknown, so that a wrong email takes as long
        as a wrong password and does not reveal who has an account (made on first use: a
        hash costs time every start-up would pay)."""
        return self.hasher.hash(secrets.token_urlsafe(16))

    def add(self, email: str, role: Role, password: str, by: str) -> StaffMember:
        _check_password(password)
        if self.ledger.get_or_none(staff_id_for(email), StaffMember) is not None:
            raise StaffError(f"{email.strip().lower()} already has a staff account")
        member = StaffMember(
            email=email, role=role, password_hash=self.hasher.hash(password), added_by=by
        )
        self.ledger.save(member)
        return member

    def _change(self, staff_id: UUID, change: Callable[[StaffMember], None]) -> StaffMember:
        def command() -> StaffMember:
            member = self.get(staff_id)
            if member is None:
                raise StaffError("no such staff member")
            change(member)
            self.ledger.save(member)
            return member

        return retrying(command)

    def change_role(self, staff_id: UUID, role: Role, by: str) -> StaffMember:
        return self._change(staff_id, lambda m: m.change_role(role, by))

    def change_password(self, staff_id: UUID, password: str, by: str) -> StaffMember:
        _check_password(password)
        hashed = self.hasher.hash(password)
        return self._change(staff_id, lambda m: m.change_password(hashed, by))

    def disable(self, staff_id: UUID, by: str) -> StaffMember:
        return self._change(staff_id, lambda m: m.disable(by))

    def enable(self, staff_id: UUID, by: str) -> StaffMember:
        return self._change(staff_id, lambda m: m.enable(by))

    def sign_out(self, staff_id: UUID) -> None:
        self._change(staff_id, lambda m: m.sign_out(self.clock()))

    def get(self, staff_id: UUID) -> StaffMember | None:
        return self.ledger.get_or_none(staff_id, StaffMember)

    def by_email(self, email: str) -> StaffMember | None:
        return self.get(staff_id_for(email))

    def authenticate(self, email: str, password: str) -> StaffMember | None:
        """The active staff member with this email and password, or None."""
        member = self.by_email(email) if "@" in email else None
        try:
            self.hasher.verify(member.password_hash if member else self._decoy, password)
        except (VerificationError, InvalidHashError):
            return None
        if member is None or not member.active:
            return None
        if self.hasher.check_needs_rehash(member.password_hash):
            self.change_password(member.id, password, by=f"rehash:{member.email}")
        return member

    def members(self) -> list[StaffMember]:
        return [m for i in _added(self.ledger, ADDED_TOPIC) if (m := self.get(i)) is not None]

    def has_admin(self) -> bool:
        return any(m.active and m.role == Role.ADMIN for m in self.members())


@dataclass(frozen=True)
class IssuedToken:
    """A token as created: `secret_text` is shown once and never stored."""

    token: ApiToken
    secret_text: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiTokens:
    def __init__(self, ledger: Ledger, clock: Clock = utc_now) -> None:
        self.ledger = ledger
        self.clock = clock

    def create(self, label: str, role: Role, days: int, by: str) -> IssuedToken:
        if not 1 <= days <= 366:
            raise StaffError("a token lives between 1 and 366 days")
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        token = ApiToken(
            token_id=token_id,
            label=label,
            role=role,
            secret_hash=_digest(secret),
            expires_at=self.clock() + timedelta(days=days),
            created_by=by,
        )
        self.ledger.save(token)
        return IssuedToken(token, f"{TOKEN_PREFIX}{token_id}_{secret}")

    def revoke(self, token_id: str, by: str) -> ApiToken:
        def command() -> ApiToken:
            token = self.ledger.get_or_none(api_token_id_for(token_id), ApiToken)
            if token is None:
                raise StaffError(f"no API token {token_id}")
            token.revoke(by)
            self.ledger.save(token)
            return token

        return retrying(command)

    def verify(self, presented: str) -> ApiToken | None:
        """The usable token `presented` is, or None (unknown, wrong secret, expired, revoked)."""
        if not presented.startswith(TOKEN_PREFIX):
            return None
        token_id, _, secret = presented.removeprefix(TOKEN_PREFIX).partition("_")
        if not token_id or not secret or len(token_id) > 64:
            return None
        token = self.ledger.get_or_none(api_token_id_for(token_id), ApiToken)
        # Compare a digest even for an unknown id, so timing tells nothing about which exist.
        expected = token.secret_hash if token else _digest(secrets.token_urlsafe(32))
        matches = hmac.compare_digest(expected.encode(), _digest(secret).encode())
        if token is None or not matches or not token.usable_at(self.clock()):
            return None
        return token

    def tokens(self) -> list[ApiToken]:
        ids = _added(self.ledger, TOKEN_CREATED_TOPIC)
        return [t for i in ids if (t := self.ledger.get_or_none(i, ApiToken)) is not None]
