"""PostgreSQL: a projection worker process that fails on an event records it, backs off
instead of retrying at once, and goes on once an operator skipped it (issue 15 defect 1,
issue 9 defect 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from patronage.bootstrap import bootstrap
from patronage.config import load_settings
from patronage.projections.faults import backoff
from patronage.projections.polling import pending
from tests.integration.test_poison_events import poison_then_good
from tests.support.polling import eventually, exited
from tests.support.processes import patronage_process, process_env
from tests.support.stores import store_settings

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]


def test_a_worker_backs_off_a_poison_event_and_resumes_once_it_is_skipped(
    tmp_path: Path,
) -> None:
    with store_settings("postgres", tmp_path) as overrides:
        settings = load_settings(_env_file=None, **overrides)
        patronage = bootstrap(settings)
        try:
            poison, _ = poison_then_good(patronage)
            faults = patronage.views.faults
            log = tmp_path / "worker.log"
            with patronage_process(
                ["projections", "run", "totals"], process_env(settings), log
            ) as worker:
                eventually(
                    lambda: faults.get("totals") is not None,
                    "the fault",
                    timeout=60,
                    abort=exited(worker),
                )
                fault = faults.get("totals")
                assert fault is not None and fault.notification_id == poison
                assert "out of range" in fault.error or "Overflow" in fault.error
                waited = (fault.next_attempt_at - fault.last_failed_at).total_seconds()
                assert waited == backoff(fault.attempts)

                patronage.view_operations.skip("totals", poison, "ops", "impossible amount")
                topics = patronage.views.projection("totals").topics
                eventually(
                    lambda: pending(patronage.ledger, patronage.views.totals, topics) == 0,
                    "the worker to go on past the skipped event",
                    timeout=60,
                    abort=exited(worker),
                )
                assert faults.get("totals") is None
                worker.terminate()
                assert worker.wait(timeout=15) == 0
        finally:
            patronage.close()
