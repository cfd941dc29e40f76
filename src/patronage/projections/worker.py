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
from types import FrameType

import structlog
from eventsourcing.projection import ProjectionRunner

from patronage.projections.base import EventLog
from patronage.projections.catalog import projection_class
from patronage.projections.recorders import small_pool, store_class
from patronage.projections.store import ViewStore

log = structlog.get_logger(__name__)

RESTART_PAUSE_SECONDS = 1.0


def supervise(
    name: str, application_class: type[EventLog], env: Mapping[str, str], stopping: threading.Event
) -> None:
    """Run the named view until `stopping` is set, rebuilding its runner after errors."""
    projection = projection_class(name)
    view_class = store_class(projection.schema, postgres=True)
    while not stopping.is_set():
        try:
            runner: ProjectionRunner[EventLog, ViewStore] = ProjectionRunner(
                application_class=application_class,
                projection_class=projection,
                view_class=view_class,
                env=small_pool(env),
            )
            with runner:
                log.info(
                    "projection_running",
                    view=name,
                    position=runner.view.position(application_class.name),
                )
                while not (stopping.is_set() or runner.is_interrupted.is_set()):
                    runner.run_forever(timeout=0.5)
        except Exception:
            log.exception("projection_runner_failed", view=name)
            stopping.wait(RESTART_PAUSE_SECONDS)
    log.info("projection_stopped", view=name)


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
