"""The PostgreSQL runner: one OS process per view, following the Ledger by LISTEN/NOTIFY.

The library's ProjectionRunner catches up from the view's position and then follows new
events; it stops at the first error and cannot be restarted, so a supervisor builds a new
one after a pause. Whatever stopped it (a crash, a rebuild swapping the tables, a lost
connection), the new runner resumes from the position committed with the rows.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from types import FrameType

import structlog
from eventsourcing.persistence import InfrastructureFactory, TrackingRecorder
from eventsourcing.projection import ProjectionRunner
from eventsourcing.utils import Environment, strtobool

from patronage.projections.base import EventLog, ViewProjection
from patronage.projections.catalog import projection_class
from patronage.projections.errors import EventFailedError
from patronage.projections.faults import FAULTS, FaultLog, backoff
from patronage.projections.recorders import open_store, small_pool, store_class
from patronage.projections.store import ViewStore

log = structlog.get_logger(__name__)

# How often a worker backing off from a failed event looks whether it was skipped.
SKIP_CHECK_SECONDS = 1.0


def supervise(
    name: str, application_class: type[EventLog], env: Mapping[str, str], stopping: threading.Event
) -> None:
    """Run the named view until `stopping` is set, rebuilding its runner after errors: after
    a failed event, once its back-off has passed or it was skipped; after anything else
    (a lost connection), after a pause that doubles while the failures go on."""
    projection = projection_class(name)
    view_class = store_class(projection.schema, postgres=True)
    # The fault log on a small pool of its own: it is read and written while no runner is.
    factory = InfrastructureFactory[TrackingRecorder].construct(
        env=Environment(FAULTS.name, small_pool(env))
    )
    create = strtobool(env.get("CREATE_TABLE", "yes"))
    datastore = factory.datastore  # type: ignore[attr-defined]
    faults = FaultLog(open_store(FAULTS, postgres=True, datastore=datastore, create=create))
    failures = 0
    try:
        while not stopping.is_set():
            try:
                _run(name, projection, view_class, application_class, env, stopping, faults)
                failures = 0
            except EventFailedError as failure:
                fault = faults.record(failure)
                _back_off(faults, name, fault.next_attempt_at, stopping)
            except Exception:
                failures += 1
                log.exception("projection_runner_failed", view=name, failures=failures)
                stopping.wait(backoff(failures))
    finally:
        factory.close()
    log.info("projection_stopped", view=name)


def _run(name: str, projection: type[ViewProjection], view_class: type[ViewStore],
         application_class: type[EventLog], env: Mapping[str, str], stopping: threading.Event,
         faults: FaultLog) -> None:  # fmt: skip
    runner: ProjectionRunner[EventLog, ViewStore] = ProjectionRunner(
        application_class=application_class,
        projection_class=projection,
        view_class=view_class,
        env=small_pool(env),
    )
    with runner:
        stuck = faults.get(name)
        log.info("projection_running", view=name,
                 position=runner.view.position(application_class.name))  # fmt: skip
        while not (stopping.is_set() or runner.is_interrupted.is_set()):
            runner.run_forever(timeout=0.5)
            if stuck is not None:
                position = runner.view.position(application_class.name)
                if position >= stuck.notification_id:  # past it: no longer stuck
                    faults.clear(name, passed=position)
                    stuck = None


def _back_off(faults: FaultLog, name: str, until: datetime, stopping: threading.Event) -> None:
    """Wait until `until`, or less if an operator skipped the event (the fault is gone)."""
    while not stopping.is_set() and datetime.now(UTC) < until:
        seconds = min(SKIP_CHECK_SECONDS, (until - datetime.now(UTC)).total_seconds())
        if stopping.wait(max(seconds, 0.0)) or faults.get(name) is None:
            return


def run_until_signalled(
    name: str, application_class: type[EventLog], env: Mapping[str, str]
) -> None:
    """The body of `patronage projections run NAME`: stop cleanly on SIGTERM or SIGINT."""
    stopping = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    supervise(name, application_class, env, stopping)
