"""`patronage demo` cleans up after itself when it is stopped."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.demo import demo_server
from tests.support.polling import eventually, refuses

pytestmark = pytest.mark.e2e


def test_terminating_the_demo_stops_its_localstripe(tmp_path: Path) -> None:
    with demo_server(tmp_path) as demo:
        assert httpx.get(f"{demo.url}/readyz").json()["status"] == "ready"
        httpx.get(f"{demo.localstripe_url}/v1/customers")  # answers while the demo runs
    eventually(
        lambda: refuses(f"{demo.localstripe_url}/v1/customers"),
        "localstripe to stop with the demo",
        timeout=15,
    )
