"""Read a store's rows as they lie on disk, bypassing the application: to show what an
attacker with the database (or a backup of it) would see."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import psycopg

from patronage.config import Settings
from tests.support.stores import POSTGRES_URL


def raw_text(settings: Settings, table: str, column: str = "*") -> str:
    """Every value of `table` (the ledger's events: "events"; else a table name), as one
    lower-cased text with bytes decoded leniently, for substring checks."""
    if settings.database_url is None:
        name = "stored_events" if table == "events" else table
        with closing(sqlite3.connect(settings.data_dir / "ledger.sqlite3")) as conn:
            rows = conn.execute(f"SELECT {column} FROM {name}").fetchall()  # noqa: S608
    else:
        name = "ledger_events" if table == "events" else table
        with psycopg.connect(POSTGRES_URL) as conn:
            sql = f'SELECT {column} FROM "{settings.database_schema}".{name}'  # noqa: S608
            rows = conn.execute(sql).fetchall()  # type: ignore[call-overload]
    return " ".join(_text(v) for row in rows for v in row).lower()


def _text(value: object) -> str:
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
