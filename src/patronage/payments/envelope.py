"""A webhook body as JSON, bounded before anything reads it.

A signed body is authentic, not necessarily sane: a signing secret can leak, and a body can
be built to exhaust the parser (nesting), to overflow a database column (an integer beyond
64 bits) or a date (a `created` in the year 33,000). Anything Stripe would never send is
refused here, with a reason, before it is recorded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

# Stripe's objects nest a handful of levels (an event, its object, an expanded object, a
# list, its items); far more is an attack on the parser.
MAX_DEPTH = 32
# JSON numbers beyond 2**53 are not exact in most clients; no Stripe amount or time is near.
MAX_INTEGER = 2**53
# Event times and other timestamps: 2100-01-01, far past any real event and within datetime.
LATEST_TIMESTAMP = 4_102_444_800
_EVENT_ID = re.compile(r"[\x21-\x7e]{1,255}")
_EVENT_TYPE = re.compile(r"[A-Za-z0-9_.]{1,100}")


class RefusedBodyError(ValueError):
    """Not a body Stripe would send; the message says why, for the 400."""


def _no_constant(name: str) -> float:
    raise RefusedBodyError(f"{name} is not a JSON number")


def parse_event_body(payload: str) -> Mapping[str, Any]:
    """The parsed event, or RefusedBodyError: not JSON, NaN or Infinity, nested deeper than
    MAX_DEPTH, an integer beyond MAX_INTEGER, or an id, type or `created` Stripe never sends."""
    try:
        event = json.loads(payload, parse_constant=_no_constant)
    except RecursionError:
        raise RefusedBodyError(f"nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError:
        raise RefusedBodyError("not JSON") from None
    _check_bounds(event)
    if not isinstance(event, Mapping):
        raise RefusedBodyError("the body is not a JSON object")
    event_id, event_type, created = event.get("id"), event.get("type"), event.get("created")
    if isinstance(event_id, str) and not _EVENT_ID.fullmatch(event_id):
        raise RefusedBodyError("the event id is not a Stripe id")
    if isinstance(event_type, str) and not _EVENT_TYPE.fullmatch(event_type):
        raise RefusedBodyError("the event type is not a Stripe event type")
    if type(created) is int and not 0 < created <= LATEST_TIMESTAMP:
        raise RefusedBodyError("the event's creation time is out of range")
    return event


def _check_bounds(document: object) -> None:
    """Depth and integer bounds, walked without recursion (the depth is what is checked)."""
    stack: list[tuple[object, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise RefusedBodyError(f"nested deeper than {MAX_DEPTH} levels")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
        elif type(value) is int and abs(value) > MAX_INTEGER:
            raise RefusedBodyError(f"an integer beyond {MAX_INTEGER}")
