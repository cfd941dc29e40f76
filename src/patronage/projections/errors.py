"""The one error a view's runner treats as the event's fault rather than its own."""

from __future__ import annotations

MAX_ERROR_CHARS = 1000


def printable(text: str) -> str:
    """Error text as it may be stored and shown: no control characters (a NUL in an error
    would fail to store on PostgreSQL, the very problem being reported), bounded."""
    return "".join(c if c.isprintable() else "?" for c in text[:MAX_ERROR_CHARS])


class EventFailedError(Exception):
    """A view could not apply one event (not a lost race, not the database being down)."""

    def __init__(self, view: str, notification_id: int, topic: str, cause: BaseException):
        self.view = view
        self.notification_id = notification_id
        self.topic = topic
        self.error = printable(f"{type(cause).__name__}: {cause}")
        super().__init__(f"view {view} failed on event {notification_id} ({topic}): {self.error}")
