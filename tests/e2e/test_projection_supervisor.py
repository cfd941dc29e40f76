"""PostgreSQL: `patronage projections run` with several views restarts a worker that died,
and its workers never outlive it, whether it is SIGKILLed or stopped with SIGTERM (issue 15,
defect 4). Real processes, found through /proc."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from patronage.config import load_settings
from tests.support.polling import eventually, exited
from tests.support.processes import patronage_process, process_env
from tests.support.stores import store_settings

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]
VIEWS = ["supporters", "totals"]


def children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")".
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_workers_are_restarted_and_never_outlive_their_supervisor(tmp_path: Path) -> None:
    with store_settings("postgres", tmp_path) as overrides:
        settings = load_settings(_env_file=None, **overrides)
        env = process_env(settings)
        log = tmp_path / "supervisor.log"
        with patronage_process(["projections", "run", *VIEWS], env, log) as parent:
            eventually(
                lambda: len(children_of(parent.pid)) == 2,
                "two workers",
                timeout=60,
                abort=exited(parent),
            )
            first = children_of(parent.pid)

            # A worker that dies is started again.
            victim = min(first)
            os.kill(victim, signal.SIGKILL)
            eventually(
                lambda: len(children_of(parent.pid)) == 2 and victim not in children_of(parent.pid),
                "the dead worker to be replaced",
                timeout=60,
                abort=exited(parent),
            )
            workers = children_of(parent.pid)

            # SIGKILL to the supervisor: its workers stop too (no orphans).
            parent.send_signal(signal.SIGKILL)
            parent.wait()
            eventually(
                lambda: not any(alive(w) for w in workers), "the orphans to stop", timeout=30
            )

        # So a second supervisor runs exactly its own two; SIGTERM stops them all.
        with patronage_process(["projections", "run", *VIEWS], env, log) as parent:
            eventually(
                lambda: len(children_of(parent.pid)) == 2,
                "two workers",
                timeout=60,
                abort=exited(parent),
            )
            workers = children_of(parent.pid)
            parent.terminate()
            assert parent.wait(timeout=30) == 0
            eventually(
                lambda: not any(alive(w) for w in workers), "the workers to stop", timeout=30
            )
