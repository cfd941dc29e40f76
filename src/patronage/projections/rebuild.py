"""Rebuild a view from the first event without stopping the service.

The view is built aside, in tables with a fresh suffix, while the live view keeps serving
and following. Then one transaction takes the lock the live runner needs to write (the
live tracking table's on PostgreSQL, the database's write lock on SQLite), applies the last
events to the new tables, drops the live tables and renames the new ones into their place.
Readers see the old view or the new one. The live runner's next write then fails (its
position is already taken in the new tables, or its table is gone) and it resumes from the
new tables' position: the lock guarantees that position is at or past its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import Tracking

from patronage.projections.base import EventLog, ViewProjection
from patronage.projections.catalog import projection_class
from patronage.projections.polling import catch_up, select_after
from patronage.projections.store import Dialect, StoreOpener, ViewStore, iter_tables


def rebuild(
    name: str,
    ledger: EventLog,
    open_store: StoreOpener,
    *,
    on_start: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rebuild the named view from scratch and swap it in; returns its new position.

    `on_start` gets the head of the log when the rebuild starts, `progress` each applied
    notification id (for a progress bar)."""
    projection_cls = projection_class(name)
    side = open_store(projection_cls.schema, suffix=f"_r{uuid.uuid4().hex[:8]}")
    projection = projection_cls(view=side)
    if on_start is not None:
        on_start(ledger.recorder.max_notification_id() or 0)
    catch_up(ledger, projection, progress=progress)
    live = Dialect(name, schema=side.dialect.schema)
    with side.transaction(commit=True) as cursor:
        _lock_out_live_runner(live, side, cursor)
        position = _apply_tail(ledger, projection, cursor, progress)
        _swap(side, live, cursor)
    return position


def _lock_out_live_runner(live: Dialect, side: ViewStore, cursor: Any) -> None:
    if live.is_postgres:
        tracking = live.qualified(ViewStore.tracking_table)
        # The live view may never have been opened; the swap drops this stand-in anyway.
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {tracking} (application_name text)")
        cursor.execute(f"LOCK TABLE {tracking} IN ACCESS EXCLUSIVE MODE")
    else:
        # Any write takes SQLite's one write lock, even when it changes no row.
        side_tracking = side.dialect.qualified(ViewStore.tracking_table)
        cursor.execute(f"DELETE FROM {side_tracking} WHERE 1 = 0")


def _apply_tail(
    ledger: EventLog,
    projection: ViewProjection,
    cursor: Any,
    progress: Callable[[int], None] | None,
) -> int:
    """Apply, inside the swap's transaction, the events that arrived during the build;
    returns the new tables' position."""
    side = projection.view
    position = side.position_in(cursor, ledger.name)
    while tail := select_after(ledger, projection.topics, position):
        for n in tail:
            change = projection.change_for(ledger.mapper.to_domain_event(n))
            side.apply_in(cursor, Tracking(ledger.name, n.id), change)
            position = n.id
            if progress is not None:
                progress(n.id)
    return position


def _swap(side: ViewStore, live: Dialect, cursor: Any) -> None:
    for table in iter_tables(side.schema):
        cursor.execute(f"DROP TABLE IF EXISTS {live.qualified(table)}")
        cursor.execute(
            f'ALTER TABLE {side.dialect.qualified(table)} RENAME TO "{live.bare(table)}"'
        )
        if live.is_postgres:  # keep the primary key's name that of the live table
            old_key = live.qualify(f"{side.dialect.bare(table)}_pkey")
            cursor.execute(f'ALTER INDEX {old_key} RENAME TO "{live.bare(table)}_pkey"')
    for index in side.schema.all_indexes():
        old, new = side.dialect.index_name(index), live.index_name(index)
        if live.is_postgres:
            cursor.execute(f'ALTER INDEX {live.qualify(old)} RENAME TO "{new}"')
        else:  # SQLite cannot rename an index: build it again under its own name
            cursor.execute(f"DROP INDEX {live.qualify(old)}")
            cursor.execute(live.create_index(index))
