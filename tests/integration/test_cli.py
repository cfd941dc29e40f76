"""The command line as a user runs it: a separate process, clear help and clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.processes import inherited_env

PATRONAGE = str(Path(sys.executable).parent / "patronage")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PATRONAGE, *args],
        capture_output=True,
        text=True,
        env={**inherited_env(), **(env or {})},
        timeout=60,
    )


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "serve" in result.stdout


def test_invalid_settings_stop_start_up_with_one_clear_message(tmp_path: Path) -> None:
    result = run(
        "serve", env={"PATRONAGE_DATABASE_URL": "mysql://nope", "PATRONAGE_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode == 2
    assert "PATRONAGE_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
