"""Real servers for tests, on loopback and free ports, waited for by polling readiness."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import uvicorn

from patronage.api.app import create_app
from patronage.api.serving import UVICORN_OPTIONS
from patronage.bootstrap import Patronage, bootstrap
from patronage.config import Settings
from tests.support import http
from tests.support.polling import answers, eventually, exited, stopped


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def loopback_http(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on a free loopback port, for a stand-in of an outside service:
    its base URL; stopped, with its thread, on the way out."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name=handler.__name__, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def wait_until_ready(url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll `url` until it answers (any HTTP status), or fail with why it did not."""
    abort = None if process is None else exited(process)
    eventually(lambda: answers(url), f"{url} to answer", abort=abort)


@dataclass(frozen=True)
class LocalStripe:
    """A running localstripe: a fake, stateful Stripe API on loopback."""

    url: str
    api_key: str = "sk_test_patronage_localstripe"

    def register_webhook(self, webhook_id: str, url: str, secret: str) -> None:
        """Ask localstripe to sign and POST its events to `url` with `secret`."""
        response = http.post(
            f"{self.url}/_config/webhooks/{webhook_id}",
            data={"url": url, "secret": secret},
            auth=(self.api_key, ""),
        )
        response.raise_for_status()


@contextmanager
def localstripe_server(log_dir: Path) -> Iterator[LocalStripe]:
    port = free_port()
    bin_dir = Path(sys.executable).parent
    with (log_dir / f"localstripe-{port}.log").open("wb") as log:
        process = subprocess.Popen(
            [str(bin_dir / "localstripe"), "--port", str(port), "--from-scratch"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_ready(f"{url}/v1/customers", process)
            yield LocalStripe(url=url)
        finally:
            process.terminate()
            process.wait(timeout=10)


@dataclass(frozen=True)
class RunningApi:
    """Patronage's API served by real uvicorn on loopback, with the Patronage it serves."""

    url: str
    patronage: Patronage


@contextmanager
def running_api(settings: Settings, port: int = 0) -> Iterator[RunningApi]:
    """Serve the API for `settings` with uvicorn on loopback (`port`, or a free one), in a
    thread of this process, until the block ends; ready once `/healthz` answers."""
    patronage = bootstrap(settings)
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(patronage), host="127.0.0.1", port=port, **UVICORN_OPTIONS)
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        eventually(lambda: server.started, f"uvicorn to start on {url}", abort=stopped(thread))
        wait_until_ready(f"{url}/healthz")
        yield RunningApi(url=url, patronage=patronage)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        patronage.close()
