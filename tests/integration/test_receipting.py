"""Receipts on both stores: numbering, the annual rules, the tax year in the organisation's
zone, corrections, the jurisdiction's required details, and year end."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from patronage.application.giving import (
    RecordDispute,
    RecordGift,
    RecordMembershipPayment,
    RecordRefund,
    ReportMembership,
    SupporterDetails,
)
from patronage.bootstrap import Patronage, bootstrap
from patronage.collector import BULK_GC_THRESHOLD
from patronage.config import Settings, SettingsError, load_settings
from patronage.domain.errors import DomainError, GiftAlreadyReceiptedError, GiftNotReceiptableError
from patronage.domain.gift import DisputeStatus, Gift, gift_id_for
from patronage.domain.membership import MembershipStatus
from patronage.domain.money import Money
from patronage.domain.receipt import (
    ReceiptSeries,
    ReceiptStatus,
    TaxReceipt,
    receipt_id_for,
    series_id_for,
)
from patronage.domain.values import PostalAddress
from patronage.projections import register as view
from patronage.projections.register import RegisterQueries
from tests.support.polling import eventually
from tests.support.stores import store_settings, writes_refused

NEW_YORK = ZoneInfo("America/New_York")
AFTER_2026 = datetime(2027, 1, 20, 15, tzinfo=UTC)
ADDRESS = PostalAddress(line1="12 King St W", city="Toronto", postal_code="M5H 1A1", country="CA")


def ada_id(patronage: Patronage) -> UUID:
    return patronage.giving.directory.id_for("ada@example.org")


def give(
    patronage: Patronage,
    payment_id: str,
    minor: int,
    when: datetime = datetime(2026, 6, 1, 12, tzinfo=UTC),
    email: str = "ada@example.org",
    address: PostalAddress = ADDRESS,
) -> UUID:
    return patronage.giving.record_gift(
        RecordGift(
            payment_id=payment_id,
            supporter=SupporterDetails(email=email, name="Ada Lovelace", address=address),
            amount=Money(minor, "USD"),
            received_at=when,
        )
    )


@pytest.fixture
def running(patronage: Patronage) -> Iterator[Patronage]:
    """The views follow the log as the service's runner would; the clock is after 2026."""
    patronage.receipting.clock = lambda: AFTER_2026
    poller = patronage.views.poller(0.02)
    poller.start()
    try:
        yield patronage
    finally:
        poller.stop()


def receipt(patronage: Patronage, receipt_id: UUID) -> TaxReceipt:
    return patronage.ledger.get_typed(receipt_id, TaxReceipt)


def test_a_single_receipt_snapshots_donor_and_organisation(running: Patronage) -> None:
    late_evening = datetime(2026, 12, 31, 20, tzinfo=NEW_YORK).astimezone(UTC)
    gift_id = give(running, "pi_1", 30000, when=late_evening)
    issued = running.receipting.issue_single(gift_id)
    printed = receipt(running, issued.receipt_id)
    assert printed.number == issued.number == "S2026-000001", "the year in New York"
    assert printed.gifts[0].received_on == "2026-12-31", "the local date is printed"
    assert printed.issued_on.isoformat() == "2027-01-20"
    assert printed.total == Money(30000, "USD")
    assert printed.donor.address.postal_code == "M5H 1A1"
    assert printed.organisation.tax_id == running.settings.org_tax_id
    assert "No goods or services" in printed.statement
    assert running.ledger.get_typed(gift_id, Gift).receipt_id == issued.receipt_id


def test_a_gift_is_never_on_two_valid_receipts(running: Patronage) -> None:
    gift_id = give(running, "pi_1", 30000)
    running.receipting.issue_single(gift_id)
    head = running.ledger.head()
    with pytest.raises(GiftAlreadyReceiptedError):
        running.receipting.issue_single(gift_id)
    assert running.ledger.head() == head, "a refused receipt consumed no number"
    give(running, "pi_2", 5000)
    running.giving.record_refund(RecordRefund("pi_2", "re_2", Money(5000, "USD"), AFTER_2026))
    with pytest.raises(GiftNotReceiptableError):
        running.receipting.issue_single(gift_id_for("pi_2"))


def test_annual_receipt_excludes_receipted_refunded_and_disputed_money(
    running: Patronage,
) -> None:
    give(running, "pi_single", 1000)
    give(running, "pi_partly_refunded", 5000)
    give(running, "pi_refunded", 2000)
    give(running, "pi_disputed", 3000)
    give(running, "pi_kept", 700)
    eve = datetime(2026, 12, 31, 20, tzinfo=NEW_YORK).astimezone(UTC)
    give(running, "pi_new_years_eve", 400, when=eve)
    give(running, "pi_next_year", 900, when=datetime(2027, 1, 1, 0, 30, tzinfo=NEW_YORK))
    member = SupporterDetails(email="ada@example.org", name="Ada Lovelace")
    report = ReportMembership(
        "sub_1",
        member,
        Money(1500, "USD"),
        MembershipStatus.ACTIVE,
        datetime(2026, 3, 1, tzinfo=UTC),
    )
    running.giving.record_membership_payment(
        RecordMembershipPayment(
            report, "in_1", "pi_member", Money(1500, "USD"), datetime(2026, 3, 1, tzinfo=UTC)
        )
    )
    running.receipting.issue_single(gift_id_for("pi_single"))
    running.giving.record_refund(
        RecordRefund("pi_partly_refunded", "re_1", Money(1000, "USD"), AFTER_2026)
    )
    running.giving.record_refund(
        RecordRefund("pi_refunded", "re_2", Money(2000, "USD"), AFTER_2026)
    )
    running.giving.record_dispute(
        RecordDispute(
            "pi_disputed", "dp_1", Money(3000, "USD"), DisputeStatus.OPEN, "fraud", AFTER_2026
        )
    )
    issued = running.receipting.issue_annual(ada_id(running), 2026, "USD")
    annual = receipt(running, issued.receipt_id)
    assert annual.number == "A2026-000001"
    lines = {line.gift_id: line.amount_minor for line in annual.gifts}
    assert lines == {
        str(gift_id_for("pi_member")): 1500,
        str(gift_id_for("pi_partly_refunded")): 4000,
        str(gift_id_for("pi_kept")): 700,
        str(gift_id_for("pi_new_years_eve")): 400,
    }
    assert annual.total == Money(6600, "USD")
    assert [line.received_on for line in annual.gifts][-1] == "2026-12-31"
    with pytest.raises(DomainError):
        running.receipting.issue_annual(ada_id(running), 2026, "USD")


def test_annual_receipts_wait_for_the_year_to_end_in_the_organisations_zone(
    running: Patronage,
) -> None:
    give(running, "pi_1", 1000)
    running.receipting.clock = lambda: datetime(2027, 1, 1, 4, 59, tzinfo=UTC)
    with pytest.raises(DomainError, match="after year end"):
        running.receipting.issue_annual(ada_id(running), 2026, "USD")
    running.receipting.clock = lambda: datetime(2027, 1, 1, 5, 0, tzinfo=UTC)
    assert running.receipting.issue_annual(ada_id(running), 2026, "USD")


def test_a_refund_after_receipting_flags_the_receipt_and_replace_corrects_it(
    running: Patronage,
) -> None:
    give(running, "pi_1", 30000)
    give(running, "pi_2", 1000)
    original = running.receipting.issue_annual(ada_id(running), 2026, "USD")
    running.giving.record_refund(RecordRefund("pi_1", "re_1", Money(10000, "USD"), AFTER_2026))
    running.views.wait("register", running.ledger.head(), 10)
    _n, flagged = view.receipts(running.views.register, needs_correction=True)
    assert [e.number for e in flagged] == [original.number]
    replacement = running.receipting.replace(original.number, "refund of 100.00", "finance")
    corrected = receipt(running, replacement.receipt_id)
    assert corrected.replaces_number == original.number
    assert corrected.total == Money(21000, "USD")
    assert "replaces receipt No. A2026-000001" in corrected.statement
    voided = receipt(running, original.receipt_id)
    assert voided.status == ReceiptStatus.VOID and voided.replaced_by_number == corrected.number
    running.views.wait("register", running.ledger.head(), 10)
    _n, flagged = view.receipts(running.views.register, needs_correction=True)
    assert flagged == []
    _n, entries = view.receipts(running.views.register, tax_year=2026)
    assert [(e.number, e.status) for e in entries] == [
        ("A2026-000001", "replaced"),
        ("A2026-000002", "issued"),
    ]


def test_a_receipts_history_says_what_happened_to_it_by_whom_and_why(
    running: Patronage,
) -> None:
    issued = running.receipting.issue_single(give(running, "pi_1", 30000))
    printed = receipt(running, issued.receipt_id)
    printed.claim_email(AFTER_2026, timedelta(minutes=5))
    retry_at = AFTER_2026 + timedelta(hours=1)
    printed.record_email_failed("mail server down", AFTER_2026, retry_at)
    printed.claim_email(retry_at, timedelta(minutes=5))
    printed.record_emailed("a***@example.org", "<m1>", retry_at)
    running.ledger.save(printed)
    running.receipting.resend(issued.number, "ann@news.example")
    replacement = running.receipting.replace(issued.number, "name misspelt", "ann@news.example")
    steps = running.receipting.history(issued.number)
    assert [(s.what, s.detail) for s in steps] == [
        ("Issued", ""),
        ("Email failed", "mail server down; next try 2027-01-20 16:00 UTC"),
        ("Emailed", "to a***@example.org"),
        ("Email again requested", "by ann@news.example"),
        ("Voided", f"by ann@news.example: name misspelt; replaced by {replacement.number}"),
    ], "a sender's claims are left out"
    assert [s.at for s in steps] == sorted(s.at for s in steps)
    assert [(s.what, s.detail) for s in running.receipting.history(replacement.number)] == [
        ("Issued", f"replacing {issued.number}")
    ]
    assert running.receipting.history("S2026-999999") == []


def test_an_action_is_answered_with_the_register_entry_once_the_register_has_it(
    running: Patronage,
) -> None:
    issued = running.receipting.issue_single(give(running, "pi_1", 30000))
    registered = running.receipting.registered(issued)
    assert (registered.receipt_id, registered.number) == (issued.receipt_id, issued.number)
    assert registered.position == running.ledger.head()
    assert registered.entry is not None
    assert (registered.entry.number, registered.entry.status) == (issued.number, "issued")


def test_a_register_that_does_not_catch_up_in_time_leaves_the_entry_out(
    patronage: Patronage,
) -> None:
    patronage.receipting.clock = lambda: AFTER_2026
    issued = patronage.receipting.issue_single(give(patronage, "pi_1", 30000))
    # No runner keeps the register here: it never applies the issue.
    patronage.receipting.register = RegisterQueries(patronage.views.register, patronage.ledger, 0.1)
    registered = patronage.receipting.registered(issued)
    assert registered.entry is None and registered.number == issued.number
    assert registered.position == patronage.ledger.head()


def test_starting_year_end_is_in_the_audit_trail_and_a_refused_start_is_not(
    running: Patronage,
) -> None:
    head = running.ledger.head()
    with pytest.raises(DomainError, match="after year end"):
        running.year_end.start(2027, False, by="ann@news.example")
    assert running.ledger.head() == head, "nothing recorded"
    job = running.year_end.start(2026, True, by="ann@news.example")
    [entry] = running.audit.entries(action="receipt.year_end_started").entries
    assert (entry.actor, entry.subject, entry.details) == (
        "ann@news.example",
        "2026",
        {"job_id": job.job_id, "dry_run": "true"},
    )
    done = eventually(lambda: job if job.state != "running" else None, "the dry run to end")
    assert done.state == "done"


def test_void_frees_the_gifts_and_a_fully_refunded_receipt_is_only_voided(
    running: Patronage,
) -> None:
    gift_id = give(running, "pi_1", 30000)
    first = running.receipting.issue_single(gift_id)
    running.receipting.void(first.number, "issued in error", "finance")
    assert running.ledger.get_typed(gift_id, Gift).receipt_id is None
    second = running.receipting.issue_single(gift_id)
    assert second.number == "S2026-000002"
    running.giving.record_refund(RecordRefund("pi_1", "re_1", Money(30000, "USD"), AFTER_2026))
    answer = running.receipting.replace(second.number, "refunded in full", "finance")
    assert answer.number == second.number, "nothing left to receipt: only voided"
    assert receipt(running, second.receipt_id).is_void


def test_year_end_issues_once_skips_missing_details_and_lists_them(
    running: Patronage,
) -> None:
    for n in range(5):
        give(running, f"pi_{n}", 1000 + n, email=f"donor{n}@example.org")
    give(running, "pi_no_address", 800, email="nomad@example.org", address=PostalAddress())
    running.receipting.jurisdiction = running.receipting.jurisdiction.CA
    dry = running.receipting.run_year_end(2026, dry_run=True)
    assert (dry.issued, len(dry.missing_details)) == (5, 1)
    assert running.receipting.issue_pending_singles() == 0
    seen: list[tuple[int, int]] = []
    collector: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        collector.append(gc.get_threshold()[0])

    before = gc.get_threshold()
    report = running.receipting.run_year_end(2026, progress=progress)
    assert collector == [BULK_GC_THRESHOLD], "the batches run collecting less often"
    assert gc.get_threshold() == before, "and the process's setting is back afterwards"
    assert (report.issued, report.first_number, report.last_number) == (
        5,
        "A2026-000001",
        "A2026-000005",
    )
    assert report.missing_details == [str(running.giving.directory.id_for("nomad@example.org"))]
    assert seen[-1] == (6, 6)
    missing = running.receipting.missing_details(2026)
    assert [(m.supporter_id, m.missing) for m in missing] == [
        (str(running.giving.directory.id_for("nomad@example.org")), ["postal address"])
    ]
    again = running.receipting.run_year_end(2026)
    assert again.issued == 0, "a second run issues nothing new"


def annual_numbers(patronage: Patronage, gift_ids: list[UUID]) -> list[str]:
    """The number of the receipt on each gift (empty if none), after checking that receipt
    lists exactly that gift."""
    numbers = []
    for gift_id in gift_ids:
        receipt_id = patronage.ledger.get_typed(gift_id, Gift).receipt_id
        if receipt_id is None:
            numbers.append("")
            continue
        printed = receipt(patronage, receipt_id)
        assert printed.gift_ids == [gift_id]
        numbers.append(printed.number)
    return numbers


def last_allocated(patronage: Patronage) -> int:
    return patronage.ledger.get_typed(series_id_for("2026-annual"), ReceiptSeries).last_number


def test_year_end_in_batches_numbers_without_gaps_and_a_rerun_issues_nothing_twice(
    running: Patronage,
) -> None:
    gift_ids = [give(running, f"pi_{n}", 1000 + n, email=f"donor{n}@example.org") for n in range(7)]
    seen: list[tuple[int, int]] = []
    report = running.receipting.run_year_end(
        2026, progress=lambda d, t: seen.append((d, t)), batch=3
    )
    assert seen == [(3, 7), (6, 7), (7, 7)], "three batches"
    expected = [f"A2026-{n:06d}" for n in range(1, 8)]
    assert sorted(annual_numbers(running, gift_ids)) == expected, "unique, gapless, one each"
    assert (report.issued, report.first_number, report.last_number) == (
        7,
        expected[0],
        expected[-1],
    )
    assert last_allocated(running) == 7, "the series allocated exactly the numbers used"
    again = running.receipting.run_year_end(2026, batch=3)
    assert (again.groups, again.issued) == (0, 0)
    assert sorted(annual_numbers(running, gift_ids)) == expected
    assert last_allocated(running) == 7


def test_a_batch_the_store_refuses_leaves_nothing_half_issued_and_a_rerun_finishes(
    running: Patronage, settings: Settings
) -> None:
    gift_ids = [give(running, f"pi_{n}", 1000 + n, email=f"donor{n}@example.org") for n in range(7)]
    # The database refuses the fifth receipt's record: the second batch (4 to 6) must fail
    # whole, after the first committed.
    with writes_refused(settings, receipt_id_for("A2026-000005"), from_version=1):
        with pytest.raises(Exception, match="refused by the test"):
            running.receipting.run_year_end(2026, batch=3)
        numbers = annual_numbers(running, gift_ids)
        assert sorted(n for n in numbers if n) == ["A2026-000001", "A2026-000002", "A2026-000003"]
        assert numbers.count("") == 4, "no gift of the refused batch points at a receipt"
        for n in (4, 5, 6):
            assert running.ledger.get_or_none(receipt_id_for(f"A2026-{n:06d}"), TaxReceipt) is None
        assert last_allocated(running) == 3, "no number was used up by the refused batch"
    rerun = running.receipting.run_year_end(2026, batch=3)
    assert (rerun.groups, rerun.issued, rerun.first_number) == (4, 4, "A2026-000004")
    assert sorted(annual_numbers(running, gift_ids)) == [f"A2026-{n:06d}" for n in range(1, 8)]
    assert last_allocated(running) == 7


def test_a_series_snapshot_keeps_loading_it_cheap(running: Patronage) -> None:
    gift_ids = [give(running, f"pi_{n}", 100 + n, email=f"d{n}@example.org") for n in range(120)]
    for gift_id in gift_ids:
        running.receipting.issue_single(gift_id)
    series_id = series_id_for("2026-single")
    snapshots = list(running.ledger.snapshots.get(series_id, desc=True, limit=1))  # type: ignore[union-attr]
    assert snapshots and snapshots[0].originator_version == 100
    replayed = list(running.ledger.events.get(series_id, gt=snapshots[0].originator_version))
    assert len(replayed) == 21, "loading reads the snapshot and the events after it only"


def test_a_canadian_organisation_missing_a_required_field_cannot_start(tmp_path: Path) -> None:
    with store_settings("sqlite", tmp_path) as overrides:
        settings = load_settings(
            _env_file=None, org_jurisdiction="CA", org_place_of_issue="Toronto", **overrides
        )
        with pytest.raises(SettingsError, match="PATRONAGE_ORG_SIGNATORY"):
            bootstrap(settings)
    with pytest.raises(SettingsError, match="PATRONAGE_ORG_TIME_ZONE"):
        load_settings(_env_file=None, org_time_zone="Mars/Olympus")


def test_events_read_back_from_a_fresh_process(settings: Settings, running: Patronage) -> None:
    """What was stored decodes again (Money, dates, nested value types) from a new Ledger."""
    gift_id = give(running, "pi_1", 30000)
    issued = running.receipting.issue_single(gift_id)
    reopened = bootstrap(settings)
    try:
        printed = reopened.ledger.get_typed(issued.receipt_id, TaxReceipt)
        assert printed.issued_on.isoformat() == "2027-01-20"
        assert printed.donor.address.city == "Toronto"
        assert reopened.ledger.get_many([gift_id], Gift)[gift_id].amount == Money(30000, "USD")
    finally:
        reopened.close()
