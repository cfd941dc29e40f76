"""A local SMTP catcher for the demo (and the tests): aiosmtpd on loopback, each accepted
message written as an .eml file the demo's mail page lists. Nothing leaves the machine."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from patronage.api.demo_mail import read_message


@dataclass
class CaughtMail:
    host: str
    port: int
    directory: Path

    def messages(self) -> list[EmailMessage]:
        """Every accepted message, oldest first."""
        return [read_message(path) for path in sorted(self.directory.glob("*.eml"))]


class _Keep:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = len(list(directory.glob("*.eml")))

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.count += 1
        path = self.directory / f"{self.count:06d}.eml"
        path.write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def mail_catcher(directory: Path) -> Iterator[CaughtMail]:
    """An SMTP server on a free loopback port, writing what it accepts into `directory`."""
    from aiosmtpd.controller import Controller

    directory.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    controller = Controller(_Keep(directory), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield CaughtMail("127.0.0.1", port, directory)
    finally:
        controller.stop()
