"""No single event stalls a view for good (issue 15 defect 1, issue 9 defect 11): a view that
fails on an event records it with its error, backs off, shows it in `projections status` and
the staff API, and an operator skips it with a trail; the view then goes on. Both stores;
the PostgreSQL worker process in tests/e2e/test_poison_event_worker.py."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.application.giving import RecordGift, SupporterDetails
from patronage.bootstrap import Patronage
from patronage.config import Settings
from patronage.domain.money import Money
from patronage.domain.values import Attribution
from patronage.domain.view_skip import SkippedViewEvent, skip_id_for
from patronage.projections.faults import MAX_BACKOFF_SECONDS, backoff
from patronage.projections.polling import pending
from tests.support.stores import cli_env

STAFF = {"Authorization": "Bearer staff-key-for-tests"}
MARCH = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


def record_gift(patronage: Patronage, payment: str, minor: int) -> int:
    """A gift straight through the domain (the edge would refuse the poison one); returns
    the ledger's head after it."""
    patronage.giving.record_gift(
        RecordGift(
            payment,
            SupporterDetails(email=f"{payment}@example.org", name="Ada"),
            Money(minor, "USD"),
            MARCH,
            Attribution(campaign="spring"),
        )
    )
    return patronage.ledger.head()


def poison_then_good(patronage: Patronage) -> tuple[int, int]:
    """A gift no view's integer column can hold (2**70 cents), then a good one; returns the
    poison gift's event id and the head."""
    before = patronage.ledger.head()
    record_gift(patronage, "pi_poison", 2**70)
    recorded = [
        n
        for n in patronage.ledger.recorder.select_notifications(start=before + 1, limit=50)
        if n.topic.endswith("Gift.Received")
    ]
    return recorded[0].id, record_gift(patronage, "pi_good", 2500)


@pytest.fixture
def client(patronage: Patronage) -> Iterator[TestClient]:
    # Not started (no lifespan): on SQLite a started app keeps the views in a thread of its
    # own, which would try the poison event between the test's own polls.
    test_client = TestClient(create_app(patronage))
    yield test_client
    test_client.close()


def test_backoff_doubles_to_a_cap() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff(50) == MAX_BACKOFF_SECONDS


def test_a_failing_event_is_recorded_backed_off_and_skipped_with_a_trail(
    patronage: Patronage, settings: Settings, client: TestClient
) -> None:
    poller = patronage.views.poller(60)  # driven by hand below, never started
    poison, head = poison_then_good(patronage)
    poller.poll_once()

    fault = patronage.views.faults.get("totals")
    assert fault is not None, "the totals view must record the event it fails on"
    assert fault.notification_id == poison
    assert fault.topic.endswith("Gift.Received")
    assert fault.error and fault.attempts == 1
    assert (fault.next_attempt_at - fault.last_failed_at).total_seconds() == backoff(1)
    assert patronage.views.totals.position("Ledger") < poison

    poller.poll_once(now=fault.last_failed_at)  # within the back-off: not tried again
    again = patronage.views.faults.get("totals")
    assert again is not None and again.attempts == 1

    # Staff see it ...
    listed = {v["view"]: v for v in client.get("/staff/projections", headers=STAFF).json()}
    assert listed["totals"]["stuck"]["notification_id"] == poison
    assert listed["totals"]["pending"] >= 2
    assert client.get("/staff/projections").status_code == 401
    # ... and so does `patronage projections status`.
    status = _cli(settings, "projections", "status")
    assert f"event {poison}" in status.stdout and "Gift.Received" in status.stdout

    # Skipping another event than the one it waits for is refused, and so is no reason.
    wrong = client.post(
        "/staff/projections/totals/skip",
        json={"notification_id": head, "reason": "wrong one"},
        headers=STAFF,
    )
    assert wrong.status_code == 409
    assert f"waits for event {poison}" in wrong.json()["detail"]
    assert (
        client.post(
            "/staff/projections/totals/skip", json={"notification_id": poison, "reason": "x"}
        ).status_code
        == 401
    )

    skipped = client.post(
        "/staff/projections/totals/skip",
        json={"notification_id": poison, "reason": "amount impossible: corrupted import"},
        headers=STAFF,
    )
    assert skipped.status_code == 200, skipped.text
    assert skipped.json()["by"] == "bootstrap-key-1"
    trail = patronage.ledger.get_or_none(skip_id_for("totals", poison), SkippedViewEvent)
    assert trail is not None and trail.reason == "amount impossible: corrupted import"
    assert trail.error == fault.error and trail.topic == fault.topic

    # The fault is gone, so the view is tried at once, and goes on past the poison event.
    assert patronage.views.faults.get("totals") is None
    poller.poll_once()
    topics = patronage.views.projection("totals").topics
    assert pending(patronage.ledger, patronage.views.totals, topics) == 0
    assert patronage.views.faults.get("totals") is None


def test_the_cli_skips_with_the_operator_named(patronage: Patronage, settings: Settings) -> None:
    poller = patronage.views.poller(60)
    poison, _ = poison_then_good(patronage)
    poller.poll_once()
    refused = _cli(settings, "projections", "skip", "totals", str(poison + 1000), "--reason", "x")
    assert refused.returncode == 1 and f"waits for event {poison}" in refused.stderr
    done = _cli(
        settings, "projections", "skip", "totals", str(poison), "--reason", "bad", "--by", "ops"
    )
    assert done.returncode == 0, done.stderr
    trail = patronage.ledger.get_or_none(skip_id_for("totals", poison), SkippedViewEvent)
    assert trail is not None and trail.by == "ops"
    poller.poll_once()
    assert patronage.views.faults.get("totals") is None
    assert (
        patronage.views.totals.position("Ledger") == patronage.ledger.head()
        or pending(
            patronage.ledger, patronage.views.totals, patronage.views.projection("totals").topics
        )
        == 0
    )


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    patronage_bin = str(Path(sys.executable).parent / "patronage")
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "300", **cli_env(settings)}
    return subprocess.run(
        [patronage_bin, *args], capture_output=True, text=True, env=env, timeout=120
    )
