"""Many aggregates in a few queries: year end loads hundreds of thousands of them.

The library reads one aggregate per query (half a millisecond each on PostgreSQL); this
selects the stored events of a batch of ids in one query on either store (SQL on the
library's events table, kept in storage.py with the Ledger's other uses of the library's
internals) and decodes them with the application's own mapper, so the aggregates are
exactly those `repository.get` would return. Only for aggregates without snapshots (gifts,
supporters, memberships).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

from patronage.storage import decode_all, select_stored_events


def get_many(app: Application[UUID], ids: Sequence[UUID], chunk: int = 500) -> dict[UUID, Any]:
    """The aggregates with these ids that exist, by id."""
    events: dict[UUID, list[Any]] = defaultdict(list)
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), chunk):
        stored = [
            StoredEvent(
                originator_id=_uuid(row["originator_id"]),
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in select_stored_events(app.recorder, unique[start : start + chunk])
        ]
        for domain_event in decode_all(app, stored):
            events[domain_event.originator_id].append(domain_event)
    return {aggregate_id: project(domain_events) for aggregate_id, domain_events in events.items()}


def _uuid(originator: UUID | str) -> UUID:
    return originator if isinstance(originator, UUID) else UUID(originator)


def project(domain_events: Iterable[Any]) -> Any:
    """What the library's `project_aggregate` does, without its per-event protocol check."""
    aggregate = None
    for domain_event in domain_events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate
