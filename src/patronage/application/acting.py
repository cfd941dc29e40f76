"""Who is acting: the one way a staff action reaches the audit trail.

A staff action runs inside `acting(...)` (usually through `Audit.action`). The Ledger's
next save then carries a `StaffAction` aggregate along with the action's own changes, so
the effect and its audit record commit in one transaction; if the save is retried after a
conflict, a fresh record goes with the retry. Commands need no extra parameter, so every
existing and future command is audited the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from patronage.domain.audit import StaffAction


@dataclass
class _Acting:
    actor: str
    action: str
    subject: str
    details: Mapping[str, str] = field(default_factory=dict)
    # Mutated (not re-set) so that a worker thread running the command, which sees a copy
    # of the context, marks the same record as saved.
    recorded: bool = False


_current: ContextVar[_Acting | None] = ContextVar("patronage_acting", default=None)


@contextmanager
def acting(
    actor: str, action: str, subject: str, details: Mapping[str, str] | None = None
) -> Iterator[_Acting]:
    """Saves inside this block carry the audit record of `actor` doing `action`."""
    context = _Acting(actor, action, subject, dict(details or {}))
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def pending_record() -> StaffAction | None:
    """A new audit record for the save about to happen, or None (no action, or recorded)."""
    context = _current.get()
    if context is None or context.recorded:
        return None
    return StaffAction(
        actor=context.actor,
        action=context.action,
        subject=context.subject,
        details=dict(context.details),
    )


def record_saved() -> None:
    context = _current.get()
    if context is not None:
        context.recorded = True
