"""docs/events.md names every event the domain can record."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

from eventsourcing.domain import Aggregate

import patronage.domain

EVENTS_DOC = Path(__file__).parents[2] / "docs" / "events.md"


def domain_event_names() -> set[str]:
    names: set[str] = set()
    for module_info in pkgutil.iter_modules(patronage.domain.__path__):
        module = importlib.import_module(f"patronage.domain.{module_info.name}")
        for aggregate in vars(module).values():
            if not (inspect.isclass(aggregate) and issubclass(aggregate, Aggregate)):
                continue
            if aggregate is Aggregate or aggregate.__module__ != module.__name__:
                continue
            for name, member in vars(aggregate).items():
                # Event and Created are the library's own base classes on every aggregate.
                library_base = hasattr(Aggregate, name)
                if (
                    inspect.isclass(member)
                    and issubclass(member, Aggregate.Event)
                    and not library_base
                ):
                    names.add(f"{aggregate.__name__}.{name}")
    return names


def test_every_event_is_documented() -> None:
    names = domain_event_names()
    assert "Gift.Received" in names, "the scan finds the domain's events"
    documented = EVENTS_DOC.read_text()
    missing = sorted(n for n in names if f"`{n}`" not in documented)
    assert missing == []


SETTINGS_DOC = Path(__file__).parents[2] / "docs" / "settings.md"


def test_every_setting_is_documented() -> None:
    from patronage.config import Settings

    documented = SETTINGS_DOC.read_text()
    missing = [
        f"PATRONAGE_{name.upper()}"
        for name in Settings.model_fields
        if f"`PATRONAGE_{name.upper()}`" not in documented
    ]
    assert missing == []
