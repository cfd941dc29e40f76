"""Group commit: the saves of concurrent commands written in one transaction per batch.

On PostgreSQL every save takes the event table's lock (the library keeps notification ids
in commit order that way), so saves are serial and each costs a round trip with the lock
held. A command hands its unit of work's new events to `CommitBatcher.commit` and waits; one
committer thread takes every waiting unit (waiting at most `max_wait` for more, up to
`max_batch`) and inserts all their events at once: one transaction, one lock, one
NOTIFY. When that save fails (a duplicate id, a concurrent change to an aggregate, two
units of the batch changing the same aggregate, or anything else), nothing of the batch is
written, and the committer saves each unit again on its own (unless the database could not be
reached at all: then every unit of the batch fails at once, as it would have alone), so each
command gets its own outcome (a conflict makes `retrying` run that command again) and one bad
unit never fails the others. `commit` returns only once its own events are committed.

Each command encodes its own events (in its own thread, where the data keys that seal
personal fields are fetched or created), so the committer only inserts. That bypasses the
Application's `save` hooks, which matter only for snapshotted aggregates (receipt series)
and staff actions' audit records: units with a staff action are saved on their own, and the
webhook path, the one user of the batcher, never touches a receipt series.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    StoredEvent,
)

from patronage.application import acting
from patronage.application.ledger import Ledger, last_position

log = structlog.get_logger(__name__)


@dataclass
class _Waiting:
    stored: Sequence[StoredEvent]
    data_keys: dict[str, bytes]  # of the subjects these events create
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    position: int | None = None  # the notification id of its last event, once committed

    def committed(self, notification_ids: Sequence[int] | None) -> None:
        self.position = notification_ids[-1] if notification_ids else None
        self.done.set()


class CommitBatcher:
    def __init__(self, ledger: Ledger, max_batch: int = 100, max_wait: float = 0.002) -> None:
        self.ledger = ledger
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._start = threading.Lock()
        self._thread: threading.Thread | None = None

    def commit(self, events: Sequence[Any]) -> int | None:
        """Save `events` (domain events) with whatever other commands are saving now;
        returns once they are committed (with the log position of the last, where the
        store tells it), raises what saving them alone raised."""
        if not events:
            return None
        if acting.pending_record() is not None or self.max_batch <= 1:
            # A staff action's audit record is saved with its own effect, in its thread.
            return last_position(self.ledger.save(*events))
        waiting = _Waiting(*self.ledger.sealing.to_stored_events_with_keys(events))
        self._ensure_committer()
        self._queue.put(waiting)
        waiting.done.wait()
        if waiting.error is None:
            self.ledger.keys.remember(waiting.data_keys)
            return waiting.position
        if (
            isinstance(waiting.error, IntegrityError)
            and waiting.data_keys
            and self.ledger.keys.any_stored(waiting.data_keys)
        ):
            # A key made outside an events' transaction (an earlier save that failed after
            # it): sealed again with the stored keys, saved alone.
            return last_position(self.ledger.save(*events))
        raise waiting.error

    def _ensure_committer(self) -> None:
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="commits", daemon=True)
                self._thread.start()

    def close(self) -> None:
        """Stop the committer once it has saved what waits (commits after this run alone
        in a new committer)."""
        with self._start:
            if self._thread is not None and self._thread.is_alive():
                self._queue.put(None)
                self._thread.join(5.0)
            self._thread = None

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            self._save(self._next_batch(first))

    def _next_batch(self, first: _Waiting) -> list[_Waiting]:
        batch = [first]
        deadline = time.monotonic() + self.max_wait
        while len(batch) < self.max_batch:
            left = deadline - time.monotonic()
            try:
                more = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if more is None:  # closing: save this batch, then stop
                self._queue.put(None)
                break
            batch.append(more)
        return batch

    def _save(self, batch: list[_Waiting]) -> None:
        if len(batch) > 1:
            try:
                ids = self.ledger.insert_with_keys(
                    [e for w in batch for e in w.stored],
                    {s: k for w in batch for s, k in w.data_keys.items()},
                )
            except (OperationalError, InterfaceError) as unreachable:
                # The database is down: saving each unit alone would only wait again, once
                # per unit, while every sender holds on. Each command answers at once.
                for waiting in batch:
                    waiting.error = unreachable
                    waiting.done.set()
                return
            except Exception as error:
                log.debug("commit_batch_split", size=len(batch), error=type(error).__name__)
            else:
                start = 0
                for waiting in batch:  # the ids come in the order of the events given
                    end = start + len(waiting.stored)
                    waiting.committed(ids[start:end] if ids else None)
                    start = end
                return
        for waiting in batch:  # one by one: each unit's own outcome
            try:
                waiting.committed(self.ledger.insert_with_keys(waiting.stored, waiting.data_keys))
            except BaseException as error:  # handed to the waiting command, never lost
                waiting.error = error
                waiting.done.set()
