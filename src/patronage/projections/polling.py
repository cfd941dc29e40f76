"""Reading the Ledger's notification log into views by polling: the SQLite runner (which
cannot LISTEN), the catch-up of a rebuild, the status of each view and read-your-writes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    Notification,
    OperationalError,
    Tracking,
)

from patronage.projections.base import EventLog, ViewProjection
from patronage.projections.errors import EventFailedError
from patronage.projections.store import ViewStore
from patronage.storage import decode_all

if TYPE_CHECKING:
    from patronage.projections.faults import FaultLog

log = structlog.get_logger(__name__)

BATCH = 500
# Catching up reads this many of the view's events at a time, and applies them up to the
# store's `events_per_transaction` in one transaction (rows and position together).
PAGE = 5000
# The most pending events `pending()` counts: status says "at least" beyond it.
PENDING_CAP = 100_000


def select_after(ledger: EventLog, topics: Sequence[str], after: int, stop: int | None = None,
           limit: int = BATCH) -> Sequence[Notification]:  # fmt: skip
    return ledger.recorder.select_notifications(
        start=after, limit=limit, stop=stop, topics=topics, inclusive_of_start=False
    )


def apply_notification(ledger: EventLog, projection: ViewProjection, n: Notification) -> None:
    try:
        domain_event = ledger.mapper.to_domain_event(n)
    except (OperationalError, InterfaceError):  # reading its data key: the database's fault
        raise
    except Exception as error:  # stored as no code reads it: recorded and backed off from
        raise EventFailedError(projection.name, n.id, n.topic, error) from error
    projection.process_event(domain_event, Tracking(ledger.name, n.id))


def apply_page(
    ledger: EventLog, projection: ViewProjection, page: Sequence[Notification], events: list[Any]
) -> None:
    """Apply a page of the view's events (`events`: the page decoded) in one transaction
    with the position of its last.

    The first event's position is tracked too: a runner that raced for the same page (it
    read the same position) fails there with IntegrityError, so no event is applied twice.
    Any other failure rolls the whole page back; the caller then applies it event by event,
    which applies those before the failing event and names that one."""
    view = projection.view
    with view.transaction(commit=True) as cursor:
        view.track_in(cursor, Tracking(ledger.name, page[0].id))
        if len(page) > 1:
            view.track_in(cursor, Tracking(ledger.name, page[-1].id))
        projection.apply_all(view.tx(cursor), events)


# A page and its events decoded (None: one of them did not decode; applied one by one, the
# page names it).
Decoded = tuple[Sequence[Notification], list[Any] | None]


def read_ahead(
    ledger: EventLog,
    topics: Sequence[str],
    after: int,
    stop: int | None = None,
    page_size: int = PAGE,
) -> Generator[Decoded, None, None]:
    """The view's events after `after` (up to `stop`), a page at a time, each with its
    events decoded. While the caller applies a page, the next is read and decoded in a
    thread: the database takes one page's writes while this process decodes the next, where
    one after the other they added up. A catch-up of less than a page (most polls) starts
    no thread.

    Decoded outside any view transaction: decoding may read the Ledger's data keys, and on
    SQLite a view's transaction holds the one writer that a thread holding those keys may be
    waiting for."""

    def read(start: int) -> Decoded:
        page = select_after(ledger, topics, start, stop, limit=page_size)
        try:
            return page, decode_all(ledger, page)
        except Exception:  # the page is applied event by event, which names the one
            return page, None

    page, events = read(after)
    if len(page) < page_size:
        if page:
            yield page, events
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as reader:
        while page:
            ahead = reader.submit(read, page[-1].id)
            yield page, events
            page, events = ahead.result()


class SharedRead:
    """One poll round's read of the Ledger: every event of the round's views after the
    lowest of their positions, read and decoded once. At the head the views mostly follow
    the same few events (a gift is the ticker's, the totals', the supporters' and the
    register's), which each decoded for itself: a third of a SQLite service's interpreter
    time under a burst of webhooks (docs/performance.md).

    A view is served from it only where the read covers all its events: the read was not
    cut short by the page size, and the view's position is not below where it started (a
    rebuild may have moved it back); otherwise it reads its own, as on its own."""

    def __init__(self, ledger: EventLog, topics: Sequence[str], after: int,
                 page_size: int = PAGE) -> None:  # fmt: skip
        self.after = after
        self.page = select_after(ledger, topics, after, limit=page_size)
        self.complete = len(self.page) < page_size
        self.events: list[Any] | None = None  # not decoded when cut short: it serves no view
        # An event that does not decode: each view reads its own, and one that follows it
        # names it.
        with suppress(Exception):
            if self.complete:
                self.events = decode_all(ledger, self.page)

    def for_view(self, topics: Sequence[str], after: int) -> Decoded | None:
        """The view's events after its position `after`, or None where it must read them."""
        if not self.complete or self.events is None or after < self.after:
            return None
        wanted = frozenset(topics)
        mine = [
            (n, e) for n, e in zip(self.page, self.events, strict=True)
            if n.id > after and n.topic in wanted
        ]  # fmt: skip
        return [n for n, _ in mine], [e for _, e in mine]


def _pages(
    ledger: EventLog,
    topics: Sequence[str],
    after: int,
    stop: int | None,
    page_size: int,
    shared: SharedRead | None,
) -> Generator[Decoded, None, None]:
    given = None if shared is None or stop is not None else shared.for_view(topics, after)
    if given is None:
        yield from read_ahead(ledger, topics, after, stop, page_size)
    elif given[0]:
        yield given


def catch_up(
    ledger: EventLog,
    projection: ViewProjection,
    *,
    stop: int | None = None,
    progress: Callable[[int], None] | None = None,
    page_size: int = PAGE,
    shared: SharedRead | None = None,
) -> int:
    """Apply every event of the view's topics after its position (up to `stop`), read
    `page_size` at a time (or taken from a poll round's `shared` read where it covers
    them), up to the store's `events_per_transaction` per transaction; returns the new
    position. Safe to run alongside another runner of the same view: each event is applied
    once, and the loser of a race re-reads the position."""
    per_transaction = projection.view.events_per_transaction
    while True:
        position = projection.view.position(ledger.name)
        # Closed on the way out, whatever ends the loop: the thread reading ahead has
        # finished with the Ledger before the caller may close it.
        pages = closing(_pages(ledger, projection.topics, position, stop, page_size, shared))
        try:
            with pages as decoded:
                for page, events in decoded:
                    for start in range(0, len(page), per_transaction):
                        end = start + per_transaction
                        chunk = None if events is None else events[start:end]
                        _apply_chunk(ledger, projection, page[start:end], chunk)
                        if progress is not None:
                            progress(page[start:end][-1].id)
                    position = page[-1].id
        except IntegrityError:
            log.info("projection_position_moved", view=projection.name)
            continue
        return position


def _apply_chunk(
    ledger: EventLog,
    projection: ViewProjection,
    chunk: Sequence[Notification],
    events: list[Any] | None,
) -> None:
    if events is not None and _applied_as_page(ledger, projection, chunk, events):
        return
    for n in chunk:  # an event fails or does not decode: one by one, up to and naming it
        apply_notification(ledger, projection, n)


def _applied_as_page(
    ledger: EventLog, projection: ViewProjection, chunk: Sequence[Notification], events: list[Any]
) -> bool:
    try:
        apply_page(ledger, projection, chunk, events)
    except IntegrityError:
        raise
    except Exception:  # rolled back whole
        return False
    return True


def pending(
    ledger: EventLog,
    store: ViewStore,
    topics: Sequence[str],
    upto: int | None = None,
    cap: int = PENDING_CAP,
) -> int:
    """How many of the view's events up to `upto` (None: the head) it has not applied,
    counted up to `cap`."""
    position = store.position(ledger.name)
    if upto is not None and position >= upto:
        return 0
    return len(select_after(ledger, topics, position, upto, limit=cap))


def wait_for(
    ledger: EventLog,
    store: ViewStore,
    topics: Sequence[str],
    notification_id: int,
    timeout: float,
) -> None:
    """Read-your-writes: block until the view has applied every one of its events up to
    `notification_id` (a command's position, or the head after it), or TimeoutError.

    Waiting on "no pending events up to the id", not "position >= id", because the last
    events of a command may be of topics this view ignores."""
    deadline = time.monotonic() + timeout
    interval = 0.01
    while pending(ledger, store, topics, notification_id, cap=1) > 0:
        if time.monotonic() + interval > deadline:
            raise TimeoutError(
                f"view {store.schema.name} has not reached position {notification_id} "
                f"within {timeout}s"
            )
        time.sleep(interval)  # back off while polling the view's position
        interval = min(interval * 2, 0.2)


class Poller:
    """The in-process runner for SQLite: one thread that catches every view up, then polls.

    A view that fails on an event stops there (never skipping it): the failure is recorded
    in the fault log and the view is tried again after a back-off that doubles with each
    failed attempt, or at once when an operator skipped the event; other views go on."""

    def __init__(self, ledger: EventLog, projections: Sequence[ViewProjection],
                 interval: float, faults: FaultLog) -> None:  # fmt: skip
        self.ledger = ledger
        self.projections = list(projections)
        self.interval = interval
        self.faults = faults
        self._failing: set[str] = set()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="projections", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def join(self) -> None:
        """Block until stopped (from a signal handler or another thread)."""
        while self._thread.is_alive():
            self._thread.join(0.5)

    def poll_once(self, now: datetime | None = None) -> None:
        """One round over the views; `now` (default: the clock) decides which failing view
        is still backing off. The views due are served from one shared read where it covers
        them."""
        moment = now or datetime.now(UTC)
        due = [p for p in self.projections if not self._backing_off(p, moment)]
        shared = None
        try:
            shared = self._shared_read(due)
        except Exception:
            log.exception("projections_shared_read_failed")
        for projection in due:
            try:
                self._poll(projection, shared)
            except Exception:
                log.exception("projection_failed", view=projection.name)

    def _backing_off(self, projection: ViewProjection, now: datetime) -> bool:
        if projection.name not in self._failing:
            return False
        fault = self.faults.get(projection.name)
        # A skip deletes the fault, so the view is retried at once.
        return fault is not None and fault.next_attempt_at > now

    def _shared_read(self, due: Sequence[ViewProjection]) -> SharedRead | None:
        if len(due) < 2:
            return None
        lowest = min(p.view.position(self.ledger.name) for p in due)
        topics = sorted({topic for p in due for topic in p.topics})
        return SharedRead(self.ledger, topics, lowest)

    def _poll(self, projection: ViewProjection, shared: SharedRead | None) -> None:
        name = projection.name
        try:
            position = catch_up(self.ledger, projection, shared=shared)
        except EventFailedError as failure:
            self.faults.record(failure)
            self._failing.add(name)
            return
        if name in self._failing:
            self.faults.clear(name, passed=position)
            self._failing.discard(name)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.poll_once()
            self._stopping.wait(self.interval)
