"""`patronage` commands run as real OS processes against a test's store."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from patronage.config import Settings

# Set by tests/conftest.py for the whole suite, and kept for every process a test starts.
SUITE_SETTINGS = frozenset(
    {"PATRONAGE_STAFF_PASSWORD_HASH_TIME_COST", "PATRONAGE_STAFF_PASSWORD_HASH_MEMORY_KIB"}
)


def inherited_env() -> dict[str, str]:
    """This environment for a child process, less the caller's PATRONAGE_* settings (the
    child reads only what its test gives it), but with the suite's cheap password hashing."""
    return {
        k: v for k, v in os.environ.items() if not k.startswith("PATRONAGE_") or k in SUITE_SETTINGS
    }


def process_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process the same store and staff key."""
    env = inherited_env()
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
