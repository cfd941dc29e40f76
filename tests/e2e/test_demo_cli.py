"""`patronage demo` cleans up after itself when it is stopped."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from patronage.cli.demo_setup import free_port, hold_port
from tests.support import http
from tests.support.demo import demo_server
from tests.support.polling import eventually, refuses

pytestmark = pytest.mark.e2e


def test_terminating_the_demo_stops_its_localstripe(tmp_path: Path) -> None:
    with demo_server(tmp_path) as demo:
        assert http.get(f"{demo.url}/readyz").json()["status"] == "ready"
        http.get(f"{demo.localstripe_url}/v1/customers")  # answers while the demo runs
    eventually(
        lambda: refuses(f"{demo.localstripe_url}/v1/customers"),
        "localstripe to stop with the demo",
        timeout=15,
    )


def test_the_demo_refuses_a_port_in_use_and_holds_its_own_while_it_starts(tmp_path: Path) -> None:
    """The API's port is bound before localstripe and the mail catcher pick free ports (one
    of them once took it, and the demo's API then failed to start); a port in use is
    refused at once with the reason."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        finished = subprocess.run(
            [sys.executable, "-m", "patronage", "demo", "--port", str(port),
             "--data-dir", str(tmp_path / "demo-data")],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert finished.returncode == 2
    assert f"port {port} is not free" in finished.stderr
    with hold_port(port):
        assert free_port() != port
