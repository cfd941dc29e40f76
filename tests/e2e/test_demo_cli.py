"""`patronage demo` cleans up after itself when it is stopped."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.support.demo import demo_server

pytestmark = pytest.mark.e2e


def test_terminating_the_demo_stops_its_localstripe(tmp_path: Path) -> None:
    with demo_server(tmp_path) as demo:
        assert httpx.get(f"{demo.url}/readyz").json()["status"] == "ready"
        httpx.get(f"{demo.localstripe_url}/v1/customers")  # answers while the demo runs
    deadline = time.monotonic() + 15
    while True:
        try:
            httpx.get(f"{demo.localstripe_url}/v1/customers", timeout=1.0)
        except httpx.TransportError:
            break  # refused: localstripe is gone
        assert time.monotonic() < deadline, "localstripe outlived the demo"
        time.sleep(0.1)  # polling for the child process to exit
