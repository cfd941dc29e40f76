"""The Ledger: the one event-sourced application that records every fact about money.

Everything that must change together (a webhook's inbox entry and the gift it books, a
receipt number and the receipt) lives in this one application, so one `save` commits it
in one transaction. Its save steps lean on the library's private `Application._record`,
`_take_snapshots` and `_notify`, and on its `ProcessingEvent`: that code is in storage.py,
with the recorders' (tests/unit/test_recorder_internals.py guards it).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.cryptography import AESCipher
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Mapper,
    Notification,
    Recording,
    StoredEvent,
)
from eventsourcing.utils import Environment, EnvType, strtobool

from patronage.application import acting
from patronage.application.bulk_read import get_many, project
from patronage.application.keys import KeyStore, SQLKeyStore, key_store_for
from patronage.application.sealing import SealingMapper
from patronage.application.transcodings import register_patronage_transcodings
from patronage.domain.receipt import ReceiptSeries
from patronage.storage import events_table_of, save_collected

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)

log = structlog.get_logger(__name__)

# Enough for a burst of webhooks about one supporter racing each other; a conflict that
# persists past this is a bug, not contention.
MAX_ATTEMPTS = 12
# Jittered back-off between attempts, so that racing writers do not collide again in step.
BACKOFF_SECONDS = 0.005


# The key table's row for a generated identity key (when PATRONAGE_IDENTITY_KEY is unset).
IDENTITY_SUBJECT = "identity"


@dataclass(frozen=True)
class Inserted:
    ids: Sequence[int] | None  # the events' log positions, in the order given
    # Of the aggregates watched, those with events once the insert committed; None when the
    # store cannot tell (nothing watched, or a recorder without storage.py's hooks).
    present: frozenset[UUID] | None


def _of_type(aggregate_id: UUID, aggregate: object, aggregate_type: type[A]) -> A:
    if not isinstance(aggregate, aggregate_type):
        raise TypeError(f"{aggregate_id} is a {type(aggregate).__name__}, not {aggregate_type}")
    return aggregate


def _found(aggregate_id: UUID, aggregate: A | None, aggregate_type: type[A]) -> A:
    if aggregate is None:
        raise AggregateNotFoundError(f"no {aggregate_type.__name__} {aggregate_id}")
    return aggregate


class Ledger(Application[UUID]):
    """Besides the library's settings, its env may hold IDENTITY_KEY: the secret that
    supporter ids and email claims are keyed hashes under (domain/supporter.py)."""

    name = "Ledger"
    # A receipt series gains an event per issue; a snapshot every few events keeps loading
    # it (on every issue) as cheap for the 50,000th receipt of a year as for the first.
    snapshotting_intervals = {ReceiptSeries: 50}

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env=env)
        create_table = strtobool(self.env.get("CREATE_TABLE") or "yes")
        self.keys: KeyStore = key_store_for(self.recorder, self.mapper.cipher, create_table)
        self.sealing.keys = self.keys
        configured = self.env.get("IDENTITY_KEY")
        self._identity_key: bytes | None = configured.encode() if configured else None

    @property
    def identity_key(self) -> bytes:
        # Read on first use, not at start: before `patronage setup` its table may not exist.
        if self._identity_key is None:
            self._identity_key = self.keys.get_or_create(IDENTITY_SUBJECT)
        return self._identity_key

    def rotate_cipher_key(self, new_key: str) -> int:
        """Re-encrypt every stored event (and snapshot) and every data key under `new_key`
        (base64 AES key); returns the rows rewritten. Every other process must be stopped,
        and started again with the new key (docs/personal-data.md, "Key rotation")."""
        if not isinstance(self.keys, SQLKeyStore):
            raise TypeError("only a database's stored events can be re-encrypted")
        tables = [events_table_of(self.recorder)]
        if self.snapshots is not None:
            tables.append(events_table_of(self.snapshots.recorder))
        new = AESCipher(Environment(env={"CIPHER_KEY": new_key}))
        return self.keys.reencrypt(tables, self.mapper.cipher, new)

    def construct_mapper(self) -> Mapper[UUID]:
        return self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=SealingMapper
        )

    @property
    def sealing(self) -> SealingMapper:
        assert isinstance(self.mapper, SealingMapper)
        return self.mapper

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_patronage_transcodings(transcoder)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """Save, with the audit record of the staff action in progress (application/acting.py)
        in the same transaction (storage.save_collected: the library's steps, collected
        faster)."""
        record = acting.pending_record()
        recordings = save_collected(self, *objs, *([record] if record else []), **kwargs)
        if record is not None:
            acting.record_saved()
        return recordings

    def get_or_none(self, aggregate_id: UUID, aggregate_type: type[A]) -> A | None:
        if not self._snapshotted(aggregate_type):
            # One query: the library's repository would first look for a snapshot (a second
            # query, on every load), and only receipt series have them.
            found = project(self.events.get(aggregate_id))
            return None if found is None else _of_type(aggregate_id, found, aggregate_type)
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return _of_type(aggregate_id, aggregate, aggregate_type)

    def _snapshotted(self, aggregate_type: type[Aggregate]) -> bool:
        return any(issubclass(kind, aggregate_type) for kind in self.snapshotting_intervals)

    def exists(self, aggregate_id: UUID) -> bool:
        """Whether any event of `aggregate_id` is stored: one small query."""
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def get_typed(self, aggregate_id: UUID, aggregate_type: type[A]) -> A:
        return _found(aggregate_id, self.get_or_none(aggregate_id, aggregate_type), aggregate_type)

    def get_many(self, ids: Sequence[UUID], aggregate_type: type[A]) -> dict[UUID, A]:
        """The existing aggregates among `ids`, read in a few queries instead of one each
        (one each on the library's in-memory store, which has no SQL to batch)."""
        if not hasattr(self.recorder, "datastore"):
            loaded = {i: self.get_or_none(i, aggregate_type) for i in dict.fromkeys(ids)}
            return {i: aggregate for i, aggregate in loaded.items() if aggregate is not None}
        found = get_many(self, ids)
        for aggregate_id, aggregate in found.items():
            if not isinstance(aggregate, aggregate_type):
                raise TypeError(f"{aggregate_id} is a {type(aggregate).__name__}")
        return found

    def insert_with_keys(
        self,
        stored: Sequence[StoredEvent],
        data_keys: Mapping[str, bytes],
        watch: Sequence[UUID] = (),
    ) -> Inserted:
        """Insert sealed events (SealingMapper.to_stored_events_with_keys) and the keys they
        were sealed with, in one transaction where the store allows it; and tell which of the
        `watch`ed aggregates have events once that transaction commits (storage.py)."""
        if not getattr(self.recorder, "stores_data_keys", False):
            # The library's own recorders (a test may make them): keys first, on their own.
            self.keys.store_all(data_keys)
            return Inserted(self.recorder.insert_events(stored), None)
        rows = {subject: self.keys.stored_form(key) for subject, key in data_keys.items()}
        present: set[UUID] = set()
        ids = self.recorder.insert_events(stored, data_keys=rows, watch=watch, present=present)
        return Inserted(ids, frozenset(present) if watch else None)

    def head(self) -> int:
        """The notification id of the newest event, 0 for an empty ledger."""
        return self.recorder.max_notification_id() or 0


class UnitOfWork:
    """The aggregates one command loaded or created, saved together in one transaction.

    Loading the same id twice gives the same object, so several commands in one unit (a
    webhook's effect and its inbox mark) see each other's changes before anything is saved.
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._aggregates: dict[UUID, Aggregate] = {}
        # Ids read and found absent: a save that creates one of them concurrently makes this
        # unit's commit conflict, and the command runs again on a fresh unit.
        self._absent: set[UUID] = set()

    def prefetch(self, ids: Sequence[UUID]) -> None:
        """Read these aggregates (none with snapshots) in one query, so that the command's
        reads of them, and of those that do not exist, cost nothing more."""
        known = self._aggregates.keys() | self._absent
        wanted = [i for i in dict.fromkeys(ids) if i not in known]
        found = self.ledger.get_many(wanted, Aggregate)
        self._aggregates.update(found)
        self._absent.update(i for i in wanted if i not in found)

    def exists(self, aggregate_id: UUID) -> bool:
        """Whether the aggregate is in this unit, or (unless found absent) in the ledger."""
        if aggregate_id in self._aggregates:
            return True
        return aggregate_id not in self._absent and self.ledger.exists(aggregate_id)

    def get_or_none(self, aggregate_id: UUID, aggregate_type: type[A]) -> A | None:
        known = self._aggregates.get(aggregate_id)
        if known is not None:
            return _of_type(aggregate_id, known, aggregate_type)
        if aggregate_id in self._absent:
            return None
        aggregate = self.ledger.get_or_none(aggregate_id, aggregate_type)
        if aggregate is not None:
            self._aggregates[aggregate_id] = aggregate
        return aggregate

    def get_typed(self, aggregate_id: UUID, aggregate_type: type[A]) -> A:
        return _found(aggregate_id, self.get_or_none(aggregate_id, aggregate_type), aggregate_type)

    def loaded(self) -> list[Aggregate]:
        return list(self._aggregates.values())

    def get_many(self, ids: Sequence[UUID], aggregate_type: type[A]) -> dict[UUID, A]:
        """Like `get_or_none` for many ids at once; ones already in the unit are reused."""
        self.prefetch(ids)
        return {
            i: self.get_typed(i, aggregate_type)
            for i in dict.fromkeys(ids)
            if i in self._aggregates
        }

    def add(self, *aggregates: Aggregate) -> None:
        for aggregate in aggregates:
            self._aggregates[aggregate.id] = aggregate
            self._absent.discard(aggregate.id)

    def commit(self) -> None:
        changed = [a for a in self._aggregates.values() if a.pending_events]
        if changed:
            self.ledger.save(*changed)

    def collect_events(self) -> list[Any]:
        """The new events of every changed aggregate, taken out of them, for a save that
        commits several units together (application/batching.py)."""
        return [event for a in self._aggregates.values() for event in a.collect_events()]


class MissingReadError(Exception):
    """A PreloadedUnit was asked for aggregates it was not given."""

    def __init__(self, ids: Sequence[UUID]) -> None:
        super().__init__(f"not read before: {', '.join(map(str, ids))}")
        self.ids = list(ids)


class PreloadedUnit(UnitOfWork):
    """A unit of work that never reads: it holds what was read for it before (`found`
    among `ids`, application/batching.py), and a read of anything else raises MissingReadError
    naming it, for the caller to read that too and run the command again on a fresh unit.
    So a command runs on an event loop without blocking it."""

    def __init__(self, ledger: Ledger, ids: Sequence[UUID], found: Mapping[UUID, Aggregate]):
        super().__init__(ledger)
        self._aggregates.update(found)
        self._absent.update(i for i in ids if i not in found)

    def prefetch(self, ids: Sequence[UUID]) -> None:
        unknown = [i for i in ids if i not in self._aggregates and i not in self._absent]
        if unknown:
            raise MissingReadError(unknown)

    def exists(self, aggregate_id: UUID) -> bool:
        self.prefetch([aggregate_id])
        return super().exists(aggregate_id)

    def get_or_none(self, aggregate_id: UUID, aggregate_type: type[A]) -> A | None:
        self.prefetch([aggregate_id])
        return super().get_or_none(aggregate_id, aggregate_type)


# Saves a unit's new events, perhaps with other units' (application/batching.py), and
# tells the log position of the last one where the store does.
EventsCommitter = Callable[[Sequence[Any]], "int | None"]


def last_position(recordings: Sequence[Recording[UUID]]) -> int | None:
    """The log position of the last of a save's events."""
    return recordings[-1].notification.id if recordings else None


def in_one_transaction(
    ledger: Ledger, work: Callable[[UnitOfWork], T], commit: EventsCommitter | None = None
) -> T:
    """Run `work` on a fresh unit of work and commit it (through `commit`, else alone),
    again if a concurrent save won."""

    def attempt() -> T:
        unit = UnitOfWork(ledger)
        result = work(unit)
        if commit is None:
            unit.commit()
        else:
            commit(unit.collect_events())
        return result

    return retrying(attempt)


def retrying(command: Callable[[], T], attempts: int = MAX_ATTEMPTS) -> T:
    """Run a read-decide-save command again when a concurrent save won the race.

    Commands load what they need afresh on each attempt and are idempotent on natural ids,
    so the retry either applies the change on top of the winner's or sees it already done.
    """
    for attempt in range(1, attempts + 1):
        try:
            return command()
        except IntegrityError:
            if attempt == attempts:
                raise
            log.debug("concurrent_save_retried", attempt=attempt)
            time.sleep(random.uniform(0, BACKOFF_SECONDS * attempt))
    raise AssertionError("unreachable")


def newest_first(ledger: Ledger, topic: str, before: int | None = None) -> Iterator[Notification]:
    """The log's notifications of `topic`, newest first, from just before position `before`
    (or the head); a reader stops when it has a page. A `before` past the head starts at the
    head, and sparse regions of the log are crossed in ever larger steps."""
    head = ledger.head()
    stop = min(before - 1, head) if before is not None else head
    window = 256
    while stop >= 1:
        start = max(1, stop - window + 1)
        batch = ledger.recorder.select_notifications(start, window, stop=stop, topics=[topic])
        yield from reversed(batch)
        window = window if batch else min(window * 4, 1 << 20)
        stop = start - 1
