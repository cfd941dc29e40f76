"""Personal data, on both stores: identity that follows an email change, merging two records
of one person, encryption at rest, payload retention and erasure on request."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import MapperDeserialisationError
from fastapi.testclient import TestClient
from pydantic import SecretStr

from patronage.api.app import create_app
from patronage.application.giving import RecordGift, SupporterDetails
from patronage.application.sealing import payload_subject
from patronage.bootstrap import Patronage, bootstrap, rebuild_view
from patronage.config import Settings, load_settings
from patronage.domain.gift import Gift, gift_id_for
from patronage.domain.inbox import InboxStatus, inbox_event_id_for
from patronage.domain.money import Money
from patronage.domain.supporter import Supporter
from tests.support import stripe_events as se
from tests.support.processes import inherited_env
from tests.support.projections import catch_up_all
from tests.support.raw_store import raw_text
from tests.support.stores import store_settings

ADA = "ada@example.org"
ADA_NEW = "ada.king@lovelace.example"
STAFF = {"Authorization": "Bearer staff-key-for-tests"}
CIPHER_KEY = base64.b64encode(os.urandom(32)).decode()
ADDRESS = {"line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH"}


@pytest.fixture
def settings(store: str, tmp_path: Path) -> Iterator[Settings]:
    """The suite's settings with every event encrypted by the library's cipher."""
    with store_settings(store, tmp_path) as overrides:
        yield load_settings(
            _env_file=None,
            stripe_webhook_secrets=se.PRIMARY_SECRET,
            staff_api_keys="staff-key-for-tests",
            cipher_key=CIPHER_KEY,
            **overrides,
        )


@pytest.fixture
def client(patronage: Patronage) -> Iterator[TestClient]:
    with TestClient(create_app(patronage)) as test_client:
        yield test_client


def give(
    client: TestClient,
    pi: str,
    email: str,
    amount: int = 2500,
    *,
    customer: str = "cus_ada",
    campaign: str = "spring",
    created: int = se.T0,
) -> UUID:
    """A Checkout payment as Stripe reports it, with the payer's name and address; returns
    the supporter id our checkout put in the metadata."""
    metadata = se.our_metadata(email, campaign=campaign)
    session = se.checkout_session(
        f"cs_{pi}", amount, email, metadata, payment_intent=pi, customer=customer
    )
    session["customer_details"]["address"] = ADDRESS
    for evt in (
        se.event("checkout.session.completed", session, created=created),
        se.event("payment_intent.succeeded", se.payment_intent(pi, amount, metadata, email)),
    ):
        assert se.deliver(client, evt).json()["status"] == "applied"
    return se.supporter_id_for(email)


def customer_updated(email: str, previous: str, created: int, **metadata: str) -> dict[str, Any]:
    customer = {
        "id": "cus_ada",
        "object": "customer",
        "email": email,
        "name": "Ada Lovelace",
        "address": ADDRESS,
        "metadata": metadata,
    }
    return se.event("customer.updated", customer, created=created, previous={"email": previous})


def supporter_json(client: TestClient, supporter_id: UUID, after: int = 0) -> dict[str, Any]:
    patronage: Patronage = client.app.state.patronage  # type: ignore[attr-defined]
    catch_up_all(patronage)  # on PostgreSQL the views are the workers' job: do it here
    answer = client.get(f"/staff/supporters/{supporter_id}?after={after}", headers=STAFF)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


# Identity ----------------------------------------------------------------------------------


def test_a_changed_email_keeps_the_donor_whole(client: TestClient, patronage: Patronage) -> None:
    ada = give(client, "pi_1", ADA)
    update = customer_updated(ADA_NEW, ADA, se.T0 + 60)
    assert se.deliver(client, update).json()["status"] == "applied"
    directory = patronage.giving.directory
    # What a checkout with the new email puts in Stripe's metadata: the same supporter...
    assert directory.id_for(ADA_NEW) == ada
    assert patronage.giving.register_supporter(SupporterDetails(email=ADA_NEW)) == ada
    # ... and a payment naming only the new email (no metadata) lands there too.
    patronage.giving.record_gift(
        RecordGift("pi_2", SupporterDetails(email=ADA_NEW), Money(1000, "USD"), datetime.now(UTC))
    )
    assert patronage.ledger.get_typed(gift_id_for("pi_2"), Gift).supporter_id == ada
    assert directory.id_for(ADA) == ada, "a late event with the old email finds them too"
    # An older change delivered late does not undo the newer one.
    stale = customer_updated("ada@stale.example", ADA, se.T0 + 30)
    assert se.deliver(client, stale).json()["status"] == "applied"
    assert patronage.ledger.get_typed(ada, Supporter).email == ADA_NEW
    catch_up_all(patronage)
    body = supporter_json(client, ada)
    assert (body["email"], body["gift_count"]) == (ADA_NEW, 2)


def test_a_staff_edit_moves_identity_and_refuses_nonsense(
    client: TestClient, patronage: Patronage
) -> None:
    ada = give(client, "pi_1", ADA)
    head = patronage.ledger.head()
    path = f"/staff/supporters/{ada}/email"
    assert client.put(path, json={"email": "ada@third.example"}).status_code == 401
    for bad in ("not-an-email", "a@b\x00c", ""):
        assert client.put(path, json={"email": bad}, headers=STAFF).status_code == 422
    missing = f"/staff/supporters/{se.supporter_id_for('nobody@x.org')}/email"
    assert client.put(missing, json={"email": "x@y.org"}, headers=STAFF).status_code == 404
    assert head == patronage.ledger.head(), "refusals changed nothing"
    assert not patronage.audit.entries(action="supporter.email_changed").entries
    answer = client.put(path, json={"email": "Ada@Third.example"}, headers=STAFF)
    assert answer.status_code == 200
    assert patronage.giving.directory.id_for("ada@third.example") == ada
    assert supporter_json(client, ada, answer.json()["position"])["email"] == "ada@third.example"
    [entry] = patronage.audit.entries(action="supporter.email_changed").entries
    assert (entry.subject, entry.details) == (str(ada), {}), "the trail keeps no address"


def test_an_update_for_a_customer_our_checkout_made_waits_for_its_supporter(
    client: TestClient, patronage: Patronage
) -> None:
    sid = str(se.supporter_id_for(ADA))
    early = customer_updated(ADA_NEW, ADA, se.T0 + 60, patronage_supporter_id=sid)
    assert se.deliver(client, early).json()["status"] == "parked"
    ada = give(client, "pi_1", ADA)
    assert patronage.ledger.get_typed(ada, Supporter).email == ADA_NEW
    assert patronage.inbox.get(early["id"]).status == InboxStatus.APPLIED  # type: ignore[union-attr]


# Merging -----------------------------------------------------------------------------------


def test_finance_merges_two_records_of_one_person(client: TestClient, patronage: Patronage) -> None:
    ada = give(client, "pi_1", ADA, 2500)
    twin = give(client, "pi_2", "ada.l@other.example", 1000, customer="cus_twin")
    catch_up_all(patronage)
    assert client.get("/ticker/spring").json()["supporters"] == 2
    body = {"duplicate_id": str(twin), "reason": "same person, two emails"}
    assert client.post(f"/staff/supporters/{ada}/merge", json=body).status_code == 401
    answer = client.post(f"/staff/supporters/{ada}/merge", json=body, headers=STAFF)
    assert answer.status_code == 200, answer.text
    survivor = supporter_json(client, ada, answer.json()["position"])
    assert survivor["gift_count"] == 2
    assert survivor["lifetime"][0]["net"]["minor"] == 3500
    assert sorted(survivor["stripe_customer_ids"]) == ["cus_ada", "cus_twin"]
    assert client.get(f"/staff/supporters/{twin}", headers=STAFF).status_code == 404
    assert client.get("/ticker/spring").json()["supporters"] == 1
    # The trail, on both records.
    merged = patronage.ledger.get_typed(twin, Supporter)
    kept = patronage.ledger.get_typed(ada, Supporter)
    assert (merged.merged_into, kept.absorbed) == (ada, [twin])
    trail = [e for e in patronage.ledger.events.get(twin) if type(e).__name__ == "MergedInto"]
    assert [(e.by, e.reason) for e in trail] == [("bootstrap-key-1", body["reason"])]  # type: ignore[attr-defined]
    # Later events for either record land on the survivor.
    give(client, "pi_3", "ada.l@other.example", 500, customer="cus_twin")
    assert patronage.ledger.get_typed(gift_id_for("pi_3"), Gift).supporter_id == ada
    assert patronage.giving.directory.id_for("ada.l@other.example") == ada
    catch_up_all(patronage)
    assert supporter_json(client, ada)["lifetime"][0]["net"]["minor"] == 4000
    # Nonsense is refused and changes nothing.
    head = patronage.ledger.head()
    again = client.post(f"/staff/supporters/{ada}/merge", json=body, headers=STAFF)
    assert again.status_code == 409
    itself = {"duplicate_id": str(ada), "reason": "oops"}
    assert (
        client.post(f"/staff/supporters/{ada}/merge", json=itself, headers=STAFF).status_code == 409
    )
    unknown = {"duplicate_id": str(se.supporter_id_for("x@y.org")), "reason": "who?"}
    assert (
        client.post(f"/staff/supporters/{ada}/merge", json=unknown, headers=STAFF).status_code
        == 404
    )
    assert patronage.ledger.head() == head


# Encryption at rest ------------------------------------------------------------------------


def test_events_are_encrypted_at_rest(
    client: TestClient, patronage: Patronage, settings: Settings
) -> None:
    ada = give(client, "pi_1", ADA)
    patronage.receipting.issue_single(gift_id_for("pi_1"))
    on_disk = raw_text(settings, "events", "state")
    assert len(on_disk) > 1000
    for clear in ("ada@example", "lovelace", "example.org", "london", '"minor":', "cus_ada"):
        assert clear not in on_disk, f"{clear!r} is stored in clear"
    keys = raw_text(settings, "patronage_data_keys", "key")
    assert keys, "the data keys are in their table"
    # ... and everything reads back.
    supporter = patronage.ledger.get_typed(ada, Supporter)
    assert (supporter.email, supporter.name, supporter.address.city) == (
        ADA,
        "Ada Lovelace",
        "London",
    )


def test_personal_fields_are_sealed_even_without_the_cipher(tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, data_dir=tmp_path / "data")
    patronage = bootstrap(settings)
    try:
        patronage.giving.register_supporter(
            SupporterDetails(email=ADA, name="Ada Lovelace", supporter_id=se.supporter_id_for(ADA))
        )
        on_disk = raw_text(settings, "events", "state")
        assert "lovelace" not in on_disk and ADA not in on_disk
        assert "sealed:v1:supporter:" in on_disk
    finally:
        patronage.close()


# Retention ---------------------------------------------------------------------------------


def test_kept_payloads_are_reduced_after_the_retention(
    client: TestClient, patronage: Patronage
) -> None:
    give(client, "pi_1", ADA)
    waiting = se.event("refund.created", se.refund("re_9", "pi_9", 100))
    assert se.deliver(client, waiting).json()["status"] == "parked"
    none_yet = patronage.payloads.reduce_older_than(datetime.now(UTC) - timedelta(days=30))
    assert none_yet.reduced == 0
    sweep = patronage.payloads.reduce_older_than(datetime.now(UTC) + timedelta(minutes=1))
    assert sweep.reduced == 2  # the session and the intent; the parked refund waits whole
    for event_id in patronage.inbox.event_ids():
        inbox_event = patronage.inbox.get(event_id)
        assert inbox_event is not None
        if inbox_event.status == InboxStatus.PARKED:
            assert not inbox_event.payload_reduced
            continue
        payload = inbox_event.payload_json.lower()
        assert inbox_event.payload_reduced
        assert "ada@" not in payload and "lovelace" not in payload and "london" not in payload
        assert "2500" in payload and "pi_1" in payload, "the money is kept"
        assert patronage.ledger.keys.get(payload_subject(inbox_event_id_for(event_id))) is None
    # The original Received events read back empty: their keys are gone.
    assert "lovelace" not in everything_readable(patronage, "InboxEvent")


# Erasure -----------------------------------------------------------------------------------


def everything_readable(patronage: Patronage, aggregate: str = "") -> str:
    """Every event (of one aggregate class) as the application reads it, as text."""
    notifications = patronage.ledger.recorder.select_notifications(1, 100_000)
    return " ".join(
        repr(vars(patronage.ledger.mapper.to_domain_event(n)))
        for n in notifications
        if not aggregate or f":{aggregate}." in n.topic
    ).lower()


def test_erasure_forgets_the_person_and_keeps_the_money(
    client: TestClient, patronage: Patronage, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    ada = give(client, "pi_1", ADA)
    patronage.receipting.issue_single(gift_id_for("pi_1"))
    assert "lovelace" in everything_readable(patronage)
    path = f"/staff/supporters/{ada}/erase"
    assert client.post(path, json={"reason": "GDPR art. 17 request"}).status_code == 401
    answer = client.post(path, json={"reason": "GDPR art. 17 request"}, headers=STAFF)
    assert answer.status_code == 200, answer.text
    assert answer.json()["supporter_ids"] == [str(ada)]
    assert answer.json()["payloads_reduced"] == 2
    position = answer.json()["position"]

    def forgotten() -> None:
        body = supporter_json(client, ada, position)
        assert (body["email"], body["name"], body["gift_count"]) == ("", "", 1)
        assert body["lifetime"][0]["net"]["minor"] == 2500, "the money stays"
        for q in ("ada", "lovelace", "example.org"):
            found = client.get(f"/staff/supporters?q={q}&after={position}", headers=STAFF)
            assert found.json()["total"] == 0
        register = client.get(f"/staff/receipts?after={position}", headers=STAFF).json()
        [receipt] = register["items"]
        assert receipt["donor_name"] == "" and "2026-" in receipt["number"]
        assert receipt["amount"]["minor"] == 2500
        readable = everything_readable(patronage)
        for clear in ("lovelace", "ada@", "london", "james"):
            assert clear not in readable, f"{clear!r} can still be read"
        for table in ("v_supporters_supporters", "v_register_receipts"):
            assert "lovelace" not in raw_text(settings, table)

    catch_up_all(patronage)
    forgotten()
    # A view rebuilt from the events finds nobody either.
    rebuild_view(settings, "supporters")
    forgotten()
    # Later Stripe events about that customer book money and bring nobody back.
    assert se.deliver(client, customer_updated(ADA, ADA, se.T0 + 99)).json()["status"] == "applied"
    give(client, "pi_2", ADA, 700)
    assert patronage.ledger.get_typed(gift_id_for("pi_2"), Gift).supporter_id == ada
    assert patronage.ledger.get_typed(ada, Supporter).name == ""
    forgotten_money = supporter_json(client, ada, patronage.ledger.head())
    assert forgotten_money["lifetime"][0]["net"]["minor"] == 3200
    assert (forgotten_money["email"], forgotten_money["name"]) == ("", "")
    readable = everything_readable(patronage)
    assert "lovelace" not in readable and "ada@" not in readable
    # Repeating is harmless; the logs never named the person.
    again = client.post(path, json={"reason": "again"}, headers=STAFF)
    assert again.status_code == 200
    assert "lovelace" not in capsys.readouterr().out.lower()


def test_erasure_by_email_from_the_command_line(patronage: Patronage, settings: Settings) -> None:
    if settings.uses_postgres:
        pytest.skip("the command line reads its settings from the environment: SQLite here")
    with TestClient(create_app(patronage)) as client:
        ada = give(client, "pi_1", ADA)
    env = {
        **inherited_env(),
        "PATRONAGE_DATA_DIR": str(settings.data_dir),
        "PATRONAGE_CIPHER_KEY": CIPHER_KEY,
    }
    command = [str(Path(sys.executable).parent / "patronage"), "supporters", "erase"]
    unknown = subprocess.run(
        [*command, "nobody@example.org", "--reason", "request", "--yes"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert unknown.returncode == 1 and "no such supporter" in unknown.stderr
    done = subprocess.run(
        [*command, "ADA@example.org", "--reason", "request", "--yes"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert str(ada) in done.stdout and "2 kept Stripe payloads reduced" in done.stdout


def test_the_cipher_key_rotates_offline(patronage: Patronage, settings: Settings) -> None:
    with TestClient(create_app(patronage)) as client:  # stops its view thread on exit
        ada = give(client, "pi_1", ADA)
    before = raw_text(settings, "events", "state")
    new_key = base64.b64encode(os.urandom(32)).decode()
    rows = patronage.ledger.rotate_cipher_key(new_key)
    assert rows == patronage.ledger.head()
    assert raw_text(settings, "events", "state") != before
    rotated = bootstrap(settings.model_copy(update={"cipher_key": SecretStr(new_key)}))
    try:
        supporter = rotated.ledger.get_typed(ada, Supporter)
        assert (supporter.email, supporter.name) == (ADA, "Ada Lovelace")
        assert rotated.ledger.get_typed(gift_id_for("pi_1"), Gift).amount == Money(2500, "USD")
    finally:
        rotated.close()
    stale = bootstrap(settings)  # the old key opens nothing any more
    try:
        with pytest.raises(MapperDeserialisationError):
            stale.ledger.get_typed(ada, Supporter)
    finally:
        stale.close()


def test_a_batch_read_opens_every_supporter_it_may_and_no_erased_one(
    patronage: Patronage,
) -> None:
    """Year end reads supporters many at a time, their data keys in one query: each opens
    with its own key, and an erased one still reads back blank."""
    ids = [
        patronage.giving.record_gift(
            RecordGift(
                payment_id=f"pi_{n}", amount=Money(1000, "USD"), received_at=datetime.now(UTC),
                supporter=SupporterDetails(email=f"donor{n}@example.org", name=f"Donor {n}"),
            )
        )
        for n in range(3)
    ]  # fmt: skip
    supporter_ids = [patronage.ledger.get_typed(g, Gift).supporter_id for g in ids]
    patronage.supporters.erase(supporter_ids[1], by="test", reason="GDPR art. 17 request")
    reopened = bootstrap(patronage.settings)  # nothing in its key cache yet
    try:
        read = reopened.ledger.get_many(supporter_ids, Supporter)
    finally:
        reopened.close()
    assert [(read[s].name, read[s].email) for s in supporter_ids] == [
        ("Donor 0", "donor0@example.org"),
        ("", ""),
        ("Donor 2", "donor2@example.org"),
    ]
