"""docs/runbook.md stays true: every `patronage ...` line parses against the real CLI, every
`curl` path is a route of the API, every setting and metric it names exists, and the
commands it calls safe any time run for real (exit 0) on a fresh store."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.bootstrap import Patronage
from patronage.config import Settings
from tests.support.cli import parse_shell_line
from tests.support.processes import command
from tests.support.stores import cli_env

RUNBOOK = Path(__file__).parents[2] / "docs" / "runbook.md"
STAFF = {"Authorization": "Bearer staff-key-for-tests"}


def _code_lines(comments: bool = False) -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", RUNBOOK.read_text(), flags=re.S)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return lines if comments else [line.split("  #")[0].strip() for line in lines]


def _commands(text: str) -> list[str]:
    """`patronage ...` invocations in code blocks and in inline code."""
    inline = re.findall(r"`(patronage [^`]+)`", text)
    blocks = [line for line in _code_lines() if line.startswith("patronage ")]
    return sorted(set(blocks + inline))


COMMANDS = _commands(RUNBOOK.read_text())


def test_the_runbook_has_commands_for_every_procedure() -> None:
    text = RUNBOOK.read_text()
    for heading in ("Webhook secret rotation", "Replay of missed events", "Parked events",
                    "View rebuild", "Key rotation", "Erasure requests", "Year end",
                    "A database outage"):  # fmt: skip
        assert f"## {heading}" in text
    assert len(COMMANDS) >= 12
    assert len(SAFE) >= 4


@pytest.mark.parametrize("line", COMMANDS)
def test_every_command_line_parses_against_the_real_cli(line: str) -> None:
    assert parse_shell_line(line), line


def test_every_setting_named_exists() -> None:
    named = set(re.findall(r"PATRONAGE_[A-Z_]+[A-Z]", RUNBOOK.read_text()))
    known = {f"PATRONAGE_{name.upper()}" for name in Settings.model_fields}
    assert named and named <= known, named - known


def test_every_curl_path_is_a_route_and_every_metric_is_exported(patronage: Patronage) -> None:
    app = create_app(patronage)
    routes = set(app.openapi()["paths"])
    paths = [
        re.sub(r"^https?://[^/]+", "", word)
        for line in _code_lines()
        if line.startswith("curl ")
        for word in shlex.split(line)
        if word.startswith("http")
    ]
    assert paths and set(paths) <= routes, set(paths) - routes
    exported = TestClient(app).get("/metrics", headers=STAFF).text
    named = set(re.findall(r"\bpatronage_[a-z_]+[a-z]\b", RUNBOOK.read_text()))
    assert named and all(name in exported for name in named), [
        n for n in named if n not in exported
    ]


SAFE = [
    line.split("  #")[0].strip()
    for line in _code_lines(comments=True)
    if line.startswith("patronage ") and "# safe any time" in line
]


@pytest.mark.postgres
@pytest.mark.parametrize("store", ["postgres"])  # the production store
@pytest.mark.parametrize("line", SAFE)
def test_the_commands_safe_any_time_run_on_a_fresh_store(settings: Settings, line: str) -> None:
    done = subprocess.run(
        command(*shlex.split(line)[1:]),
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
