"""`patronage receipts ...` as a finance lead runs it: separate processes on a real store."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from patronage.application.giving import RecordGift, RecordRefund, SupporterDetails
from patronage.application.receipt_outbox import ReceiptWorker
from patronage.bootstrap import Patronage
from patronage.domain.gift import Gift, gift_id_for
from patronage.domain.money import Money
from patronage.domain.receipt import ReceiptStatus, TaxReceipt, receipt_id_for
from tests.support.processes import inherited_env
from tests.support.stores import cli_env

PATRONAGE = str(Path(sys.executable).parent / "patronage")


def run(patronage: Patronage, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**inherited_env(), **cli_env(patronage.settings)}
    command = [PATRONAGE, "receipts", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, cwd=cwd)


def give(patronage: Patronage, payment_id: str, email: str, when: datetime) -> None:
    patronage.giving.record_gift(
        RecordGift(
            payment_id=payment_id,
            supporter=SupporterDetails(email=email, name="Ada Lovelace"),
            amount=Money(12000, "USD"),
            received_at=when,
        )
    )


@pytest.mark.parametrize("store", ["sqlite"])
def test_year_end_and_one_receipt_at_a_time(patronage: Patronage, tmp_path: Path) -> None:
    last_year = datetime.now(UTC).year - 1
    for n in range(3):
        give(patronage, f"pi_{n}", f"donor{n}@example.org", datetime(last_year, 5, 1, tzinfo=UTC))
    dry = run(patronage, "issue-annual", "--year", str(last_year), "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "would issue 3 receipts" in dry.stdout
    assert patronage.ledger.get_or_none(receipt_id_for(f"A{last_year}-000001"), TaxReceipt) is None
    real = run(patronage, "issue-annual", "--year", str(last_year), cwd=tmp_path)
    assert f"issued 3 receipts (A{last_year}-000001 to A{last_year}-000003)" in real.stdout
    again = run(patronage, "issue-annual", "--year", str(last_year), cwd=tmp_path)
    assert "issued 0 receipts" in again.stdout
    number = f"A{last_year}-000002"
    shown = run(patronage, "show", number, cwd=tmp_path)
    assert "Ada Lovelace" in shown.stdout and "status: issued" in shown.stdout
    pdf = run(patronage, "pdf", number, "--out", "r.pdf", cwd=tmp_path)
    assert pdf.returncode == 0
    assert (
        number in PdfReader(io.BytesIO((tmp_path / "r.pdf").read_bytes())).pages[0].extract_text()
    )
    replaced = run(patronage, "replace", number, "--reason", "typo", cwd=tmp_path)
    assert f"{number} replaced by A{last_year}-000004" in replaced.stdout
    assert run(patronage, "resend", f"A{last_year}-000004", cwd=tmp_path).returncode == 0
    voided = run(patronage, "void", f"A{last_year}-000004", "--reason", "loan", cwd=tmp_path)
    assert voided.returncode == 0
    refused = run(patronage, "void", f"A{last_year}-000004", "--reason", "again", cwd=tmp_path)
    assert refused.returncode == 1 and "already void" in refused.stderr
    assert "no receipt" in run(patronage, "show", "A1999-000001", cwd=tmp_path).stderr
    too_early = run(patronage, "issue-annual", "--year", str(last_year + 1), cwd=tmp_path)
    assert too_early.returncode == 1 and "after year end" in too_early.stderr
    original = patronage.ledger.get_typed(receipt_id_for(number), TaxReceipt)
    assert original.status == ReceiptStatus.VOID and original.void_reason == "typo"


def test_automatic_single_receipts_follow_one_time_gifts(patronage: Patronage) -> None:
    now = datetime(2026, 7, 1, tzinfo=UTC)
    patronage.receipting.clock = lambda: now
    give(patronage, "pi_this_year", "ada@example.org", datetime(2026, 6, 1, tzinfo=UTC))
    give(patronage, "pi_last_year", "ada@example.org", datetime(2025, 6, 1, tzinfo=UTC))
    give(patronage, "pi_refunded", "ada@example.org", datetime(2026, 6, 2, tzinfo=UTC))
    patronage.giving.record_refund(RecordRefund("pi_refunded", "re_1", Money(12000, "USD"), now))
    worker = ReceiptWorker(patronage.receipting, None, automatic=True, every=60)
    poller = patronage.views.poller(0.02)
    poller.start()
    try:
        patronage.views.wait("register", patronage.ledger.head(), 10)
        worker.run_once()
        patronage.views.wait("register", patronage.ledger.head(), 10)
        worker.run_once()  # nothing new: never a second receipt
    finally:
        poller.stop()
    covered = {
        p: patronage.ledger.get_typed(gift_id_for(p), Gift).receipt_id
        for p in ("pi_this_year", "pi_last_year", "pi_refunded")
    }
    assert covered["pi_this_year"] == receipt_id_for("S2026-000001")
    assert covered["pi_last_year"] is None, "last year's gifts wait for year end"
    assert covered["pi_refunded"] is None
    assert patronage.ledger.get_or_none(receipt_id_for("S2026-000002"), TaxReceipt) is None
