"""Real stores for tests: a SQLite directory, or a fresh PostgreSQL schema per test.

PostgreSQL tests skip when the server is unreachable on a developer's laptop, and fail
under CI=true, where a skipped store would hide a broken build.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from patronage.config import Settings

POSTGRES_URL = os.environ.get(
    "PATRONAGE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _require_postgres() -> None:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return
    except psycopg.OperationalError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is unreachable at {POSTGRES_URL} under CI=true: {error}")
        pytest.skip(f"PostgreSQL is unreachable at {POSTGRES_URL}")


@contextmanager
def throwaway_schema(url: str, schema: str) -> Iterator[str]:
    """Schema `schema` created empty on the server at `url`, and dropped afterwards."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A new empty schema, dropped afterwards, so tests never see each other's rows."""
    _require_postgres()
    with throwaway_schema(POSTGRES_URL, f"t_{uuid.uuid4().hex[:16]}") as schema:
        yield schema


@contextmanager
def store_settings(store: str, tmp_path: Path) -> Iterator[dict[str, object]]:
    """Settings overrides for the named store ("sqlite" or "postgres")."""
    base: dict[str, object] = {"data_dir": tmp_path / "data"}
    if store == "sqlite":
        yield base
        return
    with postgres_schema() as schema:
        yield {**base, "database_url": POSTGRES_URL, "database_schema": schema}


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The PATRONAGE_* environment that makes the CLI use the same store as `settings`."""
    env = {"PATRONAGE_DATA_DIR": str(settings.data_dir), "PATRONAGE_LOG_LEVEL": "WARNING"}
    if settings.database_url is not None:
        env["PATRONAGE_DATABASE_URL"] = settings.database_url.get_secret_value()
        env["PATRONAGE_DATABASE_SCHEMA"] = settings.database_schema
    return env | {f"PATRONAGE_{name.upper()}": value for name, value in extra.items()}


@contextmanager
def writes_refused(
    settings: Settings, originator_id: uuid.UUID, from_version: int
) -> Iterator[None]:
    """The store itself refuses to record events of one aggregate from `from_version` on (a
    trigger in the real database), as an outage at exactly that write would; lifted after."""
    if settings.database_url is None:
        with sqlite3.connect(settings.data_dir / "ledger.sqlite3") as conn:
            conn.execute(
                "CREATE TRIGGER refuse_writes BEFORE INSERT ON stored_events"
                f" WHEN NEW.originator_id = '{originator_id.hex}'"
                f" AND NEW.originator_version >= {int(from_version)}"
                " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
        try:
            yield
        finally:
            with sqlite3.connect(settings.data_dir / "ledger.sqlite3") as conn:
                conn.execute("DROP TRIGGER refuse_writes")
        return
    schema = settings.database_schema
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(
            f"CREATE FUNCTION {schema}.refuse_writes() RETURNS trigger AS $$ BEGIN"
            f" IF NEW.originator_id = '{originator_id}'::uuid"
            f" AND NEW.originator_version >= {int(from_version)}"
            " THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$"
            " LANGUAGE plpgsql"
        )
        conn.execute(
            f"CREATE TRIGGER refuse_writes BEFORE INSERT ON {schema}.ledger_events"
            f" FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_writes()"
        )
    try:
        yield
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP TRIGGER refuse_writes ON {schema}.ledger_events")
            conn.execute(f"DROP FUNCTION {schema}.refuse_writes()")
