"""PostgreSQL: projection workers as real processes, killed mid catch-up, and a rebuild
swapped in while a real API server keeps answering and new events keep arriving."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from patronage.application.giving import RecordGift, SupporterDetails
from patronage.bootstrap import Patronage, bootstrap
from patronage.config import load_settings
from patronage.domain.money import Money
from patronage.domain.values import Attribution
from patronage.projections import supporters, totals
from patronage.projections.polling import pending
from patronage.projections.store import ViewStore
from tests.support import http
from tests.support.polling import eventually, exited
from tests.support.processes import command, patronage_process, process_env
from tests.support.projections import expected, seed_many
from tests.support.servers import free_port, wait_until_ready
from tests.support.stores import store_settings

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

STAFF = {"Authorization": "Bearer staff-key-for-tests"}


def _pending(patronage: Patronage, name: str) -> int:
    topics = patronage.views.projection(name).topics
    return pending(patronage.ledger, patronage.views.stores[name], topics)


def _by_day(patronage: Patronage) -> dict[tuple[str, ...], tuple[int, ...]]:
    rows = totals.by_period(patronage.views.totals, "day", totals.Filters())
    return {
        (*r.key, r.currency): (r.amounts.gifts, r.amounts.gross, r.amounts.refunded) for r in rows
    }


def _waiting_on(store: ViewStore, table: str) -> int:
    """How many sessions wait for a lock on one of the view's tables."""
    with store.read() as tx:
        waiting: int = tx.value(
            "SELECT count(*) FROM pg_locks"
            " WHERE NOT granted AND relation = CAST(:name AS regclass)",
            name=store.render(f"{{{table}}}"),
        )
    return waiting


def test_a_worker_killed_mid_catch_up_resumes_and_counts_nothing_twice(tmp_path: Path) -> None:
    with store_settings("postgres", tmp_path) as overrides:
        settings = load_settings(_env_file=None, **overrides)
        patronage = bootstrap(settings)
        try:
            store = patronage.views.totals
            env = process_env(settings)
            log = tmp_path / "worker.log"
            seed_many(patronage.ledger, supporters=50, gifts_each=6, prefix="before")
            with patronage_process(["projections", "run", "totals"], env, log) as worker:
                eventually(
                    lambda: _pending(patronage, "totals") == 0,
                    "the worker to apply the first events",
                    timeout=120,
                    abort=exited(worker),
                )
                applied = store.position("Ledger")
                # The kill lands inside the worker's open transaction, whatever the
                # machine's speed: the view's table is held while more events arrive.
                with store.write() as held:
                    held.run("LOCK TABLE {daily} IN EXCLUSIVE MODE")
                    head = seed_many(patronage.ledger, supporters=50, gifts_each=6)
                    eventually(
                        lambda: _waiting_on(store, "daily"),
                        "the worker to be writing the new events",
                        timeout=120,
                        abort=exited(worker),
                    )
                    worker.send_signal(signal.SIGKILL)
                    worker.wait()
            assert store.position("Ledger") == applied < head, "nothing of the killed work stays"

            with patronage_process(["projections", "run", "totals"], env, log) as worker:
                eventually(
                    lambda: _pending(patronage, "totals") == 0,
                    "the restarted worker to catch up",
                    timeout=120,
                    abort=exited(worker),
                )
                worker.terminate()
                assert worker.wait(timeout=15) == 0

            want = expected(patronage.ledger, 2026).by_day
            assert _by_day(patronage) == {
                k: (v["gifts"], v["gross"], v["refunded"]) for k, v in want.items()
            }
        finally:
            patronage.close()


def _status_lag(env: dict[str, str], view: str) -> int:
    out = subprocess.run(
        command("projections", "status"),
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    line = next(line for line in out.splitlines() if f" {view} " in line)
    return int(re.findall(r"\d+", line)[-1])


def _give(patronage: Patronage, n: int) -> None:
    patronage.giving.record_gift(
        RecordGift(
            f"pi_new_{n}",
            SupporterDetails(email=f"new{n}@example.org", name="New"),
            Money(1200, "USD"),
            datetime(2026, 6, 1, tzinfo=UTC),
            Attribution(campaign="spring"),
        )
    )


def test_rebuild_swaps_in_while_the_api_answers_and_lag_falls_to_zero(tmp_path: Path) -> None:
    with store_settings("postgres", tmp_path) as overrides:
        settings = load_settings(_env_file=None, **overrides)
        patronage = bootstrap(settings)
        env = process_env(settings)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        try:
            seeded = 150
            seed_many(patronage.ledger, supporters=seeded, gifts_each=6)
            with (
                patronage_process(
                    ["projections", "run", "supporters"], env, tmp_path / "worker.log"
                ) as worker,
                patronage_process(["serve", "--port", str(port)], env, tmp_path / "api.log") as api,
            ):
                wait_until_ready(f"{base}/healthz", api)
                eventually(
                    lambda: _pending(patronage, "supporters") == 0,
                    "the worker to catch up",
                    timeout=120,
                    abort=exited(worker),
                )

                answers: list[tuple[int, int]] = []
                stop = threading.Event()

                def poll_api() -> None:
                    with http.client(base_url=base, headers=STAFF, timeout=10) as client:
                        while not stop.wait(0.05):  # a reader's pace, not a synchronisation
                            r = client.get("/staff/supporters", params={"limit": 1})
                            answers.append((r.status_code, r.json().get("total", -1)))

                def write_during_rebuild() -> None:
                    for n in range(25):
                        _give(patronage, n)

                threads = [
                    threading.Thread(target=poll_api),
                    threading.Thread(target=write_during_rebuild),
                ]
                for thread in threads:
                    thread.start()
                rebuild = subprocess.run(
                    command("projections", "rebuild", "supporters"),
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=300,
                )
                threads[1].join()
                during = len(answers)
                stop.set()
                threads[0].join()
                assert rebuild.returncode == 0, rebuild.stderr
                assert "supporters: rebuilt and swapped in" in rebuild.stdout

                assert during >= 3, "the API must have been asked during the rebuild"
                assert {status for status, _ in answers} == {200}
                # Never an empty or half-built view: every answer counts at least the seeded.
                assert min(total for _, total in answers) >= seeded

                for n in range(25, 30):  # after the swap: the live worker must have resumed
                    _give(patronage, n)
                eventually(
                    lambda: _pending(patronage, "supporters") == 0,
                    "the live worker to apply the new gifts",
                    timeout=120,
                    abort=exited(worker),
                )
                eventually(
                    lambda: _status_lag(env, "supporters") == 0,
                    "status to show no lag",
                    timeout=120,
                    abort=exited(worker),
                )
                final = http.get(f"{base}/staff/supporters", headers=STAFF, params={"limit": 1})
                assert final.json()["total"] == seeded + 30

            want = expected(patronage.ledger, 2026).supporters
            page = supporters.search(patronage.views.supporters, limit=1000, year=2026)
            assert {
                r.supporter_id: (
                    r.gift_count,
                    [(t.currency, t.gross, t.refunded) for t in r.lifetime],
                )
                for r in page.rows
            } == {
                sid: (
                    w["gift_count"],
                    [(c, g, r) for c, (g, r, _) in sorted(w["lifetime"].items())],
                )
                for sid, w in want.items()
            }
        finally:
            patronage.close()


def test_run_starts_one_worker_per_view_and_stops_them_together(tmp_path: Path) -> None:
    with store_settings("postgres", tmp_path) as overrides:
        settings = load_settings(_env_file=None, **overrides)
        patronage = bootstrap(settings)
        try:
            seed_many(patronage.ledger, supporters=50, gifts_each=2)
            env = process_env(settings)
            with patronage_process(["projections", "run"], env, tmp_path / "run.log") as run:
                eventually(
                    lambda: all(_pending(patronage, name) == 0 for name in patronage.views.stores),
                    "every view to catch up",
                    timeout=120,
                    abort=exited(run),
                )
                children = _children(run.pid)
                assert len(children) == len(patronage.views.stores)
                run.terminate()
                assert run.wait(timeout=30) == 0
            assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]
        finally:
            patronage.close()


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    found: list[int] = []
    for task in tasks.iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found
