"""`patronage demo` as a real subprocess (uvicorn + localstripe), for end-to-end tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.polling import eventually, exited
from tests.support.servers import free_port, wait_until_ready


@dataclass(frozen=True)
class RunningDemo:
    url: str
    localstripe_url: str
    staff_email: str
    staff_password: str
    staff_token: str
    data_dir: Path


def _printed(log: Path, label: str, process: subprocess.Popen[bytes]) -> str:
    """A value the demo prints as `label: value`, waited for by polling its output."""
    pattern = re.compile(rf"^\s*{re.escape(label)}:\s+(\S+)", re.MULTILINE)
    match = eventually(
        lambda: pattern.search(log.read_text(errors="replace")),
        f"the demo to print {label!r}",
        abort=exited(process),
    )
    return match.group(1)


@contextmanager
def demo_server(tmp_path: Path, env: dict[str, str] | None = None) -> Iterator[RunningDemo]:
    """`patronage demo`, with `env` added to this process's environment (settings)."""
    port = free_port()
    data_dir = tmp_path / "demo-data"
    log = tmp_path / "demo.log"
    command = [
        sys.executable,
        "-m",
        "patronage",
        "demo",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_ready(f"{url}/healthz", process)
            yield RunningDemo(
                url=url,
                localstripe_url=_printed(log, "localstripe", process),
                staff_email=_printed(log, "staff email", process),
                staff_password=_printed(log, "staff password", process),
                staff_token=_printed(log, "staff API token", process),
                data_dir=data_dir,
            )
        finally:
            process.terminate()
            process.wait(timeout=20)
