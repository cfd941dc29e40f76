"""The audit trail: record staff actions (with their effect) and list them, newest first."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from eventsourcing.utils import get_topic

from patronage.application.acting import acting
from patronage.application.ledger import Ledger, newest_first
from patronage.domain.audit import StaffAction

RECORDED_TOPIC = get_topic(StaffAction.Recorded)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class AuditEntry:
    position: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, str]


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_before: int | None


class Audit:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    @contextmanager
    def action(
        self, actor: str, action: str, subject: str, details: Mapping[str, str] | None = None
    ) -> Iterator[None]:
        """Run a staff action: its first save carries the audit record. An action that
        saved nothing (a replay that changed nothing) is recorded alone when it succeeds;
        one that raised is not recorded, since it changed nothing."""
        with acting(actor, action, subject, details) as context:
            yield
            if not context.recorded:
                context.recorded = True  # so that this save does not add a second record
                self.record(actor, action, subject, details)

    def record(
        self, actor: str, action: str, subject: str, details: Mapping[str, str] | None = None
    ) -> None:
        """Record an action that changes nothing in the ledger (an export, say)."""
        self.ledger.save(StaffAction(actor, action, subject, dict(details or {})))

    def entries(
        self,
        *,
        before: int | None = None,
        limit: int = 50,
        actor: str = "",
        action: str = "",
    ) -> AuditPage:
        """Recorded actions, newest first, optionally of one actor or action (prefix)."""
        found: list[AuditEntry] = []
        for notification in newest_first(self.ledger, RECORDED_TOPIC, before):
            event = self.ledger.mapper.to_domain_event(notification)
            entry = AuditEntry(
                position=notification.id,
                at=event.timestamp,  # type: ignore[attr-defined]
                actor=event.actor,  # type: ignore[attr-defined]
                action=event.action,  # type: ignore[attr-defined]
                subject=event.subject,  # type: ignore[attr-defined]
                details=dict(event.details),  # type: ignore[attr-defined]
            )
            if (actor and entry.actor != actor) or not entry.action.startswith(action):
                continue
            found.append(entry)
            if len(found) == limit:
                break
        next_before = found[-1].position if len(found) == limit and found[-1].position > 1 else None
        return AuditPage(entries=found, next_before=next_before)
