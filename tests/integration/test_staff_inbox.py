"""The staff view of the inbox, and `patronage inbox replay`, on both stores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from patronage.api.app import create_app
from patronage.bootstrap import Patronage
from patronage.cli.main import cli
from patronage.config import Settings
from patronage.domain.gift import Gift, gift_id_for
from patronage.domain.inbox import InboxStatus
from patronage.domain.staff import Role
from tests.support import stripe_events as se
from tests.support.stores import cli_env

STAFF = {"Authorization": "Bearer staff-key-for-tests"}
ADA = "ada@example.org"


@pytest.fixture
def client(patronage: Patronage) -> Iterator[TestClient]:
    with TestClient(create_app(patronage)) as test_client:
        yield test_client


@pytest.fixture
def history(client: TestClient) -> dict[str, str]:
    """One event in each state: applied, parked, ignored, failed."""
    metadata = se.our_metadata(ADA)
    events = {
        "applied": se.event(
            "payment_intent.succeeded", se.payment_intent("pi_1", 900, metadata, ADA)
        ),
        "parked": se.event("refund.created", se.refund("re_1", "pi_later", 100)),
        "ignored": se.event("customer.created", {"id": "cus_1", "object": "customer"}),
        "failed": se.event(
            "payment_intent.succeeded", se.payment_intent("pi_2", 900, metadata, currency="zzz")
        ),
    }
    for expected, evt in events.items():
        assert se.deliver(client, evt).json()["status"] == expected
    return {status: evt["id"] for status, evt in events.items()}


def test_staff_only(client: TestClient) -> None:
    for path in ("/staff/inbox", "/staff/inbox/waiting", "/staff/inbox/evt_1"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_the_inbox_lists_what_arrived_newest_first_with_its_state(
    client: TestClient, history: dict[str, str]
) -> None:
    page = client.get("/staff/inbox", headers=STAFF).json()
    assert [e["event_id"] for e in page["entries"]] == list(reversed(history.values()))
    by_id = {e["event_id"]: e for e in page["entries"]}
    assert by_id[history["parked"]]["detail"] == "payment:pi_later"
    assert "not one Patronage books" in by_id[history["ignored"]]["detail"]
    assert "unsupported currency" in by_id[history["failed"]]["detail"]
    assert page["next_before"] is None


def test_the_inbox_filters_and_pages(client: TestClient, history: dict[str, str]) -> None:
    for status, event_id in history.items():
        page = client.get("/staff/inbox", params={"status": status}, headers=STAFF).json()
        assert [e["event_id"] for e in page["entries"]] == [event_id]
    by_type = client.get(
        "/staff/inbox", params={"event_type": "refund.created"}, headers=STAFF
    ).json()
    assert [e["event_id"] for e in by_type["entries"]] == [history["parked"]]

    first = client.get("/staff/inbox", params={"limit": 3}, headers=STAFF).json()
    assert len(first["entries"]) == 3
    rest = client.get(
        "/staff/inbox", params={"limit": 3, "before": first["next_before"]}, headers=STAFF
    ).json()
    assert [e["event_id"] for e in rest["entries"]] == [history["applied"]]
    bad = client.get("/staff/inbox", params={"status": "lost", "limit": 0}, headers=STAFF)
    assert bad.status_code == 422


def test_what_waits_and_for_what(client: TestClient, history: dict[str, str]) -> None:
    waiting = client.get("/staff/inbox/waiting", headers=STAFF).json()
    assert waiting == [{"key": "payment:pi_later", "event_ids": [history["parked"]]}]


def test_one_event_with_its_history_and_payload(
    client: TestClient, history: dict[str, str]
) -> None:
    detail = client.get(f"/staff/inbox/{history['parked']}", headers=STAFF).json()
    assert detail["status"] == "parked"
    assert detail["payload"]["data"]["object"]["id"] == "re_1"
    assert [(h["event"], h["detail"]) for h in detail["history"]] == [
        ("Received", "webhook"),
        ("Parked", "payment:pi_later"),
    ]
    missing = client.get("/staff/inbox/evt_unknown", headers=STAFF)
    assert missing.status_code == 404


def test_staff_can_replay_one_event(
    client: TestClient, patronage: Patronage, history: dict[str, str]
) -> None:
    replayed = client.post(f"/staff/inbox/{history['applied']}/replay", headers=STAFF)
    assert replayed.status_code == 200
    assert replayed.json()["status"] == "applied"
    assert patronage.ledger.get_typed(gift_id_for("pi_1"), Gift).version == 1
    assert client.post("/staff/inbox/evt_nope/replay", headers=STAFF).status_code == 404


def test_cli_replay(patronage: Patronage, settings: Settings, history: dict[str, str]) -> None:
    runner = CliRunner()
    env = cli_env(settings)
    head = patronage.ledger.head()
    replayed = runner.invoke(cli, ["inbox", "replay", "--all"], env=env)
    assert replayed.exit_code == 0, replayed.output
    assert "4 inbox events re-applied" in replayed.output
    assert patronage.ledger.head() == head, "replaying what is applied books nothing twice"

    only = runner.invoke(cli, ["inbox", "replay", "--all", "--status", "parked"], env=env)
    assert "1 inbox events re-applied" in only.output
    one = runner.invoke(cli, ["inbox", "replay", history["failed"]], env=env)
    assert one.exit_code == 0
    assert "failed" in one.output

    unknown = runner.invoke(cli, ["inbox", "replay", "evt_nope"], env=env)
    assert unknown.exit_code == 2
    assert "not in the inbox: evt_nope" in unknown.output
    neither = runner.invoke(cli, ["inbox", "replay"], env=env)
    assert neither.exit_code == 2
    assert patronage.inbox.get(history["parked"]).status == InboxStatus.PARKED  # type: ignore[union-attr]


def test_cli_fetch_missed_needs_a_secret_key(settings: Settings) -> None:
    result = CliRunner().invoke(cli, ["inbox", "fetch-missed"], env=cli_env(settings))
    assert result.exit_code == 2
    assert "PATRONAGE_STRIPE_SECRET_KEY" in result.output


def test_an_admin_skips_a_parked_event_and_its_counterpart_never_applies_it(
    client: TestClient, patronage: Patronage, history: dict[str, str]
) -> None:
    parked = history["parked"]
    skipped = client.post(
        f"/staff/inbox/{parked}/skip", json={"reason": "refund of a test payment"}, headers=STAFF
    )
    assert skipped.status_code == 200, skipped.text
    answer = skipped.json()
    assert (answer["status"], answer["history"][-1]["event"]) == ("skipped", "Skipped")
    assert "refund of a test payment" in answer["detail"]
    assert client.get("/staff/inbox/waiting", headers=STAFF).json() == []

    payment = se.payment_intent("pi_later", 900, se.our_metadata(ADA), ADA)
    assert se.deliver(client, se.event("payment_intent.succeeded", payment)).json()["status"] == (
        "applied"
    )
    skipped_payload = patronage.inbox.get(parked).payload  # type: ignore[union-attr]
    assert se.deliver(client, skipped_payload).json()["status"] == "skipped"  # a redelivery
    assert patronage.inbox.retry_parked() == 0  # the sweep
    replayed = client.post(f"/staff/inbox/{parked}/replay", headers=STAFF)
    assert replayed.json()["status"] == "skipped"
    gift = patronage.ledger.get_typed(gift_id_for("pi_later"), Gift)
    assert gift.net == gift.amount, "the skipped refund was never applied"
    [entry] = patronage.audit.entries(action="inbox.event_skipped").entries
    assert entry.subject == parked


def test_skipping_is_for_parked_or_failed_events_and_for_admins(
    client: TestClient, patronage: Patronage, history: dict[str, str]
) -> None:
    reason = {"reason": "poison: the currency will never be supported"}
    applied = client.post(f"/staff/inbox/{history['applied']}/skip", json=reason, headers=STAFF)
    assert applied.status_code == 409 and "only a parked or failed" in applied.json()["detail"]
    assert client.post("/staff/inbox/evt_nope/skip", json=reason, headers=STAFF).status_code == 404
    empty = client.post(
        f"/staff/inbox/{history['failed']}/skip", json={"reason": ""}, headers=STAFF
    )
    assert empty.status_code == 422
    finance = patronage.api_tokens.create("books", Role.FINANCE, 1, by="test").secret_text
    as_finance = {"Authorization": f"Bearer {finance}"}
    refused = client.post(f"/staff/inbox/{history['failed']}/skip", json=reason, headers=as_finance)
    assert refused.status_code == 403
    assert patronage.inbox.get(history["failed"]).status == InboxStatus.FAILED  # type: ignore[union-attr]
    assert patronage.audit.entries(action="inbox.event_skipped").entries == []

    done = client.post(f"/staff/inbox/{history['failed']}/skip", json=reason, headers=STAFF)
    assert done.json()["status"] == "skipped"
    assert patronage.inbox.get(history["failed"]).status == InboxStatus.SKIPPED  # type: ignore[union-attr]
