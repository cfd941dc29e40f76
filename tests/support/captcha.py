"""A CAPTCHA provider's siteverify endpoint on loopback, speaking the protocol Turnstile and
hCaptcha share (form fields `secret`, `response`, `remoteip`; JSON `success`): it vouches for
GOOD_TOKEN sent with SECRET, and refuses anything else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from tests.support.servers import loopback_http

SECRET = "captcha-secret-for-tests"
GOOD_TOKEN = "token-the-widget-gave"


@dataclass
class SiteVerify:
    url: str
    asked: list[dict[str, str]] = field(default_factory=list)


@contextmanager
def siteverify_server() -> Iterator[SiteVerify]:
    asked: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            asked.append(form)
            ok = form.get("secret") == SECRET and form.get("response") == GOOD_TOKEN
            body = json.dumps(
                {"success": ok, "error-codes": [] if ok else ["invalid-input-response"]}
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with loopback_http(Handler) as url:
        yield SiteVerify(f"{url}/siteverify", asked)
