"""Group commit: the saves of concurrent commands written in one transaction per batch, and
their reads made in one query per batch.

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

Commands on an event loop (the webhook) use `read` and `save` instead, which await the same
thread: it reads the aggregates every waiting command asked for in one query, seals their
new events, saves them as above, and wakes each loop once per batch. A delivery then costs
its loop no thread of its own and no hand-over per statement: the interpreter passes between
two threads, not between dozens, each time the database answers.

Each threaded command encodes its own events (in its own thread, where the data keys that
seal personal fields are fetched or created), so the committer only inserts. That bypasses
the Application's `save` hooks, which matter only for snapshotted aggregates (receipt
series) and staff actions' audit records: units with a staff action are saved on their own,
and the webhook path, the one user of the batcher, never touches a receipt series.
"""

from __future__ import annotations

import asyncio
import copy
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    StoredEvent,
)

from patronage.application import acting
from patronage.application.ledger import Inserted, Ledger, last_position

log = structlog.get_logger(__name__)


@dataclass(eq=False)
class _Request:
    error: BaseException | None = field(default=None, init=False)
    # Set once the request is settled: a thread's event, or an awaiting command's future on
    # its loop. Only the one its caller waits on is made (an event is a lock and a
    # condition: under a burst of webhooks, a fortieth of the API's interpreter time).
    done: threading.Event | None = field(default=None, init=False)
    woken: asyncio.Future[None] | None = field(default=None, init=False)


@dataclass(eq=False)
class _Waiting(_Request):
    stored: Sequence[StoredEvent]
    data_keys: dict[str, bytes]  # of the subjects these events create
    watch: Sequence[UUID] = ()
    events: Sequence[Any] = ()  # an awaiting command's domain events, sealed by the committer
    position: int | None = None  # the notification id of its last event, once committed
    present: frozenset[UUID] | None = None  # of `watch`, those with events after the commit

    def committed(self, inserted: Inserted) -> None:
        self.position = inserted.ids[-1] if inserted.ids else None
        if inserted.present is not None:
            self.present = inserted.present & frozenset(self.watch)


@dataclass(eq=False)
class _Reading(_Request):
    ids: Sequence[UUID]
    found: dict[UUID, Any] = field(default_factory=dict)  # the reader's own objects, by id


@dataclass(frozen=True)
class Saved:
    position: int | None  # the log position of the unit's last event, where the store tells
    present: frozenset[UUID] | None  # of the ids watched, those with events; None: unknown


def _settle(requests: Sequence[_Request]) -> None:
    """Wake every waiting command: threads one by one, each loop once for all of its own."""
    woken: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = defaultdict(list)
    for request in requests:
        if request.done is not None:
            request.done.set()
        if request.woken is not None:
            woken[request.woken.get_loop()].append(request.woken)
    for loop, futures in woken.items():
        try:
            loop.call_soon_threadsafe(_wake, futures)
        except RuntimeError:  # that loop is closed: nobody waits any more
            continue


def _wake(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():  # not cancelled meanwhile
            future.set_result(None)


class CommitBatcher:
    def __init__(self, ledger: Ledger, max_batch: int = 100, max_wait: float = 0.002) -> None:
        self.ledger = ledger
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
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
        waiting.done = done = threading.Event()
        self._submit(waiting)
        done.wait()
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

    async def read(self, ids: Sequence[UUID]) -> dict[UUID, Any]:
        """The existing aggregates among `ids` (none with snapshots), read with whatever
        other commands are reading now: this command's own objects, by id."""
        reading = _Reading(ids=list(dict.fromkeys(ids)))
        await self._awaited(reading)
        return reading.found

    async def save(self, events: Sequence[Any], watch: Sequence[UUID] = ()) -> Saved:
        """`commit`, awaited: sealed and saved by the committer. Also tells which of the
        `watch`ed aggregates have events once these are committed (Ledger.insert_with_keys).
        Raises what saving them raised, IntegrityError included: the caller goes the
        step-by-step way then, where `commit` deals with a key stored before its events."""
        waiting = _Waiting(stored=(), data_keys={}, watch=list(watch), events=list(events))
        await self._awaited(waiting)
        return Saved(waiting.position, waiting.present)

    async def _awaited(self, request: _Request) -> None:
        request.woken = asyncio.get_running_loop().create_future()
        self._submit(request)
        await request.woken
        if request.error is not None:
            raise request.error

    def _submit(self, request: _Request) -> None:
        self._ensure_committer()
        self._queue.put(request)

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
            batch = self._next_batch(first)
            readings = [r for r in batch if isinstance(r, _Reading)]
            if readings:
                self._read(readings)
            saves = [w for w in batch if isinstance(w, _Waiting) and self._sealed(w)]
            if saves:
                self._save(saves)

    def _next_batch(self, first: _Request) -> list[_Request]:
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

    def _read(self, readings: list[_Reading]) -> None:
        try:
            found = self.ledger.get_many([i for r in readings for i in r.ids], Aggregate)
        except BaseException as error:  # handed to every reader, never lost
            for reading in readings:
                reading.error = error
        else:
            handed: set[UUID] = set()
            for reading in readings:
                for i in reading.ids:
                    if i in found:
                        # Two commands reading one aggregate each change their own object:
                        # copies made here, before either runs.
                        first = i not in handed
                        reading.found[i] = found[i] if first else copy.deepcopy(found[i])
                        handed.add(i)
        _settle(readings)

    def _sealed(self, waiting: _Waiting) -> bool:
        """An awaiting command's events sealed here (where a key may be read); False, with
        the command told, when that fails."""
        if not waiting.events:
            return True
        try:
            waiting.stored, waiting.data_keys = self.ledger.sealing.to_stored_events_with_keys(
                waiting.events
            )
        except BaseException as error:
            waiting.error = error
            _settle([waiting])
            return False
        return True

    def _save(self, batch: list[_Waiting]) -> None:
        if len(batch) > 1:
            try:
                inserted = self.ledger.insert_with_keys(
                    [e for w in batch for e in w.stored],
                    {s: k for w in batch for s, k in w.data_keys.items()},
                    [i for w in batch for i in w.watch],
                )
            except (OperationalError, InterfaceError) as unreachable:
                # The database is down: saving each unit alone would only wait again, once
                # per unit, while every sender holds on. Each command answers at once.
                for waiting in batch:
                    waiting.error = unreachable
                _settle(batch)
                return
            except Exception as error:
                log.debug("commit_batch_split", size=len(batch), error=type(error).__name__)
            else:
                start = 0
                for waiting in batch:  # the ids come in the order of the events given
                    end = start + len(waiting.stored)
                    ids = inserted.ids[start:end] if inserted.ids else None
                    waiting.committed(Inserted(ids, inserted.present))
                    start = end
                self._remember_keys(batch)
                _settle(batch)
                return
        for waiting in batch:  # one by one: each unit's own outcome
            try:
                waiting.committed(
                    self.ledger.insert_with_keys(waiting.stored, waiting.data_keys, waiting.watch)
                )
            except BaseException as error:  # handed to the waiting command, never lost
                waiting.error = error
            else:
                self._remember_keys([waiting])
            _settle([waiting])

    def _remember_keys(self, committed: list[_Waiting]) -> None:
        """The keys the committer sealed with, kept once stored (a thread's own command
        keeps its own, in `commit`)."""
        for waiting in committed:
            if waiting.events:
                self.ledger.keys.remember(waiting.data_keys)
