"""`patronage` commands run as real OS processes against a test's store."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from patronage.config import Settings


def process_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process the same store and staff key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATRONAGE_")}
    env.update(
        PATRONAGE_DATA_DIR=str(settings.data_dir),
        PATRONAGE_STAFF_API_KEYS="staff-key-for-tests",
        PATRONAGE_LOG_FORMAT="json",
    )
    if settings.database_url is not None:
        env["PATRONAGE_DATABASE_URL"] = settings.database_url.get_secret_value()
        env["PATRONAGE_DATABASE_SCHEMA"] = settings.database_schema
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "patronage", *args]


@contextmanager
def patronage_process(
    args: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `patronage ARGS`; stopped with SIGTERM (then SIGKILL) unless already ended."""
    with log.open("ab") as out:
        process = subprocess.Popen(command(*args), env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def wait_until(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Poll `condition` until true; fail with `what` at the deadline or if `process` died."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)  # polling interval of a condition with a deadline
