"""Setup and upgrades on both stores: `patronage setup` creates the tables a production
process (PATRONAGE_CREATE_TABLES=false) expects, and an event stored by an older release is
read as the current version through the library's upcasting (docs/upgrades.md)."""

from __future__ import annotations

import subprocess
from typing import Any

from eventsourcing.domain import Aggregate, event
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.bootstrap import Patronage, bootstrap
from patronage.config import Settings
from tests.support.processes import command
from tests.support.stores import cli_env


def test_setup_creates_the_tables_a_production_process_expects(settings: Settings) -> None:
    production = settings.model_copy(update={"create_tables": False})
    before = bootstrap(production)
    try:
        assert TestClient(create_app(before)).get("/readyz").json()["database"] == "tables missing"
    finally:
        before.close()

    for _ in range(2):  # and again, as after an upgrade: nothing to do, still fine
        done = subprocess.run(
            command("setup"), env=cli_env(settings), capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert "tables ready" in done.stdout

    after = bootstrap(production)
    try:
        ready = TestClient(create_app(after)).get("/readyz")
        assert ready.status_code == 200
        assert set(ready.json()["views"]) == {"supporters", "totals", "register", "ticker"}
    finally:
        after.close()


def test_setup_says_why_when_the_database_is_unreachable(settings: Settings) -> None:
    env = cli_env(settings) | {"PATRONAGE_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"}
    done = subprocess.run(command("setup"), env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "the database refused" in done.stderr


# Upcasting: the path of docs/upgrades.md, on a small aggregate of this test -----------------


class Pledge(Aggregate):
    """Version 2 of its Made event added `currency`; version 1 events were all in USD."""

    class Made(Aggregate.Created):
        amount_minor: int
        currency: str
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["currency"] = "USD"

    @event(Made)
    def __init__(self, amount_minor: int, currency: str) -> None:
        self.amount_minor = amount_minor
        self.currency = currency


def _as_written_by_version_1(patronage: Patronage, pledge: Pledge) -> None:
    """Store the pledge's first event exactly as the release before `currency` wrote it."""
    mapper = patronage.ledger.mapper
    (made,) = pledge.collect_events()
    current = mapper.to_stored_event(made)
    state = mapper.transcoder.decode(current.state)
    assert state.pop("class_version") == 2
    del state["currency"]
    old = type(current)(
        originator_id=current.originator_id,
        originator_version=current.originator_version,
        topic=current.topic,
        state=mapper.transcoder.encode(state),
    )
    patronage.ledger.recorder.insert_events([old])


def test_an_event_stored_by_an_older_release_is_read_as_the_new_version(
    patronage: Patronage,
) -> None:
    pledge = Pledge(amount_minor=2500, currency="EUR")
    _as_written_by_version_1(patronage, pledge)

    read = patronage.ledger.repository.get(pledge.id)
    assert isinstance(read, Pledge)
    assert (read.amount_minor, read.currency) == (2500, "USD")

    (stored,) = patronage.ledger.events.get(pledge.id)
    assert isinstance(stored, Pledge.Made)
    assert stored.currency == "USD"
    # Saved again now, it is written as version 2 and read back unchanged.
    read.trigger_event(Pledge.Event)
    patronage.ledger.save(read)
    assert patronage.ledger.repository.get(pledge.id).version == 2
