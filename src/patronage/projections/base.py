"""What each view's projection shares: handlers chosen by event topic, applied exactly once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import Application
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


class Handlers:
    """A view's event handlers by topic; the topics also filter the log in SQL, so events
    of aggregates a view does not know (webhook inbox, campaigns) never reach it."""

    def __init__(self) -> None:
        self.by_topic: dict[str, Handler] = {}

    def on(self, aggregate: type, *event_names: str) -> Callable[[H], H]:
        """Register a handler; one registered earlier for the same event runs first."""

        def register(handler: H) -> H:
            for event_name in event_names:
                self._add(f"{get_topic(aggregate)}.{event_name}", handler)
            return handler

        return register

    def extend(self, other: Handlers) -> None:
        for topic, handler in other.by_topic.items():
            self._add(topic, handler)

    def _add(self, topic: str, handler: Handler) -> None:
        previous = self.by_topic.get(topic)
        self.by_topic[topic] = handler if previous is None else _chain(previous, handler)


def _chain(first: Handler, second: Handler) -> Handler:
    def both(tx: ViewTx, event: Any) -> None:
        first(tx, event)
        second(tx, event)

    return both


class ViewProjection(Projection[ViewStore]):
    """A projection of the Ledger into one view; subclasses name the schema and handlers."""

    schema: ClassVar[ViewSchema]
    handlers: ClassVar[Handlers]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "schema" in cls.__dict__:
            cls.name = cls.schema.name
            cls.topics = tuple(cls.handlers.by_topic)

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
        """The change one event makes to the view (none for a topic it does not handle)."""
        handler = self.handlers.by_topic.get(get_topic(type(domain_event)))
        if handler is None:
            return lambda _tx: None
        return lambda tx: handler(tx, domain_event)


def iso(moment: datetime) -> str:
    """A timestamp as sortable UTC text (naive times are taken to be UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def day_of(moment: datetime) -> str:
    return iso(moment)[:10]
