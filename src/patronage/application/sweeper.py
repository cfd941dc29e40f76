"""A background thread that runs one job every so often until stopped (the parked-event
sweep, the ask's memory, the supporter notices)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)


class Sweeper:
    def __init__(
        self, job: Callable[[], object], interval_seconds: float, name: str = "parked-sweep"
    ) -> None:
        self._job = job
        self._interval = interval_seconds
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        # Waiting on the stop event (not sleeping) makes stop() immediate.
        while not self._stopped.wait(self._interval):
            try:
                self._job()
            except Exception as error:  # the next round tries again; never kill the thread
                log.warning("sweep_failed", error=repr(error))
