"""Receipts emailed to a real SMTP server (aiosmtpd on loopback) through the outbox."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from pypdf import PdfReader

from patronage.application.giving import RecordGift, SupporterDetails
from patronage.bootstrap import Patronage, bootstrap
from patronage.cli.mail_catcher import CaughtMail, mail_catcher
from patronage.config import load_settings
from patronage.domain.gift import Gift
from patronage.domain.money import Money
from patronage.domain.receipt import TaxReceipt
from patronage.projections import register as view
from patronage.receipts.mail import SmtpMailer
from tests.support.polling import eventually, exited
from tests.support.processes import patronage_process, process_env
from tests.support.servers import free_port
from tests.support.stores import store_settings

pytestmark = pytest.mark.e2e


@pytest.fixture
def caught(tmp_path: Path) -> Iterator[CaughtMail]:
    with mail_catcher(tmp_path / "mail") as catcher:
        yield catcher


def smtp(caught: CaughtMail, **extra: object) -> dict[str, object]:
    return {
        "smtp_host": caught.host,
        "smtp_port": caught.port,
        "smtp_security": "none",
        "smtp_from": "Receipts <receipts@ledger.example>",
        **extra,
    }


@pytest.fixture
def emailing(store: str, tmp_path: Path, caught: CaughtMail) -> Iterator[Patronage]:
    with store_settings(store, tmp_path) as overrides:
        patronage = bootstrap(
            load_settings(
                _env_file=None, receipt_email_lease_seconds=60, **smtp(caught), **overrides
            )
        )
        poller = patronage.views.poller(0.02)
        poller.start()
        try:
            yield patronage
        finally:
            poller.stop()
            patronage.close()


def give(patronage: Patronage, payment_id: str) -> UUID:
    return patronage.giving.record_gift(
        RecordGift(
            payment_id=payment_id,
            supporter=SupporterDetails(email="ada@example.org", name="Ada Lovelace"),
            amount=Money(30000, "USD"),
            received_at=datetime(2026, 6, 1, tzinfo=UTC),
        )
    )


def sent(patronage: Patronage, receipt_id: UUID) -> bool:
    return bool(patronage.ledger.get_typed(receipt_id, TaxReceipt).emailed_to)


def test_a_receipt_is_emailed_once_with_its_pdf(emailing: Patronage, caught: CaughtMail) -> None:
    issued = emailing.receipting.issue_single(give(emailing, "pi_1"))
    assert emailing.outbox is not None
    emailing.views.wait("register", emailing.ledger.head(), 10)
    assert emailing.outbox.send_due() == 1
    assert emailing.outbox.send_due() == 0, "never twice"
    (message,) = caught.messages()
    assert message["To"] == "ada@example.org"
    assert message["Message-ID"] == f"<receipt-{issued.number}-1@ledger.example>"
    assert issued.number in message["Subject"]
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    text = PdfReader(io.BytesIO(attachment.get_content())).pages[0].extract_text()
    assert issued.number in text and "300.00 USD" in text
    emailing.views.wait("register", emailing.ledger.head(), 10)
    emailing.receipting.resend(issued.number, "finance")
    emailing.views.wait("register", emailing.ledger.head(), 10)
    assert emailing.outbox.send_due() == 1
    assert [m["Message-ID"] for m in caught.messages()][1].endswith("-2@ledger.example>")


def test_a_sender_that_crashed_after_claiming_is_replaced_with_the_same_message_id(
    emailing: Patronage, caught: CaughtMail
) -> None:
    issued = emailing.receipting.issue_single(give(emailing, "pi_1"))
    assert emailing.outbox is not None
    outbox = emailing.outbox
    claimed_at = datetime.now(UTC)
    crashed = emailing.ledger.get_typed(issued.receipt_id, TaxReceipt)
    crashed.claim_email(claimed_at, outbox.policy.lease)
    emailing.ledger.save(crashed)  # claimed, then the process died before sending
    emailing.views.wait("register", emailing.ledger.head(), 10)
    outbox.clock = lambda: claimed_at + outbox.policy.lease / 2
    assert outbox.send_due() == 0, "the claim holds during its lease"
    outbox.clock = lambda: claimed_at + outbox.policy.lease
    assert outbox.send_due() == 1, "the lease ended: the next sender sends it"
    (message,) = caught.messages()
    assert message["Message-ID"] == f"<receipt-{issued.number}-1@ledger.example>"


def test_an_unreachable_server_is_retried_with_backoff_and_shown_in_the_register(
    emailing: Patronage, caught: CaughtMail
) -> None:
    issued = emailing.receipting.issue_single(give(emailing, "pi_1"))
    outbox = emailing.outbox
    assert outbox is not None
    mailer = outbox.mailer
    assert isinstance(mailer, SmtpMailer)
    outbox.mailer = SmtpMailer(replace(mailer.config, port=free_port()))  # nothing listens
    emailing.views.wait("register", emailing.ledger.head(), 10)
    assert outbox.send_due() == 0
    failed = emailing.ledger.get_typed(issued.receipt_id, TaxReceipt)
    assert failed.last_email_error and failed.retry_at is not None
    emailing.views.wait("register", emailing.ledger.head(), 10)
    (entry,) = view.receipts(emailing.views.register, number=issued.number)[1]
    assert (entry.email_state, bool(entry.email_error)) == ("failed", True)
    assert outbox.send_due() == 0, "not before the back-off ends"
    outbox.mailer = mailer
    retry_at = failed.retry_at
    outbox.clock = lambda: retry_at
    assert outbox.send_due() == 1
    assert len(caught.messages()) == 1


@pytest.mark.parametrize("store", ["sqlite"])
def test_a_crash_between_issuing_and_emailing_ends_with_exactly_one_email(
    store: str, tmp_path: Path, caught: CaughtMail
) -> None:
    with store_settings(store, tmp_path) as overrides:
        settings = load_settings(_env_file=None, **overrides)
        first = bootstrap(settings)
        gift_id = give(first, "pi_1")
        first.close()
        env = (
            process_env(settings)
            | {f"PATRONAGE_{k.upper()}": str(v) for k, v in smtp(caught).items()}
            | {"PATRONAGE_RECEIPTS_WORKER_SECONDS": "0.1"}
        )
        # Issue, then die at once (SIGKILL): no chance to email.
        crash = (
            "import os, signal, sys; from uuid import UUID;"
            "from patronage.bootstrap import bootstrap; from patronage.config import load_settings;"
            "p = bootstrap(load_settings()); p.receipting.issue_single(UUID(sys.argv[1]));"
            "os.kill(os.getpid(), signal.SIGKILL)"
        )
        died = subprocess.run([sys.executable, "-c", crash, str(gift_id)], env=env, check=False)
        assert died.returncode == -signal.SIGKILL
        assert caught.messages() == []
        port = str(free_port())
        with patronage_process(["serve", "--port", port], env, tmp_path / "serve.log") as serve:
            eventually(
                lambda: len(caught.messages()) >= 1,
                "the receipt email",
                timeout=60,
                abort=exited(serve),
            )
            check = bootstrap(settings)
            try:
                receipt_id = check.ledger.get_typed(gift_id, Gift).receipt_id
                assert receipt_id is not None, "the receipt was issued before the crash"
                eventually(lambda: sent(check, receipt_id), "Emailed recorded", abort=exited(serve))
            finally:
                check.close()
        assert len(caught.messages()) == 1
