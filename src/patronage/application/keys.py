"""Data keys: one random AES key per subject (a supporter, a kept Stripe payload), kept in a
table beside the events, and the deployment's identity key.

Personal fields are sealed with their subject's key (application/sealing.py); deleting the
key is what erases them (crypto-shredding), since events themselves are never rewritten.
When the library's cipher is configured (PATRONAGE_CIPHER_KEY), the keys are stored wrapped
with it, so the table alone opens nothing.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from functools import partial
from typing import Any

from eventsourcing.persistence import Cipher, Recorder
from eventsourcing.postgres import PostgresRecorder
from eventsourcing.sqlite import SQLiteRecorder

from patronage.storage import DATA_KEYS_TABLE as TABLE
from patronage.storage import KeyedPOPOApplicationRecorder, by_key, creating

KEY_BYTES = 32
# Another process may hold a key it read before an erasure for this long.
CACHE_SECONDS = 30.0
# Subjects asked for in one query by `prefetch` (well under either store's parameter limit).
PREFETCH_CHUNK = 500


class KeyStore(ABC):
    """Subject -> key. Subjects are short texts such as "supporter:<uuid>"."""

    def __init__(self, wrapper: Cipher | None) -> None:
        self._wrapper = wrapper
        self._cache: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def get(self, subject: str) -> bytes | None:
        with self._lock:
            cached = self._cache.get(subject)
        if cached is not None and time.monotonic() - cached[1] < CACHE_SECONDS:
            return cached[0]
        stored = self._select(subject)
        if stored is None:
            with self._lock:
                self._cache.pop(subject, None)
            return None
        key = self._unwrap(stored)
        with self._lock:
            self._cache[subject] = (key, time.monotonic())
        return key

    def prefetch(self, subjects: Iterable[str]) -> None:
        """Read the keys of many subjects in a few queries, so that opening a batch of events
        (year end reads a hundred thousand supporters) costs no query per subject."""
        now = time.monotonic()
        with self._lock:
            wanted = [
                s
                for s in dict.fromkeys(subjects)
                if (cached := self._cache.get(s)) is None or now - cached[1] >= CACHE_SECONDS
            ]
        for start in range(0, len(wanted), PREFETCH_CHUNK):
            found = self._select_many(wanted[start : start + PREFETCH_CHUNK])
            keys = {subject: self._unwrap(stored) for subject, stored in found.items()}
            with self._lock:
                self._cache.update((subject, (key, now)) for subject, key in keys.items())

    def cached(self, subject: str) -> bytes | None:
        """The subject's key if this process holds it, without asking the database."""
        with self._lock:
            cached = self._cache.get(subject)
        return cached[0] if cached is not None else None

    @staticmethod
    def fresh() -> bytes:
        return os.urandom(KEY_BYTES)

    def stored_form(self, key: bytes) -> str:
        """How `key` is kept in the table (wrapped with the cipher, when there is one)."""
        return self._wrap(key)

    def remember(self, keys: Mapping[str, bytes]) -> None:
        """Keys that were just stored with their subjects' events."""
        now = time.monotonic()
        with self._lock:
            self._cache.update((subject, (key, now)) for subject, key in keys.items())

    def any_stored(self, subjects: Iterable[str]) -> bool:
        return bool(self._select_many(list(subjects)))

    def store_all(self, keys: Mapping[str, bytes]) -> None:
        """For a store whose events' transaction cannot hold them (the in-memory one)."""
        for subject, key in keys.items():
            self._insert_or_select(subject, self._wrap(key))

    def get_or_create(self, subject: str, *, new: bool = False) -> bytes:
        """The subject's key, made now if it has none. `new`: the subject is most likely
        new (its aggregate is being created), so do not look for it first."""
        key = None if new else self.get(subject)
        if key is not None:
            return key
        # The one stored comes back: a concurrent creator may have won.
        key = self._unwrap(self._insert_or_select(subject, self._wrap(self.fresh())))
        with self._lock:
            self._cache[subject] = (key, time.monotonic())
        return key

    def delete(self, subject: str) -> None:
        """Forget a subject's key for good (nothing happens if it has none)."""
        with self._lock:
            self._cache.pop(subject, None)
        self._delete(subject)

    def _wrap(self, key: bytes) -> str:
        sealed = self._wrapper.encrypt(key) if self._wrapper else key
        return base64.b64encode(sealed).decode()

    def _unwrap(self, stored: str) -> bytes:
        raw = base64.b64decode(stored)
        return self._wrapper.decrypt(raw) if self._wrapper else raw

    def _select(self, subject: str) -> str | None:
        return self._select_many([subject]).get(subject)

    @abstractmethod
    def _select_many(self, subjects: Sequence[str]) -> dict[str, str]:
        """The stored (wrapped) keys of those subjects that have one."""

    @abstractmethod
    def _insert_or_select(self, subject: str, stored: str) -> str:
        """Store `stored` as the subject's key unless it has one; the one it has now."""

    @abstractmethod
    def _delete(self, subject: str) -> None: ...


class MemoryKeyStore(KeyStore):
    """For the in-memory store (service tests): its rows are its recorder's, which inserts
    a save's keys with its events (storage.py)."""

    def __init__(self, wrapper: Cipher | None, rows: dict[str, str]) -> None:
        super().__init__(wrapper)
        self._rows = rows

    def _select_many(self, subjects: Sequence[str]) -> dict[str, str]:
        return {s: self._rows[s] for s in subjects if s in self._rows}

    def _insert_or_select(self, subject: str, stored: str) -> str:
        return self._rows.setdefault(subject, stored)

    def _delete(self, subject: str) -> None:
        self._rows.pop(subject, None)


class SQLKeyStore(KeyStore):
    """The key table in the ledger's own database (SQLite or PostgreSQL)."""

    def __init__(
        self,
        wrapper: Cipher | None,
        transaction: Any,
        table: str,
        placeholder: str,
        creating: Callable[[], AbstractContextManager[Any]] | None,
    ) -> None:
        """`creating`: the transaction to create the table in, or None where `patronage
        setup` made it, as it makes the library's tables."""
        super().__init__(wrapper)
        self._transaction = transaction
        self._table = table
        self._p = placeholder
        if creating is not None:
            with creating() as cursor:
                cursor.execute(
                    f"CREATE TABLE IF NOT EXISTS {table}"
                    " (subject TEXT PRIMARY KEY, key TEXT NOT NULL)"
                )

    def _tx(self) -> AbstractContextManager[Any]:
        context: AbstractContextManager[Any] = self._transaction(commit=True)
        return context

    def _select_many(self, subjects: Sequence[str]) -> dict[str, str]:
        marks = ",".join([self._p] * len(subjects))
        # A reader, not SQLite's one writer connection: events are opened inside other
        # transactions (a view applying a page), where waiting for the writer timed out.
        reading: AbstractContextManager[Any] = self._transaction(commit=False)
        with reading as cursor:
            cursor.execute(
                f"SELECT subject, key FROM {self._table} WHERE subject IN ({marks})",
                list(subjects),
            )
            rows = cursor.fetchall()
        found: dict[str, str] = {}
        for row in rows:
            subject, stored = _columns(row, "subject", "key")
            found[subject] = stored
        return found

    def _insert_or_select(self, subject: str, stored: str) -> str:
        # One statement on both stores: the no-op update on a conflict makes RETURNING
        # give the key that was there.
        with self._tx() as cursor:
            cursor.execute(
                f"INSERT INTO {self._table} (subject, key) VALUES ({self._p}, {self._p})"
                " ON CONFLICT (subject) DO UPDATE SET subject = excluded.subject RETURNING key",
                (subject, stored),
            )
            (key,) = _columns(cursor.fetchone(), "key")
        return str(key)

    def _delete(self, subject: str) -> None:
        with self._tx() as cursor:
            cursor.execute(f"DELETE FROM {self._table} WHERE subject = {self._p}", (subject,))

    def reencrypt(self, tables: list[str], old: Cipher | None, new: Cipher) -> int:
        """Every stored event's state in `tables` and every wrapped data key, from the
        `old` cipher (None: not encrypted) to the `new` one, in one transaction. Offline
        only: a process still running with the old key would write rows nobody can read."""
        rows = 0
        p = self._p
        with self._tx() as cursor:
            for table in tables:
                cursor.execute(f"SELECT originator_id, originator_version, state FROM {table}")
                for row in cursor.fetchall():
                    columns = ("originator_id", "originator_version", "state")
                    originator_id, version, state = _columns(row, *columns)
                    plain = old.decrypt(bytes(state)) if old else bytes(state)
                    cursor.execute(
                        f"UPDATE {table} SET state = {p}"
                        f" WHERE originator_id = {p} AND originator_version = {p}",
                        (new.encrypt(plain), originator_id, version),
                    )
                    rows += 1
            cursor.execute(f"SELECT subject, key FROM {self._table}")
            for row in cursor.fetchall():
                subject, stored = _columns(row, "subject", "key")
                raw = base64.b64decode(stored)
                rewrapped = new.encrypt(old.decrypt(raw) if old else raw)
                cursor.execute(
                    f"UPDATE {self._table} SET key = {p} WHERE subject = {p}",
                    (base64.b64encode(rewrapped).decode(), subject),
                )
        self._wrapper = new
        with self._lock:
            self._cache.clear()
        return rows


def _columns(row: Any, *names: str) -> tuple[Any, ...]:
    """Named columns of a row from either store (PostgreSQL's are dicts, SQLite's tuples)."""
    if isinstance(row, dict):
        return tuple(row[name] for name in names)
    return tuple(row)


def key_store_for(recorder: Recorder, wrapper: Cipher | None, create_table: bool) -> KeyStore:
    """The key store in the same database as `recorder`'s events."""
    if isinstance(recorder, PostgresRecorder):
        datastore = recorder.datastore
        table = f'"{datastore.schema}".{TABLE}'
        create = partial(creating, datastore) if create_table else None
        return SQLKeyStore(wrapper, by_key(datastore), table, "%s", create)
    if isinstance(recorder, SQLiteRecorder):
        transaction = recorder.datastore.transaction
        create = partial(transaction, commit=True) if create_table else None
        return SQLKeyStore(wrapper, transaction, TABLE, "?", create)
    if isinstance(recorder, KeyedPOPOApplicationRecorder):
        return MemoryKeyStore(wrapper, recorder.data_keys)
    # Keys kept only in memory would make every sealed field unreadable after a restart.
    raise TypeError(f"no data key table for a {type(recorder).__name__}")
