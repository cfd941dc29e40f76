"""Text from outside: what a name, an email or an id may contain.

Control characters (NUL, escapes, line breaks) are never part of a person's name or a
provider's id. PostgreSQL refuses NUL in text outright, so one such character reaching a
view would stop it; refusing them where text comes in keeps every store and log clean.
"""

from __future__ import annotations

import re

# C0 controls, DEL and C1 controls (Unicode category Cc).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_control_characters(text: str) -> bool:
    return _CONTROL.search(text) is not None


def refuse_control_characters(text: str) -> str:
    """`text` unchanged, or ValueError if it holds a control character."""
    if has_control_characters(text):
        raise ValueError("must not contain control characters (NUL, line breaks, escapes)")
    return text
