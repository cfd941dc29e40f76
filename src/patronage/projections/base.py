"""What each view's projection shares: handlers chosen by event class, applied exactly once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic

from patronage.projections.errors import EventFailedError
from patronage.projections.store import ViewSchema, ViewStore, ViewTx

# The application whose notification log the views follow (the Ledger). Views take it as
# given, so they never import the application layer above them.
EventLog = Application[UUID]
Handler = Callable[[ViewTx, Any], None]
H = TypeVar("H", bound=Handler)
MakeFold = TypeVar("MakeFold", bound="Callable[[], Fold]")


class Fold(Protocol):
    """A run of consecutive events of the classes it folds, applied as one: gathered in
    memory, then written with a few statements for the whole run, where their handlers
    make a few statements per event. It must leave exactly the rows its handlers would
    have left, applied one by one in log order (tests/integration/test_projection_fold.py
    checks every view, caught up in folded pages, against a model of the history)."""

    def add(self, event: Any) -> None: ...

    def write(self, tx: ViewTx) -> None: ...


class Handlers:
    """A view's event handlers, keyed by event class.

    Several handlers of one class run in the order they were registered (the shared facts'
    handlers before a view's own, see facts.py). The classes' topics also filter the log in
    SQL, so events of aggregates a view does not know (webhook inbox, campaigns) never
    reach it."""

    def __init__(self) -> None:
        self._by_class: dict[type, list[Handler]] = {}
        self._folds: dict[type, Callable[[], Fold]] = {}

    def on(self, aggregate: type, *event_names: str) -> Callable[[H], H]:
        """Register a handler for the named events of `aggregate`. The names are resolved to
        the event classes now, so a misspelt one fails at import, not by silently matching
        nothing."""
        classes = [event_class(aggregate, name) for name in event_names]

        def register(handler: H) -> H:
            for cls in classes:
                self._by_class.setdefault(cls, []).append(handler)
            return handler

        return register

    def fold(self, aggregate: type, *event_names: str) -> Callable[[MakeFold], MakeFold]:
        """Register a Fold for the named events of `aggregate`: a page of events applies a
        run of them with one fold instead of each event's handlers (which still apply an
        event alone: a live event, or one retried to name a failure)."""
        classes = [event_class(aggregate, name) for name in event_names]

        def register(make: MakeFold) -> MakeFold:
            for cls in classes:
                if cls not in self._by_class:
                    named = getattr(make, "__name__", repr(make))
                    raise TypeError(f"{named} folds {cls.__qualname__}, which has no handler")
                self._folds[cls] = make
            return make

        return register

    def extend(self, other: Handlers) -> None:
        for cls, handlers in other._by_class.items():
            self._by_class.setdefault(cls, []).extend(handlers)

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(get_topic(cls) for cls in self._by_class)

    def dispatch(self, tx: ViewTx, event: Any) -> None:
        """Run the event's handlers (none for a class this view does not handle)."""
        for handler in self._by_class.get(type(event), ()):
            handler(tx, event)

    def dispatch_all(self, tx: ViewTx, events: Iterable[Any]) -> None:
        """Apply events in log order: each run of events that one fold takes, as one;
        every other event by its handlers."""
        fold: Fold | None = None
        folding: Callable[[], Fold] | None = None
        for event in events:
            kind = self._folds.get(type(event))
            if kind is not folding:
                if fold is not None:
                    fold.write(tx)
                fold, folding = (kind() if kind is not None else None), kind
            if fold is not None:
                fold.add(event)
            else:
                self.dispatch(tx, event)
        if fold is not None:
            fold.write(tx)


def update_of(table: str, key: str) -> Callable[..., None]:
    """An update of some columns of the row of `table` that an event is about (the row
    whose `key` is the event's aggregate id)."""

    def update(tx: ViewTx, e: Any, **columns: Any) -> None:
        assignments = ", ".join(f"{column} = :{column}" for column in columns)
        tx.run(
            f"UPDATE {{{table}}} SET {assignments} WHERE {key} = :row_id",
            row_id=str(e.originator_id),
            **columns,
        )

    return update


def event_class(aggregate: type, name: str) -> type[DomainEvent]:
    """The class of an aggregate's event, declared by the library's `@event(name)`."""
    cls = getattr(aggregate, name, None)
    if not (isinstance(cls, type) and issubclass(cls, DomainEvent)):
        raise TypeError(f"{aggregate.__name__} has no event named {name!r}")
    return cls


class ViewProjection(Projection[ViewStore]):
    """A projection of the Ledger into one view; subclasses name the schema and handlers."""

    schema: ClassVar[ViewSchema]
    handlers: ClassVar[Handlers]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "schema" in cls.__dict__:
            cls.name = cls.schema.name
            cls.topics = cls.handlers.topics

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Apply one event, or EventFailedError naming it: what a runner records, backs off
        from and lets an operator skip (projections/faults.py). A lost race with another
        runner (the position moved) and an unreachable database are not the event's fault,
        and are raised as they are."""
        try:
            self.view.apply(tracking, self.change_for(domain_event))
        except (OperationalError, InterfaceError):
            raise
        except IntegrityError as error:
            if self.view.position(tracking.application_name) >= tracking.notification_id:
                raise
            raise self._failed(domain_event, tracking, error) from error
        except Exception as error:
            raise self._failed(domain_event, tracking, error) from error

    def _failed(self, domain_event: Any, tracking: Tracking, error: Exception) -> EventFailedError:
        topic = get_topic(type(domain_event))
        return EventFailedError(self.name, tracking.notification_id, topic, error)

    def change_for(self, domain_event: Any) -> Callable[[ViewTx], None]:
        """The change one event makes to the view."""
        return lambda tx: self.handlers.dispatch(tx, domain_event)

    def apply_all(self, tx: ViewTx, domain_events: Iterable[Any]) -> None:
        """The change a page of events makes, in one open transaction (folded, see Fold)."""
        self.handlers.dispatch_all(tx, domain_events)


def iso(moment: datetime) -> str:
    """A timestamp as sortable UTC text (naive times are taken to be UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def day_of(moment: datetime) -> str:
    return iso(moment)[:10]
