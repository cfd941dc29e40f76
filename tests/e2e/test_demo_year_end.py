"""The demo: last year's gifts are in its ledger, year end issues their receipts, and the
receipt emails arrive on the demo's own mail page, PDF attached (Chromium reads it)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from tests.support import http
from tests.support.browser import chromium
from tests.support.demo import demo_server
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e


def test_a_newcomer_runs_year_end_and_reads_the_receipt_email(tmp_path: Path) -> None:
    last_year = datetime.now(UTC).year - 1
    with demo_server(tmp_path) as demo, chromium() as browser:
        staff = {"Authorization": f"Bearer {demo.staff_token}"}
        started = http.post(f"{demo.url}/staff/receipts/year-end",
                             json={"tax_year": last_year}, headers=staff)  # fmt: skip
        assert started.status_code == 202, started.text
        job_url = f"{demo.url}/staff/receipts/year-end/{started.json()['job_id']}"

        def finished() -> dict[str, Any] | None:
            job: dict[str, Any] = http.get(job_url, headers=staff).json()
            return None if job["state"] == "running" else job

        job = eventually(finished, "the year-end job to finish", timeout=60)
        assert (job["state"], job["issued"]) == ("done", 3), job
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        def three_emails() -> bool:
            page.goto(f"{demo.url}/demo/mail")
            return page.get_by_role("article").count() == 3

        # The outbox sends within a worker tick.
        eventually(three_emails, "the three receipt emails on the mail page", timeout=60)
        page.screenshot(path=str(tmp_path / "demo-mail.png"), full_page=True)
        grace = page.get_by_role("article").filter(has_text="grace.hopper@example.org")
        assert "Annual statement of contributions" in grace.inner_text()
        link = grace.get_by_role("link", name="receipt-A")
        pdf = http.get(f"{demo.url}{link.get_attribute('href')}").content
        text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
        assert "Grace Hopper" in text and "145.00 USD" in text, "a gift and 12 monthly payments"
        narrow = browser.new_page(viewport={"width": 390, "height": 844})
        narrow.goto(f"{demo.url}/demo/mail")
        narrow.screenshot(path=str(tmp_path / "demo-mail-narrow.png"), full_page=True)
        width = narrow.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "no sideways scrolling on a phone"
