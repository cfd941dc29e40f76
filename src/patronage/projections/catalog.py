"""Every view by name, and the open stores an API process reads them from."""

from __future__ import annotations

from collections.abc import Sequence

from patronage.projections import impressions
from patronage.projections.base import EventLog, ViewProjection
from patronage.projections.faults import FAULTS, FaultLog, skip_event
from patronage.projections.polling import PENDING_CAP, Poller, pending, wait_for
from patronage.projections.register import RegisterProjection
from patronage.projections.store import StoreOpener, ViewStore
from patronage.projections.supporters import SupportersProjection
from patronage.projections.ticker import Raised, TickerProjection, raised
from patronage.projections.totals import TotalsProjection

PROJECTIONS: dict[str, type[ViewProjection]] = {
    p.name: p
    for p in (SupportersProjection, TotalsProjection, RegisterProjection, TickerProjection)
}


class UnknownViewError(KeyError):
    def __str__(self) -> str:
        return f"no view named {self.args[0]!r}; the views are: {', '.join(PROJECTIONS)}"


def projection_class(name: str) -> type[ViewProjection]:
    try:
        return PROJECTIONS[name]
    except KeyError:
        raise UnknownViewError(name) from None


class Views:
    """The views' stores on the Ledger's database, opened (and created) once per process,
    through the opener the composition root gives."""

    def __init__(self, ledger: EventLog, open_store: StoreOpener) -> None:
        self.ledger = ledger
        self.stores: dict[str, ViewStore] = {
            name: open_store(p.schema) for name, p in PROJECTIONS.items()
        }
        self.supporters = self.stores[SupportersProjection.name]
        self.totals = self.stores[TotalsProjection.name]
        self.register = self.stores[RegisterProjection.name]
        self.ticker = self.stores[TickerProjection.name]
        # The asks' view counts: kept beside the views, fed by the service, not by events.
        self.impressions = impressions.ImpressionTable(open_store(impressions.SCHEMA))
        self.faults = FaultLog(open_store(FAULTS))

    def raised(self, campaign: str) -> Raised:
        """Money raised and supporters of a campaign code, for its ticker."""
        return raised(self.ticker, campaign)

    def projection(self, name: str) -> ViewProjection:
        return projection_class(name)(view=self.stores[name])

    def poller(self, interval: float, names: Sequence[str] = ()) -> Poller:
        """The in-process runner of the named views, or all (SQLite, which cannot LISTEN)."""
        chosen = names or list(self.stores)
        projections = [self.projection(name) for name in chosen]
        return Poller(self.ledger, projections, interval, self.faults)

    def skip(self, name: str, notification_id: int) -> None:
        """Move view `name` past the event it is stuck on, without applying it (the caller
        records who decided it, and why); NotStuckError if it waits for another event."""
        skip_event(self.ledger, self.stores[name], projection_class(name).topics, notification_id)
        self.faults.clear(name, passed=notification_id)

    def lag(self, name: str, cap: int = PENDING_CAP) -> int:
        """How many of its events view `name` has not applied yet, counted up to `cap`."""
        return pending(self.ledger, self.stores[name], projection_class(name).topics, cap=cap)

    def wait(self, name: str, notification_id: int, timeout: float) -> None:
        """Read-your-writes: wait until view `name` has applied its events up to
        `notification_id` (the command's `Recording.notification.id`, or the Ledger's head
        after the command); TimeoutError if it has not within `timeout` seconds."""
        store = self.stores[name]
        wait_for(self.ledger, store, projection_class(name).topics, notification_id, timeout)
