"""The PostgreSQL runner: one OS process per view, following the Ledger by LISTEN/NOTIFY.

The worker catches up from the view's position in pages (one transaction per page, rows
and position together: `polling.catch_up`), then waits for the Ledger's NOTIFY (or half a
second) and catches up again: under a burst of webhooks a wake-up applies everything new
in one transaction, instead of one transaction per event, and after a catch-up that applied
anything it lets a quarter of a second pass first, so that a burst gathers. It stops at the
first error; a supervisor starts it again after a pause. Whatever stopped it (a crash, a
rebuild swapping the tables, a lost connection), it resumes from the position committed
with the rows.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import structlog
from psycopg.sql import SQL, Identifier

from patronage.projections.base import EventLog, ViewProjection
from patronage.projections.catalog import projection_class
from patronage.projections.errors import EventFailedError
from patronage.projections.faults import FaultLog, backoff
from patronage.projections.polling import catch_up
from patronage.projections.store import StoreOpener

log = structlog.get_logger(__name__)

# The longest a worker waits for a NOTIFY before it looks at the log again (a missed
# notification, say during a reconnect, delays a view by at most this).
WAKE_SECONDS = 0.5
# After a catch-up that applied events, a worker lets this long pass before it looks again:
# under a burst of webhooks (a NOTIFY for every batch the API commits, dozens a second) each
# wake-up then applies a quarter of a second's events in one transaction, not every batch's
# in its own, and the workers leave the machine's CPU to the API. It is at most this much
# lag. At 0.1 s the four workers took a third more CPU a webhook, and PostgreSQL a fifth
# (docs/performance.md, seventh session).
SETTLE_SECONDS = 0.25
# How often a worker backing off from a failed event looks whether it was skipped.
SKIP_CHECK_SECONDS = 1.0


# A fresh Ledger for one runner (which closes it), and its views' stores on its pool: the
# composition root makes both (bootstrap.run_view_worker).
OpenLedger = Callable[[], EventLog]
StoresOf = Callable[[EventLog], StoreOpener]


def supervise(
    name: str,
    open_ledger: OpenLedger,
    stores_of: StoresOf,
    faults: FaultLog,
    stopping: threading.Event,
) -> None:
    """Run the named view until `stopping` is set, rebuilding its runner after errors: after
    a failed event, once its back-off has passed or it was skipped; after anything else
    (a lost connection), after a pause that doubles while the failures go on. `faults` is
    read and written while no runner (and so no Ledger) is open: it has a pool of its own."""
    projection = projection_class(name)
    failures = 0
    while not stopping.is_set():
        try:
            _run(name, projection, open_ledger, stores_of, stopping, faults)
            failures = 0
        except EventFailedError as failure:
            fault = faults.record(failure)
            _back_off(faults, name, fault.next_attempt_at, stopping)
        except Exception:
            failures += 1
            log.exception("projection_runner_failed", view=name, failures=failures)
            stopping.wait(backoff(failures))
    log.info("projection_stopped", view=name)


def _run(name: str, projection: type[ViewProjection], open_ledger: OpenLedger,
         stores_of: StoresOf, stopping: threading.Event, faults: FaultLog) -> None:  # fmt: skip
    ledger = open_ledger()
    try:
        view = stores_of(ledger)(projection.schema)
        following = projection(view=view)
        stuck = faults.get(name)
        log.info("projection_running", view=name, position=view.position(ledger.name))
        with _notified(ledger) as wait:
            position = view.position(ledger.name)
            while not stopping.is_set():
                before, position = position, catch_up(ledger, following)
                if stuck is not None and position >= stuck.notification_id:
                    faults.clear(name, passed=position)  # past it: no longer stuck
                    stuck = None
                if position > before:
                    stopping.wait(SETTLE_SECONDS)
                wait(WAKE_SECONDS)
    finally:
        ledger.close()


@contextmanager
def _notified(ledger: EventLog) -> Iterator[Callable[[float], None]]:
    """A wait that returns when the Ledger notifies new events, or after `timeout`."""
    recorder: Any = ledger.recorder
    with recorder.datastore.get_connection() as conn:
        conn.execute(SQL("LISTEN {0}").format(Identifier(recorder.channel_name)))

        def wait(timeout: float) -> None:
            for _ in conn.notifies(timeout=timeout, stop_after=1):
                pass

        yield wait


def _back_off(faults: FaultLog, name: str, until: datetime, stopping: threading.Event) -> None:
    """Wait until `until`, or less if an operator skipped the event (the fault is gone)."""
    while not stopping.is_set() and datetime.now(UTC) < until:
        seconds = min(SKIP_CHECK_SECONDS, (until - datetime.now(UTC)).total_seconds())
        if stopping.wait(max(seconds, 0.0)) or faults.get(name) is None:
            return


def run_until_signalled(
    name: str, open_ledger: OpenLedger, stores_of: StoresOf, faults: FaultLog
) -> None:
    """The body of `patronage projections run NAME`: stop cleanly on SIGTERM or SIGINT."""
    stopping = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    supervise(name, open_ledger, stores_of, faults, stopping)
