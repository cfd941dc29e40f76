"""Year end as a background job the staff API starts and reads (one process's memory:
the job runs where it was started; its outcome is in the register for everyone)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

import structlog

from patronage.application.audit import Audit
from patronage.application.receipting import Receipting, YearEndReport
from patronage.domain.errors import DomainError

log = structlog.get_logger(__name__)


@dataclass
class YearEndJob:
    job_id: str
    tax_year: int
    dry_run: bool
    state: str = "running"  # running | done | failed
    done: int = 0
    total: int = 0
    report: YearEndReport | None = None
    error: str = ""


class YearEndJobs:
    def __init__(self, receipting: Receipting) -> None:
        self.receipting = receipting
        self.audit = Audit(receipting.ledger)
        self.jobs: dict[str, YearEndJob] = {}
        self._guard = threading.Lock()

    def start(self, tax_year: int, dry_run: bool, by: str) -> YearEndJob:
        """Start a run (refusing a year that has not ended); one real run at a time, so a
        second start answers the run under way. Each start is in the audit trail as `by`'s,
        saved before the run begins: no run goes unrecorded (its receipts are saved later,
        in the background, and a dry run saves none, so the record cannot ride on them)."""
        self.receipting.check_year_ended(tax_year)
        with self._guard:
            running = next(
                (
                    job
                    for job in self.jobs.values()
                    if job.state == "running" and not job.dry_run and not dry_run
                ),
                None,
            )
            job = running or YearEndJob(uuid.uuid4().hex, tax_year, dry_run)
            self.audit.record(
                by, "receipt.year_end_started", str(tax_year),
                {"job_id": job.job_id, "dry_run": str(dry_run).lower()},
            )  # fmt: skip
            if running is not None:
                return running  # the same run, already under way
            self.jobs[job.job_id] = job
        threading.Thread(target=self._run, args=(job,), name="year-end", daemon=True).start()
        return job

    def _run(self, job: YearEndJob) -> None:
        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        try:
            job.report = self.receipting.run_year_end(
                job.tax_year, dry_run=job.dry_run, progress=progress
            )
            job.state = "done"
        except (DomainError, TimeoutError) as error:
            job.state, job.error = "failed", str(error)
        except Exception as error:  # reported on the job, and logged in full
            log.exception("year_end_failed", tax_year=job.tax_year)
            job.state, job.error = "failed", type(error).__name__

    def get(self, job_id: str) -> YearEndJob | None:
        return self.jobs.get(job_id)
