"""How often Python's cyclic garbage collector runs during bulk work.

Reference counting frees almost every object at once; the cyclic collector also walks the
objects that outlive its youngest generation, every 700 allocations at Python's default.
Bulk work holds tens of thousands of such objects (a catch-up's two pages of decoded
events, a year-end batch's gifts, supporters and receipts, the webhooks in flight in the
API), and at the default the collector walked them again and again: a third of a
catch-up's CPU, about a third of year end's, a fifth of the API's a webhook
(docs/performance.md). Collecting the youngest generation less often leaves
only objects in reference cycles waiting longer to be freed.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# The youngest generation is collected every this many allocations rather than 700.
BULK_GC_THRESHOLD = 50_000


def collect_less_often() -> None:
    """For the whole of a process: a view worker, a rebuild, the API (`api/serving.py`)."""
    gc.set_threshold(BULK_GC_THRESHOLD, *gc.get_threshold()[1:])


class _RaisedThreshold:
    """The threshold raised while any piece of bulk work runs in this process, and put back
    as it was when the last one ends (two year-end jobs of one API process may overlap)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._before = gc.get_threshold()

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._before = gc.get_threshold()
                gc.set_threshold(max(BULK_GC_THRESHOLD, self._before[0]), *self._before[1:])
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0:
                    gc.set_threshold(*self._before)


# For one piece of bulk work in a process that does other things too: year end, which the
# API runs as a job, and the benchmark's catch-up.
collecting_less_often = _RaisedThreshold().held
