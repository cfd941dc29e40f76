"""What the benchmark sets up and drives: PostgreSQL on loopback, `wrk`, the service and the
reference endpoint as real processes, and their peak memory."""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.support.stores import throwaway_schema

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
POSTGRES_URL = os.environ.get(
    "PATRONAGE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SECRET = "whsec_bench"  # noqa: S105 (a throw-away signing secret for the load)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ensure_postgres() -> str:
    """PostgreSQL on loopback: reached, else started with Debian's cluster tools; its version."""
    for attempt in range(2):
        try:
            with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
                row = conn.execute("SHOW server_version").fetchone()
                return str(row[0]) if row else "?"
        except psycopg.OperationalError:
            if attempt == 0 and shutil.which("pg_ctlcluster"):
                subprocess.run(
                    ["bash", "-c", "pg_ctlcluster $(ls /etc/postgresql) main start"], check=False
                )
                time.sleep(2)
    raise SystemExit(f"PostgreSQL does not answer at {POSTGRES_URL} (infra/setup.sh installs it)")


def ensure_wrk() -> str:
    """Debian's `wrk`, installed with apt when missing and this is root."""
    if shutil.which("wrk") is None and os.geteuid() == 0:
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=False,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is missing: apt-get install wrk (infra/setup.sh does)")
    return path


def postgres_schema(prefix: str) -> AbstractContextManager[str]:
    return throwaway_schema(POSTGRES_URL, f"{prefix}_{int(time.time() * 1000)}")


@contextmanager
def store_env(store: str) -> Iterator[dict[str, str]]:
    """PATRONAGE_* settings on a fresh SQLite directory or a fresh PostgreSQL schema."""
    with tempfile.TemporaryDirectory(prefix="patronage-bench-") as tmp:
        env = {
            "PATRONAGE_DATA_DIR": tmp,
            "PATRONAGE_STRIPE_WEBHOOK_SECRETS": SECRET,
            "PATRONAGE_LOG_LEVEL": "WARNING",
            "PATRONAGE_CONSOLE_SECRET": "bench-console-secret-bench-console-secret",
        }
        if store == "sqlite":
            yield env
            return
        with postgres_schema("bench") as schema:
            yield env | {
                "PATRONAGE_DATABASE_URL": POSTGRES_URL,
                "PATRONAGE_DATABASE_SCHEMA": schema,
            }


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]

    def peak_rss_mib(self) -> float:
        """The process's peak resident memory so far (VmHWM), MiB."""
        return _peak_rss(self.popen.pid)

    def children_peak_rss_mib(self) -> list[float]:
        return [_peak_rss(pid) for pid in _children(self.popen.pid)]


def _peak_rss(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


@contextmanager
def process(name: str, args: list[str], env: Mapping[str, str], log_dir: Path) -> Iterator[Process]:
    """A child process, stopped (SIGTERM, then SIGKILL) by its own pid when the block ends."""
    with (log_dir / f"{name}.log").open("wb") as log:
        popen = subprocess.Popen(
            args, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
        )
        try:
            yield Process(name, popen)
        finally:
            popen.send_signal(signal.SIGTERM)
            try:
                popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()


def wait_ready(url: str, proc: Process, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise SystemExit(f"{proc.name} exited with {proc.popen.returncode} (see its log)")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{proc.name} did not answer at {url}")


def listeners(conn: psycopg.Connection[Any] | None = None) -> int:
    """How many connections to the bench's database wait on a LISTEN channel (asked on
    `conn`, or on a connection of its own)."""
    if conn is None:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as own:
            return listeners(own)
    row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'")
    found = row.fetchone()
    return found[0] if found is not None else 0


def wait_listening(count: int, proc: Process, timeout: float = 120.0) -> None:
    """Until `count` connections wait on a LISTEN channel (a view worker opens one once its
    process has started, before its first catch-up): a load measured while the workers
    were still starting would share the cores with their imports. The channel's name
    does not tell the schema, so the caller counts the listeners there were before."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise SystemExit(f"{proc.name} exited with {proc.popen.returncode}")
            if listeners(conn) >= count:
                return
            time.sleep(0.1)
    raise SystemExit(f"{proc.name}: fewer than {count} listeners after {timeout} s")


def patronage_cli() -> list[str]:
    return [sys.executable, "-m", "patronage"]


@contextmanager
def service(env: Mapping[str, str], log_dir: Path) -> Iterator[tuple[str, Process]]:
    """One `patronage serve` process on a free port."""
    port = free_port()
    with process("serve", [*patronage_cli(), "serve", "--port", str(port)], env, log_dir) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_ready(f"{url}/healthz", proc)
        yield url, proc


@contextmanager
def bare_endpoint(log_dir: Path) -> Iterator[tuple[str, Process]]:
    port = free_port()
    args = [sys.executable, "-m", "bench.bare_app", "--port", str(port)]
    with process("bare", args, {}, log_dir) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_ready(f"{url}/bare", proc)
        yield url, proc


@dataclass(frozen=True)
class Load:
    """What wrk measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors, timeouts and non-2xx answers

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def combined(loads: list[Load]) -> Load:
    """Runs of one load as one: their requests over their time, the median of their p50s,
    the worst of their p99s (a slow round is not averaged away), all their errors."""
    return Load(
        requests=sum(load.requests for load in loads),
        seconds=sum(load.seconds for load in loads),
        p50_ms=statistics.median(load.p50_ms for load in loads),
        p99_ms=max(load.p99_ms for load in loads),
        errors=sum(load.errors for load in loads),
    )


def write_requests(path: Path, lines: list[tuple[str, str]]) -> None:
    """The file requests.lua sends: one `signature<TAB>body` a line (bodies are one line)."""
    with path.open("w") as out:
        for signature, body in lines:
            out.write(f"{signature}\t{body}\n")


def wrk(url: str, requests_file: Path, seconds: int, connections: int, threads: int = 2) -> Load:
    args = [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "requests.lua"),
        url,
        "--",
        str(requests_file),
        str(threads),
    ]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith('{"requests"'))
    figures = json.loads(line)
    return Load(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        errors=figures["errors"] + figures["non_2xx"],
    )
