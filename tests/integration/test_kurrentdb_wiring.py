"""The optional KurrentDB event store, selected by PATRONAGE_EVENT_STORE=kurrentdb, is wired
only up to reaching the server. No KurrentDB server can run here, so these tests stop at a
clear error for an unreachable one; the Ledger on KurrentDB is NOT built (docs/scaling.md)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from patronage.bootstrap import bootstrap
from patronage.config import SettingsError, load_settings
from tests.support.processes import command
from tests.support.servers import free_port
from tests.support.stores import POSTGRES_URL

pytest.importorskip("kurrentdbclient", reason="the kurrentdb extra is part of the dev tools")


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        ({"database_url": POSTGRES_URL}, "needs PATRONAGE_KURRENTDB_URI"),
        ({"kurrentdb_uri": "kurrentdb://127.0.0.1:2113"}, "set PATRONAGE_DATABASE_URL too"),
    ],
)
def test_kurrentdb_needs_its_uri_and_postgresql_for_the_views(
    tmp_path: Path, overrides: dict[str, str], said: str
) -> None:
    with pytest.raises(SettingsError, match=said):
        load_settings(_env_file=None, data_dir=tmp_path, event_store="kurrentdb", **overrides)


def _unreachable(tmp_path: Path) -> dict[str, str]:
    return {
        "PATRONAGE_DATA_DIR": str(tmp_path),
        "PATRONAGE_EVENT_STORE": "kurrentdb",
        "PATRONAGE_KURRENTDB_URI": f"kurrentdb://admin:secret@127.0.0.1:{free_port()}?Tls=false",
        "PATRONAGE_DATABASE_URL": POSTGRES_URL,
    }


def test_starting_against_an_unreachable_kurrentdb_stops_with_a_clear_error(
    tmp_path: Path,
) -> None:
    env = _unreachable(tmp_path)
    settings = load_settings(
        _env_file=None, **{k.removeprefix("PATRONAGE_").lower(): v for k, v in env.items()}
    )
    with pytest.raises(SettingsError) as refused:
        bootstrap(settings)
    message = str(refused.value)
    port = env["PATRONAGE_KURRENTDB_URI"].split(":")[-1].split("?")[0]
    assert f"KurrentDB does not answer at 127.0.0.1:{port}" in message
    assert "secret" not in message, "never the credentials"


def test_serve_and_check_refuse_an_unreachable_kurrentdb(tmp_path: Path) -> None:
    env = _unreachable(tmp_path) | {"PATRONAGE_LOG_LEVEL": "WARNING"}
    serve = subprocess.run(
        command("serve", "--port", str(free_port())),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert serve.returncode == 2
    assert "KurrentDB does not answer" in serve.stderr
    check = subprocess.run(command("check"), env=env, capture_output=True, text=True, timeout=60)
    assert check.returncode == 1
    assert "FAIL  event store: KurrentDB does not answer" in check.stdout
