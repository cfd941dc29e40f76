"""`patronage projections run` with several views on PostgreSQL: one worker process per view,
kept alive, and never outliving the supervisor.

- A worker that dies (a crash, an OOM kill) is started again after a pause that doubles
  while it keeps dying (1 s to 5 min), and resets once it has run a minute.
- Each worker asks the kernel to send it SIGTERM when the supervisor dies, however it dies
  (SIGKILL included): no orphans, so a second supervisor never doubles the workers.
- SIGTERM or Ctrl-C to the supervisor stops every worker, then the supervisor.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import structlog

log = structlog.get_logger(__name__)

FIRST_RESTART_SECONDS = 1.0
MAX_RESTART_SECONDS = 300.0
HEALTHY_AFTER_SECONDS = 60.0
CHECK_SECONDS = 0.5
STOP_TIMEOUT_SECONDS = 20.0
_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> Callable[[], None]:
    def in_child_before_exec() -> None:
        """SIGTERM when the parent dies (Linux prctl); exit now if it died already."""
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:
            os._exit(1)

    return in_child_before_exec


def _worker(view: str) -> subprocess.Popen[bytes]:
    linux = sys.platform.startswith("linux")
    return subprocess.Popen(  # noqa: S603  # our own interpreter and module
        [sys.executable, "-m", "patronage", "projections", "run", view],
        preexec_fn=_die_with(os.getpid()) if linux else None,  # safe: no other threads here
    )


@dataclass
class _Slot:
    view: str
    process: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)
    failures: int = 0
    restart_at: float | None = None


class Supervisor:
    def __init__(
        self,
        views: Sequence[str],
        start: Callable[[str], subprocess.Popen[bytes]],
        stopping: threading.Event,
    ):
        self.start = start
        self.stopping = stopping
        self.slots = [_Slot(view, start(view)) for view in views]

    def check(self) -> None:
        """Start again each worker that died, once its pause has passed."""
        now = time.monotonic()
        for slot in self.slots:
            if slot.restart_at is not None:
                if now >= slot.restart_at:
                    slot.process, slot.started, slot.restart_at = self.start(slot.view), now, None
                continue
            code = slot.process.poll()
            if code is None:
                if now - slot.started > HEALTHY_AFTER_SECONDS:
                    slot.failures = 0
                continue
            slot.failures += 1
            pause = min(FIRST_RESTART_SECONDS * 2 ** (slot.failures - 1), MAX_RESTART_SECONDS)
            slot.restart_at = now + pause
            log.error("projection_worker_died", view=slot.view, code=code, restart_in=pause)

    def run(self) -> None:
        while not self.stopping.wait(CHECK_SECONDS):
            self.check()
        self.stop_all()

    def stop_all(self) -> None:
        alive = [s.process for s in self.slots if s.process.poll() is None]
        for process in alive:
            process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in alive:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def supervise_workers(views: Sequence[str]) -> None:
    """Run one worker per view until SIGTERM or Ctrl-C."""
    stopping = threading.Event()

    def stop(_signum: int, _frame: object) -> None:
        stopping.set()

    # Before the first worker starts: from then on a SIGTERM must stop them all, not only us.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    Supervisor(views, _worker, stopping).run()
